/**
 * Golden runs of the prebuilt default guest under the QEMU reference runner: the guest's
 * `domus.run` convention end to end (status out through QEMU's exit code) and the
 * interactive busybox shell on the console.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { startQemu } from './qemu.ts';

const BOOT_MS = 60_000;

test('domus.run=uname -a prints a riscv64 Linux 6.1 banner and exits 0', async () => {
  const g = startQemu({ append: 'domus.run=uname -a' });
  try {
    await g.waitForLine(/DOMUS-GUEST-READY/, BOOT_MS);
    const line = await g.waitForLine(/^Linux /, BOOT_MS);
    assert.match(line.text, /^Linux domus 6\.1\.\S+ #1 SMP .* riscv64 GNU\/Linux$/);
    const exit = await g.wait(BOOT_MS);
    assert.equal(exit.code, 0, g.tail());
  } finally {
    g.kill();
  }
});

test('a failing domus.run command makes QEMU exit with its status', async () => {
  for (const [cmd, status] of [
    ['false', 1],
    ['exit 3', 3],
  ] as const) {
    const g = startQemu({ append: `domus.run="${cmd}"` });
    try {
      await g.waitForLine(new RegExp(`^DOMUS-RUN-EXIT ${status}$`), BOOT_MS);
      const exit = await g.wait(BOOT_MS);
      assert.equal(exit.code, status, g.tail());
    } finally {
      g.kill();
    }
  }
});

test('without domus.run the busybox shell answers on the console', async () => {
  const g = startQemu({ vcpus: 2 });
  try {
    await g.waitForLine(/DOMUS-GUEST-READY/, BOOT_MS);
    await g.waitForPrompt(/domus:.*# $/, BOOT_MS);
    g.type('echo sum=$((40+2)); grep -c ^processor /proc/cpuinfo\n');
    await g.waitForLine(/^sum=42$/, BOOT_MS);
    await g.waitForLine(/^2$/, BOOT_MS);
    g.type('exit\n');
    const exit = await g.wait(BOOT_MS);
    assert.equal(exit.code, 0, g.tail());
  } finally {
    g.kill();
  }
});

test('the npm script passes the guest status through', () => {
  const r = spawnSync('npm', ['run', '--silent', 'ref:qemu', '--', '--append', 'domus.run=exit 7'], {
    encoding: 'utf8',
    timeout: BOOT_MS,
  });
  assert.equal(r.status, 7, r.stdout + r.stderr);
  assert.match(r.stdout, /DOMUS-RUN-EXIT 7/);
});
