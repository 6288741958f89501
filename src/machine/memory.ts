/**
 * Machine memory: one shared `WebAssembly.Memory` holding the hart state blocks (see
 * hart/layout.ts) followed by RAM. Everything that executes guest code or touches guest state
 * reaches it through the typed-array views here, so that the interpreter, the JIT (wasm code
 * importing this memory), pCPU threads and save/restore all share one memory.
 *
 * The memory is sized once and never grown (growing would detach the views). wasm32 caps it
 * at 4 GiB; host offsets are therefore below 2^32 and are used with `>>>`.
 */
import { HART_BLOCK_BYTES } from './hart/layout.ts';

export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;
const WASM_PAGE = 65536;
/** Largest RAM the board accepts: 4 GiB of wasm memory minus the hart area, in whole MiB. */
export const MAX_RAM_BYTES = 4096 * 1024 * 1024 - 64 * 1024 * 1024;

export interface MachineMemoryConfig {
  harts: number;
  /** Guest-physical address of the first RAM byte (0x8000_0000 on the virt board). */
  ramBase: number;
  ramBytes: number;
  /**
   * An existing memory laid out by the same config (another thread's MachineMemory.memory):
   * this MachineMemory then views it instead of making a new one.
   */
  memory?: WebAssembly.Memory;
}

export class MachineMemory {
  readonly memory: WebAssembly.Memory;
  readonly buffer: SharedArrayBuffer;
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly i32: Int32Array;
  readonly f32: Float32Array;
  readonly f64: Float64Array;
  readonly harts: number;
  readonly ramBase: number;
  readonly ramBytes: number;
  /** Byte offset of RAM within the memory. */
  readonly ramOffset: number;
  readonly ramPages: number;

  constructor(cfg: MachineMemoryConfig) {
    if (cfg.ramBytes % PAGE_SIZE !== 0 || cfg.ramBytes <= 0) {
      throw new RangeError(`RAM size ${cfg.ramBytes} is not a positive multiple of 4 KiB`);
    }
    if (cfg.ramBytes > MAX_RAM_BYTES)
      throw new RangeError(`RAM size ${cfg.ramBytes} exceeds ${MAX_RAM_BYTES}`);
    this.harts = cfg.harts;
    this.ramBase = cfg.ramBase;
    this.ramBytes = cfg.ramBytes;
    // Hart blocks first, RAM aligned to 1 MiB after them.
    const hartBytes = cfg.harts * HART_BLOCK_BYTES;
    this.ramOffset = Math.ceil(hartBytes / (1 << 20)) * (1 << 20);
    const total = this.ramOffset + cfg.ramBytes;
    if (total > 4096 * 1024 * 1024) {
      throw new RangeError(
        `${Math.floor(cfg.ramBytes / (1 << 20))} MiB of RAM and ${cfg.harts} vCPU state blocks exceed the 4 GiB of machine memory; use less RAM or fewer vCPUs`,
      );
    }
    const pages = Math.ceil(total / WASM_PAGE);
    this.memory = cfg.memory ?? new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    if (this.memory.buffer.byteLength < total) {
      throw new RangeError(
        `the memory given is ${this.memory.buffer.byteLength} bytes; this layout needs ${total}`,
      );
    }
    this.buffer = this.memory.buffer as unknown as SharedArrayBuffer;
    this.u8 = new Uint8Array(this.buffer);
    this.u16 = new Uint16Array(this.buffer);
    this.i32 = new Int32Array(this.buffer);
    this.f32 = new Float32Array(this.buffer);
    this.f64 = new Float64Array(this.buffer);
    this.ramPages = cfg.ramBytes / PAGE_SIZE;
  }

  /** Byte offset of hart `i`'s state block. */
  hartBlockOffset(i: number): number {
    return i * HART_BLOCK_BYTES;
  }

  /** Host byte offset of a RAM physical address, or -1 if `pa` (+ len) is not all RAM. */
  ramOffsetOf(pa: number, len = 1): number {
    const rel = pa - this.ramBase;
    if (rel < 0 || rel + len > this.ramBytes) return -1;
    return this.ramOffset + rel;
  }

  /** Copies bytes into RAM at a physical address (image loading); throws if out of RAM. */
  loadBytes(pa: number, bytes: Uint8Array): void {
    const off = this.ramOffsetOf(pa, bytes.length);
    if (off < 0) {
      throw new RangeError(
        `${bytes.length} bytes at 0x${pa.toString(16)} do not fit in RAM ` +
          `0x${this.ramBase.toString(16)}..0x${(this.ramBase + this.ramBytes).toString(16)}`,
      );
    }
    this.u8.set(bytes, off);
  }
}
