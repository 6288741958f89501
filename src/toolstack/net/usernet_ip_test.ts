import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildArp,
  buildIpv4Frame,
  buildUdp,
  ETH_HLEN,
  icmpEchoReply,
  internetChecksum,
  IPPROTO_UDP,
  ipToString,
  parseArp,
  parseIp,
  parseIpv4,
  parseMac,
  parseUdp,
  put16,
} from './usernet_ip.ts';
import { buildTcp, parseTcp, resetFor, seqGt, seqLt, TCP_ACK, TCP_RST, TCP_SYN } from './usernet_tcp_wire.ts';

test('the Internet checksum matches RFC 1071 and verifies to zero', () => {
  // RFC 1071 §3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2 (one's complement 0x220d).
  const b = new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
  assert.equal(internetChecksum(b), 0x220d);
  const odd = new Uint8Array([0xab, 0xcd, 0xef]);
  assert.equal(internetChecksum(odd), ~(0xabcd + 0xef00 - 0xffff) & 0xffff);
  // A real header (from a capture): 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7.
  const hdr = Uint8Array.from(Buffer.from('450000730000400040110000c0a80001c0a800c7', 'hex'));
  assert.equal(internetChecksum(hdr), 0xb861);
  put16(hdr, 10, 0xb861);
  assert.equal(internetChecksum(hdr), 0);
});

test('addresses parse and print; bad ones are rejected', () => {
  assert.equal(parseIp('10.0.2.2'), 0x0a000202);
  assert.equal(ipToString(0xc0a800c7), '192.168.0.199');
  assert.equal(parseIp('10.0.2.256'), undefined);
  assert.equal(parseIp('10.0.2'), undefined);
  assert.deepEqual([...parseMac('52:55:0a:00:02:02')!], [0x52, 0x55, 0x0a, 0, 2, 2]);
  assert.equal(parseMac('52:55:0a:00:02'), undefined);
});

test('IPv4 frames round-trip; fragments, bad checksums and short packets are reported', () => {
  const mac = parseMac('52:55:0a:00:02:02')!;
  const udp = buildUdp(0x0a000202, 0x0a00020f, 53, 5353, new TextEncoder().encode('hi'));
  const f = buildIpv4Frame(mac, mac, 0x0a000202, 0x0a00020f, IPPROTO_UDP, udp, 7);
  // Ethernet pads short frames: the IP total length must win.
  const padded = new Uint8Array(f.length + 10);
  padded.set(f);
  const ip = parseIpv4(padded.subarray(ETH_HLEN));
  assert.ok(typeof ip === 'object');
  assert.equal(ip.src, 0x0a000202);
  assert.equal(ip.proto, IPPROTO_UDP);
  assert.equal(ip.ttl, 64);
  const u = parseUdp(ip)!;
  assert.equal(u.dstPort, 5353);
  assert.equal(new TextDecoder().decode(u.payload), 'hi');
  // A flipped payload bit fails the UDP checksum.
  const bad = f.slice();
  bad[bad.length - 1]! ^= 1;
  const ipBad = parseIpv4(bad.subarray(ETH_HLEN));
  assert.ok(typeof ipBad === 'object');
  assert.equal(parseUdp(ipBad), undefined);

  const more = f.slice(ETH_HLEN);
  more[6] = 0x20; // MF
  put16(more, 10, 0);
  put16(more, 10, internetChecksum(more, 0, 20));
  assert.equal(parseIpv4(more), 'fragment');
  const offset = f.slice(ETH_HLEN);
  put16(offset, 6, 0x0010); // fragment offset 16
  put16(offset, 10, 0);
  put16(offset, 10, internetChecksum(offset, 0, 20));
  assert.equal(parseIpv4(offset), 'fragment');
  const sum = f.slice(ETH_HLEN);
  sum[8] = 1; // TTL changed without fixing the checksum
  assert.equal(parseIpv4(sum), 'checksum');
  assert.equal(parseIpv4(f.subarray(ETH_HLEN, ETH_HLEN + 10)), 'malformed');
});

test('ARP packets round-trip; an ICMP echo request gets a valid reply with the same data', () => {
  const a = {
    op: 1,
    sha: parseMac('52:54:00:12:34:56')!,
    spa: 0x0a00020f,
    tha: new Uint8Array(6),
    tpa: 0x0a000202,
  };
  const back = parseArp(buildArp(a))!;
  assert.equal(back.op, 1);
  assert.equal(back.spa, a.spa);
  assert.equal(back.tpa, a.tpa);
  assert.deepEqual([...back.sha], [...a.sha]);
  const req = new Uint8Array(16);
  req[0] = 8;
  req.set([0x12, 0x34, 0, 1, 0xde, 0xad], 4);
  put16(req, 2, internetChecksum(req));
  const rep = icmpEchoReply(req)!;
  assert.equal(rep[0], 0);
  assert.equal(internetChecksum(rep), 0);
  assert.deepEqual([...rep.subarray(4)], [...req.subarray(4)]);
  req[15] = 1; // corrupt
  assert.equal(icmpEchoReply(req), undefined);
});

test('TCP segments round-trip with the MSS option; a wrong checksum is rejected; RSTs answer strays', () => {
  const seg = {
    srcPort: 80,
    dstPort: 4000,
    seq: 0xfffffff0,
    ack: 5,
    flags: TCP_SYN | TCP_ACK,
    window: 1234,
    mss: 1460,
    data: new Uint8Array([1, 2, 3]),
  };
  const wire = buildTcp(1, 2, seg);
  const back = parseTcp(1, 2, wire)!;
  assert.deepEqual({ ...back, data: [...back.data] }, { ...seg, data: [1, 2, 3] });
  assert.equal(parseTcp(1, 3, wire), undefined, 'the pseudo-header must be covered');
  const rst = resetFor({ ...seg, flags: TCP_ACK })!;
  assert.equal(rst.flags, TCP_RST);
  assert.equal(rst.seq, 5);
  const rst2 = resetFor({ ...seg, flags: TCP_SYN })!;
  assert.equal(rst2.flags, TCP_RST | TCP_ACK);
  assert.equal(rst2.ack, (0xfffffff0 + 4) >>> 0);
  assert.equal(resetFor({ ...seg, flags: TCP_RST }), undefined);
  assert.ok(seqLt(0xfffffff0, 5) && seqGt(5, 0xfffffff0), 'sequence comparison must wrap');
});
