/**
 * The guest transport: xenstore over a shared 4 KiB page, `struct xenstore_domain_interface` of
 * xs_wire.h, as docs/misc/xenstore-ring.txt describes it.
 *
 *   0     req[1024]        guest → xenstored bytes        2056  rsp_cons   (guest writes)
 *   1024  rsp[1024]        xenstored → guest bytes        2060  rsp_prod   (xenstored writes)
 *   2048  req_cons (xenstored writes)                      2064  server_features
 *   2052  req_prod (guest writes)                          2068  connection   2072  error
 *
 * Indices are free-running uint32 byte counts; byte x lives at x mod 1024. The page is reached
 * through `XsPageAccess` (e.g. `pageOfBytes` over a Uint8Array view of the guest's frame) and the
 * guest is kicked with `notify()` (its event channel). `poll()` — call it when the event channel
 * fires — consumes whatever requests are there (whole or partial messages), hands complete ones to
 * `handlers.message`, and writes queued responses as space allows. Responses that do not fit wait in
 * a queue and go out on later polls; nothing is dropped. `send()` queues a message at any time.
 *
 * The guest is untrusted: xenstored keeps its own copies of the indices it owns (req_cons,
 * rsp_prod) and checks the guest's (req_prod, rsp_cons) against them. An impossible index or an
 * oversized message stops the connection with the `error` field set (XENSTORE_ERROR_RINGIDX or
 * XENSTORE_ERROR_PROTO) and `handlers.closed` called; nothing is thrown. The server advertises
 * XENSTORE_SERVER_FEATURE_RECONNECTION and _ERROR: a guest that sets `connection` to
 * XENSTORE_RECONNECT gets empty queues, a fresh connection (`handlers.reset`) and XENSTORE_CONNECTED.
 *
 * `hold(true)` freezes the page (a save is reading it): nothing is read or written there, replies
 * and events only queue, until `hold(false)` (which catches up at once).
 *
 * If the page is shared with another thread, readU32/writeU32 must be atomic (Atomics on an
 * Int32Array); data bytes are written before the producer index that publishes them.
 */
import { XsDecoder, XsProtocolError, type XsMessage } from './wire.ts';

export const XENSTORE_RING_SIZE = 1024;
export const XS_RING_REQ = 0;
export const XS_RING_RSP = 1024;
export const XS_RING_REQ_CONS = 2048;
export const XS_RING_REQ_PROD = 2052;
export const XS_RING_RSP_CONS = 2056;
export const XS_RING_RSP_PROD = 2060;
export const XS_RING_SERVER_FEATURES = 2064;
export const XS_RING_CONNECTION = 2068;
export const XS_RING_ERROR = 2072;

export const XENSTORE_SERVER_FEATURE_RECONNECTION = 1;
export const XENSTORE_SERVER_FEATURE_ERROR = 2;
export const XENSTORE_CONNECTED = 0;
export const XENSTORE_RECONNECT = 1;
export const XENSTORE_ERROR_NONE = 0;
export const XENSTORE_ERROR_COMM = 1;
export const XENSTORE_ERROR_RINGIDX = 2;
export const XENSTORE_ERROR_PROTO = 3;

/** Byte and little-endian u32 access to a 4 KiB page. */
export interface XsPageAccess {
  readU8(offset: number): number;
  writeU8(offset: number, value: number): void;
  readU32(offset: number): number;
  writeU32(offset: number, value: number): void;
}

