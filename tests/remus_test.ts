/**
 * Remus (issue 8): a domain on a primary host, protected by `domus remus -i 50` to a backup
 * host, runs busybox httpd with a CGI service that appends each request's number to a tmpfs
 * file and answers `ack N`. A client on the host sends numbered requests through the primary's
 * forwarded port and counts the acknowledgements; mid-run the primary's hostd is killed with
 * SIGKILL. The backup takes over from its last checkpoint: the service answers again through
 * the backup's forwarded port, and every request the client saw acknowledged is in the file on
 * the backup — the held-back network output never let an answer out before the backup had its
 * effect. The service also writes each number to its sector of the domain's disk; the backup's
 * disk replica has every acknowledged one (and what was on the disk before protection began).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { freePort, GuestShell, TestHost, until } from './toolstack_host.ts';

const KEY = 'domus-test-remus-key';
const hosts: TestHost[] = [];
after(async () => {
  for (const h of hosts) await h.stop();
});

/** One request to the guest's service; resolves with the body, or null when it fails or times out. */
function request(port: number, n: number, ms = 3000): Promise<string | null> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: `/cgi-bin/req?n=${n}`, timeout: ms }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 ? body.trim() : null));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

test('the backup takes over when the primary is killed; every acknowledged request is there', async (t) => {
  const [fwdA, fwdB, listen] = [await freePort(), await freePort(), await freePort()];
  const primary = new TestHost();
  Object.assign(primary.env, {
    DOMUS_MIGRATION_KEY: KEY,
    DOMUS_FORWARDS: `tcp:127.0.0.1:${fwdA}:10.0.2.15:80`,
  });
  const backup = new TestHost();
  Object.assign(backup.env, {
    DOMUS_MIGRATION_KEY: KEY,
    DOMUS_FORWARDS: `tcp:127.0.0.1:${fwdB}:10.0.2.15:80`,
    DOMUS_MIGRATE_LISTEN: `127.0.0.1:${listen}`,
  });
  hosts.push(primary, backup);
  assert.equal(backup.domus(['list']).status, 0);

  const disk = join(primary.runDir, 'ha.img');
  const seed = Buffer.alloc(8 << 20);
  seed.write('DATA-WRITTEN-BEFORE-REMUS', 3 << 20);
  writeFileSync(disk, seed);
  primary.createGuest('ha', {
    more: ["vif = [ 'bridge=xenbr0' ]", `disk = [ 'format=raw, vdev=xvda, access=rw, target=${disk}' ]`],
  });
  const sh = new GuestShell(primary, 'ha');
  await sh.waitFor(/DOMUS-GUEST-READY/, 120_000, 'the ready marker');
  await sh.run(
    'ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up && ip route add default via 10.0.2.2; ' +
      'mkdir -p /tmp/www/cgi-bin; ' +
      "f=/tmp/www/cgi-bin/req; echo '#!/bin/sh' >$f; echo 'n=${QUERY_STRING#n=}' >>$f; " +
      "echo 'echo $n >>/tmp/reqlog' >>$f; " +
      "echo 'echo disk-$n | dd of=/dev/vda bs=512 seek=$n conv=fsync 2>/dev/null' >>$f; " +
      `echo 'printf "Content-Type: text/plain\\r\\n\\r\\nack %s\\n" $n' >>$f; ` +
      'chmod +x /tmp/www/cgi-bin/req; httpd -p 80 -h /tmp/www',
  );
  const first = await until(async () => request(fwdA, 0, 5000), 30_000, 'the service before protection');
  assert.equal(first, 'ack 0', 'the service answers before protection');

  const remus = primary.domus(['remus', '-i', '50', 'ha', `127.0.0.1:${listen}`]);
  assert.equal(remus.status, 0, remus.stderr);
  assert.match(remus.stderr, /is protected/);

  // Numbered requests until the primary dies; the last ones may go unanswered.
  const acked: number[] = [];
  let n = 1;
  const deadline = Date.now() + 8000;
  while (Date.now() < deadline && acked.length < 15) {
    const body = await request(fwdA, n);
    if (body === `ack ${n}`) acked.push(n);
    n++;
  }
  assert.ok(acked.length >= 5, `the protected service answered only ${acked.length} requests`);
  // One more in flight while the primary dies; at once the client turns to the backup.
  const inFlight = request(fwdA, n, 2000);
  const killedAt = Date.now();
  process.kill(primary.pid('hostd'), 'SIGKILL');
  // A new connection every 50 ms (each may take a while: the CGI runs in the guest); the first
  // answer ends the wait.
  const tries: Promise<void>[] = [];
  let answeredAt = 0;
  let next = n + 1;
  while (answeredAt === 0 && Date.now() - killedAt < 30_000) {
    const k = next++;
    tries.push(
      request(fwdB, k, 5000).then((body) => {
        if (body !== `ack ${k}`) return;
        acked.push(k);
        answeredAt ||= Date.now();
      }),
    );
    await new Promise((r) => setTimeout(r, 50));
  }
  await Promise.all(tries);
  if ((await inFlight) === `ack ${n}`) acked.push(n);
  assert.ok(answeredAt > 0, 'the service answers on the backup');
  t.diagnostic(
    `${acked.length} requests acknowledged in all; the service answered on the backup ${answeredAt - killedAt} ms after the primary was killed`,
  );

  // The backup's disk replica holds every acknowledged request's sector, and what was on the
  // disk before protection began.
  const replicas = readdirSync(join(backup.runDir, 'state', 'remus'));
  assert.equal(replicas.length, 1, 'one replicated domain on the backup');
  const replica = readFileSync(join(backup.runDir, 'state', 'remus', replicas[0]!, 'disk0.img'));
  assert.equal(replica.length, 8 << 20);
  assert.equal(replica.subarray(3 << 20, (3 << 20) + 25).toString(), 'DATA-WRITTEN-BEFORE-REMUS');
  for (const k of acked) {
    const sector = replica
      .subarray(k * 512, k * 512 + 16)
      .toString()
      .split('\n')[0];
    assert.equal(sector, `disk-${k}`, `acknowledged request ${k}'s disk write is missing on the backup`);
  }

  const bsh = new GuestShell(backup, 'ha');
  const log = (await bsh.run('cat /tmp/reqlog')).split('\n').filter(Boolean).map(Number);
  for (const k of acked)
    assert.ok(log.includes(k), `acknowledged request ${k} is missing on the backup (log: ${log.join(' ')})`);
});

