/**
 * Wire formats of the user-mode network below TCP: Ethernet II, ARP (RFC 826), IPv4 (RFC 791),
 * ICMP echo (RFC 792), UDP (RFC 768) and the Internet checksum (RFC 1071).
 *
 * Pure functions over `Uint8Array`s: no state, no Node.js modules. Addresses are IPv4
 * addresses as unsigned 32-bit numbers (10.0.2.2 is 0x0a000202) and MACs as 6-byte arrays.
 * Parsers never throw on hostile input; they return `undefined` or a drop reason.
 *
 * IPv4 fragments are not reassembled: `parseIpv4` reports them as `fragment` and the caller
 * drops them (Linux guests send whole datagrams up to the 1500-byte MTU, and TCP uses MSS 1460).
 * IP options are accepted and ignored; packets we build carry none.
 */

export const ETH_HLEN = 14;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const ARPOP_REQUEST = 1;
export const ARPOP_REPLY = 2;
export const ICMP_ECHOREPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_ECHO = 8;
export const IPV4_HLEN = 20;
export const UDP_HLEN = 8;
export const DEFAULT_TTL = 64;

export const BROADCAST_MAC: Uint8Array = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
export const ZERO_MAC: Uint8Array = new Uint8Array(6);

// ---------------------------------------------------------------------------------------------
// Addresses

