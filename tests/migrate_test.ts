/**
 * Live migration between two Domus hosts on this machine (issue 8): a 256 MiB default-guest
 * domain runs a counter and a loop that keeps rewriting 8 MiB of tmpfs. First the failures, each
 * of which must leave the source domain running and intact (the same shell, the counter going
 * on): a destination with another migration key, one that dies (SIGKILL) part way through the
 * stream, one that dies with the whole domain built, and one that dies with the shared disk image
 * already opened — each before the point of no return (the source takes its disk back). Then
 * the real move: `domus migrate` reports rounds and downtime, the domain is gone from the source
 * and runs on the destination with the same shell process, its counter past where it was, and
 * its uptime continuous; its disk (an image both hosts reach at the same path) comes along.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { COUNTER_LOOP, freePort, GuestShell, TestHost } from './toolstack_host.ts';
import { writeFileSync } from 'node:fs';

const KEY = 'domus-test-migration-key';
const hosts: TestHost[] = [];
after(async () => {
  for (const h of hosts) await h.stop();
});

function newHost(env: Record<string, string> = {}): TestHost {
  const h = new TestHost();
  Object.assign(h.env, { DOMUS_MIGRATION_KEY: KEY, ...env });
  hosts.push(h);
  return h;
}

/** A destination host listening for migrations; `env` adds fault injection or another key. */
async function destination(env: Record<string, string> = {}): Promise<{ host: TestHost; to: string }> {
  const port = await freePort();
  const host = newHost({ DOMUS_MIGRATE_LISTEN: `127.0.0.1:${port}`, ...env });
  const r = host.domus(['list']); // starts domusd and hostd
  assert.equal(r.status, 0, r.stderr);
  return { host, to: `127.0.0.1:${port}` };
}

function listed(h: TestHost, name: string): boolean {
  return new RegExp(`^${name} `, 'm').test(h.domus(['list']).stdout);
}

test('a running guest moves to another host; failures before the point of no return leave it running here', async (t) => {
  const src = newHost();
  // Shared storage: both hosts reach the image at the same path.
  const disk = join(src.runDir, 'mig.img');
  writeFileSync(disk, Buffer.alloc(8 << 20));
  src.createGuest('mig', {
    memoryMiB: 256,
    more: [`disk = [ 'format=raw, vdev=xvda, access=rw, target=${disk}' ]`],
  });
  const sh = new GuestShell(src, 'mig');
  await sh.waitFor(/DOMUS-GUEST-READY/, 120_000, 'the ready marker');
  await sh.run(
    `${COUNTER_LOOP} ` +
      'dd if=/dev/urandom of=/tmp/seed bs=64k count=128 2>/dev/null; ' +
      '(while true; do cat /tmp/seed >/tmp/dirty; done) & ' +
      'echo BEFORE-MIGRATION | dd of=/dev/vda bs=512 seek=10 conv=fsync 2>/dev/null',
  );
  await new Promise((r) => setTimeout(r, 1000));
  let last = await sh.probe();
  assert.ok(last.count > 0);

  const stillHere = async (what: string) => {
    assert.ok(listed(src, 'mig'), `${what}: the domain is still on the source`);
    const now = await sh.probe();
    assert.equal(now.pid, last.pid, `${what}: the same shell carries on`);
    assert.ok(now.count >= last.count, `${what}: the counter did not go back`);
    last = now;
  };

  // Another key: refused before anything is sent.
  const stranger = await destination({ DOMUS_MIGRATION_KEY: 'some-other-key' });
  const refused = src.domus(['migrate', 'mig', stranger.to]);
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr, /migration key/);
  await stillHere('wrong key');

  // The destination dies part way through the stream, then with the domain built but before GO.
  for (const point of ['stream', 'ready', 'disks']) {
    const dying = await destination({ DOMUS_TEST_MIGRATE_DIE: point });
    const r = src.domus(['migrate', 'mig', dying.to]);
    assert.equal(r.status, 2, `destination dying at ${point}: ${r.stderr}`);
    assert.match(r.stderr, /carries on here/, r.stderr);
    await stillHere(`destination killed at ${point}`);
  }

  // The real move.
  const dst = await destination();
  const moved = src.domus(['migrate', 'mig', dst.to]);
  assert.equal(moved.status, 0, moved.stderr);
  t.diagnostic(moved.stderr);
  assert.match(moved.stderr, /round 1: \d+ pages/);
  const report = JSON.parse(moved.stdout) as { rounds: number; downtimeMs: number; totalMs: number };
  assert.ok(report.rounds >= 2, `pre-copy took ${report.rounds} rounds`);
  assert.ok(report.downtimeMs > 0 && report.downtimeMs < report.totalMs);
  assert.ok(!listed(src, 'mig'), 'the domain left the source');
  assert.ok(listed(dst.host, 'mig'), 'the domain runs on the destination');
  const there = new GuestShell(dst.host, 'mig');
  const now = await there.probe();
  assert.equal(now.pid, last.pid, 'the same shell carries on at the destination');
  assert.ok(now.count >= last.count, 'the counter did not restart');
  assert.ok(now.uptime >= last.uptime && now.uptime < last.uptime + 60, 'uptime is continuous');
  await new Promise((r) => setTimeout(r, 1000));
  const later = await there.probe();
  assert.ok(later.count > now.count, 'the counter keeps counting at the destination');
  // The disk came along: what was written before, and a write from the destination.
  const before = await there.run('dd if=/dev/vda bs=512 skip=10 count=1 2>/dev/null | head -1');
  assert.equal(before.trim(), 'BEFORE-MIGRATION');
  await there.writeSector(disk, 20, 'AFTER-MIGRATION');
});
