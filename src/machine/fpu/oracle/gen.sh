#!/bin/sh
# Regenerates src/machine/fpu/testdata/vectors.txt.gz, the RISC-V FPU test vectors that
# fpu_test.ts checks, by running real F/D instructions under QEMU's user-mode riscv64 emulator.
#
#   src/machine/fpu/oracle/gen.sh                 regenerate the committed vectors
#   src/machine/fpu/oracle/gen.sh soak N SEED     check the FPU against N random cases per
#                                                 instruction with another seed (not committed)
#
# Needs Debian's gcc-riscv64-linux-gnu and qemu-user (apt-get install -y gcc-riscv64-linux-gnu
# qemu-user). oracle.c documents the vector format and how the operands are chosen; the committed
# file uses 1000 random cases per instruction (more for fma) with seed 1, about 35,000 lines.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

riscv64-linux-gnu-gcc -static -O2 -Wall -Wextra -o "$work/oracle" "$here/oracle.c"

if [ "${1:-}" = soak ]; then
  qemu-riscv64 "$work/oracle" "${2:-100000}" "${3:-2}" >"$work/soak.txt"
  wc -l <"$work/soak.txt" | xargs echo "vectors:"
  cd "$root"
  FPU_VECTORS="$work/soak.txt" node --import tsx --test src/machine/fpu/fpu_test.ts
else
  qemu-riscv64 "$work/oracle" 1000 1 | gzip -9n >"$root/src/machine/fpu/testdata/vectors.txt.gz"
  ls -l "$root/src/machine/fpu/testdata/vectors.txt.gz"
fi
