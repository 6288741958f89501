/**
 * What `domus run` and `domus run-test` share: reading input files with clear errors,
 * validating sizes against the host, and locating Debian's OpenSBI.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { totalmem } from 'node:os';
import { isErrnoError, UserError } from '../common/errors.ts';
import { MAX_RAM_BYTES } from '../machine/memory.ts';
import { aptInstall, canInstallPackages } from '../platform/node/apt.ts';

export const OPENSBI_FW_JUMP = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin';

/**
 * Reads a whole input file; errors name the file, what it was for, and the fix. The bytes are
 * in a SharedArrayBuffer, so that handing a kernel or initramfs to a pCPU thread copies
 * nothing (a structured clone of the default guest's 7 MB cost ~10 ms on the way to boot).
 */
export function readInput(path: string, what: string): Uint8Array {
  try {
    if (statSync(path).isDirectory()) throw new UserError(`${what} ${path} is a directory; pass a file`);
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const out = new Uint8Array(new SharedArrayBuffer(size));
      let done = 0;
      while (done < size) {
        const n = readSync(fd, out, done, size - done, done);
        if (n === 0) break; // the file shrank meanwhile
        done += n;
      }
      return done === size ? out : out.slice(0, done);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if (e instanceof UserError) throw e;
    if (isErrnoError(e) && e.code === 'ENOENT')
      throw new UserError(`${what} ${path} does not exist; pass an existing file`);
    if (isErrnoError(e) && e.code === 'EACCES')
      throw new UserError(`${what} ${path} is not readable; check its permissions`);
    throw e;
  }
}

/** Validates a --memory value in MiB and returns bytes. */
export function memoryBytes(value: string | undefined, defaultMiB: number, minMiB: number): number {
  const mib = value === undefined ? defaultMiB : Number(value);
  if (!Number.isInteger(mib) || mib <= 0) {
    throw new UserError(`--memory ${value} is not a whole number of MiB; pass e.g. --memory 256`);
  }
  if (mib < minMiB)
    throw new UserError(`--memory ${mib} MiB is too small for this guest; pass --memory ${minMiB} or more`);
  const maxMiB = Math.floor(MAX_RAM_BYTES / (1 << 20));
  if (mib > maxMiB)
    throw new UserError(
      `--memory ${mib} MiB is more than a Domus board can address (${maxMiB} MiB); pass less`,
    );
  const hostMiB = Math.floor(totalmem() / (1 << 20));
  if (mib > hostMiB - 256) {
    throw new UserError(
      `--memory ${mib} MiB is more than this host can spare (${hostMiB} MiB in all); pass less`,
    );
  }
  return mib * 1024 * 1024;
}

/** Validates --vcpus. */
export function vcpuCount(value: string | undefined, max: number): number {
  if (value === undefined) return 1;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new UserError(`--vcpus ${value} is not a number from 1 to ${max}`);
  return n;
}

/** Returns Debian's OpenSBI fw_jump.bin, installing the opensbi package first when root. */
export function defaultFirmware(): string {
  if (existsSync(OPENSBI_FW_JUMP)) return OPENSBI_FW_JUMP;
  if (canInstallPackages()) {
    process.stderr.write(
      "domus: installing Debian's opensbi package (M-mode firmware for the bare board)…\n",
    );
    aptInstall(['opensbi'], { quiet: true });
    if (existsSync(OPENSBI_FW_JUMP)) return OPENSBI_FW_JUMP;
  }
  throw new UserError(
    `firmware ${OPENSBI_FW_JUMP} is missing; install it with: sudo apt-get install opensbi (or pass --firmware)`,
  );
}
