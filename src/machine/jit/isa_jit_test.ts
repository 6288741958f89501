/**
 * The ISA suite with the JIT forced on: every test binary must end with the same verdict as
 * under the interpreter (PASS, or the self-tests' FAIL code), run in-process on the board with
 * `attachJit(board, 'force')`, and `domus run-test` must honour DOMUS_JIT (checked once
 * through the CLI itself, from source).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { listIsaSelftests, listIsaTests } from '../../../tests/isa/isa_tests.ts';
import { VirtBoard } from '../board.ts';
import { attachJit } from './jit.ts';

const MAIN = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));
const TIMEOUT_MS = 60_000;

async function runForced(
  elf: string,
  harts: number,
): Promise<{ verdict: string; console: string; translated: number }> {
  let out = '';
  const board = new VirtBoard({
    ramBytes: 128 << 20,
    harts,
    onConsole: (bytes: Uint8Array) => {
      out += Buffer.from(bytes).toString('latin1');
    },
  });
  board.loadTest(readFileSync(elf), elf);
  const jit = attachJit(board, 'force');
  const timer = setTimeout(() => board.stop(), TIMEOUT_MS);
  const reason = await board.run();
  clearTimeout(timer);
  const r = reason as { kind: string; code?: number };
  return {
    verdict: `${r.kind}${r.code === undefined ? '' : ` ${r.code}`}`,
    console: out,
    translated: jit!.stats().translated,
  };
}

for (const t of listIsaTests()) {
  test(`isa ${t.name} passes with the JIT forced on`, async () => {
    const r = await runForced(t.elf, t.harts);
    assert.match(r.console, new RegExp(`isa ${t.name}: PASS`), `${r.verdict}; console:\n${r.console}`);
    assert.equal(r.verdict, 'poweroff 0', r.console);
    assert.ok(r.translated > 0, 'the JIT translated nothing');
  });
}

for (const t of listIsaSelftests()) {
  test(`isa self-test ${t.name} fails with code ${t.code} with the JIT forced on`, async () => {
    const r = await runForced(t.elf, t.harts);
    assert.match(r.console, new RegExp(`isa ${t.name}: FAIL ${t.code}\\b`), r.console);
  });
}

test('domus run-test honours DOMUS_JIT and refuses an unknown mode', () => {
  const t = listIsaTests()[0]!;
  const run = (mode: string) =>
    spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'run-test', t.elf, '--vcpus', String(t.harts)], {
      env: { ...process.env, DOMUS_JIT: mode },
      encoding: 'latin1',
      timeout: 120_000,
    });
  const forced = run('force');
  assert.equal(forced.status, 0, forced.stdout + forced.stderr);
  assert.match(forced.stdout, new RegExp(`isa ${t.name}: PASS`));
  const bad = run('sometimes');
  assert.equal(bad.status, 2, bad.stdout + bad.stderr);
  assert.match(bad.stderr, /DOMUS_JIT "sometimes" is not a JIT mode; use off, on or force/);
});
