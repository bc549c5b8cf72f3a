# shellcheck shell=bash
# shellcheck disable=SC2034 # VM_* are this library's outputs
# The VM harness: a throw-away QEMU guest with Debian's kernel, systemd as PID 1 on unified cgroup
# v2, and the host's root shared read-only (9p) under a tmpfs overlay, so host-built binaries run
# unchanged. One job (a bash script) runs in it as a systemd service; the guest then powers off.
# A second, writable 9p share (the job's OUT directory, seen at the same path in the guest) carries
# the results back.
#
#   source tests/vm/vm.sh
#   vm_check || skip "$VM_WHY"         # qemu, a kernel, busybox-static usable here?
#   vm_initramfs "$build/vm"           # built once per kernel and init, cached under that dir
#   vm_boot "$OUT" job.sh 300          # returns the job's exit status; output in $OUT/output.log
#   echo "$VM_ACCEL boot ${VM_BOOT_S}s (wall ${VM_WALL_BOOT_S}s) total ${VM_WALL_S}s"
#
# The guest mounts a fresh tmpfs on /tmp (systemd would otherwise wipe the overlay's copy of the
# host's /tmp at boot, which costs ~20 s of whiteouts): OUT and the folders in VM_SHARES are
# mounted over it at their own paths.

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_QEMU=${VM_QEMU:-qemu-system-x86_64}
VM_MEM_MB=${VM_MEM_MB:-2048}
VM_KVER='' VM_KERNEL='' VM_INITRD='' VM_ACCEL='' VM_WHY=''
VM_BOOT_S='' VM_WALL_BOOT_S='' VM_WALL_S=

# What a test guest does not need; masking it takes the boot from ~35 s to ~10-20 s under TCG.
VM_MASK=(
	systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket
	systemd-udev-trigger.service systemd-udev-settle.service systemd-hwdb-update.service
	modprobe@.service systemd-modules-load.service systemd-binfmt.service
	proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount
	sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount
	sys-fs-fuse-connections.mount dev-hugepages.mount dev-mqueue.mount
	systemd-pstore.service systemd-random-seed.service systemd-update-utmp.service
	systemd-update-utmp-runlevel.service systemd-journal-flush.service systemd-sysusers.service
	systemd-remount-fs.service systemd-tmpfiles-setup-dev.service systemd-sysctl.service
	systemd-firstboot.service systemd-machine-id-commit.service ldconfig.service
	systemd-journald-audit.socket systemd-timesyncd.service systemd-ask-password-console.path
	timers.target
)

