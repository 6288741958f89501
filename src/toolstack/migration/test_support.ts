/**
 * Shared by the stream's tests: a sample domain, deterministic page and vCPU contents, a small
 * complete stream, and a helper that reads a whole stream. Not used by product code.
 */
import type { DomainInfo } from './record_bodies.ts';
import { PAGE_BYTES, VCPU_CONTEXT_BYTES } from './stream_format.ts';
import { MemorySink, sourceFromBytes } from './stream_io.ts';
import { StreamReader, type StreamReaderOptions, type StreamRecord } from './stream_reader.ts';
import { StreamWriter } from './stream_writer.ts';

export const SAMPLE_INFO: DomainInfo = {
  name: 'web-1 (tést)',
  uuid: '6f1c2b9e-3d4a-4c5b-8e7f-0a1b2c3d4e5f',
  memoryBytes: 256 * 1024 * 1024,
  vcpus: 2,
  config: {
    name: 'web-1 (tést)',
    memory: 256,
    vcpus: 2,
    disk: ['file:/vm/web.qcow2,xvda,w'],
    on_crash: 'destroy',
  },
};

/** RAM starts at 0x8000_0000: GFN 0x80000. */
export const RAM_GFN = 0x80000;

/** Page contents that differ per GFN and per byte. */
export function pageOf(gfn: number): Uint8Array {
  const p = new Uint8Array(PAGE_BYTES);
  let x = (gfn * 2654435761) >>> 0 || 1;
  for (let i = 0; i < PAGE_BYTES; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    p[i] = x & 0xff;
    p[i + 1] = (x >>> 8) & 0xff;
    p[i + 2] = (x >>> 16) & 0xff;
    p[i + 3] = x >>> 24;
  }
  return p;
}

export function vcpuContext(id: number): Uint8Array {
  const c = new Uint8Array(VCPU_CONTEXT_BYTES);
  for (let i = 0; i < c.length; i++) c[i] = (i * 7 + id * 101) & 0xff;
  return c;
}

export const SAMPLE_HYPERVISOR_STATE = {
  version: 1,
  timers: [{ vcpu: 0, deadlineNs: 123456789 }],
  evtchn: [{ port: 1, state: 'interdomain', remoteDom: 0, remotePort: 7 }],
  grantTable: { version: 1, frames: 1, entries: [{ ref: 8, flags: 1, domid: 0, frame: 0x80123 }] },
};

/**
 * A small complete stream: DOMAIN_INFO, one page batch (two pages and an XALLOC entry), both
 * vCPUs, the hypervisor state, two devices, CHECKPOINT, one more page, END.
 */
export async function writeSmallSample(w: StreamWriter): Promise<void> {
  await w.writeHeader();
  await w.writeDomainInfo(SAMPLE_INFO);
  await w.writePageBatch(
    [RAM_GFN, RAM_GFN + 5, RAM_GFN + 1],
    [pageOf(RAM_GFN), pageOf(RAM_GFN + 5)],
    [0, 0, 0xe],
  );
  await w.writeVcpuState(0, vcpuContext(0));
  await w.writeVcpuState(1, vcpuContext(1));
  await w.writeHypervisorState(SAMPLE_HYPERVISOR_STATE);
  await w.writeDeviceState('uart@10000000', { version: 1, ier: 1, rx: [104, 105] });
  await w.writeDeviceState('virtio-rng@10001000', { version: 1 });
  await w.writeCheckpoint();
  await w.writePageBatch([RAM_GFN + 5], pageOf(RAM_GFN + 6));
  await w.end();
}

export async function smallSample(): Promise<Uint8Array> {
  const sink = new MemorySink();
  await writeSmallSample(new StreamWriter(sink));
  return sink.bytes();
}

/** Reads a whole stream held in memory, in chunks of `chunkBytes`. */
export async function readAll(
  bytes: Uint8Array,
  options: StreamReaderOptions & { chunkBytes?: number } = {},
): Promise<StreamRecord[]> {
  const reader = new StreamReader(sourceFromBytes(bytes, options.chunkBytes), options);
  const out: StreamRecord[] = [];
  for await (const r of reader) out.push(r);
  return out;
}
