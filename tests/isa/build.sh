#!/usr/bin/env bash
# Builds every tests/isa/<name>.S into tests/isa/bin/<name>.elf (static, stripped, linked at
# 0x80000000 by isa.ld) and writes tests/isa/bin/MANIFEST, which records what each binary was
# built from so tests/isa/isa_qemu_test.ts can tell a stale binary from a fresh one.
#
# Per-test settings come from comment lines near the top of the source:
#   # isa-test: harts=2          the test needs two harts (default 1); passed as -DISA_HARTS
#   # isa-test: expect-fail=N    a self-test that must FAIL with code N (default: must PASS)
#   # isa-test: qemu-fail=N      QEMU 7.2 departs from the spec at check N, so under QEMU the
#                                test must FAIL with exactly N (default: as expect)
#
# Uses Debian's bare-metal cross compiler (gcc-riscv64-unknown-elf) or, failing that, the Linux
# one (gcc-riscv64-linux-gnu); as root it installs the former when neither is present.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export LC_ALL=C

if command -v riscv64-unknown-elf-gcc >/dev/null; then
	CC=riscv64-unknown-elf-gcc
elif command -v riscv64-linux-gnu-gcc >/dev/null; then
	CC=riscv64-linux-gnu-gcc
elif [ "$(id -u)" = 0 ]; then
	echo "build.sh: installing gcc-riscv64-unknown-elf from Debian (once)" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gcc-riscv64-unknown-elf ||
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gcc-riscv64-unknown-elf; }
	CC=riscv64-unknown-elf-gcc
else
	echo "build.sh: no RISC-V cross compiler; install one with: sudo apt-get install gcc-riscv64-unknown-elf" >&2
	exit 2
fi

CFLAGS=(-march=rv64gc -mabi=lp64d -mcmodel=medany -mno-relax -fno-pic -no-pie -static -nostdlib -nostartfiles
	-Wa,--fatal-warnings -Wl,--build-id=none -Wl,--no-warn-rwx-segments -Wl,--nmagic -Wl,-T,isa.ld -s -I.)
# Inputs every binary depends on besides its own source: every header, the linker script, this.
INPUTS=(*.h isa.ld build.sh)

setting() { # setting <file> <key>: the value of '# isa-test: <key>=<value>' in the first 30 lines
	head -n 30 "$1" | sed -n "s/^# isa-test: $2=\([0-9a-z]*\)[[:space:]]*\$/\1/p" | head -n 1
}

mkdir -p bin
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
	echo "# Written by tests/isa/build.sh ($($CC --version | head -n 1)); do not edit."
	echo "# input <file> <sha256>"
	echo "# test <name> harts=<n> expect=<pass|fail:N> qemu=<pass|fail:N> source=<sha256 of name.S> elf=<sha256 of bin/name.elf>"
	for f in "${INPUTS[@]}"; do
		echo "input $f $(sha256sum "$f" | cut -d' ' -f1)"
	done
} >"$tmp/MANIFEST"

names=()
for src in *.S; do
	name=${src%.S}
	if ! [[ $name =~ ^[a-z0-9_]+$ ]]; then
		echo "build.sh: test name $name is not lowercase snake_case; rename $src" >&2
		exit 1
	fi
	harts=$(setting "$src" harts)
	harts=${harts:-1}
	fail=$(setting "$src" expect-fail)
	expect=pass
	[ -n "$fail" ] && expect="fail:$fail"
	qfail=$(setting "$src" qemu-fail)
	qemu=$expect
	[ -n "$qfail" ] && qemu="fail:$qfail"
	for n in $fail $qfail; do
		if ! [[ $n =~ ^[1-9][0-9]*$ ]] || [ "$n" -gt 65535 ]; then
			echo "build.sh: $src: a failure code must be a number from 1 to 65535, not $n" >&2
			exit 1
		fi
	done
	"$CC" "${CFLAGS[@]}" -DISA_HARTS="$harts" -DISA_NAME="\"$name\"" -o "$tmp/$name.elf" "$src"
	entry=$(readelf -h "$tmp/$name.elf" | sed -n 's/^ *Entry point address: *//p')
	if [ "$entry" != 0x80000000 ]; then
		echo "build.sh: $name.elf has entry $entry, not 0x80000000" >&2
		exit 1
	fi
	cp "$tmp/$name.elf" "bin/$name.elf"
	echo "test $name harts=$harts expect=$expect qemu=$qemu source=$(sha256sum "$src" | cut -d' ' -f1)" \
		"elf=$(sha256sum "bin/$name.elf" | cut -d' ' -f1)" >>"$tmp/MANIFEST"
	names+=("$name")
	echo "built bin/$name.elf ($(stat -c %s "bin/$name.elf") bytes, harts=$harts, expect=$expect, qemu=$qemu)"
done

# Binaries whose source is gone would otherwise linger in the commit.
for elf in bin/*.elf; do
	n=$(basename "$elf" .elf)
	[ -f "$n.S" ] || rm -f "$elf"
done
cp "$tmp/MANIFEST" bin/MANIFEST
