#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# mkinitramfs.sh KVER OUT: builds the test guest's initramfs (a gzipped newc cpio) into OUT from
# Debian packages only: busybox-static for every tool, and the modules of linux-image-KVER that
# mounting the host's root needs (9p over virtio, overlayfs), in dependency order. The init itself
# is tests/vm/init. Needs cpio, gzip and modprobe (kmod). Exits non-zero, saying why, on failure.
set -euo pipefail

kver=${1:?usage: mkinitramfs.sh KVER OUT}
out=${2:?usage: mkinitramfs.sh KVER OUT}
here=$(cd "$(dirname "$0")" && pwd)
busybox=/bin/busybox

[ -x "$busybox" ] && "$busybox" --list | grep -qx switch_root ||
	{ echo "mkinitramfs: $busybox (package busybox-static) is missing" >&2; exit 1; }
! ldd "$busybox" >/dev/null 2>&1 ||
	{ echo "mkinitramfs: $busybox is not static (install busybox-static)" >&2; exit 1; }
[ -d "/lib/modules/$kver" ] || { echo "mkinitramfs: no /lib/modules/$kver" >&2; exit 1; }

work=$(mktemp -d "${out%/*}/initramfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{bin,dev,proc,sys,lower,upper,newroot,modules}
cp "$busybox" "$work/bin/busybox"
cp "$here/init" "$work/init"
chmod 0755 "$work/init"

# modprobe prints "insmod PATH" per module in load order (and "builtin NAME" for built-ins).
deps=$(modprobe -S "$kver" --show-depends -a virtio_pci 9pnet_virtio 9p overlay) ||
	{ echo "mkinitramfs: kernel $kver lacks a module the guest needs (above)" >&2; exit 1; }
: >"$work/modules/order"
while read -r verb path _; do
	[ "$verb" = insmod ] || continue
	name=${path##*/}
	grep -qx "$name" "$work/modules/order" 2>/dev/null && continue
	case $path in
	*.ko) cp "$path" "$work/modules/$name" ;;
	*.ko.xz) name=${name%.xz} && xz -dc "$path" >"$work/modules/$name" ;;
	*.ko.zst) name=${name%.zst} && zstd -qdc "$path" >"$work/modules/$name" ;;
	*) echo "mkinitramfs: unexpected module file $path" >&2 && exit 1 ;;
	esac
	echo "$name" >>"$work/modules/order"
done <<<"$deps"

(cd "$work" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) |
	gzip -1 >"$out.new"
mv "$out.new" "$out"
