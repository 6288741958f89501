/**
 * usernet against a real Linux TCP/IP stack: the default guest (Linux 6.1 + busybox) under
 * QEMU, its virtio-net frames carried over UDP (`-netdev dgram`) into a VSwitch port, with
 * UserNet on another port of the same switch. Each test boots its own guest and drives its
 * shell on the console.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { get } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { startQemu } from '../../../bench/qemu.ts';
import type { GuestProcess } from '../../../bench/guest_process.ts';
import { UserNet, type UserNetOptions } from './usernet.ts';
import { VSwitch } from './vswitch.ts';

const STEP_MS = 30_000;

/** A switch port that carries frames to and from QEMU's `-netdev dgram` (one frame per datagram). */
async function qemuBridge(sw: VSwitch): Promise<{ args: string[]; close: () => void }> {
  const probe = createSocket('udp4');
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r));
  const qemuPort = (probe.address() as AddressInfo).port;
  probe.close();
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  sock.setRecvBufferSize(4 << 20);
  const myPort = (sock.address() as AddressInfo).port;
  const port = sw.attach('qemu', (frame) => sock.send(Buffer.from(frame), qemuPort, '127.0.0.1'));
  sock.on('message', (msg) => port.send(new Uint8Array(msg.buffer, msg.byteOffset, msg.length)));
  return {
    args: [
      '-netdev',
      `dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=${qemuPort},remote.type=inet,remote.host=127.0.0.1,remote.port=${myPort}`,
      '-device',
      'virtio-net-device,netdev=n0',
    ],
    close: () => {
      port.detach();
      sock.close();
    },
  };
}

interface Rig {
  g: GuestProcess;
  un: UserNet;
  /** Runs a shell command in the guest; resolves with its output lines and exit status. */
  sh(cmd: string, timeoutMs?: number): Promise<{ out: string[]; status: number }>;
  /** Types a command without waiting for it. */
  type(cmd: string): void;
  close(): Promise<void>;
}

