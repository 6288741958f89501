/**
 * virtio-rng, the entropy device (virtio 1.2 §5.4): one request queue, no features, no
 * configuration. Each chain's device-writable part is filled with random bytes and returned
 * with its full length; device-readable descriptors carry nothing and are ignored.
 *
 * `fill` defaults to `crypto.getRandomValues`, which takes at most 65536 bytes per call, so
 * buffers are filled in pieces of that size; a test passes a deterministic `fill`.
 */
import { VIRTIO_ID_ENTROPY, type VirtioContext, type VirtioDeviceModel } from './device.ts';

const QUEUE_SIZE = 64;
const PIECE_BYTES = 65536;

function cryptoFill(dst: Uint8Array): void {
  globalThis.crypto.getRandomValues(dst);
}

export class VirtioRng implements VirtioDeviceModel {
  readonly deviceId = VIRTIO_ID_ENTROPY;
  readonly queueSizes: readonly number[] = [QUEUE_SIZE];
  readonly featuresLo = 0;
  readonly featuresHi = 0;
  private readonly fill: (dst: Uint8Array) => void;
  private readonly piece = new Uint8Array(PIECE_BYTES);
  private ctx: VirtioContext | null = null;

  constructor(fill: (dst: Uint8Array) => void = cryptoFill) {
    this.fill = fill;
  }

  readConfig(): number {
    return 0;
  }

  writeConfig(): void {}

  activate(ctx: VirtioContext): void {
    this.ctx = ctx;
    this.notify(0);
  }

  notify(index: number): void {
    const ctx = this.ctx;
    const q = ctx?.queues[index];
    if (ctx === null || index !== 0 || q === undefined) return;
    for (let chain = q.pop(); chain !== null; chain = q.pop()) {
      const total = chain.writableBytes;
      let done = 0;
      while (done < total) {
        const piece = this.piece.subarray(0, Math.min(PIECE_BYTES, total - done));
        this.fill(piece);
        if (!chain.writeTo(ctx.mem, done, piece)) break;
        done += piece.length;
      }
      if (done < total) {
        ctx.fail('virtio-rng: a request buffer is outside guest memory');
        break;
      }
      if (!q.push(chain.head, total)) break;
    }
    if (q.needsInterrupt()) ctx.interrupt();
  }

  reset(): void {
    this.ctx = null;
  }
}
