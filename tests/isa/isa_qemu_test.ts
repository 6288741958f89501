/**
 * The ISA suite under QEMU 7.2, the second opinion: the committed binaries must match their
 * sources, and every test must end under `qemu-system-riscv64 -M virt -bios none` with the
 * verdict the manifest records for QEMU. That is PASS for most tests; FAIL N for the self-tests
 * (proof that a failure is seen, and seen with its number) and for the few tests whose check N is
 * where QEMU 7.2 departs from the specifications (documented in each test's source).
 *
 * QEMU's exit status carries only the low 8 bits of the code, so the console line
 * `isa <name>: PASS|FAIL N` is required as well.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkIsaManifest, formatVerdict, ISA_DIR, readIsaManifest, type IsaVerdict } from './isa_tests.ts';

const QEMU = 'qemu-system-riscv64';
const TIMEOUT_MS = 60_000;

interface QemuRun {
  status: number | null;
  timedOut: boolean;
  console: string;
}

/** Runs one test binary to completion (or the timeout) and collects its console. */
function runQemu(elf: string, harts: number): Promise<QemuRun> {
  return new Promise((resolve, reject) => {
    const args = [
      '-M',
      'virt',
      '-bios',
      'none',
      '-nographic',
      '-m',
      '128',
      '-smp',
      String(harts),
      '-kernel',
      elf,
    ];
    const child = spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let console = '';
    let timedOut = false;
    child.stdout.on('data', (b: Buffer) => (console += b.toString('latin1')));
    child.stderr.on('data', (b: Buffer) => (console += b.toString('latin1')));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, timedOut, console: console.replace(/\r/g, '') });
    });
  });
}

/** What the console says the verdict was, if it says. */
function consoleVerdict(name: string, console: string): IsaVerdict | undefined {
  const m = new RegExp(`^isa ${name}: (PASS|FAIL ([0-9]+))$`, 'm').exec(console);
  if (!m) return undefined;
  return m[2] === undefined ? { kind: 'pass' } : { kind: 'fail', code: Number(m[2]) };
}

const qemuAvailable = spawnSync('sh', ['-c', `command -v ${QEMU}`], { stdio: 'ignore' }).status === 0;

test('the committed ISA binaries match their sources', () => {
  const problems = checkIsaManifest();
  assert.deepEqual(problems, [], `${problems.join('\n')}\nrun tests/isa/build.sh`);
});

test('an edited source makes the binaries stale', () => {
  const copy = mkdtempSync(join(tmpdir(), 'domus-isa-'));
  try {
    cpSync(ISA_DIR, copy, { recursive: true });
    writeFileSync(join(copy, 'rv64i.S'), '// edited\n', { flag: 'a' });
    writeFileSync(join(copy, 'bin', 'stray.elf'), '');
    assert.deepEqual(checkIsaManifest(copy), [
      'tests/isa/rv64i.S changed since the build',
      'tests/isa/bin/stray.elf is not in the manifest',
    ]);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});

for (const t of readIsaManifest().tests) {
  const want = t.qemu;
  const label = t.qemu.kind === 'fail' && t.expect.kind === 'pass' ? ' (a known QEMU 7.2 departure)' : '';
  test(`${t.name} ends with ${formatVerdict(want)} under QEMU${label}`, async () => {
    assert.ok(
      qemuAvailable,
      `${QEMU} is not installed; install it with: sudo apt-get install qemu-system-misc`,
    );
    const run = await runQemu(t.elf, t.harts);
    const got = consoleVerdict(t.name, run.console);
    const what = run.timedOut
      ? `no verdict within ${TIMEOUT_MS / 1000} s`
      : `${got ? formatVerdict(got) : 'no verdict line'} (QEMU exit status ${run.status})`;
    const detail = `${t.name}: expected ${formatVerdict(want)}, got ${what}\n--- console ---\n${run.console}`;
    assert.equal(run.timedOut, false, detail);
    assert.deepEqual(got, want, detail);
    assert.equal(run.status, want.kind === 'pass' ? 0 : want.code & 0xff, detail);
  });
}
