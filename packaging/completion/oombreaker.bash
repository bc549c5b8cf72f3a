# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# bash completion for oombreaker(8): the commands, each command's options (as its --help lists
# them), files and directories for the options that take them, and batch names (from the state
# files, /var/lib/oombreaker/BATCH.json, when readable). Self-contained: works without the
# bash-completion package's helpers. tests/integration/test-completion.sh keeps it in step with
# the binary's --help.

_oombreaker_commands="run check sample replay status wait reset promote trip"

# _oombreaker_options COMMAND: the options COMMAND accepts.
_oombreaker_options() {
	case $1 in
	run) echo "--policy --policy-dir --state-dir --socket --listen --cgroup-root --dry-run --trace --debug --log-format" ;;
	check) echo "" ;;
	sample) echo "--json --cgroup-root" ;;
	replay) echo "--trace --batch --json" ;;
	status) echo "--json --socket --state-dir" ;;
	wait) echo "--bake --timeout --socket --state-dir" ;;
	reset) echo "--release --socket --state-dir" ;;
	promote) echo "--socket --state-dir" ;;
	trip) echo "--reason --socket --state-dir" ;;
	esac
}

# _oombreaker_batches: batch names known on this host (best effort, never an error).
_oombreaker_batches() {
	local f
	for f in /var/lib/oombreaker/*.json; do
		[ -e "$f" ] || continue
		f=${f##*/}
		echo "${f%.json}"
	done 2>/dev/null
}

_oombreaker() {
	local cur prev cmd i
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}

	# The command is the first word after the program that is not an option.
	cmd=
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-*) ;;
		*)
			cmd=${COMP_WORDS[i]}
			break
			;;
		esac
	done

	if [ -z "$cmd" ]; then
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "--help --version" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "$_oombreaker_commands" -- "$cur")
		fi
		return 0
	fi

	# The argument of an option that takes one.
	case $prev in
	--policy | --trace)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		compopt -o filenames 2>/dev/null
		return 0
		;;
	--socket)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		compopt -o filenames 2>/dev/null
		return 0
		;;
	--policy-dir | --state-dir | --cgroup-root)
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		compopt -o filenames 2>/dev/null
		return 0
		;;
	--log-format)
		mapfile -t COMPREPLY < <(compgen -W "auto text json" -- "$cur")
		return 0
		;;
	--listen | --bake | --timeout | --batch | --reason | --release)
		return 0 # ADDR:PORT, a duration, free text, a release: nothing to offer
		;;
	esac

	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_oombreaker_options "$cmd") --help --version" -- "$cur")
		return 0
	fi
	case $cmd in
	check | sample | replay)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		compopt -o filenames 2>/dev/null
		;;
	status | wait | reset | promote | trip)
		mapfile -t COMPREPLY < <(compgen -W "$(_oombreaker_batches)" -- "$cur")
		;;
	esac
	return 0
}

complete -F _oombreaker oombreaker
