/**
 * UserNet as an object on a VSwitch, with a scripted guest on another port: ARP, ICMP, DHCP,
 * drop counters, the pcap file, start() errors, and TCP through a port forward and through NAT
 * (the guest's side of TCP is a TcpConn too; the real Linux peer is in usernet_qemu_test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { UserError } from '../../common/errors.ts';
import { UserNet } from './usernet.ts';
import { buildDhcpRequest, DHCPDISCOVER, DHCPOFFER, parseDhcpReply } from './usernet_dhcp.ts';
import {
  ARPOP_REPLY,
  ARPOP_REQUEST,
  BROADCAST_MAC,
  buildArp,
  buildEth,
  buildIpv4Frame,
  buildUdp,
  ETH_HLEN,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  internetChecksum,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  parseArp,
  parseEth,
  parseIp,
  parseIpv4,
  parseMac,
  parseUdp,
  put16,
} from './usernet_ip.ts';
import { TcpConn, type TcpTimers } from './usernet_tcp.ts';
import { buildTcp, parseTcp, TCP_SYN } from './usernet_tcp_wire.ts';
import { VSwitch } from './vswitch.ts';

const GW = parseIp('10.0.2.2')!;
const GW_MAC = parseMac('52:55:0a:00:02:02')!;
const GUEST = parseIp('10.0.2.15')!;
const GUEST_MAC = parseMac('52:54:00:12:34:56')!;

const realTimers: TcpTimers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  defer: (fn) => void setImmediate(fn),
};

/** A scripted guest: answers ARP (after ignoring the first `ignoreArp` requests) and runs TcpConns. */
class Guest {
  readonly frames: Uint8Array[] = [];
  ignoreArp = 0;
  arpRequestsSeen = 0;
  private readonly port;
  private readonly conns = new Map<string, TcpConn>();
  private readonly listeners = new Map<number, (c: TcpConn) => void>();
  private nextPort = 33000;

  constructor(sw: VSwitch) {
    this.port = sw.attach('guest', (f) => this.onFrame(f.slice()));
  }

  send(frame: Uint8Array): void {
    this.port.send(frame);
  }

  sendIp(dst: number, proto: number, l4: Uint8Array, src = GUEST): void {
    this.send(buildIpv4Frame(GW_MAC, GUEST_MAC, src, dst, proto, l4, 1));
  }

  listen(port: number, onConn: (c: TcpConn) => void): void {
    this.listeners.set(port, onConn);
  }

  /** Opens a connection; `onClose` is set before the SYN leaves, since the answer may be synchronous. */
  connect(dst: number, dstPort: number, onClose?: (reason: string) => void): TcpConn {
    const c = this.conn(this.nextPort++, dst, dstPort);
    if (onClose) c.handlers = { ...c.handlers, onClose };
    c.connect();
    return c;
  }

  private conn(localPort: number, remote: number, remotePort: number): TcpConn {
    const key = `${remote}:${remotePort}:${localPort}`;
    const c = new TcpConn({
      localIp: GUEST,
      localPort,
      remoteIp: remote,
      remotePort,
      timers: realTimers,
      output: (seg) => this.sendIp(remote, IPPROTO_TCP, buildTcp(GUEST, remote, seg)),
      onRelease: () => this.conns.delete(key),
    });
    this.conns.set(key, c);
    return c;
  }

  private onFrame(f: Uint8Array): void {
    this.frames.push(f);
    const eth = parseEth(f)!;
    if (eth.type === ETHERTYPE_ARP) {
      const a = parseArp(eth.payload)!;
      if (a.op === ARPOP_REQUEST && a.tpa === GUEST) {
        this.arpRequestsSeen++;
        if (this.arpRequestsSeen <= this.ignoreArp) return;
        const r = buildArp({ op: ARPOP_REPLY, sha: GUEST_MAC, spa: GUEST, tha: a.sha, tpa: a.spa });
        this.send(buildEth(a.sha, GUEST_MAC, ETHERTYPE_ARP, r));
      }
      return;
    }
    if (eth.type !== ETHERTYPE_IPV4) return;
    const ip = parseIpv4(eth.payload);
    if (typeof ip !== 'object' || ip.proto !== IPPROTO_TCP) return;
    const seg = parseTcp(ip.src, ip.dst, ip.payload)!;
    const c = this.conns.get(`${ip.src}:${seg.srcPort}:${seg.dstPort}`);
    if (c) c.input(seg);
    else if (seg.flags === TCP_SYN && this.listeners.has(seg.dstPort)) {
      const n = this.conn(seg.dstPort, ip.src, seg.srcPort);
      this.listeners.get(seg.dstPort)!(n);
      n.acceptSyn(seg);
    }
  }
}

