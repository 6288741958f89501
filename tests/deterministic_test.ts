/**
 * Deterministic mode: with virtual time and seeded randomness, two runs of the same guest
 * retire the same number of instructions and print the same console, byte for byte (kernel
 * timestamps included). Run on 2 harts, whose interleaving is the hardest part to keep
 * repeatable; this configuration once exposed a lost S-mode external interrupt.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const DOMUS = fileURLToPath(new URL('../bin/domus.mjs', import.meta.url));

function boot(extra: string[]): { status: number | null; console: string; instructions: string } {
  const r = spawnSync(
    process.execPath,
    [
      DOMUS,
      'run',
      ...extra,
      '--deterministic',
      '--seed',
      '7',
      '--vcpus',
      '2',
      '--no-reboot',
      '--append',
      'domus.run=cat /proc/uptime',
    ],
    { encoding: 'latin1', env: { ...process.env, DOMUS_STATS: '1' }, timeout: 180_000 },
  );
  const stats = /domus: (\d+) instructions/.exec(r.stderr);
  return { status: r.status, console: r.stdout, instructions: stats?.[1] ?? `no stats in: ${r.stderr}` };
}

for (const [mode, extra] of [
  ['hosted', []],
  ['bare', ['--bare']],
] as const) {
  test(`two deterministic SMP runs are identical (${mode})`, () => {
    const a = boot([...extra]);
    const b = boot([...extra]);
    assert.equal(a.status, 0, a.console.slice(-2000));
    assert.match(a.console, /DOMUS-RUN-EXIT 0/);
    assert.equal(b.instructions, a.instructions);
    assert.equal(b.console, a.console);
  });
}
