// The stream over real Node.js transports: a TCP socket pair and a save file written atomically.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeFileAtomically } from '../../platform/node/atomic_file.ts';
import {
  MAX_BATCH_PAGES,
  MemorySink,
  SaveStreamError,
  sinkFromWritable,
  sourceFromAsyncIterable,
  StreamReader,
  StreamWriter,
  type StreamRecord,
} from './stream.ts';
import {
  pageOf,
  RAM_GFN,
  SAMPLE_HYPERVISOR_STATE,
  SAMPLE_INFO,
  vcpuContext,
  writeSmallSample,
} from './test_support.ts';

const dir = mkdtempSync(join(tmpdir(), 'domus-stream-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A listening server and a connected client; `accepted` is the server's end. */
async function socketPair(): Promise<{ server: Server; client: Socket; accepted: Socket }> {
  const server = createServer();
  const acceptedP = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const client = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  return { server, client, accepted: await acceptedP };
}

test('a writer on one end of a TCP connection, a reader on the other', async () => {
  const { server, client, accepted } = await socketPair();
  const pages = 2 * MAX_BATCH_PAGES + 100; // about 8.4 MiB
  const reading = (async () => {
    const reader = new StreamReader(sourceFromAsyncIterable(accepted), {
      what: 'migration stream from 127.0.0.1',
    });
    const hash = createHash('sha256');
    const records: StreamRecord[] = [];
    let gfnCount = 0;
    for await (const r of reader) {
      if (r.type === 'PAGE_DATA') {
        hash.update(r.pages);
        gfnCount += r.gfns.length;
      } else {
        records.push(r);
      }
    }
    return { hash: hash.digest('hex'), records, gfnCount };
  })();

  const writer = new StreamWriter(sinkFromWritable(client));
  const want = createHash('sha256');
  await writer.writeHeader();
  await writer.writeDomainInfo(SAMPLE_INFO);
  for (let first = 0; first < pages; first += MAX_BATCH_PAGES) {
    const gfns: number[] = [];
    const data: Uint8Array[] = [];
    for (let g = first; g < Math.min(pages, first + MAX_BATCH_PAGES); g++) {
      gfns.push(RAM_GFN + g);
      data.push(pageOf(g));
      want.update(pageOf(g));
    }
    await writer.writePageBatch(gfns, data);
  }
  await writer.writeVcpuState(0, vcpuContext(0));
  await writer.writeVcpuState(1, vcpuContext(1));
  await writer.writeHypervisorState(SAMPLE_HYPERVISOR_STATE);
  await writer.writeDeviceState('virtio-blk@10001000', { version: 1, inflight: [] });
  await writer.end();
  client.end();

  const got = await reading;
  assert.equal(got.gfnCount, pages);
  assert.equal(got.hash, want.digest('hex'));
  assert.deepEqual(
    got.records.map((r) => r.type),
    ['DOMAIN_INFO', 'VCPU_STATE', 'VCPU_STATE', 'HYPERVISOR_STATE', 'DEVICE_STATE', 'END'],
  );
  const v1 = got.records[2];
  assert.ok(v1?.type === 'VCPU_STATE');
  assert.deepEqual(v1.context, vcpuContext(1));
  accepted.destroy();
  server.close();
});

test('a sender that disappears mid-stream is reported as a truncated stream, not a hang', async () => {
  const { server, client, accepted } = await socketPair();
  const reading = (async () => {
    const reader = new StreamReader(sourceFromAsyncIterable(accepted), {
      what: 'migration stream from 127.0.0.1',
    });
    try {
      for await (const r of reader) void r;
    } catch (e) {
      return { e, checkpoints: reader.checkpointCount };
    }
    return { e: null, checkpoints: reader.checkpointCount };
  })();
  const writer = new StreamWriter(sinkFromWritable(client));
  await writer.writeHeader();
  await writer.writeDomainInfo(SAMPLE_INFO);
  await writer.writeCheckpoint();
  // The first 1000 bytes of a page batch record, then the connection closes.
  const batch = new MemorySink();
  const w2 = new StreamWriter(batch);
  await w2.writeHeader();
  await w2.writeDomainInfo(SAMPLE_INFO);
  const before = batch.byteLength;
  await w2.writePageBatch([RAM_GFN], [pageOf(1)]);
  const partial = batch.bytes().subarray(before, before + 1000);
  await new Promise<void>((resolve) => client.write(partial, () => resolve()));
  client.end();
  const { e, checkpoints } = await reading;
  assert.ok(e instanceof SaveStreamError && e.problem === 'truncated', String(e));
  assert.match(
    e.message,
    /^migration stream from 127\.0\.0\.1 ends in the middle of a record at byte \d+; it cannot be restored$/,
  );
  assert.equal(checkpoints, 1);
  accepted.destroy();
  server.close();
});

test('a receiver that refuses the stream makes the writer fail instead of writing into the void', async () => {
  const { server, client, accepted } = await socketPair();
  accepted.once('data', () => accepted.destroy());
  client.on('error', () => {}); // reported through the failed write below
  const writer = new StreamWriter(sinkFromWritable(client));
  const page = pageOf(1);
  const gfns = Array.from({ length: MAX_BATCH_PAGES }, (_, i) => i);
  const pages = Array.from({ length: MAX_BATCH_PAGES }, () => page);
  await assert.rejects(async () => {
    await writer.writeHeader();
    await writer.writeDomainInfo(SAMPLE_INFO);
    for (let i = 0; i < 256; i++) await writer.writePageBatch(gfns, pages);
  }, /EPIPE|ECONNRESET|stream was destroyed|This socket has been ended/);
  await assert.rejects(writer.writeCheckpoint(), /an earlier write to the sink failed/);
  client.destroy();
  server.close();
});

test('domus save style: a stream written atomically to a file and read back from it', async () => {
  const path = join(dir, 'vm.save');
  writeFileSync(path, 'an older save');
  await writeFileAtomically(path, async (sink) => {
    await writeSmallSample(new StreamWriter(sink));
  });
  assert.deepEqual(readdirSync(dir), ['vm.save']);
  const reader = new StreamReader(sourceFromAsyncIterable(createReadStream(path, { highWaterMark: 5000 })), {
    what: `save file ${path}`,
  });
  const types: string[] = [];
  for await (const r of reader) types.push(r.type);
  assert.equal(types[0], 'DOMAIN_INFO');
  assert.equal(types.at(-1), 'END');
  assert.equal(types.length, 10);

  // A save that fails half-way leaves the good file readable.
  await assert.rejects(
    writeFileAtomically(path, async (sink) => {
      const w = new StreamWriter(sink);
      await w.writeHeader();
      await w.writeDomainInfo(SAMPLE_INFO);
      throw new Error('the domain died during the save');
    }),
    /the domain died/,
  );
  const again = new StreamReader(sourceFromAsyncIterable(createReadStream(path)));
  let n = 0;
  for await (const r of again) n += r.type === 'END' ? 1 : 0;
  assert.equal(n, 1);
});
