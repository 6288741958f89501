import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { TLB_BYTE_OFFSET } from '../../machine/hart/layout.ts';
import { Uart16550 } from '../../machine/devices/uart16550.ts';
import { NO_IRQ } from '../../machine/device.ts';
import { MAX_VCPUS } from '../xlcfg.ts';
import { crc32c } from './crc32c.ts';
import {
  MAX_BATCH_PAGES,
  MemorySink,
  PAGE_BYTES,
  PAGE_TYPE_NORMAL,
  PAGE_TYPE_XALLOC,
  PAGE_TYPE_XTAB,
  SaveStreamError,
  sourceFromBytes,
  StreamReader,
  StreamWriter,
  VCPU_CONTEXT_BYTES,
  type StreamRecord,
} from './stream.ts';
import {
  DHDR_TYPE_DOMUS_RISCV64,
  IHDR_VERSION,
  MAX_STREAM_VCPUS,
  PAGE_SHIFT,
  REC_TYPE_CHECKPOINT,
  REC_TYPE_DOMUS_VCPU_STATE,
  REC_TYPE_END,
  STREAM_HEADER_BYTES,
} from './stream_format.ts';
import {
  pageOf,
  RAM_GFN,
  readAll,
  SAMPLE_HYPERVISOR_STATE,
  SAMPLE_INFO,
  smallSample,
  vcpuContext,
  writeSmallSample,
} from './test_support.ts';

function streamError(problem: string, pattern: RegExp) {
  return (e: unknown) => e instanceof SaveStreamError && e.problem === problem && pattern.test(e.message);
}

test('the vCPU context is the hart block up to its TLBs, and the vCPU bound is xl.cfg`s', () => {
  assert.equal(VCPU_CONTEXT_BYTES, TLB_BYTE_OFFSET);
  assert.equal(MAX_STREAM_VCPUS, MAX_VCPUS);
});

test('every record type round-trips, whatever the chunking of the source', async () => {
  const bytes = await smallSample();
  for (const chunkBytes of [1, 7, 4096, 1 << 20]) {
    const reader = new StreamReader(sourceFromBytes(bytes, chunkBytes), { what: 'save file t.save' });
    const header = await reader.readHeader();
    assert.deepEqual(header, {
      version: IHDR_VERSION,
      domainType: DHDR_TYPE_DOMUS_RISCV64,
      pageShift: PAGE_SHIFT,
      producerMajor: 0,
      producerMinor: 1,
    });
    const records: StreamRecord[] = [];
    for await (const r of reader) records.push(r);
    assert.deepEqual(
      records.map((r) => r.type),
      [
        'DOMAIN_INFO',
        'PAGE_DATA',
        'VCPU_STATE',
        'VCPU_STATE',
        'HYPERVISOR_STATE',
        'DEVICE_STATE',
        'DEVICE_STATE',
        'CHECKPOINT',
        'PAGE_DATA',
        'END',
      ],
    );
    const [info, pages, v0, v1, hv, dev0, dev1, , pages2, end] = records;
    assert.equal(info?.type === 'DOMAIN_INFO' && info.offset, STREAM_HEADER_BYTES);
    assert.deepEqual(info?.type === 'DOMAIN_INFO' && info.info, SAMPLE_INFO);
    assert.ok(pages?.type === 'PAGE_DATA');
    assert.deepEqual(pages.gfns, [RAM_GFN, RAM_GFN + 5, RAM_GFN + 1]);
    assert.deepEqual(pages.types, [PAGE_TYPE_NORMAL, PAGE_TYPE_NORMAL, PAGE_TYPE_XALLOC]);
    assert.equal(pages.pages.length, 2 * PAGE_BYTES);
    assert.deepEqual(pages.pages.subarray(0, PAGE_BYTES), pageOf(RAM_GFN));
    assert.deepEqual(pages.pages.subarray(PAGE_BYTES), pageOf(RAM_GFN + 5));
    assert.ok(v0?.type === 'VCPU_STATE' && v1?.type === 'VCPU_STATE');
    assert.equal(v0.vcpuId, 0);
    assert.deepEqual(v0.context, vcpuContext(0));
    assert.equal(v1.vcpuId, 1);
    assert.deepEqual(v1.context, vcpuContext(1));
    assert.deepEqual(hv?.type === 'HYPERVISOR_STATE' && hv.state, SAMPLE_HYPERVISOR_STATE);
    assert.deepEqual(dev0?.type === 'DEVICE_STATE' && [dev0.name, dev0.state], [
      'uart@10000000',
      { version: 1, ier: 1, rx: [104, 105] },
    ]);
    assert.deepEqual(dev1?.type === 'DEVICE_STATE' && [dev1.name, dev1.state], [
      'virtio-rng@10001000',
      { version: 1 },
    ]);
    assert.ok(pages2?.type === 'PAGE_DATA');
    assert.deepEqual(pages2.pages, pageOf(RAM_GFN + 6));
    assert.equal(end?.type === 'END' && end.offset + 16, bytes.length);
    assert.equal(reader.checkpointCount, 1);
    assert.equal(reader.offset, bytes.length);
  }
});

