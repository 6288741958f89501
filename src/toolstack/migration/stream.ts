/**
 * The save/migration stream: one format for `domus save` files, live migration over TCP and Remus
 * checkpoints. This module is the entry point; the pieces live beside it:
 *
 *   stream_format.ts  numbers, record types, the headers, `SaveStreamError`
 *   record_bodies.ts  the body of each record type: layout, encoder, validating decoder
 *   stream_writer.ts  `StreamWriter` over a `ByteSink`
 *   stream_reader.ts  `StreamReader` over a `ByteSource` (async iteration of typed records)
 *   stream_io.ts      sinks and sources: memory, Node `Writable`s, async iterables
 *   crc32c.ts         the checksum
 *
 * The framing is Xen's libxc migration stream v3 with documented departures (a CRC-32C on every
 * header and record, Domus record types in a private range): docs/migration-stream.md.
 *
 * A save is: `writeHeader`, `writeDomainInfo`, `writePageBatch`…, `writeVcpuState` per vCPU,
 * `writeHypervisorState`, `writeDeviceState` per device, `end`. Remus writes `writeCheckpoint` after
 * each consistent set and `end` when replication stops; live migration sends rounds of page
 * batches, then the rest, in one stream.
 */
export { StreamWriter } from './stream_writer.ts';
export { StreamReader, type StreamRecord, type StreamReaderOptions } from './stream_reader.ts';
export {
  MemorySink,
  sinkFromWritable,
  sourceFromAsyncIterable,
  sourceFromBytes,
  type ByteSink,
  type ByteSource,
  type WritableLike,
} from './stream_io.ts';
export {
  MAX_BATCH_PAGES,
  PAGE_BYTES,
  SaveStreamError,
  VCPU_CONTEXT_BYTES,
  type StreamHeader,
  type StreamProblem,
} from './stream_format.ts';
export {
  PAGE_TYPE_NORMAL,
  PAGE_TYPE_XALLOC,
  PAGE_TYPE_XTAB,
  type DeviceState,
  type DomainInfo,
  type PageType,
  type VcpuState,
} from './record_bodies.ts';
