/**
 * virtio-console (virtio 1.2 §5.3) with a single port: no VIRTIO_CONSOLE_F_MULTIPORT, no
 * SIZE, no EMERG_WRITE. Queue 0 is receiveq (host to guest), queue 1 is transmitq.
 *
 * Output: every chain on transmitq is gathered and handed to `onOutput` as a fresh array (in
 * pieces of at most 64 KiB, so a huge descriptor never means a huge allocation), then
 * returned with length 0. Input: `receive()` queues host bytes without limit; they go into the
 * receive buffers the guest posts, as many bytes per buffer as fit, as soon as there are both
 * bytes and buffers. Queued input survives a device reset (it is the host's, not the ring's).
 */
import {
  VIRTIO_ID_CONSOLE,
  stateBytes,
  stateRecord,
  type VirtioContext,
  type VirtioDeviceModel,
} from './device.ts';

export const VIRTIO_CONSOLE_RECEIVEQ = 0;
export const VIRTIO_CONSOLE_TRANSMITQ = 1;

const QUEUE_SIZE = 128;
const OUTPUT_PIECE_BYTES = 65536;

export type VirtioConsoleState = { version: 1; pendingInput: number[] };

export class VirtioConsole implements VirtioDeviceModel {
  readonly deviceId = VIRTIO_ID_CONSOLE;
  readonly queueSizes: readonly number[] = [QUEUE_SIZE, QUEUE_SIZE];
  readonly featuresLo = 0;
  readonly featuresHi = 0;
  private readonly onOutput: (bytes: Uint8Array) => void;
  /** Host input not yet delivered: chunks in order, the first one consumed from `inputOffset`. */
  private input: Uint8Array[] = [];
  private inputOffset = 0;
  private ctx: VirtioContext | null = null;

  constructor(onOutput: (bytes: Uint8Array) => void) {
    this.onOutput = onOutput;
  }

  /** Host input, queued until the guest posts receive buffers. */
  receive(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.input.push(bytes.slice());
    this.deliver();
  }

  /** Bytes received from the host and not yet given to the guest. */
  pendingInputBytes(): number {
    let n = 0;
    for (const c of this.input) n += c.length;
    return n - this.inputOffset;
  }

  readConfig(): number {
    // cols, rows, max_nr_ports and emerg_wr mean nothing without SIZE, MULTIPORT or EMERG_WRITE.
    return 0;
  }

  writeConfig(): void {}

  activate(ctx: VirtioContext): void {
    this.ctx = ctx;
    this.transmit();
    this.deliver();
  }

  notify(index: number): void {
    if (index === VIRTIO_CONSOLE_TRANSMITQ) this.transmit();
    else if (index === VIRTIO_CONSOLE_RECEIVEQ) this.deliver();
  }

  reset(): void {
    this.ctx = null;
  }

  saveState(): VirtioConsoleState {
    const all = new Uint8Array(this.pendingInputBytes());
    let at = 0;
    this.input.forEach((c, i) => {
      const part = i === 0 ? c.subarray(this.inputOffset) : c;
      all.set(part, at);
      at += part.length;
    });
    return { version: 1, pendingInput: Array.from(all) };
  }

  restoreState(state: unknown): void {
    const kind = 'VirtioConsoleState';
    const pending = stateBytes(stateRecord(state, kind, 1), kind, 'pendingInput');
    this.ctx = null;
    this.input = pending.length > 0 ? [pending] : [];
    this.inputOffset = 0;
  }

  private transmit(): void {
    const ctx = this.ctx;
    const q = ctx?.queues[VIRTIO_CONSOLE_TRANSMITQ];
    if (ctx === null || q === undefined) return;
    for (let chain = q.pop(); chain !== null; chain = q.pop()) {
      let ok = true;
      for (let done = 0; done < chain.readableBytes && ok;) {
        const piece = new Uint8Array(Math.min(OUTPUT_PIECE_BYTES, chain.readableBytes - done));
        ok = chain.readFrom(ctx.mem, done, piece);
        if (ok) this.onOutput(piece);
        done += piece.length;
      }
      if (!ok) {
        ctx.fail('virtio-console: a transmit buffer is outside guest memory');
        break;
      }
      if (!q.push(chain.head, 0)) break;
    }
    if (q.needsInterrupt()) ctx.interrupt();
  }

  private deliver(): void {
    const ctx = this.ctx;
    const q = ctx?.queues[VIRTIO_CONSOLE_RECEIVEQ];
    if (ctx === null || q === undefined) return;
    while (this.input.length > 0) {
      const chain = q.pop();
      if (chain === null) break;
      let written = 0;
      while (written < chain.writableBytes && this.input.length > 0) {
        const first = this.input[0] as Uint8Array;
        const part = first.subarray(this.inputOffset, this.inputOffset + chain.writableBytes - written);
        if (!chain.writeTo(ctx.mem, written, part)) {
          ctx.fail('virtio-console: a receive buffer is outside guest memory');
          return;
        }
        written += part.length;
        this.inputOffset += part.length;
        if (this.inputOffset === first.length) {
          this.input.shift();
          this.inputOffset = 0;
        }
      }
      if (!q.push(chain.head, written)) break;
    }
    if (q.needsInterrupt()) ctx.interrupt();
  }
}