test('the stream starts with Xen`s image header and keeps Xen`s record numbers', async () => {
  const bytes = await smallSample();
  const v = new DataView(bytes.buffer, bytes.byteOffset);
  assert.equal(v.getUint32(0, false), 0xffffffff);
  assert.equal(v.getUint32(4, false), 0xffffffff);
  assert.equal(v.getUint32(8, false), 0x58454e46); // "XENF"
  assert.equal(v.getUint32(12, false), 3);
  assert.equal(v.getUint16(16, false), 0); // little-endian
  assert.equal(v.getUint16(28, true), 12);
  const records = await readAll(bytes);
  const page = records[1]!;
  assert.equal(v.getUint32(page.offset, true), 0x00000001); // PAGE_DATA
  assert.equal(v.getUint32(page.offset + 16, true), 3); // count
  // pfn[2]: type XALLOC (0xE) in bits 63-60, GFN in 51-0.
  assert.equal(v.getUint32(page.offset + 16 + 8 + 16, true), RAM_GFN + 1);
  assert.equal(v.getUint32(page.offset + 16 + 8 + 20, true), 0xe0000000);
  assert.equal(v.getUint32(records[7]!.offset, true), 0x0000000e); // CHECKPOINT
  assert.equal(v.getUint32(records[9]!.offset, true), 0x00000000); // END
  for (const r of records) assert.equal(r.offset % 8, 0, 'records are aligned to 8 bytes');
});

test('a real device`s saveState() travels through DEVICE_STATE and restores', async () => {
  const out: number[] = [];
  const uart = new Uart16550(NO_IRQ, (b) => out.push(b));
  uart.write(3, 1, 0x03); // LCR: 8 data bits
  uart.write(1, 1, 0x01); // IER: received data available
  uart.write(7, 1, 0x5a); // SCR
  uart.receive(new TextEncoder().encode('ls\n'));
  const sink = new MemorySink();
  const w = new StreamWriter(sink);
  await w.writeHeader();
  await w.writeDomainInfo(SAMPLE_INFO);
  await w.writeDeviceState('uart@10000000', uart.saveState());
  await w.end();
  const [, dev] = await readAll(sink.bytes());
  assert.ok(dev?.type === 'DEVICE_STATE');
  const copy = new Uart16550(NO_IRQ, () => {});
  copy.restoreState(dev.state);
  assert.deepEqual(copy.saveState(), uart.saveState());
  assert.equal(copy.read(7, 1), 0x5a);
  assert.equal(copy.read(0, 1), 'l'.charCodeAt(0));
});

test('a few MiB of pages in full batches round-trip, and XTAB entries carry no data', async () => {
  const count = 2600; // 10.2 MiB: two full batches and a partial one
  const sink = new MemorySink();
  const w = new StreamWriter(sink);
  await w.writeHeader();
  await w.writeDomainInfo(SAMPLE_INFO);
  const want = createHash('sha256');
  for (let first = 0; first < count; first += MAX_BATCH_PAGES) {
    const gfns: number[] = [];
    const pages: Uint8Array[] = [];
    for (let g = first; g < Math.min(count, first + MAX_BATCH_PAGES); g++) {
      gfns.push(RAM_GFN + g);
      const p = pageOf(RAM_GFN + g);
      pages.push(p);
      want.update(p);
    }
    await w.writePageBatch(gfns, pages);
  }
  await w.writePageBatch([RAM_GFN + 3, 2 ** 52 - 1], new Uint8Array(0), [PAGE_TYPE_XTAB, PAGE_TYPE_XTAB]);
  await w.end();
  const bytes = sink.bytes();
  assert.equal(w.bytesWritten, bytes.length);
  assert.ok(bytes.length > count * PAGE_BYTES);

  const got = createHash('sha256');
  const gfns: number[] = [];
  let batches = 0;
  let last: StreamRecord | undefined;
  for await (const r of new StreamReader(sourceFromBytes(bytes, 65536))) {
    if (r.type !== 'PAGE_DATA') continue;
    batches++;
    assert.ok(r.gfns.length <= MAX_BATCH_PAGES);
    if (r.types.every((t) => t === PAGE_TYPE_NORMAL)) {
      got.update(r.pages);
      gfns.push(...r.gfns);
    }
    last = r;
  }
  assert.equal(batches, 4);
  assert.equal(got.digest('hex'), want.digest('hex'));
  assert.deepEqual(
    gfns,
    Array.from({ length: count }, (_, i) => RAM_GFN + i),
  );
  assert.ok(last?.type === 'PAGE_DATA');
  assert.deepEqual(last.gfns, [RAM_GFN + 3, 2 ** 52 - 1]);
  assert.equal(last.pages.length, 0);
});

