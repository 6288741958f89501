/**
 * Test helpers for xenstored (used by the *_test.ts files beside it; not part of the daemon).
 *
 * `XsPeer` is an in-process connection that talks real xs_wire.h bytes to a Xenstored and answers
 * synchronously (xenstored handles a request to completion inside `receive`). `XsRandom` is a small
 * seeded generator (mulberry32) for the property tests.
 */
import {
  bytesOf,
  encodeMessage,
  nulStrings,
  splitNul,
  stringOf,
  XS_DIRECTORY,
  XS_ERROR,
  XS_GET_PERMS,
  XS_MKDIR,
  XS_READ,
  XS_RM,
  XS_TRANSACTION_END,
  XS_TRANSACTION_START,
  XS_WATCH,
  XS_WATCH_EVENT,
  XS_WRITE,
  XsDecoder,
  type XsMessage,
} from './wire.ts';
import type { XsConnection, Xenstored } from './xenstored.ts';

export type Reply =
  { ok: true; payload: Uint8Array; strings: string[]; text: string } | { ok: false; errno: string };

export class XsPeer {
  readonly conn: XsConnection;
  readonly inbox: XsMessage[] = [];
  private readonly decoder = new XsDecoder();
  private reqId = 100;
  closedReason: string | undefined;

  constructor(xsd: Xenstored, domid = 0, privileged?: boolean) {
    this.conn = xsd.connect({
      domid,
      ...(privileged === undefined ? {} : { privileged }),
      send: (b) => this.inbox.push(...this.decoder.push(b)),
      onClose: (r) => {
        this.closedReason = r;
      },
    });
  }

  /** Sends a request and returns its reply message (events stay in the inbox). */
  raw(type: number, payload: Uint8Array, txId = 0): XsMessage {
    const reqId = this.reqId++;
    this.conn.receive(encodeMessage({ type, reqId, txId, payload }));
    const i = this.inbox.findIndex((m) => m.reqId === reqId && m.type !== XS_WATCH_EVENT);
    if (i < 0) throw new Error(`no reply to request ${reqId} (type ${type})`);
    return this.inbox.splice(i, 1)[0]!;
  }

  call(type: number, payload: Uint8Array, txId = 0): Reply {
    const m = this.raw(type, payload, txId);
    if (m.type === XS_ERROR) return { ok: false, errno: splitNul(m.payload)[0] ?? '' };
    if (m.type !== type) throw new Error(`reply type ${m.type} to request type ${type}`);
    return { ok: true, payload: m.payload, strings: splitNul(m.payload), text: stringOf(m.payload) };
  }

  /** Like call, with string arguments each NUL-terminated. */
  cmd(type: number, args: string[], txId = 0): Reply {
    return this.call(type, nulStrings(...args), txId);
  }

  /** The errno of a failed reply, or 'OK' / the text of a successful one. */
  static show(r: Reply): string {
    return r.ok ? r.text : r.errno;
  }

  read(path: string, tx = 0): string {
    return XsPeer.show(this.cmd(XS_READ, [path], tx));
  }

  write(path: string, value: string, tx = 0): string {
    const p = nulStrings(path);
    const v = bytesOf(value);
    const payload = new Uint8Array(p.length + v.length);
    payload.set(p);
    payload.set(v, p.length);
    return XsPeer.show(this.call(XS_WRITE, payload, tx)).replace('\0', '');
  }

  mkdir(path: string, tx = 0): string {
    return XsPeer.show(this.cmd(XS_MKDIR, [path], tx)).replace('\0', '');
  }

  rm(path: string, tx = 0): string {
    return XsPeer.show(this.cmd(XS_RM, [path], tx)).replace('\0', '');
  }

  dir(path: string, tx = 0): string[] | string {
    const r = this.cmd(XS_DIRECTORY, [path], tx);
    return r.ok ? r.strings : r.errno;
  }

  perms(path: string, tx = 0): string[] | string {
    const r = this.cmd(XS_GET_PERMS, [path], tx);
    return r.ok ? r.strings : r.errno;
  }

  start(): number {
    const r = this.cmd(XS_TRANSACTION_START, ['']);
    if (!r.ok) throw new Error(`TRANSACTION_START failed: ${r.errno}`);
    return Number(r.strings[0]);
  }

  end(tx: number, commit: boolean): string {
    return XsPeer.show(this.cmd(XS_TRANSACTION_END, [commit ? 'T' : 'F'], tx)).replace('\0', '');
  }

  watch(path: string, token: string): string {
    return XsPeer.show(this.cmd(XS_WATCH, [path, token])).replace('\0', '');
  }

  /** Takes the watch events received so far, as `path token` strings. */
  events(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.inbox.length;) {
      const m = this.inbox[i]!;
      if (m.type === XS_WATCH_EVENT) {
        out.push(splitNul(m.payload).join(' '));
        this.inbox.splice(i, 1);
      } else {
        i++;
      }
    }
    return out;
  }
}

/** mulberry32: a tiny seeded PRNG, good enough to drive property tests reproducibly. */
export class XsRandom {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

/** Number of property-test runs: XS_PROPERTY_RUNS in the environment, else `dflt`. */
export function propertyRuns(dflt: number): number {
  const v = Number(process.env['XS_PROPERTY_RUNS']);
  return Number.isInteger(v) && v > 0 ? v : dflt;
}