async function rig(opts: Partial<ConstructorParameters<typeof UserNet>[0]> = {}) {
  const sw = new VSwitch();
  const un = new UserNet({ switch: sw, dns: false, ...opts });
  await un.start();
  const guest = new Guest(sw);
  return { sw, un, guest };
}

function lastIp(guest: Guest, proto: number) {
  for (let i = guest.frames.length - 1; i >= 0; i--) {
    const eth = parseEth(guest.frames[i]!)!;
    if (eth.type !== ETHERTYPE_IPV4) continue;
    const ip = parseIpv4(eth.payload);
    if (typeof ip === 'object' && ip.proto === proto) return { eth, ip };
  }
  return undefined;
}

test('ARP for the gateway is answered and the guest learned; ICMP echo answered; fragments and bad checksums counted; pcap written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'usernet-'));
  const pcapPath = join(dir, 'n.pcap');
  const { un, guest } = await rig({ pcapPath });
  try {
    guest.send(
      buildEth(
        BROADCAST_MAC,
        GUEST_MAC,
        ETHERTYPE_ARP,
        buildArp({ op: ARPOP_REQUEST, sha: GUEST_MAC, spa: GUEST, tha: new Uint8Array(6), tpa: GW }),
      ),
    );
    const arp = parseArp(parseEth(guest.frames.at(-1)!)!.payload)!;
    assert.equal(arp.op, ARPOP_REPLY);
    assert.equal(arp.spa, GW);
    assert.deepEqual([...arp.sha], [...GW_MAC]);
    assert.deepEqual(un.neighbours(), [{ ip: '10.0.2.15', mac: '52:54:00:12:34:56' }]);
    // Nobody answers for other addresses.
    const before = guest.frames.length;
    guest.send(
      buildEth(
        BROADCAST_MAC,
        GUEST_MAC,
        ETHERTYPE_ARP,
        buildArp({
          op: ARPOP_REQUEST,
          sha: GUEST_MAC,
          spa: GUEST,
          tha: new Uint8Array(6),
          tpa: parseIp('10.0.2.99')!,
        }),
      ),
    );
    assert.equal(guest.frames.length, before);

    const echo = new Uint8Array(40);
    echo[0] = 8;
    echo.fill(0x5a, 8);
    put16(echo, 2, internetChecksum(echo));
    guest.sendIp(GW, IPPROTO_ICMP, echo);
    const rep = lastIp(guest, IPPROTO_ICMP)!;
    assert.equal(rep.ip.src, GW);
    assert.equal(rep.ip.dst, GUEST);
    assert.equal(rep.ip.payload[0], 0);
    assert.equal(un.counters.icmpEchoReplies, 1);

    const frag = buildIpv4Frame(GW_MAC, GUEST_MAC, GUEST, GW, IPPROTO_ICMP, echo, 9);
    put16(frag, ETH_HLEN + 6, 0x2000); // MF
    put16(frag, ETH_HLEN + 10, 0);
    put16(frag, ETH_HLEN + 10, internetChecksum(frag, ETH_HLEN, 20));
    guest.send(frag);
    assert.equal(un.counters.ipFragmentsDropped, 1);
    const bad = buildIpv4Frame(GW_MAC, GUEST_MAC, GUEST, GW, IPPROTO_ICMP, echo, 9);
    bad[ETH_HLEN + 8] = 3;
    guest.send(bad);
    assert.equal(un.counters.ipChecksumErrors, 1);
    assert.equal(un.counters.icmpEchoReplies, 1);
  } finally {
    await un.close();
  }
  const pcap = readFileSync(pcapPath);
  rmSync(dir, { recursive: true });
  assert.equal(pcap.readUInt32LE(0), 0xa1b2c3d4);
  assert.equal(pcap.readUInt32LE(20), 1, 'link type Ethernet');
  let n = 0;
  for (let off = 24; off < pcap.length; n++) off += 16 + pcap.readUInt32LE(off + 8);
  assert.equal(n, un.counters.framesIn + un.counters.framesOut);
});