test('the writer copies pages: changing them after the call does not change what was sent', async () => {
  const sink = new MemorySink();
  const w = new StreamWriter(sink);
  await w.writeHeader();
  await w.writeDomainInfo(SAMPLE_INFO);
  const page = pageOf(RAM_GFN);
  await w.writePageBatch([RAM_GFN], [page]);
  page.fill(0xaa); // the guest keeps running
  await w.writePageBatch([RAM_GFN + 1], [page]);
  await w.end();
  const recs = await readAll(sink.bytes());
  assert.ok(recs[1]?.type === 'PAGE_DATA' && recs[2]?.type === 'PAGE_DATA');
  assert.deepEqual(recs[1].pages, pageOf(RAM_GFN));
  assert.deepEqual(recs[2].pages, new Uint8Array(PAGE_BYTES).fill(0xaa));
});

test('Remus-style checkpoints: several consistent sets in one stream', async () => {
  const sink = new MemorySink();
  const w = new StreamWriter(sink);
  await w.writeHeader();
  await w.writeDomainInfo(SAMPLE_INFO);
  for (let epoch = 0; epoch < 3; epoch++) {
    await w.writePageBatch([RAM_GFN + epoch], [pageOf(epoch)]);
    await w.writeVcpuState(0, vcpuContext(epoch));
    await w.writeCheckpoint();
  }
  await w.end();
  const reader = new StreamReader(sourceFromBytes(sink.bytes()));
  const kinds: string[] = [];
  for await (const r of reader) kinds.push(r.type);
  assert.equal(reader.checkpointCount, 3);
  assert.deepEqual(kinds.filter((k) => k === 'CHECKPOINT').length, 3);
  assert.equal(kinds.at(-2), 'CHECKPOINT');
});

test('the writer refuses misuse with a plain error and writes nothing for it', async () => {
  const sink = new MemorySink();
  const w = new StreamWriter(sink);
  await assert.rejects(w.writeDomainInfo(SAMPLE_INFO), /writeHeader\(\) has not been called/);
  await w.writeHeader();
  await assert.rejects(w.writeHeader(), /the header was already written/);
  const before = sink.byteLength;
  await assert.rejects(w.writeRecord(REC_TYPE_END, new Uint8Array(0)), /StreamWriter\.end\(\)/);
  await assert.rejects(w.writeRecord(0x13, new Uint8Array(8)), /unknown to Domus and not optional/);
  await assert.rejects(w.writeRecord(REC_TYPE_CHECKPOINT, new Uint8Array(8)), /holds at most 0 bytes/);
  const many = Array.from({ length: MAX_BATCH_PAGES + 1 }, (_, i) => i);
  await assert.rejects(w.writePageBatch(many, new Uint8Array(0)), /at most 1024 pages; split/);
  await assert.rejects(w.writePageBatch([], []), /1 to 1024 pages, not 0/);
  await assert.rejects(w.writePageBatch([1, 1], [pageOf(1), pageOf(1)]), /GFN 0x1 appears twice/);
  await assert.rejects(w.writePageBatch([1], [new Uint8Array(100)]), /is 100 bytes, not 4096/);
  await assert.rejects(w.writePageBatch([2 ** 52], [pageOf(1)]), /not a 52-bit frame number/);
  await assert.rejects(w.writePageBatch([1], [pageOf(1)], [3]), /page type 0x3 is not one Domus writes/);
  await assert.rejects(
    w.writeVcpuState(0, new Uint8Array(16)),
    /4096 bytes \(the hart block up to its TLBs\)/,
  );
  await assert.rejects(w.writeDomainInfo({ ...SAMPLE_INFO, uuid: 'nope' }), /is not a UUID/);
  await assert.rejects(w.writeDomainInfo({ ...SAMPLE_INFO, vcpus: 0 }), /1 to 128 vCPUs, not 0/);
  await assert.rejects(
    w.writeDomainInfo({ ...SAMPLE_INFO, memoryBytes: 1000 }),
    /whole number of 4096-byte pages/,
  );
  await assert.rejects(w.writeDomainInfo({ ...SAMPLE_INFO, name: 'a\nb' }), /has control characters/);
  await assert.rejects(w.writeDeviceState('', {}), /1 to 128 bytes/);
  await assert.rejects(w.writeDeviceState('dev', undefined), /cannot be written as JSON/);
  assert.equal(sink.byteLength, before);
  const p1 = w.writeCheckpoint();
  await assert.rejects(w.writeCheckpoint(), /must not overlap/);
  await p1;
  await w.end();
  await assert.rejects(w.writeCheckpoint(), /the stream has ended/);
});

