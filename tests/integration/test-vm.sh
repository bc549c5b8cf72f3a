#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The real platform: boots ONE QEMU guest (tests/vm/vm.sh: Debian's kernel, systemd as PID 1,
# unified cgroup v2, the host's root read-only under a tmpfs overlay) and runs the guest tests
# tests/vm/guest/t*.sh in it, in order: install, a real canary, a real OOM kill, real PSI, the
# watchdog, reload, sandboxing, the demo. Reports each test, the boot time and the total time.
#
# Skips (exit 77, one line) where qemu, the kernel or busybox-static cannot be used, unless
# OOMBREAKER_VM_REQUIRED=1 (CI), which turns the skip into a failure. OOMBREAKER_VM_TESTS="t10-install
# t30-oom" runs a subset (t10-install first: the others need the agent installed);
# OOMBREAKER_VM_ENV="VAR=VALUE ..." exports variables to the guest tests (to break one on purpose).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=../vm/vm.sh
source "$SOURCE_DIR/tests/vm/vm.sh"

vm_skip() {
	if [ "${OOMBREAKER_VM_REQUIRED:-}" = 1 ]; then
		fail "VM suite required (OOMBREAKER_VM_REQUIRED=1) but cannot run: $*"
	fi
	skip "VM suite: $*"
}

[ "$(id -u)" = 0 ] || vm_skip "needs root (qemu reads /boot and shares / with the guest)"
vm_check || vm_skip "$VM_WHY"
build=${OOMBREAKER_BINARY_DIR:?set OOMBREAKER_BINARY_DIR (ctest does)}
[ -x "$build/oombreaker" ] || fail "$build/oombreaker is missing: build first"
# The guest has a fresh /tmp: a source or build tree there comes in as a share of its own.
VM_SHARES=
src_real=$(realpath "$SOURCE_DIR")
build_real=$(realpath "$build")
case $src_real in /tmp/*) VM_SHARES=$src_real ;; esac
case $build_real in
"$src_real"/*) ;;
/tmp/*) VM_SHARES+=" $build_real" ;;
esac
export VM_SHARES
leaky_build

vm_initramfs "$build/vm" || fail "could not build the guest's initramfs"
job=$build/vm/suite-job.sh
cat >"$job" <<JOB
${OOMBREAKER_VM_ENV:+export $OOMBREAKER_VM_ENV}
OOMBREAKER_SOURCE_DIR=$SOURCE_DIR OOMBREAKER_BINARY_DIR=$build LEAKY=$LEAKY \
	exec bash $SOURCE_DIR/tests/vm/guest/suite.sh "\$1" ${OOMBREAKER_VM_TESTS:-}
JOB
out=$build/vm/suite
echo "VM suite: kernel $VM_KVER, accel $VM_ACCEL, $(nproc) vCPUs, ${VM_MEM_MB} MiB; results in $out"
rc=0
vm_boot "$out" "$job" "${OOMBREAKER_VM_TIMEOUT:-1200}" || rc=$?

failed=()
while read -r name status secs; do
	case $status in
	0) verdict=PASS ;;
	77) verdict=SKIP ;;
	124) verdict="FAIL (timed out)" ;;
	*) verdict="FAIL ($status)" && failed+=("$name") ;;
	esac
	[ "$status" != 124 ] || failed+=("$name")
	printf '  %-16s %-18s %6ss\n' "$name" "$verdict" "$secs"
done < <(cat "$out/results" 2>/dev/null)
for name in "${failed[@]}"; do
	echo "--- $name.log"
	cat "$out/$name.log"
done
echo "VM suite: boot ${VM_BOOT_S:-?} s to the job (guest uptime; ${VM_WALL_BOOT_S:-?} s wall)," \
	"total ${VM_WALL_S:-?} s wall ($VM_ACCEL)"
[ "$rc" = 0 ] || fail "VM suite: job status $rc (logs in $out)"
[ ${#failed[@]} = 0 ] || fail "VM suite: ${failed[*]} failed"
[ -s "$out/results" ] || fail "VM suite: no results"
echo "VM suite: all passed"
