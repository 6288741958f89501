// Damaged, truncated and hostile streams: every one is refused with one sentence naming the byte.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32c } from './crc32c.ts';
import { SaveStreamError, sourceFromBytes, StreamReader, type ByteSource } from './stream.ts';
import {
  encodeStreamHeader,
  REC_TYPE_DOMUS_DEVICE_STATE,
  REC_TYPE_DOMUS_DOMAIN_INFO,
  REC_TYPE_END,
  REC_TYPE_PAGE_DATA,
  STREAM_HEADER_BYTES,
} from './stream_format.ts';
import { encodeDomainInfo } from './record_bodies.ts';
import { readAll, SAMPLE_INFO, smallSample } from './test_support.ts';

const WHAT = 'save file t.save';

/** Where each record starts, and the total length, of a good stream. */
async function extents(bytes: Uint8Array): Promise<number[]> {
  const recs = await readAll(bytes);
  return [...recs.map((r) => r.offset), bytes.length];
}

async function refusal(bytes: Uint8Array, chunkBytes = 4096): Promise<SaveStreamError> {
  try {
    await readAll(bytes, { what: WHAT, chunkBytes });
  } catch (e) {
    if (e instanceof SaveStreamError) return e;
    throw e;
  }
  assert.fail('the stream was accepted');
}

test('corrupting any byte of a saved stream is detected, at the record that holds it', async () => {
  const good = await smallSample();
  const starts = await extents(good);
  assert.ok(good.length > 20_000);
  const damaged =
    /^save file t\.save is damaged at byte (\d+): (record header checksum mismatch|record checksum mismatch|header checksum mismatch); it cannot be restored$/;
  const b = good.slice();
  for (const flip of [0x01, 0xff, -1]) {
    for (let i = 0; i < b.length; i++) {
      const x = flip === -1 ? 1 << (i % 8) : flip;
      b[i]! ^= x;
      const e = await refusal(b, 8192);
      b[i]! ^= x;
      if (i < 12) {
        assert.equal(e.problem, 'not-a-stream', `byte ${i}`);
        continue;
      }
      const m = damaged.exec(e.message);
      assert.ok(m, `byte ${i} ^ 0x${x.toString(16)}: ${e.message}`);
      const at = Number(m[1]);
      // The error names the start of the record (or header) that holds the damaged byte.
      const holder = i < STREAM_HEADER_BYTES ? 0 : starts.filter((s) => s <= i).at(-1)!;
      assert.equal(at, holder, `byte ${i}`);
      assert.equal(e.offset, holder);
    }
  }
  assert.deepEqual(b, good);
});

test('truncation anywhere is detected: in the header, inside a record, or at a record boundary', async () => {
  const good = await smallSample();
  const starts = new Set(await extents(good));
  for (let n = 0; n < good.length; n++) {
    const e = await refusal(good.subarray(0, n), 1000);
    assert.equal(e.problem, 'truncated', `length ${n}`);
    if (n === 0) {
      assert.equal(e.message, 'save file t.save is empty; it cannot be restored');
    } else if (n < STREAM_HEADER_BYTES) {
      assert.equal(
        e.message,
        `save file t.save ends in the middle of its header at byte ${n}; it cannot be restored`,
      );
    } else if (starts.has(n)) {
      assert.equal(
        e.message,
        `save file t.save ends at byte ${n} without an END record; it is incomplete and cannot be restored`,
      );
    } else {
      assert.equal(
        e.message,
        `save file t.save ends in the middle of a record at byte ${n}; it cannot be restored`,
      );
    }
    assert.equal(e.offset, n);
  }
});

/** A record header with correct checksums for a body that may not be there. */
function recordHeader(type: number, length: number, bodyCrc = 0): Uint8Array {
  const h = new Uint8Array(16);
  const v = new DataView(h.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, length, true);
  v.setUint32(8, bodyCrc, true);
  v.setUint32(12, crc32c(h.subarray(0, 12)), true);
  return h;
}

