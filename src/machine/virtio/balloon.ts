/**
 * virtio-balloon, the traditional memory balloon (virtio 1.2 §5.5): the device asks for a number
 * of pages (`num_pages` in its configuration), the driver gives that many guest pages back on the
 * inflate queue and takes pages back on the deflate queue, and reports how many it holds in
 * `actual`. Buffers carry 32-bit page frame numbers of 4096-byte pages. The model offers
 * VIRTIO_BALLOON_F_MUST_TELL_HOST: the driver tells us before it uses a page again, so the host
 * may take an inflated page's memory away until then.
 *
 * What happens to the pages is the owner's business (`BalloonHost`): a hypervisor frees the
 * frames behind inflated pages and gives deflated ones fresh frames. No stats queue.
 */
import { type VirtioContext, type VirtioDeviceModel } from './device.ts';

export const VIRTIO_ID_BALLOON = 5;
export const VIRTIO_BALLOON_F_MUST_TELL_HOST = 0;
/** Config space: num_pages (le32, device-set), actual (le32, driver-set). */
const CONFIG_BYTES = 8;
const QUEUE_SIZE = 128;
const INFLATEQ = 0;
const DEFLATEQ = 1;
/** Most PFNs taken from one buffer (the Linux driver sends 256 at a time). */
const MAX_PFNS = 4096;

export interface BalloonHost {
  /** The guest gave these pages (4 KiB PFNs) to the balloon. */
  inflate(pfns: number[]): void;
  /** The guest takes these pages back. */
  deflate(pfns: number[]): void;
}

export class VirtioBalloon implements VirtioDeviceModel {
  readonly deviceId = VIRTIO_ID_BALLOON;
  readonly queueSizes: readonly number[] = [QUEUE_SIZE, QUEUE_SIZE];
  readonly featuresLo = 1 << VIRTIO_BALLOON_F_MUST_TELL_HOST;
  readonly featuresHi = 0;
  /** Pages the device wants in the balloon. */
  private numPages = 0;
  /** Pages the driver says it holds. */
  private actual = 0;
  private ctx: VirtioContext | null = null;

  constructor(private readonly host: BalloonHost) {}

  /** Pages the driver reports in the balloon. */
  get balloonPages(): number {
    return this.actual;
  }

  /** Asks the guest to hold `pages` pages in the balloon (a config change interrupt tells it). */
  setTarget(pages: number): void {
    if (!Number.isInteger(pages) || pages < 0 || pages > 0xffffffff)
      throw new RangeError(`balloon target ${pages} is not a page count`);
    this.numPages = pages;
    this.ctx?.configChanged();
  }

  readConfig(offset: number, width: 1 | 2 | 4): number {
    if (offset < 0 || offset + width > CONFIG_BYTES) return 0;
    const b = new Uint8Array(CONFIG_BYTES);
    const v = new DataView(b.buffer);
    v.setUint32(0, this.numPages, true);
    v.setUint32(4, this.actual, true);
    return width === 1 ? b[offset]! : width === 2 ? v.getUint16(offset, true) : v.getUint32(offset, true);
  }

  writeConfig(offset: number, width: 1 | 2 | 4, value: number): void {
    // Only `actual` is the driver's; Linux writes it whole.
    if (offset === 4 && width === 4) this.actual = value >>> 0;
  }

  activate(ctx: VirtioContext): void {
    this.ctx = ctx;
    this.notify(INFLATEQ);
    this.notify(DEFLATEQ);
  }

  notify(index: number): void {
    const ctx = this.ctx;
    const q = ctx?.queues[index];
    if (ctx === null || q === undefined || (index !== INFLATEQ && index !== DEFLATEQ)) return;
    for (let chain = q.pop(); chain !== null; chain = q.pop()) {
      const n = Math.min(MAX_PFNS, Math.floor(chain.readableBytes / 4));
      const raw = new Uint8Array(n * 4);
      if (!chain.readFrom(ctx.mem, 0, raw)) {
        ctx.fail('virtio-balloon: a page list is outside guest memory');
        return;
      }
      const v = new DataView(raw.buffer);
      const pfns: number[] = [];
      for (let i = 0; i < n; i++) pfns.push(v.getUint32(i * 4, true));
      if (index === INFLATEQ) this.host.inflate(pfns);
      else this.host.deflate(pfns);
      if (!q.push(chain.head, 0)) break;
    }
    if (q.needsInterrupt()) ctx.interrupt();
  }

  reset(): void {
    this.ctx = null;
    this.actual = 0;
  }

  saveState(): { version: 1; numPages: number; actual: number } {
    return { version: 1, numPages: this.numPages, actual: this.actual };
  }

  restoreState(state: unknown): void {
    const s = state as { version?: unknown; numPages?: unknown; actual?: unknown } | null;
    const ok = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xffffffff;
    if (typeof s !== 'object' || s === null || s.version !== 1 || !ok(s.numPages) || !ok(s.actual)) {
      throw new Error('VirtioBalloonState must be { version: 1, numPages, actual } with page counts');
    }
    this.numPages = s.numPages as number;
    this.actual = s.actual as number;
  }
}
