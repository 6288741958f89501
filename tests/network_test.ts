/**
 * Networking between real Linux domains (issue 5's acceptance): two guests with `vif = [
 * 'bridge=xenbr0' ]`, created with `domus create`, on hostd's virtual switch. They ping each
 * other, move 64 MiB generated in one guest to the other over TCP with busybox `nc` (sha256
 * compared on both sides), and a host client reaches busybox `httpd` in the first guest through
 * a port forwarded by the user-mode network (DOMUS_FORWARDS).
 *
 * The guests are driven through their consoles (console.input) and report through markers
 * printed by shell arithmetic (`MARK-$((N+1))`), so the echo of a typed command never matches.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { get } from 'node:http';
import { after, test } from 'node:test';
import { freePort, GuestShell, TestHost, until } from './toolstack_host.ts';

const TRANSFER_MIB = 64;
const host = new TestHost();

after(() => host.stop());

function httpGet(port: number, path: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, timeout: 30_000 }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
  });
}

/** A guest shell on a domain's console. */
/** A guest's shell whose answers come trimmed. */
class Guest extends GuestShell {
  constructor(readonly name: string) {
    super(host, name);
  }

  override async run(cmd: string, ms = 60_000): Promise<string> {
    return (await super.run(cmd, ms)).trim();
  }
}

test('two guests on xenbr0 ping each other and move 64 MiB over TCP; the host reaches httpd through a forward', async () => {
  const httpPort = await freePort();
  host.env['DOMUS_FORWARDS'] = `tcp:${httpPort}:80`;
  const create = (name: string) =>
    host.createGuest(name, { memoryMiB: 256, more: ["vif = [ 'bridge=xenbr0' ]"] });
  create('neta');
  create('netb');
  const a = new Guest('neta');
  const b = new Guest('netb');
  for (const g of [a, b]) {
    await until(
      async () => (await host.console(g.name)).includes('DOMUS-GUEST-READY'),
      120_000,
      `${g.name} to boot`,
    ).catch(async (e: Error) => {
      throw new Error(`${e.message}; console tail:\n${(await host.console(g.name)).slice(-2000)}`);
    });
  }
  // Both vifs sit on xenbr0, as xl's network-list shows.
  const vifs = host.domus(['network-list', 'neta']);
  assert.equal(vifs.status, 0, vifs.stderr);
  assert.match(vifs.stdout, /xenbr0/);

  // Static addresses: the guest has no udhcpc script.
  for (const [g, ip] of [
    [a, '10.0.2.15'],
    [b, '10.0.2.16'],
  ] as const) {
    await g.run(`ip addr add ${ip}/24 dev eth0 && ip link set eth0 up && ip route add default via 10.0.2.2`);
    assert.match(await g.run('ip -4 addr show dev eth0'), new RegExp(`inet ${ip.replace(/\./g, '\\.')}/24`));
  }

  // The guest's nc is busybox's netcat 1.10 clone: it listens with -l -p.
  assert.match(await a.run('busybox nc --help 2>&1'), /-l -p PORT/);

  // Ping each way.
  const pingAB = await a.run('ping -c 3 10.0.2.16', 60_000);
  assert.match(pingAB, /3 packets transmitted, 3 packets received, 0% packet loss/, pingAB);
  const pingBA = await b.run('ping -c 3 10.0.2.15', 60_000);
  assert.match(pingBA, /3 packets transmitted, 3 packets received, 0% packet loss/, pingBA);

  // 64 MiB made in A from the guest's random bytes: 8 MiB of /dev/urandom (the interpreted
  // guest makes about 1 MiB/s of it) repeated, each copy after a different line, so that no
  // two stretches of the stream are alike. Busybox nc keeps the connection open after its stdin
  // ends, so the size of B's file tells when all arrived; then both guests hash their copy at
  // once (each domain has its own pCPU).
  const mib = TRANSFER_MIB;
  await a.run(
    'dd if=/dev/urandom of=/tmp/r bs=1M count=8 2>/dev/null && ' +
      `for i in $(seq ${mib / 8 + 1}); do echo block-$i; cat /tmp/r; done | head -c ${mib << 20} >/tmp/out && ` +
      'rm /tmp/r',
    120_000,
  );
  await b.run('nc -l -p 5000 </dev/null >/tmp/in & sleep 1');
  const t0 = Date.now();
  await a.run('nc 10.0.2.16 5000 </tmp/out & sleep 1');
  const got = await b.run(
    `while [ $(stat -c %s /tmp/in) -lt ${mib << 20} ]; do sleep 1; done; stat -c %s /tmp/in`,
    180_000,
  );
  const seconds = (Date.now() - t0) / 1000;
  console.log(
    `${mib} MiB guest to guest over busybox nc in ${seconds.toFixed(1)} s (${(mib / seconds).toFixed(2)} MiB/s)`,
  );
  assert.equal(got, String(mib << 20));
  const t1 = Date.now();
  const [sumA, sumB] = await Promise.all([
    a.run('sha256sum /tmp/out', 180_000),
    b.run('sha256sum /tmp/in', 180_000),
  ]);
  console.log(`sha256sum of ${mib} MiB in both guests at once: ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  assert.match(sumA, /^[0-9a-f]{64} +\/tmp\/out$/, sumA);
  assert.match(sumB, /^[0-9a-f]{64} +\/tmp\/in$/, sumB);
  assert.equal(
    sumB.slice(0, 64),
    sumA.slice(0, 64),
    'the sha256 of the received file differs from the sent one',
  );
  await a.run('kill %1; rm /tmp/out');
  await b.run('kill %1; rm /tmp/in');

  // httpd in A on port 80, reached from the host through the forwarded port.
  await a.run(
    'mkdir -p /tmp/www && echo hello-from-$(hostname)-$((6*7)) >/tmp/www/index.html && ' +
      'dd if=/dev/urandom of=/tmp/www/blob bs=1k count=512 2>/dev/null && httpd -p 80 -h /tmp/www',
  );
  const index = await httpGet(httpPort, '/index.html');
  assert.equal(index.status, 200);
  assert.match(index.body.toString(), /^hello-from-.*-42\n$/);
  const guestIndex = await a.run('cat /tmp/www/index.html');
  assert.equal(index.body.toString().trim(), guestIndex);
  const blob = await httpGet(httpPort, '/blob');
  assert.equal(blob.status, 200);
  assert.equal(blob.body.length, 512 * 1024);
  const blobSum = await a.run('sha256sum /tmp/www/blob');
  assert.equal(createHash('sha256').update(blob.body).digest('hex'), blobSum.split(/\s+/)[0]);
});
