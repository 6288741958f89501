/**
 * The prebuilt default guest (guests/prebuilt/): a gzipped Linux Image and a gzipped
 * initramfs, with SHA256SUMS.
 *
 * `defaultGuest()` verifies the checksums, then returns paths that both QEMU and Domus can
 * load. A checksum mismatch is a `UserError`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { UserError } from '../../common/errors.ts';
import { cacheDir, writeFileAtomic } from './files.ts';

export interface GuestImage {
  /** Uncompressed riscv64 Linux `Image`. */
  kernel: string;
  /** Initramfs (uncompressed newc cpio). */
  initrd: string;
}

/** The checkout (or installed package) root: the nearest directory up with our package.json. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && /"name":\s*"domus"/.test(readFileSync(pkg, 'utf8'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the Domus project root above ' + import.meta.url);
    dir = up;
  }
}

export function prebuiltDir(): string {
  return join(projectRoot(), 'guests', 'prebuilt');
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Checks every file listed in `dir`/SHA256SUMS; returns the names checked. */
export function verifyChecksums(dir: string): string[] {
  return [...verifiedSums(dir).keys()];
}

/** Checks every file listed in `dir`/SHA256SUMS; returns each name's checksum. */
function verifiedSums(dir: string): Map<string, string> {
  const sumsPath = join(dir, 'SHA256SUMS');
  if (!existsSync(sumsPath)) {
    throw new UserError(`${sumsPath} is missing; rebuild the guest with guests/build.sh --update-prebuilt`);
  }
  const sums = new Map<string, string>();
  for (const line of readFileSync(sumsPath, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!m || m[1] === undefined || m[2] === undefined) {
      throw new UserError(`${sumsPath} has a malformed line '${line}'; regenerate it with sha256sum`);
    }
    const file = join(dir, m[2]);
    if (!existsSync(file)) {
      throw new UserError(`${file} is missing; restore it from git or rebuild the guest`);
    }
    const actual = sha256(readFileSync(file));
    if (actual !== m[1]) {
      throw new UserError(
        `${file} does not match its checksum in SHA256SUMS (got ${actual.slice(0, 12)}…); restore it from git or rebuild the guest`,
      );
    }
    sums.set(m[2], actual);
  }
  return sums;
}

function checksumOf(sums: Map<string, string>, dir: string, name: string): string {
  const sum = sums.get(name);
  if (sum === undefined) {
    throw new UserError(
      `${join(dir, 'SHA256SUMS')} does not list ${name}; rebuild the guest with guests/build.sh --update-prebuilt`,
    );
  }
  return sum;
}

/** The prebuilt kernels: the default Linux 6.1, and Linux 6.12 (SBI steal time; docs/guest.md). */
export const PREBUILT_KERNELS: Record<string, string> = { 'linux-6.1': '.', 'linux-6.12': 'linux-6.12' };

/**
 * Verifies the prebuilt guest and returns loadable paths: the kernel and the initramfs
 * decompressed once into the cache directory (keyed by their checksums). Both QEMU and
 * Domus are handed the same uncompressed files, so neither guest spends its boot inflating
 * a gzip stream (about a third of the boot's instructions otherwise).
 */
export function defaultGuest(dir = prebuiltDir()): GuestImage {
  return unpackGuest(dir, dir);
}

/** A prebuilt kernel by name (PREBUILT_KERNELS) with the default initramfs, as defaultGuest. */
export function prebuiltGuest(name: string): GuestImage {
  const sub = PREBUILT_KERNELS[name];
  if (sub === undefined) {
    throw new UserError(
      `there is no prebuilt guest ${name}; use one of ${Object.keys(PREBUILT_KERNELS).join(', ')}`,
    );
  }
  return unpackGuest(join(prebuiltDir(), sub), prebuiltDir());
}

function unpackGuest(kernelDir: string, initrdDir: string): GuestImage {
  const kernelSums = verifiedSums(kernelDir);
  const kernelSum = checksumOf(kernelSums, kernelDir, 'Image.gz');
  const initrdSums = initrdDir === kernelDir ? kernelSums : verifiedSums(initrdDir);
  const initrdSum = checksumOf(initrdSums, initrdDir, 'initramfs.cpio.gz');
  // Keyed by the checksums just verified (the files' own, so no second hash is needed).
  const outDir = join(cacheDir(), 'guests', kernelSum.slice(0, 12) + '-' + initrdSum.slice(0, 12));
  const kernel = join(outDir, 'Image');
  const initrd = join(outDir, 'initramfs.cpio');
  if (!existsSync(kernel) || !existsSync(initrd)) {
    mkdirSync(outDir, { recursive: true });
    writeFileAtomic(kernel, gunzipSync(readFileSync(join(kernelDir, 'Image.gz'))));
    writeFileAtomic(initrd, gunzipSync(readFileSync(join(initrdDir, 'initramfs.cpio.gz'))));
  }
  return { kernel, initrd };
}
