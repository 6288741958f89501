/**
 * virtio-balloon (issue 5): `domus mem-set` moves a running Linux guest's memory down and back
 * up through its balloon driver. The guest's MemTotal falls by the difference and rises again,
 * `domus list` shows the domain's memory as it is, and the frames the guest gave back are free
 * machine memory on the host meanwhile (`domus info`'s free_memory).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { GuestShell, TestHost, until } from './toolstack_host.ts';

const host = new TestHost();
after(() => host.stop());

function listedMiB(name: string): number {
  const m = new RegExp(`^${name} +\\d+ +(\\d+) `, 'm').exec(host.domus(['list']).stdout);
  assert.ok(m, `domain ${name} is listed`);
  return Number(m[1]);
}

function freeMiB(): number {
  const m = /^free_memory +: (\d+)/m.exec(host.domus(['info']).stdout);
  assert.ok(m, 'domus info shows free_memory');
  return Number(m[1]);
}

test('mem-set shrinks a guest through its balloon and grows it back', async () => {
  host.createGuest('bal', { memoryMiB: 256 });
  const sh = new GuestShell(host, 'bal');
  await sh.waitFor(/DOMUS-GUEST-READY/, 120_000, 'the ready marker');
  const memTotal = async () =>
    Number(/MemTotal: +(\d+) kB/.exec(await sh.run('grep MemTotal /proc/meminfo'))?.[1]);
  const total0 = await memTotal();
  assert.equal(listedMiB('bal'), 256);
  const free0 = freeMiB();

  const r = host.domus(['mem-set', 'bal', '160']);
  assert.equal(r.status, 0, r.stderr);
  await until(() => listedMiB('bal') <= 160, 60_000, 'the domain to shrink to 160 MiB');
  assert.equal(listedMiB('bal'), 160);
  const total1 = await memTotal();
  assert.ok(total0 - total1 >= 95 * 1024, `MemTotal fell from ${total0} kB to ${total1} kB`);
  assert.ok(freeMiB() - free0 >= 95, 'the frames the guest gave back are free on the host');
  // The shrunken guest still works.
  assert.match(await sh.run('echo $((6*7)); ls /proc | head -1'), /^42$/m);

  assert.equal(host.domus(['mem-set', 'bal', '256']).status, 0);
  await until(() => listedMiB('bal') >= 256, 60_000, 'the domain to grow back to 256 MiB');
  const total2 = await memTotal();
  assert.equal(total2, total0, 'MemTotal is back where it was');
  assert.ok(Math.abs(freeMiB() - free0) <= 2, 'the host lent the memory back');
  // The pages it took back are usable: fill 64 MiB of tmpfs and read it back.
  const sum = await sh.run(
    'dd if=/dev/zero bs=1M count=64 2>/dev/null | tr "\\000" x >/tmp/fill && wc -c </tmp/fill && rm /tmp/fill',
    120_000,
  );
  assert.equal(sum.trim(), String(64 << 20));
});
