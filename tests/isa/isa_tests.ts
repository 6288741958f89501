/**
 * The ISA test suite as data: which bare-metal test binaries exist, how many harts each needs and
 * which verdict each must end with, read from `tests/isa/bin/MANIFEST` (written by
 * `tests/isa/build.sh`), plus the check that the committed binaries still match their sources.
 * Every runner (QEMU here, the Domus one) takes the suite from this module so they agree on it.
 *
 * A test reports through the SiFive test finisher at 0x100000: 0x5555 is PASS and
 * (N << 16) | 0x3333 is FAIL N, N being the source line of the failing check (codes from 0xfc00 up
 * name an unexpected trap; see README.md). This module does not run anything and does not care
 * how a runner loads an ELF; it only reads files.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directory holding the sources, `build.sh` and `bin/`. */
export const ISA_DIR = fileURLToPath(new URL('.', import.meta.url));

export const FINISHER_ADDRESS = 0x100000;
export const FINISHER_PASS = 0x5555;
export const FINISHER_FAIL = 0x3333;

/** The outcome a test must produce: PASS, or FAIL with this code. */
export type IsaVerdict = { readonly kind: 'pass' } | { readonly kind: 'fail'; readonly code: number };

/** One built test as the manifest records it. */
export interface IsaManifestEntry {
  readonly name: string;
  /** Absolute path of `bin/<name>.elf`. */
  readonly elf: string;
  readonly harts: number;
  /** What the specifications require, so what Domus must produce. */
  readonly expect: IsaVerdict;
  /** What QEMU 7.2 produces: the same, except where QEMU departs from the specifications. */
  readonly qemu: IsaVerdict;
  readonly sourceSha256: string;
  readonly elfSha256: string;
}

export interface IsaManifest {
  /** Shared build inputs (header, linker script, build script) and their sha256, by file name. */
  readonly inputs: ReadonlyMap<string, string>;
  readonly tests: readonly IsaManifestEntry[];
}

/**
 * The tests that must PASS, for a runner to run each with `harts` harts. Self-tests, which must
 * fail on purpose, are left out (see listIsaSelftests).
 */
export function listIsaTests(): { name: string; elf: string; harts: number }[] {
  return readIsaManifest()
    .tests.filter((t) => t.expect.kind === 'pass')
    .map(({ name, elf, harts }) => ({ name, elf, harts }));
}

/** The self-tests: binaries that must end with FAIL `code`, proving a runner can see failures. */
export function listIsaSelftests(): { name: string; elf: string; harts: number; code: number }[] {
  const out: { name: string; elf: string; harts: number; code: number }[] = [];
  for (const t of readIsaManifest().tests) {
    if (t.expect.kind === 'fail') out.push({ name: t.name, elf: t.elf, harts: t.harts, code: t.expect.code });
  }
  return out;
}

/** The verdict a finisher write means, or undefined for a value that is neither PASS nor FAIL. */
export function decodeFinisher(value: number): IsaVerdict | undefined {
  if (value === FINISHER_PASS) return { kind: 'pass' };
  if ((value & 0xffff) === FINISHER_FAIL && value >>> 16 !== 0) return { kind: 'fail', code: value >>> 16 };
  return undefined;
}

export function formatVerdict(v: IsaVerdict): string {
  return v.kind === 'pass' ? 'PASS' : `FAIL ${v.code}`;
}

function manifestError(path: string, line: number, what: string): Error {
  return new Error(`${path} line ${line} ${what}; run tests/isa/build.sh to rewrite it`);
}

function parseVerdict(text: string | undefined): IsaVerdict | undefined {
  if (text === 'pass') return { kind: 'pass' };
  const m = /^fail:([0-9]+)$/.exec(text ?? '');
  if (!m) return undefined;
  const code = Number(m[1]);
  return code >= 1 && code <= 0xffff ? { kind: 'fail', code } : undefined;
}

