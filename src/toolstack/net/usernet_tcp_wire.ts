/**
 * The TCP header (RFC 9293 §3.1) as a plain object, and its parser and builder with the
 * pseudo-header checksum.
 *
 * Only the MSS option (kind 2) is read and written; other options (window scale, SACK
 * permitted, timestamps) are skipped when parsing and never sent, so a peer falls back to
 * plain 16-bit windows and cumulative ACKs. Sequence numbers are unsigned 32-bit numbers;
 * `seqLt`/`seqLe`/… compare them modulo 2^32 (RFC 9293 §3.4).
 */
import { checksumAdd, checksumFinish, get16, IPPROTO_TCP, pseudoHeaderSum, put16 } from './usernet_ip.ts';

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_HLEN = 20;
const TCPOPT_EOL = 0;
const TCPOPT_NOP = 1;
const TCPOPT_MAXSEG = 2;

export interface TcpSegment {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  /** The MSS option, on SYN segments. */
  mss?: number;
  data: Uint8Array;
}

export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}
export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}
export function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}
/** `a + n` modulo 2^32. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}
/** `a - b` as a signed distance. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** The sequence space a segment occupies: its data plus one each for SYN and FIN. */
export function segLength(s: TcpSegment): number {
  return s.data.length + (s.flags & TCP_SYN ? 1 : 0) + (s.flags & TCP_FIN ? 1 : 0);
}

function get32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

function put32(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = v >>> 16;
  b[off + 2] = v >>> 8;
  b[off + 3] = v;
}

/** Parses the TCP segment `t` of an IPv4 packet from `src` to `dst`; a bad checksum gives `undefined`. */
export function parseTcp(src: number, dst: number, t: Uint8Array): TcpSegment | undefined {
  if (t.length < TCP_HLEN) return undefined;
  const off = (t[12]! >> 4) * 4;
  if (off < TCP_HLEN || off > t.length) return undefined;
  if (checksumFinish(checksumAdd(pseudoHeaderSum(src, dst, IPPROTO_TCP, t.length), t, 0, t.length)) !== 0) {
    return undefined;
  }
  const seg: TcpSegment = {
    srcPort: get16(t, 0),
    dstPort: get16(t, 2),
    seq: get32(t, 4),
    ack: get32(t, 8),
    flags: t[13]! & 0x3f,
    window: get16(t, 14),
    data: t.subarray(off),
  };
  for (let i = TCP_HLEN; i < off;) {
    const kind = t[i]!;
    if (kind === TCPOPT_EOL) break;
    if (kind === TCPOPT_NOP) {
      i++;
      continue;
    }
    const len = t[i + 1] ?? 0;
    if (len < 2 || i + len > off) break;
    if (kind === TCPOPT_MAXSEG && len === 4) seg.mss = get16(t, i + 2);
    i += len;
  }
  return seg;
}

/** The wire bytes of `seg` sent from `src` to `dst`, checksum filled in. */
export function buildTcp(src: number, dst: number, seg: TcpSegment): Uint8Array {
  const hlen = seg.mss !== undefined ? TCP_HLEN + 4 : TCP_HLEN;
  const t = new Uint8Array(hlen + seg.data.length);
  put16(t, 0, seg.srcPort);
  put16(t, 2, seg.dstPort);
  put32(t, 4, seg.seq);
  put32(t, 8, seg.ack);
  t[12] = (hlen / 4) << 4;
  t[13] = seg.flags;
  put16(t, 14, seg.window);
  if (seg.mss !== undefined) {
    t[20] = TCPOPT_MAXSEG;
    t[21] = 4;
    put16(t, 22, seg.mss);
  }
  t.set(seg.data, hlen);
  put16(t, 16, checksumFinish(checksumAdd(pseudoHeaderSum(src, dst, IPPROTO_TCP, t.length), t, 0, t.length)));
  return t;
}

/** The RST that answers `seg` when no connection owns it (RFC 9293 §3.10.7.1), or none for a RST. */
export function resetFor(seg: TcpSegment): TcpSegment | undefined {
  if (seg.flags & TCP_RST) return undefined;
  const base = { srcPort: seg.dstPort, dstPort: seg.srcPort, window: 0, data: new Uint8Array(0) };
  if (seg.flags & TCP_ACK) return { ...base, seq: seg.ack, ack: 0, flags: TCP_RST };
  return { ...base, seq: 0, ack: seqAdd(seg.seq, segLength(seg)), flags: TCP_RST | TCP_ACK };
}

export function flagsToString(flags: number): string {
  const names: Array<[number, string]> = [
    [TCP_SYN, 'S'],
    [TCP_FIN, 'F'],
    [TCP_RST, 'R'],
    [TCP_PSH, 'P'],
    [TCP_ACK, '.'],
  ];
  return names.map(([f, n]) => (flags & f ? n : '')).join('');
}
