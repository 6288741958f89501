import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  pageOfBytes,
  XENSTORE_CONNECTED,
  XENSTORE_ERROR_PROTO,
  XENSTORE_ERROR_RINGIDX,
  XENSTORE_RECONNECT,
  XS_RING_CONNECTION,
  XS_RING_ERROR,
  XS_RING_REQ_CONS,
  XS_RING_REQ_PROD,
  XS_RING_RSP_CONS,
  XS_RING_RSP_PROD,
  XS_RING_SERVER_FEATURES,
  XsRing,
  type XsPageAccess,
} from './ring.ts';
import { XsPeer } from './test_support.ts';
import {
  encodeMessage,
  nulStrings,
  splitNul,
  stringOf,
  XS_INTRODUCE,
  XS_READ,
  XS_SET_PERMS,
  XS_WATCH,
  XS_WATCH_EVENT,
  XS_WRITE,
  XsDecoder,
  type XsMessage,
} from './wire.ts';
import { Xenstored } from './xenstored.ts';

/** The guest's side of the ring, written the way a front end (Linux's xenbus) would. */
class Guest {
  readonly bytes = new Uint8Array(4096);
  readonly page: XsPageAccess = pageOfBytes(this.bytes);
  readonly decoder = new XsDecoder();
  readonly got: XsMessage[] = [];
  kicks = 0;
  private reqId = 1;

  constructor(start = 0) {
    for (const o of [XS_RING_REQ_CONS, XS_RING_REQ_PROD, XS_RING_RSP_CONS, XS_RING_RSP_PROD]) {
      this.page.writeU32(o, start);
    }
  }

  /** Writes up to `max` bytes of `data` into the request ring; returns how many fit. */
  put(data: Uint8Array, max = data.length): number {
    const prod = this.page.readU32(XS_RING_REQ_PROD);
    const cons = this.page.readU32(XS_RING_REQ_CONS);
    const n = Math.min(max, data.length, 1024 - ((prod - cons) >>> 0));
    for (let i = 0; i < n; i++) this.bytes[(prod + i) & 1023] = data[i]!;
    this.page.writeU32(XS_RING_REQ_PROD, (prod + n) >>> 0);
    return n;
  }

  request(type: number, payload: Uint8Array): Uint8Array {
    return encodeMessage({ type, reqId: this.reqId++, txId: 0, payload });
  }

  /** Reads everything in the response ring. */
  take(): void {
    const prod = this.page.readU32(XS_RING_RSP_PROD);
    let cons = this.page.readU32(XS_RING_RSP_CONS);
    const chunk: number[] = [];
    while (cons !== prod) {
      chunk.push(this.bytes[1024 + (cons & 1023)]!);
      cons = (cons + 1) >>> 0;
    }
    this.page.writeU32(XS_RING_RSP_CONS, cons);
    this.got.push(...this.decoder.push(new Uint8Array(chunk)));
  }
}

function setup(start = 0) {
  const guest = new Guest(start);
  const xsd = new Xenstored({ connectDomain: () => ({ page: guest.page, notify: () => guest.kicks++ }) });
  const d0 = new XsPeer(xsd, 0);
  d0.mkdir('/local/domain/1');
  d0.cmd(XS_SET_PERMS, ['/local/domain/1', 'n1']);
  assert.equal(XsPeer.show(d0.cmd(XS_INTRODUCE, ['1', '77', '5'])), 'OK\0');
  const ring = xsd.domains.get(1)!.ring!;
  return { guest, xsd, d0, ring };
}

test('a request through the ring gets its reply; features advertised; indices free-running', () => {
  const { guest, xsd, d0 } = setup();
  assert.equal(guest.page.readU32(XS_RING_SERVER_FEATURES), 3);
  const w = guest.request(
    XS_WRITE,
    new Uint8Array([...nulStrings('name'), ...new TextEncoder().encode('g1')]),
  );
  guest.put(w);
  xsd.pollDomain(1);
  assert.ok(guest.kicks > 0, 'the guest is notified');
  guest.take();
  assert.equal(guest.got.length, 1);
  assert.equal(guest.got[0]!.type, XS_WRITE);
  assert.equal(d0.read('/local/domain/1/name'), 'g1');
  assert.equal(guest.page.readU32(XS_RING_REQ_CONS), w.length);
});

test('wrap-around: indices near 2^32 and messages split across the end of the ring', () => {
  for (const start of [0xffff_ff00, 1000, 0xffff_fffc]) {
    const { guest, xsd, d0 } = setup(start);
    d0.write('/local/domain/1/v', 'x'.repeat(500));
    for (let i = 0; i < 20; i++) {
      guest.put(guest.request(XS_READ, nulStrings('v')));
      xsd.pollDomain(1);
      guest.take();
    }
    assert.equal(guest.got.length, 20);
    for (const m of guest.got) assert.equal(stringOf(m.payload), 'x'.repeat(500));
    assert.ok((guest.page.readU32(XS_RING_RSP_PROD) - start) >>> 0 > 10_000, 'the indices went around');
  }
});

test('partial requests wait for the rest; several messages in one poll', () => {
  const { guest, xsd } = setup();
  const a = guest.request(XS_READ, nulStrings('nothing'));
  const b = guest.request(XS_WRITE, nulStrings('k'));
  const both = new Uint8Array([...a, ...b]);
  let off = 0;
  for (const step of [3, 10, 1, 5]) {
    off += guest.put(both.subarray(off), step);
    xsd.pollDomain(1);
    guest.take();
    assert.equal(guest.got.length, 0, 'nothing complete yet');
  }
  off += guest.put(both.subarray(off));
  assert.equal(off, both.length);
  xsd.pollDomain(1);
  guest.take();
  assert.deepEqual(
    guest.got.map((m) => m.type),
    [16 /* XS_ERROR ENOENT */, XS_WRITE],
  );
});

