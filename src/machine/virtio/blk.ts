/**
 * virtio-blk (virtio 1.2 §5.2): one request queue over a `BlockBackend`.
 *
 * Offered: VIRTIO_BLK_F_SEG_MAX (queue size - 2, so a Linux request fits one chain),
 * VIRTIO_BLK_F_FLUSH, and VIRTIO_BLK_F_RO when the backend is read-only. Requests IN, OUT,
 * FLUSH and GET_ID (id "domus") complete synchronously inside `notify()`; any other type
 * completes with VIRTIO_BLK_S_UNSUPP. Data lengths that are not whole sectors, sectors past
 * the end of the disk, writes to a read-only disk and backend errors complete with
 * VIRTIO_BLK_S_IOERR. A request without its 16-byte header or its status byte, or one whose
 * buffers are outside guest memory, is a driver bug and puts the device in DEVICE_NEEDS_RESET.
 *
 * The request header may be split across descriptors in any way (the spec forbids assuming a
 * framing); data moves in bounded pieces, so a huge descriptor never means a huge allocation.
 */
import { VIRTIO_ID_BLOCK, readConfigBytes, type VirtioContext, type VirtioDeviceModel } from './device.ts';
import type { DescChain, Virtqueue } from './queue.ts';

/** A disk as the device sees it: a byte array of `sizeBytes`, a multiple of 512. */
export interface BlockBackend {
  readonly sizeBytes: number;
  readonly readOnly: boolean;
  read(offset: number, dst: Uint8Array): void;
  write(offset: number, src: Uint8Array): void;
  flush(): void;
}

export const VIRTIO_BLK_F_SEG_MAX = 2;
export const VIRTIO_BLK_F_RO = 5;
export const VIRTIO_BLK_F_FLUSH = 9;

export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_GET_ID = 8;

export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;

const SECTOR_BYTES = 512;
const HEADER_BYTES = 16;
const VIRTIO_BLK_ID_BYTES = 20;
const QUEUE_SIZE = 256;
/** Largest piece of data moved at once between guest memory and the backend. */
const CHUNK_BYTES = 1 << 20;
/** Size of struct virtio_blk_config in virtio 1.2; we fill capacity, seg_max and blk_size. */
const CONFIG_BYTES = 60;

const ID_BYTES = new TextEncoder().encode('domus');

export class VirtioBlk implements VirtioDeviceModel {
  readonly deviceId = VIRTIO_ID_BLOCK;
  readonly queueSizes: readonly number[] = [QUEUE_SIZE];
  readonly featuresLo: number;
  readonly featuresHi = 0;
  private readonly backend: BlockBackend;
  private readonly config = new Uint8Array(CONFIG_BYTES);
  private readonly header = new Uint8Array(HEADER_BYTES);
  private readonly headerView = new DataView(this.header.buffer);
  private readonly status = new Uint8Array(1);
  private scratch = new Uint8Array(0);
  /** The last backend error, for host logs; the guest saw VIRTIO_BLK_S_IOERR. */
  lastIoError: string | null = null;
  private ctx: VirtioContext | null = null;

  constructor(backend: BlockBackend) {
    if (backend.sizeBytes % SECTOR_BYTES !== 0) {
      throw new Error(`virtio-blk: backend size ${backend.sizeBytes} is not a multiple of ${SECTOR_BYTES}`);
    }
    this.backend = backend;
    this.featuresLo =
      (1 << VIRTIO_BLK_F_SEG_MAX) | (1 << VIRTIO_BLK_F_FLUSH) | (backend.readOnly ? 1 << VIRTIO_BLK_F_RO : 0);
    const view = new DataView(this.config.buffer);
    const sectors = backend.sizeBytes / SECTOR_BYTES;
    view.setUint32(0, sectors % 0x1_0000_0000, true); // capacity, le64
    view.setUint32(4, Math.floor(sectors / 0x1_0000_0000), true);
    view.setUint32(12, QUEUE_SIZE - 2, true); // seg_max
    view.setUint32(20, SECTOR_BYTES, true); // blk_size
  }

  readConfig(offset: number, width: 1 | 2 | 4): number {
    return readConfigBytes(this.config, offset, width);
  }

  writeConfig(): void {
    // Only `writeback` is writable, and only with VIRTIO_BLK_F_CONFIG_WCE, which is not offered.
  }

  activate(ctx: VirtioContext): void {
    this.ctx = ctx;
    this.notify(0);
  }

