#!/bin/bash
# SPDX-License-Identifier: MIT
# suite.sh OUT [TEST...]: the VM suite's runner, inside the guest (the job of tests/vm/vm.sh).
# Runs each guest test (tests/vm/guest/tNN-*.sh, all by default) in order, each under a deadline,
# and writes one line per test to OUT/results: NAME STATUS SECONDS. Output: OUT/NAME.log.
out=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
export OOMBREAKER_SOURCE_DIR OOMBREAKER_BINARY_DIR LEAKY VM_OUT=$out
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8
tests=("$@")
[ ${#tests[@]} -gt 0 ] || mapfile -t tests < <(cd "$here" && ls t[0-9]*.sh | sed 's/\.sh$//')
: >"$out/results"
worst=0
for t in "${tests[@]}"; do
	t0=$EPOCHREALTIME
	rc=0
	timeout -k 5 "${VM_TEST_TIMEOUT:-300}" bash "$here/$t.sh" >"$out/$t.log" 2>&1 || rc=$?
	secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	echo "$t $rc $secs" >>"$out/results"
	echo "== $t: rc=$rc in ${secs}s"
	if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
		worst=1
		{
			echo "--- the agent's journal, last 40 lines"
			journalctl -u oombreaker -n 40 -o short-monotonic --no-pager
			systemctl status oombreaker --no-pager -n 0
		} >>"$out/$t.log" 2>&1
	fi
done
journalctl -b -o short-monotonic --no-pager >"$out/journal.log" 2>&1
exit "$worst"