test('a sink that fails stops the writer for good', async () => {
  let calls = 0;
  const w = new StreamWriter({
    write() {
      calls++;
      return calls === 2 ? Promise.reject(new Error('connection reset')) : Promise.resolve();
    },
  });
  await w.writeHeader();
  await assert.rejects(w.writeDomainInfo(SAMPLE_INFO), /connection reset/);
  await assert.rejects(w.writeCheckpoint(), /an earlier write to the sink failed/);
  assert.equal(calls, 2);
});

test('headers from elsewhere are refused with the reason', async () => {
  const good = await smallSample();
  const read = (b: Uint8Array) => readAll(b, { what: 'save file x.save' });
  /** Changes header bytes and recomputes the header check, as another writer would have. */
  const edit = (f: (v: DataView) => void) => {
    const b = good.slice();
    const v = new DataView(b.buffer);
    f(v);
    v.setUint32(44, crc32c(b.subarray(0, 44)), true);
    return b;
  };
  await assert.rejects(
    read(new TextEncoder().encode('#!/bin/sh\necho this is not a save file at all\n')),
    streamError('not-a-stream', /^save file x\.save is not a Domus save image/),
  );
  await assert.rejects(
    read(new Uint8Array(0)),
    streamError('truncated', /^save file x\.save is empty; it cannot be restored$/),
  );
  await assert.rejects(
    read(edit((v) => v.setUint32(12, 2, false))),
    streamError('unsupported', /is a version 2 migration stream; this Domus reads version 3 only/),
  );
  await assert.rejects(
    read(edit((v) => v.setUint16(16, 1, false))),
    streamError('unsupported', /is a big-endian stream/),
  );
  await assert.rejects(
    read(edit((v) => v.setUint16(16, 4, false))),
    streamError('unsupported', /stream options 0x4/),
  );
  await assert.rejects(
    read(edit((v) => v.setUint32(24, 2, true))),
    streamError('unsupported', /holds a Xen x86 HVM domain, not a Domus RISC-V domain/),
  );
  await assert.rejects(
    read(edit((v) => v.setUint16(28, 16, true))),
    streamError('unsupported', /uses pages of 2\^16 bytes/),
  );
  // The header check catches a change that is not recomputed.
  const b = good.slice();
  b[33]! ^= 1; // xen_major
  await assert.rejects(
    read(b),
    streamError(
      'damaged',
      /^save file x\.save is damaged at byte 0: header checksum mismatch; it cannot be restored$/,
    ),
  );
});