  notify(index: number): void {
    const ctx = this.ctx;
    const q = ctx?.queues[index];
    if (ctx === null || index !== 0 || q === undefined) return;
    for (let chain = q.pop(); chain !== null; chain = q.pop()) {
      if (!this.serve(ctx, q, chain)) break;
    }
    if (q.needsInterrupt()) ctx.interrupt();
  }

  reset(): void {
    this.ctx = null;
  }

  /** Serves one request; false if the driver broke the device. */
  private serve(ctx: VirtioContext, q: Virtqueue, chain: DescChain): boolean {
    if (chain.readableBytes < HEADER_BYTES || chain.writableBytes < 1) {
      ctx.fail('virtio-blk: a request lacks its 16-byte header or its status byte');
      return false;
    }
    if (!chain.readFrom(ctx.mem, 0, this.header)) return this.badBuffer(ctx);
    const type = this.headerView.getUint32(0, true);
    const sector = this.headerView.getUint32(8, true) + this.headerView.getUint32(12, true) * 0x1_0000_0000;
    const dataIn = chain.writableBytes - 1;
    let status: number;
    switch (type) {
      case VIRTIO_BLK_T_IN:
        status = this.transfer(ctx, chain, sector, dataIn, false);
        break;
      case VIRTIO_BLK_T_OUT:
        status = this.backend.readOnly
          ? VIRTIO_BLK_S_IOERR
          : this.transfer(ctx, chain, sector, chain.readableBytes - HEADER_BYTES, true);
        break;
      case VIRTIO_BLK_T_FLUSH:
        status = this.guard(() => this.backend.flush());
        break;
      case VIRTIO_BLK_T_GET_ID: {
        const id = new Uint8Array(Math.min(VIRTIO_BLK_ID_BYTES, dataIn));
        id.set(ID_BYTES.subarray(0, id.length));
        status = chain.writeTo(ctx.mem, 0, id) ? VIRTIO_BLK_S_OK : -1;
        break;
      }
      default:
        status = VIRTIO_BLK_S_UNSUPP;
    }
    if (status < 0) return this.badBuffer(ctx);
    this.status[0] = status;
    if (!chain.writeTo(ctx.mem, dataIn, this.status)) return this.badBuffer(ctx);
    // Like QEMU, report the whole writable part as written: the status byte is its last byte.
    return q.push(chain.head, chain.writableBytes);
  }

  /** Moves `bytes` between the chain's data area and the disk; a status, or -1 for a bad buffer. */
  private transfer(
    ctx: VirtioContext,
    chain: DescChain,
    sector: number,
    bytes: number,
    toDisk: boolean,
  ): number {
    if (bytes % SECTOR_BYTES !== 0) return VIRTIO_BLK_S_IOERR;
    const start = sector * SECTOR_BYTES;
    if (sector > Number.MAX_SAFE_INTEGER / SECTOR_BYTES || start + bytes > this.backend.sizeBytes) {
      return VIRTIO_BLK_S_IOERR;
    }
    const buf = this.chunk(Math.min(bytes, CHUNK_BYTES));
    for (let done = 0; done < bytes;) {
      const piece = buf.subarray(0, Math.min(buf.length, bytes - done));
      if (toDisk) {
        if (!chain.readFrom(ctx.mem, HEADER_BYTES + done, piece)) return -1;
        if (this.guard(() => this.backend.write(start + done, piece)) !== VIRTIO_BLK_S_OK)
          return VIRTIO_BLK_S_IOERR;
      } else {
        if (this.guard(() => this.backend.read(start + done, piece)) !== VIRTIO_BLK_S_OK)
          return VIRTIO_BLK_S_IOERR;
        if (!chain.writeTo(ctx.mem, done, piece)) return -1;
      }
      done += piece.length;
    }
    return VIRTIO_BLK_S_OK;
  }

  /** A host I/O error is the guest's IOERR, not an emulator crash. */
  private guard(op: () => void): number {
    try {
      op();
      return VIRTIO_BLK_S_OK;
    } catch (e) {
      this.lastIoError = e instanceof Error ? e.message : String(e);
      return VIRTIO_BLK_S_IOERR;
    }
  }

  private chunk(bytes: number): Uint8Array {
    if (this.scratch.length < bytes) this.scratch = new Uint8Array(bytes);
    return this.scratch;
  }

  private badBuffer(ctx: VirtioContext): false {
    ctx.fail('virtio-blk: a request buffer is outside guest memory');
    return false;
  }
}