test('a full response ring: replies and events wait in order, nothing is lost', () => {
  const { guest, xsd, d0, ring } = setup();
  d0.write('/local/domain/1/big', 'y'.repeat(3000));
  guest.put(guest.request(XS_WATCH, nulStrings('big', 'tok')));
  for (let i = 0; i < 3; i++) {
    guest.put(guest.request(XS_READ, nulStrings('big')));
  }
  xsd.pollDomain(1);
  for (let i = 0; i < 5; i++) d0.write('/local/domain/1/big', `v${i}`);
  assert.ok(ring.pendingBytes > 0, 'responses are queued');
  // Consume a little at a time: each poll moves what fits.
  for (let i = 0; i < 40 && ring.pendingBytes > 0; i++) {
    guest.take();
    xsd.pollDomain(1);
  }
  guest.take();
  const kinds = guest.got.map((m) =>
    m.type === XS_WATCH_EVENT ? 'ev:' + splitNul(m.payload)[0] : String(m.type),
  );
  assert.deepEqual(kinds, ['4', 'ev:big', '2', '2', '2', 'ev:big', 'ev:big', 'ev:big', 'ev:big', 'ev:big']);
  assert.equal(ring.pendingBytes, 0);
});

test('untrusted indices: a bad req_prod or rsp_cons stops the ring with an error, without throwing', () => {
  {
    const { guest, xsd, ring } = setup();
    guest.page.writeU32(XS_RING_REQ_PROD, 5000);
    assert.doesNotThrow(() => xsd.pollDomain(1));
    assert.equal(guest.page.readU32(XS_RING_ERROR), XENSTORE_ERROR_RINGIDX);
    assert.equal(ring.closed, true);
    guest.page.writeU32(XS_RING_REQ_PROD, 0);
    guest.put(guest.request(XS_READ, nulStrings('x')));
    xsd.pollDomain(1);
    guest.take();
    assert.equal(guest.got.length, 0, 'a stopped ring stays stopped');
  }
  {
    const { guest, xsd, d0, ring } = setup();
    guest.put(guest.request(XS_WATCH, nulStrings('k', 't')));
    xsd.pollDomain(1);
    guest.page.writeU32(XS_RING_RSP_CONS, 0x8000_0000);
    assert.doesNotThrow(() => d0.write('/local/domain/1/k', 'v'));
    assert.equal(guest.page.readU32(XS_RING_ERROR), XENSTORE_ERROR_RINGIDX);
    assert.equal(ring.closed, true);
  }
});

test('an oversized request is a protocol error; the guest can reconnect', () => {
  const { guest, xsd, d0, ring } = setup();
  guest.put(guest.request(XS_WATCH, nulStrings('k', 'before')));
  xsd.pollDomain(1);
  const h = new Uint8Array(16);
  new DataView(h.buffer).setUint32(12, 4097, true);
  guest.put(h);
  xsd.pollDomain(1);
  assert.equal(guest.page.readU32(XS_RING_ERROR), XENSTORE_ERROR_PROTO);
  assert.equal(ring.closed, true);
  // Reconnect: queues emptied, watches gone, connection state back to connected.
  guest.page.writeU32(XS_RING_CONNECTION, XENSTORE_RECONNECT);
  xsd.pollDomain(1);
  assert.equal(guest.page.readU32(XS_RING_CONNECTION), XENSTORE_CONNECTED);
  assert.equal(guest.page.readU32(XS_RING_ERROR), 0);
  assert.equal(guest.page.readU32(XS_RING_REQ_PROD), 0);
  assert.equal(ring.closed, false);
  guest.got.length = 0;
  guest.decoder.reset();
  d0.write('/local/domain/1/k', 'no event now');
  guest.put(guest.request(XS_READ, nulStrings('k')));
  xsd.pollDomain(1);
  guest.take();
  assert.deepEqual(
    guest.got.map((m) => stringOf(m.payload)),
    ['no event now'],
  );
});

test('XsRing on its own: send() before any poll writes and kicks', () => {
  const guest = new Guest();
  const seen: XsMessage[] = [];
  const ring = new XsRing(guest.page, () => guest.kicks++, {
    message: (m) => seen.push(m),
    reset: () => {},
    closed: () => {},
  });
  ring.send(encodeMessage({ type: XS_WATCH_EVENT, reqId: 0, txId: 0, payload: nulStrings('/a', 't') }));
  assert.equal(guest.kicks, 1);
  guest.take();
  assert.equal(guest.got.length, 1);
  guest.put(guest.request(XS_READ, nulStrings('/x')));
  ring.poll();
  assert.equal(seen.length, 1);
});

test('a held ring (a save reading the page) is left untouched; released, it catches up', () => {
  const { guest, xsd, d0, ring } = setup();
  d0.write('/local/domain/1/v', 'x');
  guest.put(guest.request(XS_WATCH, nulStrings('v', 'tok')));
  xsd.pollDomain(1);
  guest.take();
  const before = guest.got.length;
  ring.hold(true);
  const snapshot = guest.bytes.slice();
  guest.put(guest.request(XS_READ, nulStrings('v')));
  const withRequest = guest.bytes.slice();
  xsd.pollDomain(1);
  d0.write('/local/domain/1/v', 'y'); // a watch event, queued
  assert.deepEqual(guest.bytes, withRequest, 'nothing read or written while held');
  assert.notDeepEqual(withRequest, snapshot);
  ring.hold(false);
  guest.take();
  assert.deepEqual(
    guest.got.slice(before).map((m) => m.type),
    [XS_WATCH_EVENT, XS_READ],
    'the event queued meanwhile, then the reply to the request that waited',
  );
});
