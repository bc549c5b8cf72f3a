# shellcheck shell=bash
# Memory cgroups for the integration tests, on v2 or v1: detect the hierarchy, make a cgroup with a
# limit under $CG_PARENT, run or spawn a command inside it from its first instruction, and destroy
# one or all of them. Sourced by common.sh (which defines CG_PARENT, CG_VERSION, CG_ROOT, fail,
# need_root, skip, size_to_bytes, spawn and wait_until); do not source it alone.

# cg_detect: sets CG_VERSION (2 if a cgroup2 mount has the memory controller, else 1) and CG_ROOT
# (that hierarchy's mount point); returns 1 when this host has no memory controller mounted.
cg_detect() {
	[ -z "$CG_VERSION" ] || return 0
	local mnt type opts rest
	while read -r _ mnt type opts rest; do
		if [ "$type" = cgroup2 ] && grep -qw memory "$mnt/cgroup.controllers" 2>/dev/null; then
			CG_VERSION=2 CG_ROOT=$mnt
			return 0
		fi
	done </proc/self/mounts
	while read -r _ mnt type opts rest; do
		if [ "$type" = cgroup ] && [[ ,$opts, == *,memory,* ]]; then
			CG_VERSION=1 CG_ROOT=$mnt
			return 0
		fi
	done </proc/self/mounts
	return 1
}

# need_memory_cgroup: skips unless root and a memory controller is mounted (v2 or v1).
need_memory_cgroup() {
	need_root "memory cgroups"
	cg_detect || skip "no memory cgroup controller mounted (neither v2 nor v1)"
}

# cg_path NAME: the cgroup's absolute directory. cg_rel NAME: its path below the memory root.
cg_rel() { echo "/$CG_PARENT/$1"; }
cg_path() { echo "$CG_ROOT/$CG_PARENT/$1"; }

# cg_create NAME LIMIT: makes the memory cgroup NAME (may contain '/') under $CG_PARENT with a
# memory limit of LIMIT (bytes, or 256M / 256MiB / 1G) and swap off, so the limit means OOM.
# Prints its path relative to the memory root (what a policy's `cgroup =` wants).
cg_create() {
	local name=$1 bytes dir part
	[[ $name =~ ^[A-Za-z0-9._@-]+(/[A-Za-z0-9._@-]+)*$ ]] || fail "cg_create: bad name '$name'"
	bytes=$(size_to_bytes "$2") || return 1
	cg_detect || fail "cg_create: no memory cgroup controller mounted"
	dir=$CG_ROOT
	for part in "$CG_PARENT" ${name//\// }; do
		_cg_enable_memory "$dir" || return 1
		dir=$dir/$part
		[ -d "$dir" ] || mkdir "$dir" || return 1
	done
	if [ "$CG_VERSION" = 2 ]; then
		echo "$bytes" >"$dir/memory.max" || return 1
		[ ! -e "$dir/memory.swap.max" ] || echo 0 >"$dir/memory.swap.max" || true
	else
		echo "$bytes" >"$dir/memory.limit_in_bytes" || return 1
		[ ! -e "$dir/memory.memsw.limit_in_bytes" ] ||
			echo "$bytes" >"$dir/memory.memsw.limit_in_bytes" 2>/dev/null || true
	fi
	cg_rel "$name"
}

# _cg_enable_memory DIR: on v2, lets DIR's children have the memory controller.
_cg_enable_memory() {
	[ "$CG_VERSION" = 2 ] || return 0
	grep -qw memory "$1/cgroup.subtree_control" || echo +memory >"$1/cgroup.subtree_control"
}

# cg_procs NAME: prints the pids in the cgroup, one per line.
cg_procs() { cat "$(cg_path "$1")/cgroup.procs"; }

# cg_run NAME CMD...: runs CMD inside the cgroup, in the foreground, and returns its status. The
# pid joins the cgroup before exec, so CMD's first allocation is already charged there.
cg_run() {
	local procs
	procs=$(cg_path "$1")/cgroup.procs
	shift
	# shellcheck disable=SC2016 # expanded by sh, not here
	sh -c 'echo $$ >"$0" && exec "$@"' "$procs" "$@"
}

# cg_spawn CGNAME NAME CMD...: spawn NAME, with CMD inside the cgroup CGNAME from its first
# instruction. Sets SPAWN_PID.
cg_spawn() {
	local procs
	procs=$(cg_path "$1")/cgroup.procs
	[ -e "$procs" ] || fail "cg_spawn: no cgroup '$1' (cg_create it first)"
	shift
	# shellcheck disable=SC2016 # expanded by sh, not here
	spawn "$1" sh -c 'echo $$ >"$0" && exec "$@"' "$procs" "${@:2}"
}

# cg_destroy NAME: kills every task in the cgroup and its children, waits (5 s at most) until they
# are gone, and removes the directories. Returns 1, saying what is left, when it cannot.
cg_destroy() {
	local top dir
	cg_detect || return 0
	top=$(cg_path "$1")
	[ -d "$top" ] || return 0
	while read -r dir; do
		_cg_empty_and_remove "$dir" || return 1
	done < <(find "$top" -depth -type d)
}

_cg_empty_and_remove() {
	local dir=$1
	if ! wait_until 5 _cg_kill_tasks "$dir" 2>/dev/null; then
		echo "cg_destroy: tasks still in $dir: $(tr '\n' ' ' <"$dir/cgroup.procs")" >&2
		return 1
	fi
	# A cgroup whose last task just exited can stay busy for a moment.
	wait_until 5 rmdir "$dir" 2>/dev/null || {
		echo "cg_destroy: cannot remove $dir" >&2
		return 1
	}
}

# _cg_kill_tasks DIR: true once DIR has no task; otherwise SIGKILLs them and returns false.
_cg_kill_tasks() {
	local pids
	pids=$(cat "$1/cgroup.procs") || return 1
	[ -n "$pids" ] || return 0
	if [ -e "$1/cgroup.kill" ]; then
		echo 1 >"$1/cgroup.kill"
	else
		# shellcheck disable=SC2086
		kill -KILL $pids 2>/dev/null
	fi
	return 1
}

# cg_destroy_all: removes every cgroup this test made (the whole $CG_PARENT tree).
cg_destroy_all() {
	[ -n "$CG_ROOT" ] && [ -d "$CG_ROOT/$CG_PARENT" ] || return 0
	local dir=$CG_ROOT/$CG_PARENT
	while read -r sub; do
		_cg_empty_and_remove "$sub" || return 1
	done < <(find "$dir" -depth -type d)
}