/** `0x0a000202` → `"10.0.2.2"`. */
export function ipToString(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

/** `"10.0.2.2"` → `0x0a000202`, or `undefined` if it is not a dotted quad. */
export function parseIp(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  let ip = 0;
  for (let i = 1; i <= 4; i++) {
    const b = Number(m[i]);
    if (b > 255) return undefined;
    ip = ip * 256 + b;
  }
  return ip >>> 0;
}

export function macToString(mac: Uint8Array): string {
  return Array.from(mac.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** `"52:55:0a:00:02:02"` → 6 bytes, or `undefined`. */
export function parseMac(s: string): Uint8Array | undefined {
  const m = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i.exec(s);
  if (!m) return undefined;
  return new Uint8Array(m.slice(1).map((h) => parseInt(h, 16)));
}

function getIp(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

function putIp(b: Uint8Array, off: number, ip: number): void {
  b[off] = ip >>> 24;
  b[off + 1] = ip >>> 16;
  b[off + 2] = ip >>> 8;
  b[off + 3] = ip;
}

function get16(b: Uint8Array, off: number): number {
  return (b[off]! << 8) | b[off + 1]!;
}

function put16(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 8;
  b[off + 1] = v;
}

export { get16, getIp, put16, putIp };

// ---------------------------------------------------------------------------------------------
// Internet checksum

/** Adds `len` bytes of `buf` from `off` to a running one's-complement sum (unfolded). */
export function checksumAdd(sum: number, buf: Uint8Array, off: number, len: number): number {
  const end = off + len - 1;
  let i = off;
  for (; i < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i === end) sum += buf[i]! << 8;
  // Fold now and then so the sum stays a small integer even for 64 KiB inputs.
  return (sum & 0xffff) + (sum >>> 16);
}

/** The final 16-bit checksum of a running sum: folded and complemented. */
export function checksumFinish(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** The checksum of `len` bytes of `buf` from `off` (0 when the region carries a valid checksum). */
export function internetChecksum(buf: Uint8Array, off = 0, len = buf.length - off): number {
  return checksumFinish(checksumAdd(0, buf, off, len));
}

/** The running sum of the TCP/UDP pseudo-header (RFC 793 §3.1, RFC 768). */
export function pseudoHeaderSum(src: number, dst: number, proto: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + length;
}

// ---------------------------------------------------------------------------------------------
// Ethernet

export interface EthFrame {
  dst: Uint8Array;
  src: Uint8Array;
  type: number;
  payload: Uint8Array;
}

export function parseEth(frame: Uint8Array): EthFrame | undefined {
  if (frame.length < ETH_HLEN) return undefined;
  return {
    dst: frame.subarray(0, 6),
    src: frame.subarray(6, 12),
    type: get16(frame, 12),
    payload: frame.subarray(ETH_HLEN),
  };
}

export function buildEth(dst: Uint8Array, src: Uint8Array, type: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(ETH_HLEN + payload.length);
  f.set(dst.subarray(0, 6), 0);
  f.set(src.subarray(0, 6), 6);
  put16(f, 12, type);
  f.set(payload, ETH_HLEN);
  return f;
}

export function isMulticastMac(mac: Uint8Array): boolean {
  return (mac[0]! & 1) === 1;
}

export function macEquals(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// ARP (Ethernet / IPv4 only)

export interface ArpPacket {
  op: number;
  sha: Uint8Array;
  spa: number;
  tha: Uint8Array;
  tpa: number;
}

export function parseArp(p: Uint8Array): ArpPacket | undefined {
  // htype 1 (Ethernet), ptype 0x0800, hlen 6, plen 4.
  if (p.length < 28 || get16(p, 0) !== 1 || get16(p, 2) !== ETHERTYPE_IPV4 || p[4] !== 6 || p[5] !== 4) {
    return undefined;
  }
  return { op: get16(p, 6), sha: p.slice(8, 14), spa: getIp(p, 14), tha: p.slice(18, 24), tpa: getIp(p, 24) };
}

export function buildArp(a: ArpPacket): Uint8Array {
  const p = new Uint8Array(28);
  put16(p, 0, 1);
  put16(p, 2, ETHERTYPE_IPV4);
  p[4] = 6;
  p[5] = 4;
  put16(p, 6, a.op);
  p.set(a.sha.subarray(0, 6), 8);
  putIp(p, 14, a.spa);
  p.set(a.tha.subarray(0, 6), 18);
  putIp(p, 24, a.tpa);
  return p;
}

// ---------------------------------------------------------------------------------------------
// IPv4

export interface Ipv4Packet {
  src: number;
  dst: number;
  proto: number;
  ttl: number;
  id: number;
  /** The payload, trimmed to the header's total length (Ethernet may pad short frames). */
  payload: Uint8Array;
}

export type Ipv4DropReason = 'malformed' | 'checksum' | 'fragment';

export function parseIpv4(p: Uint8Array): Ipv4Packet | Ipv4DropReason {
  if (p.length < IPV4_HLEN || p[0]! >> 4 !== 4) return 'malformed';
  const ihl = (p[0]! & 15) * 4;
  const total = get16(p, 2);
  if (ihl < IPV4_HLEN || total < ihl || total > p.length) return 'malformed';
  if (internetChecksum(p, 0, ihl) !== 0) return 'checksum';
  const fragField = get16(p, 6);
  // MF set or a non-zero fragment offset: a piece of a larger datagram (DF is bit 0x4000).
  if ((fragField & 0x2000) !== 0 || (fragField & 0x1fff) !== 0) return 'fragment';
  return {
    src: getIp(p, 12),
    dst: getIp(p, 16),
    proto: p[9]!,
    ttl: p[8]!,
    id: get16(p, 4),
    payload: p.subarray(ihl, total),
  };
}

/** Writes a 20-byte IPv4 header (DF set, no options) for `payloadLength` bytes at `off`. */
export function writeIpv4Header(
  b: Uint8Array,
  off: number,
  src: number,
  dst: number,
  proto: number,
  payloadLength: number,
  id: number,
  ttl = DEFAULT_TTL,
): void {
  b[off] = 0x45;
  b[off + 1] = 0;
  put16(b, off + 2, IPV4_HLEN + payloadLength);
  put16(b, off + 4, id & 0xffff);
  put16(b, off + 6, 0x4000);
  b[off + 8] = ttl;
  b[off + 9] = proto;
  put16(b, off + 10, 0);
  putIp(b, off + 12, src);
  putIp(b, off + 16, dst);
  put16(b, off + 10, internetChecksum(b, off, IPV4_HLEN));
}

/** A whole Ethernet frame carrying one IPv4 packet around `l4` (copied once). */
export function buildIpv4Frame(
  dstMac: Uint8Array,
  srcMac: Uint8Array,
  src: number,
  dst: number,
  proto: number,
  l4: Uint8Array,
  id: number,
  ttl = DEFAULT_TTL,
): Uint8Array {
  const f = new Uint8Array(ETH_HLEN + IPV4_HLEN + l4.length);
  f.set(dstMac.subarray(0, 6), 0);
  f.set(srcMac.subarray(0, 6), 6);
  put16(f, 12, ETHERTYPE_IPV4);
  writeIpv4Header(f, ETH_HLEN, src, dst, proto, l4.length, id, ttl);
  f.set(l4, ETH_HLEN + IPV4_HLEN);
  return f;
}

// ---------------------------------------------------------------------------------------------
// UDP

export interface UdpDatagram {
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

/** Parses a UDP datagram of an IPv4 packet; a wrong non-zero checksum gives `undefined`. */
export function parseUdp(ip: Ipv4Packet): UdpDatagram | undefined {
  const u = ip.payload;
  if (u.length < UDP_HLEN) return undefined;
  const len = get16(u, 4);
  if (len < UDP_HLEN || len > u.length) return undefined;
  if (get16(u, 6) !== 0) {
    const sum = checksumAdd(pseudoHeaderSum(ip.src, ip.dst, IPPROTO_UDP, len), u, 0, len);
    if (checksumFinish(sum) !== 0) return undefined;
  }
  return { srcPort: get16(u, 0), dstPort: get16(u, 2), payload: u.subarray(UDP_HLEN, len) };
}

export function buildUdp(
  src: number,
  dst: number,
  srcPort: number,
  dstPort: number,
  payload: Uint8Array,
): Uint8Array {
  const len = UDP_HLEN + payload.length;
  const u = new Uint8Array(len);
  put16(u, 0, srcPort);
  put16(u, 2, dstPort);
  put16(u, 4, len);
  u.set(payload, UDP_HLEN);
  const c = checksumFinish(checksumAdd(pseudoHeaderSum(src, dst, IPPROTO_UDP, len), u, 0, len));
  put16(u, 6, c === 0 ? 0xffff : c);
  return u;
}

// ---------------------------------------------------------------------------------------------
// ICMP

/** The echo reply to an ICMP message if it is a valid echo request, else `undefined`. */
export function icmpEchoReply(icmp: Uint8Array): Uint8Array | undefined {
  if (icmp.length < 8 || icmp[0] !== ICMP_ECHO || internetChecksum(icmp) !== 0) return undefined;
  const r = icmp.slice();
  r[0] = ICMP_ECHOREPLY;
  r[1] = 0;
  put16(r, 2, 0);
  put16(r, 2, internetChecksum(r));
  return r;
}

/** ICMP destination unreachable (`code`) quoting the offending IPv4 header and 8 bytes. */
export function icmpUnreachable(code: number, originalIp: Uint8Array): Uint8Array {
  const ihl = (originalIp[0]! & 15) * 4;
  const quote = originalIp.subarray(0, Math.min(originalIp.length, ihl + 8));
  const r = new Uint8Array(8 + quote.length);
  r[0] = ICMP_DEST_UNREACH;
  r[1] = code;
  r.set(quote, 8);
  put16(r, 2, internetChecksum(r));
  return r;
}
