/**
 * Builds the PV test guest (start.S + pv.c + xs.c, freestanding C) with Debian's riscv64-linux-gnu-gcc
 * into a flat image the domain builder loads like a Linux Image at 0x8020_0000.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function buildPvGuest(): Uint8Array {
  const src = (f: string) => fileURLToPath(new URL(`./${f}`, import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'domus-pv-'));
  try {
    const elf = join(dir, 'pv.elf');
    execFileSync('riscv64-linux-gnu-gcc', [
      '-ffreestanding',
      '-nostdlib',
      '-static',
      '-fno-pie',
      '-no-pie',
      '-O2',
      '-march=rv64gc',
      '-mabi=lp64d',
      '-mcmodel=medany',
      '-fno-builtin',
      '-Wall',
      '-Werror',
      `-Wl,-T,${src('link.ld')}`,
      '-Wl,--build-id=none',
      '-Wl,--no-warn-rwx-segments',
      '-o',
      elf,
      src('start.S'),
      src('pv.c'),
      src('xs.c'),
    ]);
    execFileSync('riscv64-linux-gnu-objcopy', ['-O', 'binary', elf, join(dir, 'pv.bin')]);
    return readFileSync(join(dir, 'pv.bin'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
