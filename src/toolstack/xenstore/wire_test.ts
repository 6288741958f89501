import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  encodeMessage,
  nulStrings,
  splitFirst,
  splitNul,
  stringOf,
  XENSTORE_PAYLOAD_MAX,
  XS_DIRECTORY_PART,
  XS_ERROR,
  XS_RESET_WATCHES,
  XS_WATCH_EVENT,
  XS_WRITE,
  XSD_ERRORS,
  XsDecoder,
  XsProtocolError,
} from './wire.ts';

test('message numbers and errno names follow xs_wire.h', () => {
  assert.equal(XS_WRITE, 11);
  assert.equal(XS_WATCH_EVENT, 15);
  assert.equal(XS_ERROR, 16);
  assert.equal(XS_RESET_WATCHES, 21);
  assert.equal(XS_DIRECTORY_PART, 22);
  assert.equal(XSD_ERRORS.length, 16);
  assert.equal(XSD_ERRORS[0], 'EINVAL');
  assert.equal(XSD_ERRORS[12], 'EAGAIN');
  assert.equal(XSD_ERRORS[15], 'EPERM');
});

test('the header is four little-endian uint32s: type, req_id, tx_id, len', () => {
  const b = encodeMessage({ type: 2, reqId: 0x01020304, txId: 0xfffffffe, payload: nulStrings('/a') });
  assert.deepEqual([...b.subarray(0, 16)], [2, 0, 0, 0, 4, 3, 2, 1, 0xfe, 0xff, 0xff, 0xff, 3, 0, 0, 0]);
  assert.equal(stringOf(b.subarray(16)), '/a\0');
});

test('the decoder reassembles messages split at every possible byte', () => {
  const msgs = [
    { type: 11, reqId: 1, txId: 0, payload: nulStrings('/x', 'value') },
    { type: 6, reqId: 2, txId: 0, payload: new Uint8Array(0) },
    { type: 2, reqId: 3, txId: 7, payload: new Uint8Array(300).fill(65) },
  ];
  const stream = new Uint8Array(msgs.reduce((n, m) => n + 16 + m.payload.length, 0));
  let o = 0;
  for (const m of msgs) {
    const e = encodeMessage(m);
    stream.set(e, o);
    o += e.length;
  }
  for (let cut = 0; cut <= stream.length; cut++) {
    for (const step of [1, 7, stream.length]) {
      const d = new XsDecoder();
      const out = [...d.push(stream.subarray(0, cut))];
      for (let i = cut; i < stream.length; i += step) out.push(...d.push(stream.subarray(i, i + step)));
      assert.deepEqual(out, msgs, `cut ${cut} step ${step}`);
      assert.ok(d.idle);
    }
  }
});

test('a header announcing more than XENSTORE_PAYLOAD_MAX bytes is a protocol error', () => {
  const d = new XsDecoder();
  const h = new Uint8Array(16);
  new DataView(h.buffer).setUint32(12, XENSTORE_PAYLOAD_MAX + 1, true);
  assert.throws(() => d.push(h), XsProtocolError);
  assert.throws(() => d.push(new Uint8Array(1)), XsProtocolError, 'unusable afterwards');
  // Exactly the maximum is fine.
  const ok = encodeMessage({ type: 1, reqId: 1, txId: 0, payload: new Uint8Array(XENSTORE_PAYLOAD_MAX) });
  assert.equal(new XsDecoder().push(ok).length, 1);
  assert.throws(
    () => encodeMessage({ type: 1, reqId: 1, txId: 0, payload: new Uint8Array(4097) }),
    XsProtocolError,
  );
});

test('payload helpers split NUL-separated strings and WRITE values', () => {
  assert.deepEqual(splitNul(nulStrings('a', '', 'b')), ['a', '', 'b']);
  assert.deepEqual(splitNul(new Uint8Array([0x61, 0, 0x62])), ['a', 'b']);
  const w = splitFirst(new Uint8Array([0x2f, 0x61, 0, 1, 0, 2]));
  assert.equal(w?.head, '/a');
  assert.deepEqual([...w!.rest], [1, 0, 2]);
  assert.equal(splitFirst(new Uint8Array([1, 2])), undefined);
});