/** A page accessor over bytes (at least 4096 of them), e.g. a view of a guest frame. */
export function pageOfBytes(bytes: Uint8Array): XsPageAccess {
  if (bytes.length < 4096) throw new RangeError(`xenstore ring page needs 4096 bytes, got ${bytes.length}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, 4096);
  return {
    readU8: (o) => bytes[o]!,
    writeU8: (o, v) => {
      bytes[o] = v;
    },
    readU32: (o) => dv.getUint32(o, true),
    writeU32: (o, v) => dv.setUint32(o, v >>> 0, true),
  };
}

export interface XsRingHandlers {
  /** A complete request arrived. */
  message(msg: XsMessage): void;
  /** The guest asked to reconnect: drop its watches, transactions and in-flight requests. */
  reset(): void;
  /** The connection stopped because the guest broke the protocol. */
  closed(reason: string): void;
}

/** Stop taking requests while this many response bytes wait (the guest is not reading). */
const BACKLOG_LIMIT = 4 * XENSTORE_RING_SIZE;

export class XsRing {
  private readonly decoder = new XsDecoder();
  private queue: Uint8Array[] = [];
  private queueHead = 0;
  private queuedBytes = 0;
  private reqCons: number;
  private rspProd: number;
  private inPoll = false;
  private kicked = false;
  private stopped = false;
  private held = false;

  constructor(
    private readonly page: XsPageAccess,
    private readonly notify: () => void,
    private readonly handlers: XsRingHandlers,
  ) {
    this.reqCons = page.readU32(XS_RING_REQ_CONS);
    this.rspProd = page.readU32(XS_RING_RSP_PROD);
    page.writeU32(
      XS_RING_SERVER_FEATURES,
      page.readU32(XS_RING_SERVER_FEATURES) |
        XENSTORE_SERVER_FEATURE_RECONNECTION |
        XENSTORE_SERVER_FEATURE_ERROR,
    );
  }

  /** True once the connection stopped on a guest error (until the guest reconnects). */
  get closed(): boolean {
    return this.stopped;
  }

  /** Response bytes waiting for room in the ring. */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /** Queues an encoded message for the guest and writes what fits. */
  send(bytes: Uint8Array): void {
    if (this.stopped) return;
    this.queue.push(bytes);
    this.queuedBytes += bytes.length;
    if (this.held) return;
    this.flush();
    this.kickIfNeeded();
  }

  /** Freezes (true) or thaws (false) the page; thawing handles whatever waited meanwhile. */
  hold(on: boolean): void {
    if (this.held === on) return;
    this.held = on;
    if (!on) this.poll();
  }

  /** Handles everything the guest did: reconnect requests, consumed responses, new requests. */
  poll(): void {
    if (this.held) return;
    if (this.page.readU32(XS_RING_CONNECTION) === XENSTORE_RECONNECT) {
      this.reconnect();
      return;
    }
    if (this.stopped) return;
    this.inPoll = true;
    try {
      this.flush();
      while (!this.stopped && this.queuedBytes < BACKLOG_LIMIT && this.consume()) this.flush();
    } finally {
      this.inPoll = false;
    }
    this.kickIfNeeded();
  }

  private kickIfNeeded(): void {
    if (this.kicked && !this.inPoll) {
      this.kicked = false;
      this.notify();
    }
  }

  private fail(code: number, reason: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.queue = [];
    this.queueHead = 0;
    this.queuedBytes = 0;
    this.page.writeU32(XS_RING_ERROR, code);
    this.kicked = true;
    this.handlers.closed(reason);
  }

  /** Reads available request bytes (up to the end of the ring's current lap); false if none. */
  private consume(): boolean {
    const prod = this.page.readU32(XS_RING_REQ_PROD);
    const avail = (prod - this.reqCons) >>> 0;
    if (avail > XENSTORE_RING_SIZE) {
      this.fail(
        XENSTORE_ERROR_RINGIDX,
        `req_prod ${prod} is ${avail} bytes ahead of req_cons ${this.reqCons}`,
      );
      return false;
    }
    if (avail === 0) return false;
    const bytes = new Uint8Array(avail);
    for (let i = 0; i < avail; i++) {
      bytes[i] = this.page.readU8(XS_RING_REQ + ((this.reqCons + i) & (XENSTORE_RING_SIZE - 1)));
    }
    this.reqCons = (this.reqCons + avail) >>> 0;
    this.page.writeU32(XS_RING_REQ_CONS, this.reqCons);
    this.kicked = true;
    let msgs: XsMessage[];
    try {
      msgs = this.decoder.push(bytes);
    } catch (e) {
      if (!(e instanceof XsProtocolError)) throw e;
      this.fail(XENSTORE_ERROR_PROTO, e.message);
      return false;
    }
    for (const m of msgs) {
      if (this.stopped) break;
      this.handlers.message(m);
    }
    return true;
  }

  /** Writes queued response bytes into the free part of rsp[]. */
  private flush(): void {
    if (this.queuedBytes === 0 || this.stopped) return;
    const cons = this.page.readU32(XS_RING_RSP_CONS);
    const used = (this.rspProd - cons) >>> 0;
    if (used > XENSTORE_RING_SIZE) {
      this.fail(XENSTORE_ERROR_RINGIDX, `rsp_cons ${cons} is ${used} bytes behind rsp_prod ${this.rspProd}`);
      return;
    }
    let space = XENSTORE_RING_SIZE - used;
    let prod = this.rspProd;
    while (space > 0 && this.queue.length > 0) {
      const chunk = this.queue[0]!;
      const n = Math.min(space, chunk.length - this.queueHead);
      for (let i = 0; i < n; i++) {
        this.page.writeU8(XS_RING_RSP + ((prod + i) & (XENSTORE_RING_SIZE - 1)), chunk[this.queueHead + i]!);
      }
      prod = (prod + n) >>> 0;
      space -= n;
      this.queuedBytes -= n;
      this.queueHead += n;
      if (this.queueHead === chunk.length) {
        this.queue.shift();
        this.queueHead = 0;
      }
    }
    if (prod !== this.rspProd) {
      this.rspProd = prod;
      this.page.writeU32(XS_RING_RSP_PROD, prod);
      this.kicked = true;
    }
  }

  private reconnect(): void {
    this.handlers.reset();
    this.decoder.reset();
    this.queue = [];
    this.queueHead = 0;
    this.queuedBytes = 0;
    this.reqCons = 0;
    this.rspProd = 0;
    for (const off of [
      XS_RING_REQ_CONS,
      XS_RING_REQ_PROD,
      XS_RING_RSP_CONS,
      XS_RING_RSP_PROD,
      XS_RING_ERROR,
    ]) {
      this.page.writeU32(off, 0);
    }
    this.stopped = false;
    this.page.writeU32(XS_RING_CONNECTION, XENSTORE_CONNECTED);
    this.notify();
  }
}