/** Reads and validates the manifest of the suite in `dir`. */
export function readIsaManifest(dir: string = ISA_DIR): IsaManifest {
  const path = join(dir, 'bin', 'MANIFEST');
  if (!existsSync(path)) throw new Error(`${path} does not exist; run tests/isa/build.sh`);
  const inputs = new Map<string, string>();
  const tests: IsaManifestEntry[] = [];
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [kind, ...rest] = line.split(/\s+/);
    if (kind === 'input') {
      const [file, sha] = rest;
      if (rest.length !== 2 || file === undefined || !/^[0-9a-f]{64}$/.test(sha ?? '')) {
        throw manifestError(path, i + 1, 'is not "input <file> <sha256>"');
      }
      inputs.set(file, sha ?? '');
      return;
    }
    if (kind !== 'test') throw manifestError(path, i + 1, `starts with unknown word "${kind}"`);
    const [name, ...pairs] = rest;
    const fields = new Map(pairs.map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
    const harts = Number(fields.get('harts'));
    const expect = parseVerdict(fields.get('expect'));
    const qemu = parseVerdict(fields.get('qemu'));
    const sourceSha256 = fields.get('source') ?? '';
    const elfSha256 = fields.get('elf') ?? '';
    if (
      name === undefined ||
      !/^[a-z0-9_]+$/.test(name) ||
      !Number.isInteger(harts) ||
      harts < 1 ||
      expect === undefined ||
      qemu === undefined ||
      !/^[0-9a-f]{64}$/.test(sourceSha256) ||
      !/^[0-9a-f]{64}$/.test(elfSha256)
    ) {
      throw manifestError(path, i + 1, 'is not a valid "test" line');
    }
    tests.push({ name, elf: join(dir, 'bin', `${name}.elf`), harts, expect, qemu, sourceSha256, elfSha256 });
  });
  return { inputs, tests };
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * Compares the suite in `dir` with its manifest: every source built, nothing edited since, every
 * binary the one that was built. Returns one sentence per problem (empty when all is current).
 */
export function checkIsaManifest(dir: string = ISA_DIR): string[] {
  const problems: string[] = [];
  let manifest: IsaManifest;
  try {
    manifest = readIsaManifest(dir);
  } catch (e) {
    return [e instanceof Error ? e.message : String(e)];
  }
  const files = readdirSync(dir);
  const shared = new Set([
    'isa.ld',
    'build.sh',
    ...files.filter((f) => f.endsWith('.h')),
    ...manifest.inputs.keys(),
  ]);
  for (const file of shared) {
    const recorded = manifest.inputs.get(file);
    if (recorded === undefined) problems.push(`tests/isa/${file} is not in the manifest`);
    else if (!existsSync(join(dir, file))) problems.push(`tests/isa/${file} is missing`);
    else if (sha256(join(dir, file)) !== recorded) problems.push(`tests/isa/${file} changed since the build`);
  }
  const sources = new Set(files.filter((f) => f.endsWith('.S')).map((f) => f.slice(0, -2)));
  const built = new Set(manifest.tests.map((t) => t.name));
  for (const name of sources) {
    if (!built.has(name)) problems.push(`tests/isa/${name}.S has no binary`);
  }
  for (const t of manifest.tests) {
    const source = join(dir, `${t.name}.S`);
    if (!sources.has(t.name)) problems.push(`bin/${t.name}.elf has no source tests/isa/${t.name}.S`);
    else if (sha256(source) !== t.sourceSha256)
      problems.push(`tests/isa/${t.name}.S changed since the build`);
    if (!existsSync(t.elf)) problems.push(`tests/isa/bin/${t.name}.elf is missing`);
    else if (sha256(t.elf) !== t.elfSha256)
      problems.push(`tests/isa/bin/${t.name}.elf is not the binary that was built`);
  }
  const elves = readdirSync(join(dir, 'bin')).filter((f) => f.endsWith('.elf'));
  for (const elf of elves) {
    if (!built.has(elf.slice(0, -4))) problems.push(`tests/isa/bin/${elf} is not in the manifest`);
  }
  return problems;
}