test('a DHCPDISCOVER broadcast gets an OFFER of 10.0.2.15 broadcast back from 10.0.2.2', async () => {
  const { un, guest } = await rig();
  try {
    const d = buildDhcpRequest(DHCPDISCOVER, GUEST_MAC, 0x1234);
    const f = buildIpv4Frame(
      BROADCAST_MAC,
      GUEST_MAC,
      0,
      0xffffffff,
      IPPROTO_UDP,
      buildUdp(0, 0xffffffff, 68, 67, d),
      1,
    );
    guest.send(f);
    const r = lastIp(guest, IPPROTO_UDP)!;
    assert.deepEqual([...r.eth.dst], [...BROADCAST_MAC]);
    assert.equal(r.ip.src, GW);
    const u = parseUdp(r.ip)!;
    assert.equal(u.srcPort, 67);
    assert.equal(u.dstPort, 68);
    const offer = parseDhcpReply(u.payload);
    assert.equal(offer.type, DHCPOFFER);
    assert.equal(offer.yiaddr, GUEST);
  } finally {
    await un.close();
  }
});

test('a host port already in use is one clear UserError naming the port; bad config is refused', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as AddressInfo).port;
  const sw = new VSwitch();
  const un = new UserNet({
    switch: sw,
    dns: false,
    portForwards: [{ proto: 'tcp', hostPort: port, guestPort: 22 }],
  });
  try {
    await assert.rejects(un.start(), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.match(
        e.message,
        new RegExp(`^host port 127\\.0\\.0\\.1:${port} \\(forwarded to guest port 22\\) is already in use; `),
      );
      return true;
    });
    assert.equal(sw.ports.size, 0, 'a failed start leaves the switch');
  } finally {
    blocker.close();
  }
  assert.throws(() => new UserNet({ switch: sw, network: '10.0.2.0/33' }), /is not an IPv4 prefix/);
  assert.throws(() => new UserNet({ switch: sw, gateway: '192.168.1.1' }), /is not an address in/);
  assert.throws(
    () => new UserNet({ switch: sw, portForwards: [{ proto: 'tcp', hostPort: 1, guestPort: 70000 }] }),
    /guestPort 70000/,
  );
});

test('a forwarded host connection ARPs for the guest (with retries) and carries data both ways with half-close', async () => {
  const { un, guest } = await rig({ portForwards: [{ proto: 'tcp', hostPort: 0, guestPort: 7 }] });
  guest.ignoreArp = 2;
  guest.listen(7, (c) => {
    const got: Uint8Array[] = [];
    c.handlers = {
      onConnected() {},
      onData: (d) => got.push(d),
      onEnd: () => {
        c.write(new TextEncoder().encode(Buffer.concat(got).toString().toUpperCase()));
        c.end();
      },
      onDrain() {},
      onClose() {},
    };
  });
  try {
    const reply = await new Promise<string>((resolve, reject) => {
      let text = '';
      const s = connect(un.hostPortOf(0), '127.0.0.1', () => s.end('hello through a forward'));
      s.on('data', (d) => (text += d.toString()));
      s.on('error', reject);
      s.on('close', () => resolve(text));
    });
    assert.equal(reply, 'HELLO THROUGH A FORWARD');
    assert.equal(guest.arpRequestsSeen, 3);
    assert.equal(un.counters.arpRequestsSent, 3);
    assert.equal(un.counters.forwardedConnections, 1);
  } finally {
    await un.close();
  }
});