test('record order rules: DOMAIN_INFO first and once, vCPU ids within the domain', async () => {
  const build = async (f: (w: StreamWriter) => Promise<void>) => {
    const sink = new MemorySink();
    const w = new StreamWriter(sink);
    await w.writeHeader();
    await f(w);
    await w.end();
    return sink.bytes();
  };
  await assert.rejects(
    readAll(await build((w) => w.writePageBatch([1], [pageOf(1)]))),
    streamError(
      'damaged',
      /is damaged at byte 48: its first record is PAGE_DATA \(0x00000001\), not DOMUS_DOMAIN_INFO/,
    ),
  );
  await assert.rejects(
    readAll(
      await build(async (w) => {
        await w.writeDomainInfo(SAMPLE_INFO);
        await w.writeDomainInfo(SAMPLE_INFO);
      }),
    ),
    streamError('damaged', /a second DOMUS_DOMAIN_INFO record/),
  );
  await assert.rejects(
    readAll(
      await build(async (w) => {
        await w.writeDomainInfo(SAMPLE_INFO);
        await w.writeVcpuState(2, vcpuContext(2));
      }),
    ),
    streamError(
      'damaged',
      /its DOMUS_VCPU_STATE \(0x444d0002\) record is for vCPU 2, but the domain has 2 vCPUs/,
    ),
  );
  // A body the writer would never produce, framed with valid checksums: its layout is still checked.
  await assert.rejects(
    readAll(
      await build(async (w) => {
        await w.writeDomainInfo(SAMPLE_INFO);
        const body = new Uint8Array(8 + VCPU_CONTEXT_BYTES);
        new DataView(body.buffer).setUint32(4, 9, true);
        await w.writeRecord(REC_TYPE_DOMUS_VCPU_STATE, body);
      }),
    ),
    streamError('damaged', /record is version 9 of its layout; this Domus reads version 1/),
  );
});

test('unknown optional records are skipped; unknown mandatory ones are refused', async () => {
  const sink = new MemorySink();
  const w = new StreamWriter(sink);
  await w.writeHeader();
  await w.writeDomainInfo(SAMPLE_INFO);
  await w.writeRecord(0xc44d00ff, new TextEncoder().encode('a future optional record'));
  await w.writeCheckpoint();
  await w.end();
  const bytes = sink.bytes();
  assert.deepEqual(
    (await readAll(bytes)).map((r) => r.type),
    ['DOMAIN_INFO', 'CHECKPOINT', 'END'],
  );

  // The same stream with the optional bit cleared (and the checksums redone) names a newer Domus.
  const v = new DataView(bytes.buffer, bytes.byteOffset);
  let at = STREAM_HEADER_BYTES;
  while (v.getUint32(at, true) !== 0xc44d00ff) at += 8;
  v.setUint32(at, 0x444d00ff, true);
  v.setUint32(at + 12, crc32c(bytes.subarray(at, at + 12)), true);
  await assert.rejects(
    readAll(bytes, { what: 'save file new.save' }),
    streamError(
      'unsupported',
      new RegExp(
        `^save file new\\.save has a record of unknown type 0x444d00ff at byte ${at}; it was written by a newer Domus`,
      ),
    ),
  );
});

test('DOMUS_DISK_WRITE records carry a disk, a sector offset and data; bad offsets are refused', async () => {
  const sink = new MemorySink();
  const w = new StreamWriter(sink);
  await w.writeHeader();
  await w.writeDomainInfo(SAMPLE_INFO);
  const data = new TextEncoder().encode('sector data '.repeat(100));
  await w.writeDiskWrite(1, 512 * 77, data);
  await assert.rejects(w.writeDiskWrite(0, 100, data), /not a whole sector/);
  await w.writeCheckpoint();
  await w.end();
  const recs = await readAll(sink.bytes());
  const dw = recs.find((r) => r.type === 'DISK_WRITE');
  assert.ok(dw && dw.type === 'DISK_WRITE');
  assert.equal(dw.disk, 1);
  assert.equal(dw.at, 512 * 77);
  assert.deepEqual(dw.data, data);
  // The record is optional (bit 31): a reader that does not know it would skip it.
  assert.equal((0xc44d0001 & 0x80000000) !== 0, true);
});

test('bytes after END are refused in a file and left alone on a socket', async () => {
  const good = await smallSample();
  const longer = new Uint8Array(good.length + 8);
  longer.set(good);
  await assert.rejects(
    readAll(longer, { what: 'save file x.save' }),
    streamError('damaged', new RegExp(`has data after its END record, at byte ${good.length}`)),
  );
  const recs = await readAll(longer, { expectEof: false });
  assert.equal(recs.at(-1)?.type, 'END');
  const reader = new StreamReader(sourceFromBytes(good));
  for await (const r of reader) void r;
  await assert.rejects(reader.next(), /the stream has ended/);
});

test('writeSmallSample writes the same bytes every time (deterministic)', async () => {
  const a = await smallSample();
  const sink = new MemorySink();
  await writeSmallSample(new StreamWriter(sink));
  assert.deepEqual(sink.bytes(), a);
});
