/**
 * The ISA suite under Domus: every test binary must PASS under `domus run-test` (the bundled
 * CLI, as a user runs it), and the self-tests must end with exactly their FAIL code. The exit
 * status carries only the low 8 bits of a code, so the console verdict line
 * `isa <name>: PASS|FAIL N` is checked as well.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { listIsaSelftests, listIsaTests } from './isa_tests.ts';

const DOMUS = fileURLToPath(new URL('../../bin/domus.mjs', import.meta.url));
const TIMEOUT_S = 120;

function runTest(elf: string, harts: number): Promise<{ status: number | null; console: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [DOMUS, 'run-test', elf, '--vcpus', String(harts), '--timeout', String(TIMEOUT_S)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString('latin1')));
    child.stderr.on('data', (b: Buffer) => (out += b.toString('latin1')));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, console: out }));
  });
}

for (const t of listIsaTests()) {
  test(`isa ${t.name} passes under domus run-test`, async () => {
    const r = await runTest(t.elf, t.harts);
    assert.equal(r.status, 0, `exit ${r.status}; console:\n${r.console}`);
    assert.match(r.console, new RegExp(`isa ${t.name}: PASS`), r.console);
  });
}

for (const t of listIsaSelftests()) {
  test(`isa self-test ${t.name} fails with code ${t.code} under domus run-test`, async () => {
    const r = await runTest(t.elf, t.harts);
    assert.equal(r.status, t.code & 0xff || 1, `exit ${r.status}; console:\n${r.console}`);
    assert.match(r.console, new RegExp(`isa ${t.name}: FAIL ${t.code}\\b`), r.console);
  });
}
