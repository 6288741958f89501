/**
 * `domus save` / `domus restore` of a running Linux guest (issue 8's first acceptance point): a
 * default-guest domain with 2 vCPUs, a raw disk and a network interface on xenbr0 runs a counter
 * in the background; it is saved (the domain goes away, the file appears, mode 0600), copies of
 * the file with a byte changed (in the header, the domain record, a page, a device record, the
 * end) or cut short are refused with one sentence and leave no domain behind; the file restores
 * a domain that carries on: the same shell process (its pid), the counter past where it was,
 * uptime continuing from the save point (not reset, no jump), the tmpfs file it wrote, the disk
 * (read back, then written again), the network (ping the user-mode gateway). `save -c` leaves
 * the domain running, and a failed save (to a directory that does not exist) leaves it untouched.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { COUNTER_LOOP, GuestShell, TestHost } from './toolstack_host.ts';

const host = new TestHost();
const dir = host.runDir;
const saveFile = join(dir, 'sr.save');
const disk = join(dir, 'disk.raw');
const BOOT_MS = 120_000;
const sh = new GuestShell(host, 'sr');

after(() => host.stop());

function listed(name: string): boolean {
  return new RegExp(`^${name} `, 'm').test(host.domus(['list']).stdout);
}

test('a running guest is saved, damaged copies are refused, and the file restores it where it was', async () => {
  writeFileSync(disk, Buffer.alloc(8 << 20));
  host.createGuest('sr', {
    vcpus: 2,
    more: [`disk = [ 'format=raw, vdev=xvda, access=rw, target=${disk}' ]`, "vif = [ 'bridge=xenbr0' ]"],
  });
  await sh.waitFor(/DOMUS-GUEST-READY/, BOOT_MS, 'the ready marker');

  await sh.run('ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up');
  await sh.run(
    'echo kept-in-tmpfs >/tmp/marker; ' +
      'echo DISK-PATTERN-$((6*7)) | dd of=/dev/vda bs=512 seek=100 conv=fsync 2>/dev/null; ' +
      `${COUNTER_LOOP} true`,
  );
  await new Promise((r) => setTimeout(r, 1500));
  const before = await sh.probe();
  assert.ok(before.count > 0, 'the counter runs');

  // A save to a directory that does not exist fails and leaves the domain running as it was.
  const bad = host.domus(['save', 'sr', join(dir, 'no-such-dir', 'x.save')]);
  assert.equal(bad.status, 2, bad.stderr);
  assert.ok(listed('sr'), 'the domain survives a failed save');
  const stillThere = await sh.probe();
  assert.equal(stillThere.pid, before.pid);
  assert.ok(stillThere.count >= before.count);

  const saved = host.domus(['save', 'sr', saveFile]);
  assert.equal(saved.status, 0, saved.stderr);
  assert.match(saved.stderr, /^Saved: .* MiB/m);
  assert.ok(!listed('sr'), 'save destroys the domain');
  assert.equal(statSync(saveFile).mode & 0o777, 0o600, 'a save file is readable by its owner only');
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.includes('.tmp-')),
    [],
    'no temporary file is left beside the save file',
  );

  // Damaged copies: a changed byte anywhere, or a cut, is refused and leaves no domain.
  const good = readFileSync(saveFile);
  const spots = [
    3,
    30,
    60,
    100,
    4096 * 7 + 123,
    Math.floor(good.length / 2),
    good.length - 2000,
    good.length - 9,
  ];
  for (const at of spots) {
    const copy = Buffer.from(good);
    copy[at] = copy[at]! ^ 0x20;
    const f = join(dir, `damaged-${at}.save`);
    writeFileSync(f, copy);
    const r = host.domus(['restore', f]);
    assert.equal(r.status, 2, `a save file damaged at byte ${at} was accepted: ${r.stderr}`);
    assert.match(r.stderr, /save file .*damaged|cannot be restored|not a Domus save file/i, r.stderr);
    assert.ok(!listed('sr'), `a refused restore (byte ${at}) leaves no domain`);
  }
  const cut = join(dir, 'cut.save');
  writeFileSync(cut, good.subarray(0, good.length - 4096 * 3));
  const rc = host.domus(['restore', cut]);
  assert.equal(rc.status, 2, rc.stderr);
  assert.match(rc.stderr, /ends|truncated|cannot be restored/i);
  assert.ok(!listed('sr'));

  const restored = host.domus(['restore', saveFile]);
  assert.equal(restored.status, 0, restored.stderr);
  assert.ok(listed('sr'), 'the domain is back');
  assert.ok(existsSync(saveFile), 'restore leaves the save file');

  const afterRestore = await sh.probe();
  assert.equal(afterRestore.pid, before.pid, 'the same shell carries on (no reboot)');
  assert.ok(afterRestore.count >= stillThere.count, 'the counter did not restart');
  assert.ok(afterRestore.uptime >= before.uptime, 'uptime continues from the save point');
  assert.ok(afterRestore.uptime < before.uptime + 60, 'uptime does not jump');
  await new Promise((r) => setTimeout(r, 1000));
  const later = await sh.probe();
  assert.ok(later.count > afterRestore.count, 'the counter keeps counting after the restore');
  assert.ok(later.uptime > afterRestore.uptime, 'the clock keeps running');

  assert.equal((await sh.run('cat /tmp/marker')).trim(), 'kept-in-tmpfs');
  const diskRead = await sh.run('dd if=/dev/vda bs=512 skip=100 count=1 2>/dev/null | head -1');
  assert.equal(diskRead.trim(), 'DISK-PATTERN-42', 'the disk reads what was written before the save');
  await sh.writeSector(disk, 200, 'AFTER-RESTORE');
  const ping = await sh.run('ping -c 2 -W 5 10.0.2.2 2>&1 | tail -2', 30_000);
  assert.match(ping, /2 packets transmitted, 2 (packets )?received/, ping);

  // save -c: a checkpoint; the domain carries on.
  const ck = host.domus(['save', '-c', 'sr', join(dir, 'ck.save')]);
  assert.equal(ck.status, 0, ck.stderr);
  assert.ok(listed('sr'));
  const afterCk = await sh.probe();
  assert.equal(afterCk.pid, before.pid);
  assert.ok(afterCk.count >= later.count);
});