/** A whole record with correct checksums around any body. */
function record(type: number, body: Uint8Array): Uint8Array {
  const padded = (body.length + 7) & ~7;
  const out = new Uint8Array(16 + padded);
  out.set(body, 16);
  const head = recordHeader(type, body.length);
  const bodyCrc = crc32c(out.subarray(16), crc32c(head.subarray(0, 8)));
  out.set(recordHeader(type, body.length, bodyCrc));
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `prefix`, then zeros for ever, in 64 KiB chunks; counts what the reader pulled. */
function endlessSource(prefix: Uint8Array): ByteSource & { pulled: number } {
  const zeros = new Uint8Array(65536);
  let sentPrefix = false;
  const src = {
    pulled: 0,
    read(): Promise<Uint8Array | null> {
      const chunk = sentPrefix ? zeros : prefix;
      sentPrefix = true;
      src.pulled += chunk.length;
      return Promise.resolve(chunk);
    },
  };
  return src;
}

test('an oversized length is refused before anything is read or allocated for it', async () => {
  const start = concat(
    encodeStreamHeader(),
    record(REC_TYPE_DOMUS_DOMAIN_INFO, encodeDomainInfo(SAMPLE_INFO)),
  );
  const cases: [number, number, RegExp][] = [
    [
      REC_TYPE_PAGE_DATA,
      0xfffffff8,
      /the PAGE_DATA \(0x00000001\) record claims 4294967288 bytes, more than the 4202504 it can hold/,
    ],
    [REC_TYPE_PAGE_DATA, 4202505, /claims 4202505 bytes, more than the 4202504/],
    [
      REC_TYPE_DOMUS_DEVICE_STATE,
      0x7fffffff,
      /DOMUS_DEVICE_STATE \(0x444d0004\) record claims 2147483647 bytes/,
    ],
    [REC_TYPE_END, 8, /the END \(0x00000000\) record claims 8 bytes, more than the 0 it can hold/],
    [0xc0000001, 0xffffffff, /the type 0xc0000001 record claims 4294967295 bytes, more than the 16777216/],
  ];
  for (const [type, length, pattern] of cases) {
    const src = endlessSource(concat(start, recordHeader(type, length)));
    const buffersBefore = process.memoryUsage().arrayBuffers;
    const reader = new StreamReader(src, { what: WHAT });
    const e = await (async () => {
      try {
        for await (const r of reader) void r;
      } catch (err) {
        return err;
      }
      return null;
    })();
    assert.ok(e instanceof SaveStreamError && e.problem === 'damaged', String(e));
    assert.match(e.message, pattern);
    assert.match(e.message, new RegExp(`^save file t\\.save is damaged at byte ${start.length}: `));
    assert.equal(src.pulled, start.length + 16, 'nothing is read past the bad header');
    assert.ok(process.memoryUsage().arrayBuffers - buffersBefore < 32 << 20);
  }
});

test('counts and lengths inside a checksummed body are not trusted either', async () => {
  const start = concat(
    encodeStreamHeader(),
    record(REC_TYPE_DOMUS_DOMAIN_INFO, encodeDomainInfo(SAMPLE_INFO)),
  );
  const body = (words: number[], extra = 0) => {
    const b = new Uint8Array(words.length * 4 + extra);
    const v = new DataView(b.buffer);
    words.forEach((w, i) => v.setUint32(i * 4, w, true));
    return b;
  };
  const cases: [number, Uint8Array, RegExp][] = [
    [REC_TYPE_PAGE_DATA, body([0xffffffff, 0]), /gives a page count of 4294967295 \(1 to 1024 allowed\)/],
    [REC_TYPE_PAGE_DATA, body([0, 0]), /gives a page count of 0/],
    [REC_TYPE_PAGE_DATA, body([1024, 0, 5, 0]), /is too short for its 1024 page frame numbers/],
    [
      REC_TYPE_PAGE_DATA,
      body([1, 0, 5, 0], 100),
      /has 1 pages with data, which need a 4112-byte body, but it is 116 bytes/,
    ],
    [REC_TYPE_PAGE_DATA, body([2, 0, 5, 0, 5, 0xf0000000]), /lists GFN 0x5 twice/],
    [
      REC_TYPE_PAGE_DATA,
      body([1, 0, 5, 0x10000000]),
      /gives page type 0x1 for GFN 0x5, which Domus does not restore/,
    ],
    [REC_TYPE_DOMUS_DEVICE_STATE, body([1, 0xffffff00]), /gives a device name of 4294967040 bytes/],
    [REC_TYPE_DOMUS_DEVICE_STATE, body([1, 100]), /is shorter than its device name/],
    [
      REC_TYPE_DOMUS_DEVICE_STATE,
      concat(body([1, 1]), Uint8Array.of(0x61, 0x7b)),
      /gives a state of device a that is not valid JSON/,
    ],
    [
      REC_TYPE_DOMUS_DEVICE_STATE,
      concat(body([1, 2]), Uint8Array.of(0xc3, 0x28, 0x31)),
      /gives a device name that is not valid UTF-8/,
    ],
  ];
  for (const [type, b, pattern] of cases) {
    const e = await refusal(concat(start, record(type, b), record(REC_TYPE_END, new Uint8Array(0))));
    assert.equal(e.problem, 'damaged');
    assert.match(e.message, new RegExp(`^save file t\\.save is damaged at byte ${start.length}: its `));
    assert.match(e.message, pattern);
  }
  // DOMAIN_INFO whose name and config lengths overrun the body.
  const info = encodeDomainInfo(SAMPLE_INFO);
  new DataView(info.buffer).setUint32(36, 0xffffff00, true);
  const e = await refusal(concat(encodeStreamHeader(), record(REC_TYPE_DOMUS_DOMAIN_INFO, info)));
  assert.match(e.message, /do not add up to its size/);
});

test('a stream that stops mid-record on a source that then hangs up is reported as truncated', async () => {
  const good = await smallSample();
  const cut = good.subarray(0, good.length - 100);
  const reader = new StreamReader(sourceFromBytes(cut, 3), { what: 'migration stream from host-b' });
  const seen: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const r of reader) seen.push(r.type);
    })(),
    (e: unknown) =>
      e instanceof SaveStreamError &&
      e.message ===
        `migration stream from host-b ends in the middle of a record at byte ${cut.length}; it cannot be restored`,
  );
  assert.equal(reader.checkpointCount, 1, 'a Remus backup still has the last complete checkpoint');
  assert.equal(seen.at(-1), 'CHECKPOINT');
});
