/**
 * Reads and validates a save/migration stream (docs/migration-stream.md) from a `ByteSource`.
 *
 * `for await (const r of reader)` yields the typed records in stream order, END last. Everything
 * is checked before it is used: the header checksum; each record header's checksum before its
 * length is believed; the length against the most its type can hold before the body is read (so a
 * damaged length never allocates more than `maxBodyBytes`, about 16 MiB at worst); the body
 * checksum; the body's own layout; and the order rules (DOMAIN_INFO first and once, vCPU ids below
 * its vCPU count, nothing after END). Unknown optional records (bit 31) are checked and skipped;
 * unknown mandatory ones are refused, as Xen's specification asks.
 *
 * Every refusal is a `SaveStreamError` (a `UserError`): one sentence that names the stream (`what`,
 * e.g. `save file vm.save`) and the byte offset, e.g. `save file vm.save is damaged at byte 123456:
 * record checksum mismatch; it cannot be restored`. A stream that stops early is `truncated`; a
 * Remus backup reads that as "the primary is gone" and keeps the last complete checkpoint.
 *
 * Memory: one record (at most one page batch, ~4 MiB) plus one source chunk. Records hold views of
 * the source's chunks, valid as long as the caller keeps them.
 */
import {
  BodyError,
  decodeDeviceState,
  decodeDiskWrite,
  decodeDomainInfo,
  decodeHypervisorState,
  decodePageData,
  decodeVcpuState,
  type DomainInfo,
  type PageType,
} from './record_bodies.ts';
import { crc32c } from './crc32c.ts';
import {
  decodeStreamHeader,
  notAStream,
  startsLikeStream,
  hex8,
  maxBodyBytes,
  padTo8,
  RECORD_HEADER_BYTES,
  recordTypeName,
  REC_TYPE_CHECKPOINT,
  REC_TYPE_DOMUS_DEVICE_STATE,
  REC_TYPE_DOMUS_DISK_WRITE,
  REC_TYPE_DOMUS_DOMAIN_INFO,
  REC_TYPE_DOMUS_HYPERVISOR_STATE,
  REC_TYPE_DOMUS_VCPU_STATE,
  REC_TYPE_END,
  REC_TYPE_PAGE_DATA,
  SaveStreamError,
  STREAM_HEADER_BYTES,
  type StreamHeader,
} from './stream_format.ts';
import type { ByteSource } from './stream_io.ts';

/** A record as read; `offset` is where its header starts in the stream. */
export type StreamRecord =
  | { type: 'DOMAIN_INFO'; offset: number; info: DomainInfo }
  | { type: 'PAGE_DATA'; offset: number; gfns: number[]; types: PageType[]; pages: Uint8Array }
  | { type: 'VCPU_STATE'; offset: number; vcpuId: number; context: Uint8Array }
  | { type: 'HYPERVISOR_STATE'; offset: number; state: Record<string, unknown> }
  | { type: 'DEVICE_STATE'; offset: number; name: string; state: unknown }
  | { type: 'CHECKPOINT'; offset: number }
  | { type: 'DISK_WRITE'; offset: number; disk: number; at: number; data: Uint8Array }
  | { type: 'END'; offset: number };

export interface StreamReaderOptions {
  /** How messages name the stream: `save file vm.save`, `migration stream from host-b`. */
  what?: string;
  /**
   * Whether the source must end right after END (default true: a file with bytes after its END
   * is damaged). A socket that carries more after the stream sets it false.
   */
  expectEof?: boolean;
}

export class StreamReader implements AsyncIterable<StreamRecord> {
  private readonly what: string;
  private readonly expectEof: boolean;
  private readonly q: ByteQueue;
  private header: StreamHeader | null = null;
  private info: DomainInfo | null = null;
  private ended = false;
  private checkpoints = 0;

  constructor(source: ByteSource, options: StreamReaderOptions = {}) {
    this.what = options.what ?? 'save stream';
    this.expectEof = options.expectEof ?? true;
    this.q = new ByteQueue(source);
  }

  /** Bytes consumed so far: the offset of the next record. */
  get offset(): number {
    return this.q.offset;
  }