async function boot(opts: Omit<UserNetOptions, 'switch'> = {}): Promise<Rig> {
  const sw = new VSwitch({ name: 'test0' });
  const un = new UserNet({ switch: sw, dns: false, ...opts });
  await un.start();
  const bridge = await qemuBridge(sw);
  const g = startQemu({ extraArgs: bridge.args, append: 'quiet' });
  let n = 0;
  const rig: Rig = {
    g,
    un,
    async sh(cmd, timeoutMs = STEP_MS) {
      const id = ++n;
      const from = g.lines.length;
      // The marker is split in the typed text so that the echoed command line never matches it.
      g.type(`${cmd}; echo "M""ARK${id}=$?"\n`);
      const end = await g.waitForLine(new RegExp(`^MARK${id}=(\\d+)$`), timeoutMs, from);
      const status = Number(/=(\d+)$/.exec(end.text)![1]);
      return { out: g.lines.slice(from, end.index).map((l) => l.text), status };
    },
    type(cmd) {
      g.type(cmd + '\n');
    },
    async close() {
      g.kill();
      await g.exited.catch(() => {});
      bridge.close();
      await un.close();
    },
  };
  try {
    await g.waitForLine(/DOMUS-GUEST-READY/, 60_000);
    await g.waitForPrompt(/# $/, STEP_MS);
  } catch (e) {
    await rig.close();
    throw e;
  }
  return rig;
}

/** DHCP with busybox udhcpc and a small script that configures the address and route. */
async function dhcp(rig: Rig): Promise<void> {
  const script =
    "printf '#!/bin/sh\\ncase $1 in bound) ip addr add $ip/$mask dev $interface; ip route add default via $router;; esac\\nexit 0\\n' > /tmp/dh";
  assert.equal((await rig.sh(`${script}; chmod +x /tmp/dh; ip link set eth0 up`)).status, 0);
  const r = await rig.sh('udhcpc -i eth0 -n -q -t 5 -T 1 -s /tmp/dh');
  assert.equal(r.status, 0, `udhcpc failed:\n${r.out.join('\n')}\n${rig.g.tail()}`);
}

function sha256(data: Uint8Array | Uint8Array[]): string {
  const h = createHash('sha256');
  for (const d of Array.isArray(data) ? data : [data]) h.update(d);
  return h.digest('hex');
}

function hashIn(lines: string[]): string {
  const m = lines.map((l) => /^([0-9a-f]{64})\b/.exec(l)).find((x) => x);
  assert.ok(m, `no sha256 in:\n${lines.join('\n')}`);
  return m[1]!;
}

function httpGet(url: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

test('udhcpc gets 10.0.2.15, ping 10.0.2.2 answers, a host http.get reaches busybox httpd through a forward', async () => {
  const rig = await boot({ portForwards: [{ proto: 'tcp', hostPort: 0, guestPort: 80 }] });
  try {
    await dhcp(rig);
    const addr = await rig.sh('ip -4 addr show eth0; ip route');
    assert.ok(
      addr.out.some((l) => /inet 10\.0\.2\.15\/24/.test(l)),
      addr.out.join('\n'),
    );
    assert.ok(
      addr.out.some((l) => /^default via 10\.0\.2\.2 dev eth0/.test(l)),
      addr.out.join('\n'),
    );
    const ping = await rig.sh('ping -c 2 -W 2 10.0.2.2');
    assert.equal(ping.status, 0, ping.out.join('\n'));
    assert.ok(ping.out.some((l) => /2 packets received/.test(l)));
    assert.ok(rig.un.counters.icmpEchoReplies >= 2);
    assert.ok(rig.un.counters.dhcpReplies >= 2, 'no OFFER and ACK');

    const mk = await rig.sh(
      'mkdir -p /tmp/www && dd if=/dev/urandom of=/tmp/www/f.bin bs=1k count=700 2>/dev/null && sha256sum /tmp/www/f.bin && httpd -p 80 -h /tmp/www',
    );
    assert.equal(mk.status, 0, mk.out.join('\n'));
    const want = hashIn(mk.out);
    const res = await httpGet(`http://127.0.0.1:${rig.un.hostPortOf(0)}/f.bin`);
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 700 * 1024);
    assert.equal(sha256(res.body), want);
    const missing = await httpGet(`http://127.0.0.1:${rig.un.hostPortOf(0)}/nope`);
    assert.equal(missing.status, 404);
    assert.ok(rig.un.counters.forwardedConnections >= 2);
  } finally {
    await rig.close();
  }
});

test('guest TCP and UDP reach host servers through NAT; a closed host port is refused', async () => {
  const echo = createServer((s) => {
    let got = '';
    s.on('data', (d) => {
      got += d.toString();
      if (got.includes('\n')) s.end(got.toUpperCase());
    });
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const big = new Uint8Array(3 << 20).map((_, i) => (i * 7 + (i >> 11)) & 255);
  const http = createHttpServer((_req, res) => {
    res.writeHead(200, { 'content-length': big.length });
    res.end(big);
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const udp = createSocket('udp4');
  udp.on('message', (m, r) => udp.send(Buffer.from(m.toString().toUpperCase()), r.port, r.address));
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  const rig = await boot();
  try {
    await dhcp(rig);
    const ePort = (echo.address() as AddressInfo).port;
    const r1 = await rig.sh(`echo hello-nat | nc 10.0.2.2 ${ePort}`);
    assert.ok(r1.out.includes('HELLO-NAT'), r1.out.join('\n'));
    const hPort = (http.address() as AddressInfo).port;
    const r2 = await rig.sh(`wget -q -O - http://10.0.2.2:${hPort}/big | sha256sum`);
    assert.equal(hashIn(r2.out), sha256(big));
    const uPort = (udp.address() as AddressInfo).port;
    const r3 = await rig.sh(`echo ping-udp | nc -u -w 2 10.0.2.2 ${uPort}`);
    assert.ok(r3.out.includes('PING-UDP'), r3.out.join('\n'));
    const r4 = await rig.sh(`wget -q -O - http://10.0.2.2:${await closedPort()}/`);
    assert.notEqual(r4.status, 0);
    assert.ok(
      r4.out.some((l) => /refused/i.test(l)),
      rig.g.tail(40),
    );
    assert.ok(rig.un.counters.natTcpConnections >= 2);
    assert.equal(rig.un.counters.natTcpRefused, 1);
    assert.ok(rig.un.counters.udpDatagramsIn >= 1);
  } finally {
    await rig.close();
    echo.close();
    http.close();
    udp.close();
  }
});

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

test('16 MiB to the guest and 16 MB back through a forwarded port, byte-exact, with a host reader that stalls', async () => {
  const MiB = 1 << 20;
  const size = 16 * MiB;
  const rig = await boot({
    portForwards: [
      { proto: 'tcp', hostPort: 0, guestPort: 5000 },
      { proto: 'tcp', hostPort: 0, guestPort: 5001 },
    ],
  });
  try {
    await dhcp(rig);
    // Host → guest: nc -l | sha256sum in the guest.
    rig.type('nc -l -p 5000 </dev/null | sha256sum > /tmp/up.sha &');
    assert.equal(
      (await rig.sh('while ! netstat -ltn 2>/dev/null | grep -q :5000; do usleep 100000; done')).status,
      0,
    );
    const up = new Uint8Array(size);
    for (let i = 0; i < size; i += 4) {
      const x = Math.imul(i, 2654435761) ^ (i >>> 7);
      up[i] = x;
      up[i + 1] = x >>> 8;
      up[i + 2] = x >>> 16;
      up[i + 3] = x >>> 24;
    }
    await new Promise<void>((resolve, reject) => {
      const s = connect(rig.un.hostPortOf(0), '127.0.0.1', () => s.end(up));
      s.on('error', reject);
      s.on('close', () => resolve());
      s.resume();
    });
    const upSha = await rig.sh('wait; cat /tmp/up.sha', 60_000);
    assert.equal(hashIn(upSha.out), sha256(up), 'host → guest stream differs');

    // Guest → host, with the host reader pausing until usernet has closed its window.
    // 16 copies of 1000003 random bytes: quicker than 16 MiB from /dev/urandom under TCG.
    const mk = await rig.sh(
      'dd if=/dev/urandom of=/tmp/r bs=1000003 count=1 2>/dev/null; for i in $(seq 16); do cat /tmp/r; done > /tmp/down; sha256sum /tmp/down',
    );
    const downSize = 16 * 1000003;
    const want = hashIn(mk.out);
    rig.type('nc -l -p 5001 < /tmp/down &');
    assert.equal(
      (await rig.sh('while ! netstat -ltn 2>/dev/null | grep -q :5001; do usleep 100000; done')).status,
      0,
    );
    const zeroBefore = rig.un.counters.tcp.zeroWindowsAdvertised;
    const got = await new Promise<Buffer[]>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let n = 0;
      let stalled = false;
      const s = connect(rig.un.hostPortOf(1), '127.0.0.1');
      s.on('error', reject);
      s.on('data', (d: Buffer) => {
        chunks.push(d);
        n += d.length;
        if (!stalled && n >= MiB) {
          stalled = true;
          s.pause();
          const t0 = Date.now();
          const poll = setInterval(() => {
            if (rig.un.counters.tcp.zeroWindowsAdvertised > zeroBefore || Date.now() - t0 > 20_000) {
              clearInterval(poll);
              s.resume();
            }
          }, 50);
        }
        if (n >= downSize) s.end(); // busybox nc keeps the connection open after its stdin ends
      });
      s.on('close', () => resolve(chunks));
    });
    assert.equal(
      got.reduce((a, c) => a + c.length, 0),
      downSize,
    );
    assert.equal(sha256(got), want, 'guest → host stream differs');
    assert.ok(
      rig.un.counters.tcp.zeroWindowsAdvertised > zeroBefore,
      'the stalled reader never closed the window',
    );
  } finally {
    await rig.close();
  }
});
