/**
 * What all pCPUs of one Domus host share: the machine memory (hart state blocks + RAM), its
 * frame allocator, the pool of hart state blocks that vCPUs run in, and the domain id counter.
 *
 * It also holds the paravirtual state all pCPUs share (pv_shared.ts: the domain directory, frame
 * owners, doorbells), so that event channels and grants work between domains on different pCPUs.
 *
 * A `MachineResources` is created once (`create`) on the thread that starts the host; its
 * `handle()` is a structured-cloneable description that another thread turns into its own
 * `MachineResources` over the same memory (`attach`). Shared state is only ever touched through
 * Atomics or under the allocator's lock, never as shared JS objects.
 */
import { MachineMemory } from '../machine/memory.ts';
import { FrameAllocator } from './frames.ts';
import { PvShared } from './pv_shared.ts';

/** Guest-physical (= machine) address of the first RAM byte. */
const RAM_BASE = 0x8000_0000;

/** Everything another thread needs to attach to the same machine. */
export interface MachineHandle {
  memory: WebAssembly.Memory;
  harts: number;
  ramBytes: number;
  frameState: SharedArrayBuffer;
  /** Int32 [next domain id, hart-block lock] then one byte per hart block (1 = in use). */
  misc: SharedArrayBuffer;
  /** PvShared's state (pv_shared.ts). */
  pv: SharedArrayBuffer;
}

const MISC_DOMID = 0;
const MISC_LOCK = 1;
const MISC_HEADER = 8;

export class MachineResources {
  readonly mem: MachineMemory;
  readonly frames: FrameAllocator;
  readonly pv: PvShared;
  private readonly misc: Int32Array;
  private readonly blocks: Uint8Array;

  private constructor(
    mem: MachineMemory,
    frames: FrameAllocator,
    misc: SharedArrayBuffer,
    pv: SharedArrayBuffer,
  ) {
    this.mem = mem;
    this.frames = frames;
    this.pv = new PvShared(mem, pv);
    this.misc = new Int32Array(misc, 0, 2);
    this.blocks = new Uint8Array(misc, MISC_HEADER, mem.harts);
  }

  /** A new machine: `memoryBytes` of RAM for domains and `harts` vCPU state blocks. */
  static create(o: { memoryBytes: number; harts: number }): MachineResources {
    const mem = new MachineMemory({ harts: o.harts, ramBase: RAM_BASE, ramBytes: o.memoryBytes });
    const misc = new SharedArrayBuffer(MISC_HEADER + o.harts);
    new Int32Array(misc, 0, 2)[MISC_DOMID] = 1; // domain 0 is the host itself
    const pv = new SharedArrayBuffer(PvShared.bytesFor(mem.ramPages));
    return new MachineResources(mem, new FrameAllocator(mem), misc, pv);
  }

  /** The same machine, seen from this thread. */
  static attach(h: MachineHandle): MachineResources {
    const mem = new MachineMemory({
      harts: h.harts,
      ramBase: RAM_BASE,
      ramBytes: h.ramBytes,
      memory: h.memory,
    });
    return new MachineResources(mem, new FrameAllocator(mem, h.frameState), h.misc, h.pv);
  }

  handle(): MachineHandle {
    return {
      memory: this.mem.memory,
      harts: this.mem.harts,
      ramBytes: this.mem.ramBytes,
      frameState: this.frames.shared,
      misc: this.misc.buffer as SharedArrayBuffer,
      pv: this.pv.sab,
    };
  }

  /** A fresh domain id, unique across the host. */
  nextDomId(): number {
    return Atomics.add(this.misc, MISC_DOMID, 1);
  }

  /** Hart state blocks not in use. */
  get freeBlocks(): number {
    let n = 0;
    for (let i = 0; i < this.blocks.length; i++) if (Atomics.load(this.blocks, i) === 0) n++;
    return n;
  }

  /** Takes `count` hart state blocks (all or none); undefined if there are not enough. */
  allocBlocks(count: number): number[] | undefined {
    while (Atomics.compareExchange(this.misc, MISC_LOCK, 0, 1) !== 0) {
      // spin: held for one scan of a few dozen bytes
    }
    try {
      const got: number[] = [];
      for (let i = 0; i < this.blocks.length && got.length < count; i++)
        if (this.blocks[i] === 0) got.push(i);
      if (got.length < count) return undefined;
      for (const i of got) this.blocks[i] = 1;
      return got;
    } finally {
      Atomics.store(this.misc, MISC_LOCK, 0);
    }
  }

  freeBlock(i: number): void {
    Atomics.store(this.blocks, i, 0);
  }
}