  /** CHECKPOINT records read so far. */
  get checkpointCount(): number {
    return this.checkpoints;
  }

  /** Reads and checks the headers (once; later calls return the same answer). */
  async readHeader(): Promise<StreamHeader> {
    if (this.header) return this.header;
    if (!(await this.q.fill(STREAM_HEADER_BYTES))) {
      const n = this.q.buffered;
      if (n === 0) throw new SaveStreamError(`${this.what} is empty; it cannot be restored`, 'truncated', 0);
      // A short file that does not even start like a stream is not a save file, not a truncated one.
      if (!startsLikeStream(this.q.take(n))) throw notAStream(this.what);
      throw new SaveStreamError(
        `${this.what} ends in the middle of its header at byte ${n}; it cannot be restored`,
        'truncated',
        n,
      );
    }
    this.header = decodeStreamHeader(this.q.take(STREAM_HEADER_BYTES), this.what);
    return this.header;
  }

  /** The next record; END is returned once, and calling again after it is a programming error. */
  async next(): Promise<StreamRecord> {
    if (this.ended) throw new Error('StreamReader: the stream has ended');
    await this.readHeader();
    for (;;) {
      const r = await this.readRecord();
      if (r) return r;
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<StreamRecord> {
    for (;;) {
      const r = await this.next();
      yield r;
      if (r.type === 'END') return;
    }
  }

  /** One record, or null for a skipped optional record. */
  private async readRecord(): Promise<StreamRecord | null> {
    const q = this.q;
    const offset = q.offset;
    if (!(await q.fill(RECORD_HEADER_BYTES))) {
      if (q.buffered === 0) {
        throw new SaveStreamError(
          `${this.what} ends at byte ${offset} without an END record; it is incomplete and cannot be restored`,
          'truncated',
          offset,
        );
      }
      this.truncated(offset + q.buffered);
    }
    const head = q.take(RECORD_HEADER_BYTES);
    const hv = new DataView(head.buffer, head.byteOffset, RECORD_HEADER_BYTES);
    if (hv.getUint32(12, true) !== crc32c(head.subarray(0, 12)))
      this.damaged(offset, 'record header checksum mismatch');
    const type = hv.getUint32(0, true);
    const length = hv.getUint32(4, true);
    const max = maxBodyBytes(type);
    if (max < 0) {
      throw new SaveStreamError(
        `${this.what} has a record of unknown type 0x${hex8(type)} at byte ${offset}; it was written by a newer Domus and cannot be restored by this one`,
        'unsupported',
        offset,
      );
    }
    if (length > max) {
      this.damaged(
        offset,
        `the ${recordTypeName(type)} record claims ${length} bytes, more than the ${max} it can hold`,
      );
    }
    const padded = padTo8(length);
    if (!(await q.fill(padded))) this.truncated(q.offset + q.buffered);
    const body = q.take(padded);
    if (hv.getUint32(8, true) !== crc32c(body, crc32c(head.subarray(0, 8)))) {
      this.damaged(offset, 'record checksum mismatch');
    }
    // Unknown mandatory types were refused above: an unknown type here is optional, and skipped.
    if (!isKnown(type)) return null;

    const b = body.subarray(0, length);
    if (!this.info && type !== REC_TYPE_DOMUS_DOMAIN_INFO) {
      this.damaged(offset, `its first record is ${recordTypeName(type)}, not DOMUS_DOMAIN_INFO`);
    }
    try {
      switch (type) {
        case REC_TYPE_DOMUS_DOMAIN_INFO:
          if (this.info) this.damaged(offset, 'a second DOMUS_DOMAIN_INFO record');
          this.info = decodeDomainInfo(b);
          return { type: 'DOMAIN_INFO', offset, info: this.info };
        case REC_TYPE_PAGE_DATA:
          return { type: 'PAGE_DATA', offset, ...decodePageData(b) };
        case REC_TYPE_DOMUS_VCPU_STATE:
          return { type: 'VCPU_STATE', offset, ...decodeVcpuState(b, this.info!.vcpus) };
        case REC_TYPE_DOMUS_HYPERVISOR_STATE:
          return { type: 'HYPERVISOR_STATE', offset, state: decodeHypervisorState(b) };
        case REC_TYPE_DOMUS_DEVICE_STATE:
          return { type: 'DEVICE_STATE', offset, ...decodeDeviceState(b) };
        case REC_TYPE_DOMUS_DISK_WRITE: {
          const w = decodeDiskWrite(b);
          return { type: 'DISK_WRITE', offset, disk: w.disk, at: w.offset, data: w.data };
        }
        case REC_TYPE_CHECKPOINT:
          this.checkpoints++;
          return { type: 'CHECKPOINT', offset };
        case REC_TYPE_END:
          this.ended = true;
          if (this.expectEof && (await q.fill(1))) {
            const at = q.offset;
            throw new SaveStreamError(
              `${this.what} has data after its END record, at byte ${at}; it is damaged and cannot be restored`,
              'damaged',
              at,
            );
          }
          return { type: 'END', offset };
        default:
          return null; // unreachable: unknown types were refused or skipped above
      }
    } catch (e) {
      if (e instanceof BodyError) this.damaged(offset, `its ${recordTypeName(type)} record ${e.message}`);
      throw e;
    }
  }

  private damaged(offset: number, detail: string): never {
    throw new SaveStreamError(
      `${this.what} is damaged at byte ${offset}: ${detail}; it cannot be restored`,
      'damaged',
      offset,
    );
  }

  private truncated(at: number): never {
    throw new SaveStreamError(
      `${this.what} ends in the middle of a record at byte ${at}; it cannot be restored`,
      'truncated',
      at,
    );
  }
}

function isKnown(type: number): boolean {
  return (
    type === REC_TYPE_END ||
    type === REC_TYPE_PAGE_DATA ||
    type === REC_TYPE_CHECKPOINT ||
    type === REC_TYPE_DOMUS_DOMAIN_INFO ||
    type === REC_TYPE_DOMUS_VCPU_STATE ||
    type === REC_TYPE_DOMUS_HYPERVISOR_STATE ||
    type === REC_TYPE_DOMUS_DEVICE_STATE ||
    type === REC_TYPE_DOMUS_DISK_WRITE
  );
}

/**
 * The bytes pulled from a source and not yet consumed. `fill(n)` pulls chunks until n bytes are
 * buffered (or the source ends); `take(n)` consumes them, as a view when one chunk holds them all.
 */
class ByteQueue {
  private chunks: Uint8Array[] = [];
  /** Consumed bytes of chunks[0]. */
  private head = 0;
  private have = 0;
  private consumed = 0;
  private done = false;

  constructor(private readonly source: ByteSource) {}

  get offset(): number {
    return this.consumed;
  }

  get buffered(): number {
    return this.have;
  }

  async fill(n: number): Promise<boolean> {
    while (this.have < n) {
      if (this.done) return false;
      const chunk = await this.source.read();
      if (chunk === null) {
        this.done = true;
        return false;
      }
      if (chunk.length === 0) continue;
      this.chunks.push(chunk);
      this.have += chunk.length;
    }
    return true;
  }

  take(n: number): Uint8Array {
    const first = this.chunks[0];
    let out: Uint8Array;
    if (n === 0) {
      out = new Uint8Array(0);
    } else if (first && first.length - this.head >= n) {
      // A plain Uint8Array view (not a Node Buffer's subclass), whatever the source yields.
      out = new Uint8Array(first.buffer, first.byteOffset + this.head, n);
      this.head += n;
      if (this.head === first.length) {
        this.chunks.shift();
        this.head = 0;
      }
    } else {
      out = new Uint8Array(n);
      let at = 0;
      while (at < n) {
        const c = this.chunks[0]!;
        const k = Math.min(n - at, c.length - this.head);
        out.set(c.subarray(this.head, this.head + k), at);
        at += k;
        this.head += k;
        if (this.head === c.length) {
          this.chunks.shift();
          this.head = 0;
        }
      }
    }
    this.have -= n;
    this.consumed += n;
    return out;
  }
}
