/**
 * Builds the small assembly guests under tests/guests/ into flat images that the domain builder
 * loads like a Linux Image (they carry its header): Debian's riscv64 binutils, linked at the
 * kernel's load address 0x8020_0000.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function assembleGuest(name: string): Uint8Array {
  const source = fileURLToPath(new URL(`./${name}.S`, import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), `domus-${name}-`));
  try {
    execFileSync('riscv64-linux-gnu-as', ['-march=rv64gc', '-I', dirname(source), '-o', join(dir, 'a.o'), source]);
    execFileSync('riscv64-linux-gnu-ld', ['-Ttext=0x80200000', '-o', join(dir, 'a.elf'), join(dir, 'a.o')]);
    execFileSync('riscv64-linux-gnu-objcopy', ['-O', 'binary', join(dir, 'a.elf'), join(dir, 'a.bin')]);
    return readFileSync(join(dir, 'a.bin'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