test('a protected domain destroyed on the primary is dropped by the backup, not started there', async () => {
  const listen = await freePort();
  const primary = new TestHost();
  primary.env['DOMUS_MIGRATION_KEY'] = KEY;
  const backup = new TestHost();
  Object.assign(backup.env, { DOMUS_MIGRATION_KEY: KEY, DOMUS_MIGRATE_LISTEN: `127.0.0.1:${listen}` });
  hosts.push(primary, backup);
  assert.equal(backup.domus(['list']).status, 0);
  primary.createGuest('gone', { memoryMiB: 64 });
  await new GuestShell(primary, 'gone').waitFor(/DOMUS-GUEST-READY/, 120_000, 'the ready marker');
  const r = primary.domus(['remus', '-i', '50', 'gone', `127.0.0.1:${listen}`]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(backup.domus(['list']).stdout, /^gone +\d+ .*--p---/m, 'the backup holds a paused copy');
  assert.equal(primary.domus(['destroy', 'gone']).status, 0);
  await until(
    () => !/^gone /m.test(backup.domus(['list']).stdout),
    30_000,
    'the backup to drop its copy',
  ).catch((e: Error) => {
    throw new Error(
      `${e.message}\nbackup dmesg:\n${backup.domus(['dmesg']).stdout}\nprimary dmesg:\n${primary.domus(['dmesg']).stdout}`,
    );
  });
  assert.doesNotMatch(backup.domus(['dmesg']).stdout, /took over/, 'the backup never started the domain');
});