test('a guest connection to 10.0.2.2 reaches a host server through NAT; a closed port is refused with a RST', async () => {
  const { un, guest } = await rig();
  const server: Server = createServer((s) => s.end('greetings from the host\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    guest.send(
      buildEth(
        BROADCAST_MAC,
        GUEST_MAC,
        ETHERTYPE_ARP,
        buildArp({ op: ARPOP_REQUEST, sha: GUEST_MAC, spa: GUEST, tha: new Uint8Array(6), tpa: GW }),
      ),
    );
    const c = guest.connect(GW, (server.address() as AddressInfo).port);
    const text = await new Promise<string>((resolve, reject) => {
      let t = '';
      c.handlers = {
        onConnected() {},
        onData: (d) => (t += Buffer.from(d).toString()),
        onEnd: () => c.end(),
        onDrain() {},
        onClose: (r) => (r === 'closed' ? resolve(t) : reject(new Error(r))),
      };
    });
    assert.equal(text, 'greetings from the host\n');
    assert.equal(un.counters.natTcpConnections, 1);

    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const dead = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const reason = await new Promise<string>((resolve) => guest.connect(GW, dead, resolve));
    assert.equal(reason, 'reset');
    assert.equal(un.counters.natTcpRefused, 1);
  } finally {
    server.close();
    await un.close();
  }
});

test('restrict: true keeps the guest from the outside but still answers the gateway', async () => {
  const { un, guest } = await rig({ restrict: true });
  try {
    guest.send(
      buildEth(
        BROADCAST_MAC,
        GUEST_MAC,
        ETHERTYPE_ARP,
        buildArp({ op: ARPOP_REQUEST, sha: GUEST_MAC, spa: GUEST, tha: new Uint8Array(6), tpa: GW }),
      ),
    );
    const reason = await new Promise<string>((resolve) => guest.connect(parseIp('192.0.2.1')!, 80, resolve));
    assert.equal(reason, 'reset');
    assert.equal(un.counters.natTcpConnections + un.counters.natTcpRefused, 0);
    assert.ok(un.counters.noRouteDropped >= 1);
  } finally {
    await un.close();
  }
});

test('UDP to 10.0.2.3:53 is relayed to the configured DNS server and the answer comes back from 10.0.2.3:53', async () => {
  const dnsSock = createSocket('udp4');
  dnsSock.on('message', (m, r) =>
    dnsSock.send(Buffer.concat([Buffer.from('answer:'), m]), r.port, r.address),
  );
  await new Promise<void>((r) => dnsSock.bind(0, '127.0.0.1', r));
  const dnsPort = (dnsSock.address() as AddressInfo).port;
  const { un, guest } = await rig({ dns: `127.0.0.1:${dnsPort}` });
  const DNS = parseIp('10.0.2.3')!;
  try {
    guest.send(
      buildEth(
        BROADCAST_MAC,
        GUEST_MAC,
        ETHERTYPE_ARP,
        buildArp({ op: ARPOP_REQUEST, sha: GUEST_MAC, spa: GUEST, tha: new Uint8Array(6), tpa: DNS }),
      ),
    );
    assert.equal(parseArp(parseEth(guest.frames.at(-1)!)!.payload)!.spa, DNS, 'ARP for the DNS address');
    guest.sendIp(DNS, IPPROTO_UDP, buildUdp(GUEST, DNS, 40000, 53, new TextEncoder().encode('query')), GUEST);
    const deadline = Date.now() + 5000;
    while (!lastIp(guest, IPPROTO_UDP) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const r = lastIp(guest, IPPROTO_UDP);
    assert.ok(r, 'no answer');
    assert.equal(r.ip.src, DNS);
    const u = parseUdp(r.ip)!;
    assert.equal(u.srcPort, 53);
    assert.equal(u.dstPort, 40000);
    assert.equal(Buffer.from(u.payload).toString(), 'answer:query');
  } finally {
    dnsSock.close();
    await un.close();
  }
});
