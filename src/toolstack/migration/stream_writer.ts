/**
 * Writes a save/migration stream (docs/migration-stream.md) to a `ByteSink`.
 *
 * Order of calls: `writeHeader()` once, then records in any order the restorer accepts
 * (DOMAIN_INFO first, as `StreamReader` requires), then `end()`. For Remus, `writeCheckpoint()`
 * closes each consistent checkpoint and the records of the next one follow it.
 *
 * Every call is async and must be awaited before the next: the writer refuses overlapping calls
 * rather than interleave two records. A record is written to the sink in one `write`; a page batch
 * is copied into the writer's own buffer (at most `MAX_BATCH_PAGES` pages, about 4 MiB, reused) before
 * its checksum is computed, so a guest that keeps running during live migration cannot make the
 * bytes sent differ from the bytes checksummed. Nothing else is held between calls.
 *
 * The writer validates what it is given (counts, sizes, names, JSON) and throws a plain `Error` for
 * a caller's mistake; it does not close the sink.
 */
import { crc32c } from './crc32c.ts';
import {
  encodeDeviceState,
  encodeDiskWrite,
  encodeDomainInfo,
  encodeHypervisorState,
  encodePageDataInto,
  encodeVcpuState,
  pageDataBodyBytes,
  type DomainInfo,
} from './record_bodies.ts';
import {
  encodeStreamHeader,
  hex8,
  MAX_BATCH_PAGES,
  maxBodyBytes,
  padTo8,
  RECORD_HEADER_BYTES,
  recordBytes,
  recordTypeName,
  REC_TYPE_CHECKPOINT,
  REC_TYPE_DOMUS_DEVICE_STATE,
  REC_TYPE_DOMUS_DISK_WRITE,
  REC_TYPE_DOMUS_DOMAIN_INFO,
  REC_TYPE_DOMUS_HYPERVISOR_STATE,
  REC_TYPE_DOMUS_VCPU_STATE,
  REC_TYPE_END,
  REC_TYPE_PAGE_DATA,
} from './stream_format.ts';
import type { ByteSink } from './stream_io.ts';

type WriterState = 'new' | 'open' | 'ended' | 'failed';

export class StreamWriter {
  private state: WriterState = 'new';
  private busy = false;
  private written = 0;
  /** The page batch record buffer, allocated on the first batch and reused. */
  private batch: Uint8Array | null = null;

  constructor(private readonly sink: ByteSink) {}

  /** Bytes handed to the sink so far. */
  get bytesWritten(): number {
    return this.written;
  }

  /** The image header, domain header and header check. */
  async writeHeader(): Promise<void> {
    await this.run('new', () => this.put(encodeStreamHeader()));
    this.state = 'open';
  }

  /**
   * Any record with a body: the typed methods below are built on it, and a caller may add optional
   * records (type with bit 31 set) that older readers skip. Use `end()` for END.
   */
  async writeRecord(type: number, body: Uint8Array): Promise<void> {
    await this.run('open', () => this.put(frameRecord(type, body)));
  }

  /** DOMUS_DOMAIN_INFO: who the domain is; the first record of a stream. */
  async writeDomainInfo(info: DomainInfo): Promise<void> {
    await this.writeRecord(REC_TYPE_DOMUS_DOMAIN_INFO, encodeDomainInfo(info));
  }

  /**
   * PAGE_DATA: up to `MAX_BATCH_PAGES` guest frames. `gfns[i]` is the frame number of entry i;
   * `types` (default: all `PAGE_TYPE_NORMAL`) may mark entries XALLOC or XTAB, which carry no data;
   * `pages` holds the data of the entries that do, as one buffer or one 4096-byte buffer each.
   */
  async writePageBatch(
    gfns: ArrayLike<number>,
    pages: Uint8Array | readonly Uint8Array[],
    types?: ArrayLike<number>,
  ): Promise<void> {
    await this.run('open', () => {
      if (gfns.length > MAX_BATCH_PAGES) {
        throw new Error(`a page batch has at most ${MAX_BATCH_PAGES} pages; split these ${gfns.length}`);
      }
      this.batch ??= new Uint8Array(recordBytes(pageDataBodyBytes(MAX_BATCH_PAGES, MAX_BATCH_PAGES)));
      const buf = this.batch;
      const bodyBytes = encodePageDataInto(buf, RECORD_HEADER_BYTES, gfns, pages, types);
      // A PAGE_DATA body is always a multiple of 8 bytes: no padding.
      sealRecord(buf, REC_TYPE_PAGE_DATA, bodyBytes);
      return this.put(buf.subarray(0, RECORD_HEADER_BYTES + bodyBytes));
    });
  }