# vm_check: 0 when a guest can boot here; else 1 with the reason in VM_WHY. Sets VM_KVER,
# VM_KERNEL and VM_ACCEL.
vm_check() {
	local k
	command -v "$VM_QEMU" >/dev/null 2>&1 ||
		{ VM_WHY="$VM_QEMU not found (package qemu-system-x86)"; return 1; }
	for k in /boot/vmlinuz-*; do
		[ -r "$k" ] && [ -d "/lib/modules/${k#/boot/vmlinuz-}/kernel/fs/9p" ] && VM_KERNEL=$k
	done
	[ -n "$VM_KERNEL" ] ||
		{ VM_WHY="no readable /boot/vmlinuz-* with 9p modules (package linux-image-amd64)"; return 1; }
	VM_KVER=${VM_KERNEL#/boot/vmlinuz-}
	if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
		VM_WHY="no static /bin/busybox (package busybox-static)"
		return 1
	fi
	for k in cpio gzip modprobe timeout; do
		command -v "$k" >/dev/null 2>&1 || { VM_WHY="'$k' not found"; return 1; }
	done
	[ -x /lib/systemd/systemd ] || { VM_WHY="no /lib/systemd/systemd (package systemd)"; return 1; }
	VM_ACCEL=$(vm_accel)
}

# vm_accel: "kvm" where /dev/kvm is a regular KVM (kvm_intel/kvm_amd) that boots a stock kernel,
# else "tcg". A PVM /dev/kvm (kvm_pvm) only boots PVM kernels: a stock one spins forever after
# "Probing EDD", so it counts as no KVM at all.
vm_accel() {
	if [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ] &&
		{ [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; } &&
		grep -qwE 'vmx|svm' /proc/cpuinfo; then
		echo kvm
	else
		echo tcg
	fi
}

# vm_initramfs DIR: sets VM_INITRD to an initramfs for VM_KVER under DIR, building it when the
# kernel, tests/vm/init or the builder changed.
vm_initramfs() {
	local dir=$1 key
	key=$(cat "$VM_DIR/init" "$VM_DIR/mkinitramfs.sh" /bin/busybox | md5sum | cut -c1-12)
	VM_INITRD=$dir/initramfs-$VM_KVER-$key.img
	[ -s "$VM_INITRD" ] && return 0
	mkdir -p "$dir"
	rm -f "$dir"/initramfs-*.img
	bash "$VM_DIR/mkinitramfs.sh" "$VM_KVER" "$VM_INITRD"
}

# _vm_prepare OUT SCRIPT: the units and masks tests/vm/init installs, and the job script.
_vm_prepare() {
	local out=$1 script=$2 g
	mkdir -p "$out/boot/units"
	cp "$script" "$out/boot/job"
	{
		printf '%s\n' "${VM_MASK[@]}"
		for g in /lib/systemd/system-generators/* /usr/lib/systemd/system-generators/*; do
			[ -e "$g" ] && echo "${g##*/}"
		done | sort -u
	} >"$out/boot/mask"
	cat >"$out/boot/units/oombreaker-vm.target" <<UNIT
[Unit]
Description=oombreaker VM test job
Requires=basic.target oombreaker-vm-job.service
After=basic.target
AllowIsolate=yes
UNIT
	# Type=simple: a oneshot would hold the boot in "starting" until it ends, and the job waits
	# for the boot to finish.
	cat >"$out/boot/units/oombreaker-vm-job.service" <<UNIT
[Unit]
Description=oombreaker VM job ($out/boot/job)
After=basic.target
# The job synced its results to the share: nothing else in the guest needs a clean stop (a
# clean one waited 90 s for a test's python3 to exit).
SuccessAction=poweroff-immediate
FailureAction=poweroff-immediate

[Service]
Type=simple
ExecStart=/bin/bash $VM_DIR/guest/job.sh $out
StandardOutput=journal+console
StandardError=journal+console
UNIT
}

# vm_boot OUT SCRIPT [TIMEOUT]: boots a guest that runs the bash SCRIPT as root (with $1 = OUT,
# the results share) and powers off. Returns SCRIPT's exit status (124: no result within TIMEOUT
# seconds, default 300, or the guest did not reach the job within 180 s). The job's output is in
# OUT/output.log, the serial console in OUT/console.log. Sets VM_BOOT_S (guest uptime when the
# job started), VM_WALL_BOOT_S (wall time from qemu's start to the job's), VM_WALL_S.
vm_boot() {
	local out=$1 script=$2 secs=${3:-300} t0 pid rc boot_limit=180 accel
	local shares=() append="" n=0 d
	[ -n "$VM_INITRD" ] || { echo "vm_boot: call vm_initramfs first" >&2 && return 2; }
	rm -rf "$out" && mkdir -p "$out"
	_vm_prepare "$out" "$script"
	accel=tcg,thread=multi
	[ "$VM_ACCEL" != kvm ] || accel=kvm
	# Host folders under /tmp (which the guest covers with its own tmpfs) come in as shares of
	# their own, each under a tmpfs overlay at the same path: VM_SHARES="DIR...".
	for d in ${VM_SHARES:-}; do
		shares+=(-virtfs "local,path=$d,mount_tag=share$n,security_model=none,readonly=on,multidevs=remap")
		append+=" obvm.share$n=$d"
		n=$((n + 1))
	done
	t0=$EPOCHREALTIME
	timeout -k 5 "$secs" "$VM_QEMU" -nodefaults -no-user-config -machine q35 -accel "$accel" \
		-cpu max -smp "$(nproc 2>/dev/null || echo 2)" -m "$VM_MEM_MB" -display none -nic none \
		-serial "file:$out/console.log" -no-reboot -kernel "$VM_KERNEL" -initrd "$VM_INITRD" \
		-append "console=ttyS0 panic=-1 loglevel=4 systemd.unified_cgroup_hierarchy=1 systemd.unit=oombreaker-vm.target systemd.show_status=0 obvm.out=$out$append" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=$out,mount_tag=results,security_model=none,multidevs=remap" "${shares[@]}" \
		>"$out/qemu.log" 2>&1 &
	pid=$!
	echo "$pid" >"$out/qemu.pid"
	# Boot must reach the job in time: a kernel that hangs (e.g. on an unsuitable KVM) is cut off
	# here rather than at the overall timeout.
	while [ ! -s "$out/started" ] && kill -0 "$pid" 2>/dev/null; do
		if awk -v a="$t0" -v b="$EPOCHREALTIME" -v l="$boot_limit" 'BEGIN { exit !(b - a > l) }'; then
			echo "vm_boot: the guest did not reach the job within ${boot_limit}s; console:" >&2
			tail -n 20 "$out/console.log" >&2
			kill "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			return 124
		fi
		sleep 0.2
	done
	VM_WALL_BOOT_S=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	rc=0
	wait "$pid" || rc=$?
	VM_WALL_S=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	VM_BOOT_S=$(cat "$out/started" 2>/dev/null || echo '?')
	if [ ! -s "$out/status" ]; then
		if [ "$rc" = 124 ]; then
			echo "vm_boot: no result within ${secs}s (qemu killed); console:" >&2
		else
			echo "vm_boot: qemu exited ($rc) without a result; qemu.log and console:" >&2
			cat "$out/qemu.log" >&2
		fi
		tail -n 30 "$out/console.log" >&2
		return 124
	fi
	return "$(cat "$out/status")"
}

# vm_stop OUT: stops the guest that vm_boot OUT started (qemu, through its timeout wrapper).
vm_stop() {
	local pid
	pid=$(cat "$1/qemu.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || true
}
