#!/usr/bin/env bash
# Installs the Debian packages the test suite uses (as root; a no-op when all are present):
# QEMU and OpenSBI (the reference runner, the bare board's firmware), the riscv64 assembler (the
# decoder test, the isolation test's guest), qemu-utils (qemu-img: qcow2 images made and checked
# by the disk tests), e2fsprogs (disk images; e2fsck, dumpe2fs and debugfs check what guests wrote),
# dtc (device-tree test) and xz-utils (the workloads image is assembled from an .xz archive).
set -euo pipefail
pkgs=(qemu-system-misc qemu-utils opensbi binutils-riscv64-linux-gnu e2fsprogs device-tree-compiler xz-utils)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-test-deps: missing Debian packages ${missing[*]}; run: sudo apt-get install ${missing[*]}" >&2
	exit 2
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