  /** DOMUS_VCPU_STATE: vCPU `vcpuId`'s hart state block up to its TLBs (`VCPU_CONTEXT_BYTES`). */
  async writeVcpuState(vcpuId: number, context: Uint8Array): Promise<void> {
    await this.writeRecord(REC_TYPE_DOMUS_VCPU_STATE, encodeVcpuState(vcpuId, context));
  }

  /** DOMUS_HYPERVISOR_STATE: the hypervisor's objects for this domain (timers, event channels, grants). */
  async writeHypervisorState(state: Record<string, unknown>): Promise<void> {
    await this.writeRecord(REC_TYPE_DOMUS_HYPERVISOR_STATE, encodeHypervisorState(state));
  }

  /** DOMUS_DEVICE_STATE: one device's `saveState()`. */
  async writeDeviceState(name: string, state: unknown): Promise<void> {
    await this.writeRecord(REC_TYPE_DOMUS_DEVICE_STATE, encodeDeviceState(name, state));
  }

  /** DOMUS_DISK_WRITE (optional): bytes written to disk `disk` at byte `offset` (Remus). */
  async writeDiskWrite(disk: number, offset: number, data: Uint8Array): Promise<void> {
    await this.writeRecord(REC_TYPE_DOMUS_DISK_WRITE, encodeDiskWrite({ disk, offset, data }));
  }

  /** CHECKPOINT: the records so far are one consistent state of the domain (Remus). */
  async writeCheckpoint(): Promise<void> {
    await this.writeRecord(REC_TYPE_CHECKPOINT, new Uint8Array(0));
  }

  /** END: the last record. The writer accepts nothing after it; the caller closes the sink. */
  async end(): Promise<void> {
    await this.run('open', () => this.put(frameRecord(REC_TYPE_END, new Uint8Array(0), true)));
    this.state = 'ended';
  }

  private async run(want: WriterState, step: () => Promise<void>): Promise<void> {
    if (this.busy) throw new Error('StreamWriter calls must not overlap; await each one');
    if (this.state !== want) {
      const why =
        this.state === 'new'
          ? 'writeHeader() has not been called'
          : this.state === 'open'
            ? 'the header was already written'
            : this.state === 'ended'
              ? 'the stream has ended'
              : 'an earlier write to the sink failed';
      throw new Error(`StreamWriter: cannot write now: ${why}`);
    }
    this.busy = true;
    try {
      await step();
    } catch (e) {
      // A failed sink write leaves a partial record behind: nothing more may follow it.
      if (e instanceof SinkFailure) {
        this.state = 'failed';
        throw e.cause;
      }
      throw e;
    } finally {
      this.busy = false;
    }
  }

  private async put(bytes: Uint8Array): Promise<void> {
    try {
      await this.sink.write(bytes);
    } catch (e) {
      throw new SinkFailure(e);
    }
    this.written += bytes.length;
  }
}

class SinkFailure {
  constructor(readonly cause: unknown) {}
}

/** A whole record (header, body, padding) in a new buffer. */
function frameRecord(type: number, body: Uint8Array, allowEnd = false): Uint8Array {
  if (!Number.isInteger(type) || type < 0 || type > 0xffffffff)
    throw new Error(`record type ${type} is not a u32`);
  if (type === REC_TYPE_END && !allowEnd) throw new Error('write the END record with StreamWriter.end()');
  const max = maxBodyBytes(type);
  if (max < 0) {
    throw new Error(
      `record type 0x${hex8(type)} is unknown to Domus and not optional (bit 31 clear); readers would refuse it`,
    );
  }
  if (body.length > max) {
    throw new Error(`a ${recordTypeName(type)} record holds at most ${max} bytes, not ${body.length}`);
  }
  const out = new Uint8Array(RECORD_HEADER_BYTES + padTo8(body.length));
  out.set(body, RECORD_HEADER_BYTES);
  sealRecord(out, type, body.length);
  return out;
}

/**
 * Fills in the 16-byte record header at the start of `rec`, whose body (and zero padding) follow:
 * type, body_length, body_crc (over header bytes 0..7, body and padding), header_crc (over 0..11).
 */
function sealRecord(rec: Uint8Array, type: number, bodyBytes: number): void {
  const v = new DataView(rec.buffer, rec.byteOffset, RECORD_HEADER_BYTES);
  v.setUint32(0, type, true);
  v.setUint32(4, bodyBytes, true);
  const head = crc32c(rec.subarray(0, 8));
  const padded = padTo8(bodyBytes);
  rec.fill(0, RECORD_HEADER_BYTES + bodyBytes, RECORD_HEADER_BYTES + padded);
  v.setUint32(8, crc32c(rec.subarray(RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + padded), head), true);
  v.setUint32(12, crc32c(rec.subarray(0, 12)), true);
}
