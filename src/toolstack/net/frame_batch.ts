/**
 * Ethernet frames crossing between the host thread (the virtual switch) and a pCPU thread (the
 * domains' virtio-net devices) in batches: one message carries every frame queued since the
 * last one, instead of one message per frame.
 *
 * Why: a message between threads costs far more than the frame it carries. Measured with two
 * Linux guests moving 32 MiB over TCP through the switch, a pCPU spent 100–500 µs per
 * `postMessage` (mostly waking the receiving thread), about as much guest time as the guest's
 * own network stack; one message per batch made the transfer ~1.5x faster.
 *
 * A batcher flushes in a microtask after the first frame is queued. On a pCPU thread that is
 * when the hypervisor loop next gives the thread back to its event loop — when the vCPUs run
 * out of work, or within the loop's yield interval (10 ms) — so frames a guest sends in a burst
 * travel together, and a frame sent just before the guest idles leaves at once. On the host
 * thread it is the end of the current message or I/O callback.
 *
 * The batch owns its frames: their buffers are transferred, so a caller hands over a frame
 * nobody else holds (copy a frame that is only lent, as the switch's are).
 */

/** The message: frame i belongs to network interface `devids[i]` of domain `domids[i]`. */
export interface NetFrames {
  t: 'net-frames';
  domids: number[];
  devids: number[];
  frames: Uint8Array[];
}

/** Whether a message between the host and a pCPU is a frame batch. */
export function isNetFrames(m: unknown): m is NetFrames {
  return typeof m === 'object' && m !== null && (m as { t?: unknown }).t === 'net-frames';
}

/** Collects frames for one destination thread and posts them as one NetFrames message. */
export class FrameBatcher {
  private batch: NetFrames | undefined;

  /** `post` sends a message with the buffers to transfer (a WorkerLink's post). */
  constructor(private readonly post: (m: NetFrames, transfer: ArrayBuffer[]) => void) {}

  /** Queues `frame` (handed over, not copied) for interface `devid` of domain `domid`. */
  push(domid: number, devid: number, frame: Uint8Array): void {
    let b = this.batch;
    if (b === undefined) {
      b = { t: 'net-frames', domids: [], devids: [], frames: [] };
      this.batch = b;
      queueMicrotask(() => this.flush());
    }
    b.domids.push(domid);
    b.devids.push(devid);
    b.frames.push(frame);
  }

  /** Posts what is queued now (the microtask does this by itself). */
  flush(): void {
    const b = this.batch;
    if (b === undefined) return;
    this.batch = undefined;
    const transfer = new Set<ArrayBuffer>();
    for (const f of b.frames) {
      // A view into a larger or shared buffer goes by copy: transferring would take the rest too.
      const buf = f.buffer;
      if (buf instanceof ArrayBuffer && f.byteOffset === 0 && f.byteLength === buf.byteLength)
        transfer.add(buf);
    }
    this.post(b, [...transfer]);
  }

  /** Frames queued and not yet posted. */
  get pending(): number {
    return this.batch?.frames.length ?? 0;
  }
}
