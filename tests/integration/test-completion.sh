#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Shell completion (packaging/completion/): the bash completion, sourced in a plain bash (no
# bash-completion package needed), completes
#  1. exactly the commands that `oombreaker --help` lists, and a prefix to its command;
#  2. for every command, exactly the options its `--help` lists (plus --help and --version), and
#     a prefix of `run`'s options;
#  3. directories for a directory option;
# and the zsh completion parses (when zsh is installed).
set -euo pipefail

source "${OOMBREAKER_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/common.sh"
bin=${OOMBREAKER:-${OOMBREAKER_BINARY_DIR:-}/oombreaker}
[ -x "$bin" ] || fail "the oombreaker binary ($bin) is missing; build first"
bash_completion=$SOURCE_DIR/packaging/completion/oombreaker.bash
zsh_completion=$SOURCE_DIR/packaging/completion/_oombreaker
tmpdir_setup

# complete WORD...: what the bash completion offers for the command line `oombreaker WORD...`
# (the last WORD is the one being completed; "" for a new word), one per line, sorted.
complete_line() {
	bash --norc --noprofile -c '
		source "$1"
		shift
		COMP_WORDS=(oombreaker "$@")
		COMP_CWORD=$#
		COMP_LINE="${COMP_WORDS[*]}"
		COMP_POINT=${#COMP_LINE}
		_oombreaker 2>/dev/null
		printf "%s\n" "${COMPREPLY[@]}"
	' complete "$bash_completion" "$@" | sed '/^$/d' | sort
}

# same WHAT EXPECTED ACTUAL: compares two newline-separated sets.
same() {
	if [ "$2" != "$3" ]; then
		diff -u <(echo "$2") <(echo "$3") >&2 || true
		fail "$1 (- from --help, + completed)"
	fi
}

# --- 1. the commands --------------------------------------------------------------------------
commands=$("$bin" --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }' | sort)
[ -n "$commands" ] || fail "found no command in 'oombreaker --help'"
same "the command list" "$commands" "$(complete_line "")"
[ "$(complete_line st)" = status ] || fail "'oombreaker st<TAB>' gives '$(complete_line st)', not status"
same "options before a command" "$(printf -- '--help\n--version')" "$(complete_line --)"
echo "ok: completes the $(echo "$commands" | wc -l) commands of --help: ${commands//$'\n'/ }"

# --- 2. every command's options ---------------------------------------------------------------
for cmd in $commands; do
	want=$({
		"$bin" "$cmd" --help | grep -oE -- '(^|[][ ])--[a-z][a-z-]*' | sed 's/^[][ ]*//'
		printf -- '--help\n--version\n'
	} | sort -u)
	same "the options of '$cmd'" "$want" "$(complete_line "$cmd" --)"
done
same "'run --po<TAB>'" "$(printf -- '--policy\n--policy-dir')" "$(complete_line run --po)"
echo "ok: every command completes exactly the options its --help lists"

# --- 3. an option's argument ------------------------------------------------------------------
mkdir "$TEST_TMP/policies.d" "$TEST_TMP/policies.old"
touch "$TEST_TMP/policies.txt"
same "'run --policy-dir $TEST_TMP/pol<TAB>'" \
	"$(printf '%s\n' "$TEST_TMP/policies.d" "$TEST_TMP/policies.old")" \
	"$(complete_line run --policy-dir "$TEST_TMP/pol")"
echo "ok: a directory option completes directories only"

# --- zsh --------------------------------------------------------------------------------------
if command -v zsh >/dev/null 2>&1; then
	zsh -n "$zsh_completion" || fail "zsh -n rejects $zsh_completion"
	for cmd in $commands; do
		grep -q "^    '$cmd:" "$zsh_completion" || fail "the zsh completion lacks the command $cmd"
	done
	echo "ok: the zsh completion parses and names every command"
else
	echo "note: zsh is not installed; the zsh completion was not parsed"
fi
