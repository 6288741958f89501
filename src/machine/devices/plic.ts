/**
 * The platform-level interrupt controller in the SiFive layout that QEMU's virt board uses
 * (RISC-V PLIC specification; 3 priority bits, as on virt):
 *
 *   0x000000 + 4*source          priority (0 = never interrupts)
 *   0x001000 + 4*word            pending bits (read-only)
 *   0x002000 + 0x80*ctx + 4*word enable bits of context ctx
 *   0x200000 + 0x1000*ctx        priority threshold of ctx
 *   0x200004 + 0x1000*ctx        claim (read) / complete (write)
 *
 * Contexts are 2*hart (M-mode) and 2*hart+1 (S-mode), as on virt. Sources are 1..numSources;
 * source 0 does not exist. Registers are 32-bit; other widths read 0 and are ignored.
 *
 * Gateways are level-triggered: a source is pending while its line is high, unless it has
 * been claimed and not yet completed; completing it re-samples the line. A claim returns the
 * pending, enabled source of the highest priority above the context's threshold (the lowest
 * id on a tie) or 0. A completion for a source not enabled in that context is ignored, as the
 * specification says. After every change each context's output (some pending enabled source
 * above its threshold) is recomputed and `onContextChange` is called for those that changed.
 */
import type { InterruptLine, MmioDevice } from '../device.ts';

const PRIORITY_BASE = 0x000000;
const PENDING_BASE = 0x001000;
const ENABLE_BASE = 0x002000;
const ENABLE_STRIDE = 0x80;
const CONTEXT_BASE = 0x200000;
const CONTEXT_STRIDE = 0x1000;
const PRIORITY_MASK = 7;
/** QEMU virt's PLIC window (room for 1024 contexts); larger boards get what they need. */
const VIRT_PLIC_SIZE = 0x600000;

export type PlicState = {
  version: 1;
  priority: number[];
  threshold: number[];
  /** Bit sets as arrays of u32 words, bit s = source s. */
  level: number[];
  pending: number[];
  claimed: number[];
  /** One word array per context. */
  enable: number[][];
};

export interface PlicOptions {
  /** Sources are 1..numSources (QEMU virt: 95). */
  numSources: number;
  numContexts: number;
  onContextChange: (context: number, pending: boolean) => void;
}

export class Plic implements MmioDevice {
  readonly name = 'plic';
  readonly sizeBytes: number;
  readonly numSources: number;
  readonly numContexts: number;
  private readonly words: number;
  private readonly onContextChange: (context: number, pending: boolean) => void;
  private readonly priority: Uint32Array;
  private readonly threshold: Uint32Array;
  private readonly level: Uint32Array;
  private readonly pending: Uint32Array;
  private readonly claimed: Uint32Array;
  /** Context ctx's enable words at ctx*words. */
  private readonly enable: Uint32Array;
  private readonly output: Uint8Array;
  private readonly lines: InterruptLine[] = [];

  constructor(opts: PlicOptions) {
    const { numSources, numContexts } = opts;
    if (!Number.isInteger(numSources) || numSources < 1 || numSources > 1023) {
      throw new Error(`PLIC: numSources ${numSources} is not in 1..1023`);
    }
    if (!Number.isInteger(numContexts) || numContexts < 1 || numContexts > 15872) {
      throw new Error(`PLIC: numContexts ${numContexts} is not in 1..15872`);
    }
    this.numSources = numSources;
    this.numContexts = numContexts;
    this.onContextChange = opts.onContextChange;
    this.words = (numSources >> 5) + 1;
    this.sizeBytes = Math.max(VIRT_PLIC_SIZE, CONTEXT_BASE + CONTEXT_STRIDE * numContexts);
    this.priority = new Uint32Array(numSources + 1);
    this.threshold = new Uint32Array(numContexts);
    this.level = new Uint32Array(this.words);
    this.pending = new Uint32Array(this.words);
    this.claimed = new Uint32Array(this.words);
    this.enable = new Uint32Array(this.words * numContexts);
    this.output = new Uint8Array(numContexts);
  }

  /** The interrupt line of `source` (1..numSources), level-triggered. */
  line(source: number): InterruptLine {
    if (!Number.isInteger(source) || source < 1 || source > this.numSources) {
      throw new Error(`PLIC: no interrupt source ${source} (sources are 1..${this.numSources})`);
    }
    let line = this.lines[source];
    if (line === undefined) {
      line = { set: (level: boolean) => this.setLevel(source, level) };
      this.lines[source] = line;
    }
    return line;
  }

  read(offset: number, width: 1 | 2 | 4): number {
    if (width !== 4 || (offset & 3) !== 0) return 0;
    if (offset < PENDING_BASE) {
      const s = (offset - PRIORITY_BASE) >> 2;
      return s <= this.numSources ? (this.priority[s] ?? 0) : 0;
    }
    if (offset < ENABLE_BASE) {
      const w = (offset - PENDING_BASE) >> 2;
      return w < this.words ? (this.pending[w] ?? 0) : 0;
    }
    if (offset < CONTEXT_BASE) {
      const ctx = Math.floor((offset - ENABLE_BASE) / ENABLE_STRIDE);
      const w = ((offset - ENABLE_BASE) % ENABLE_STRIDE) >> 2;
      return ctx < this.numContexts && w < this.words ? (this.enable[ctx * this.words + w] ?? 0) : 0;
    }
    const ctx = Math.floor((offset - CONTEXT_BASE) / CONTEXT_STRIDE);
    if (ctx >= this.numContexts) return 0;
    switch ((offset - CONTEXT_BASE) % CONTEXT_STRIDE) {
      case 0:
        return this.threshold[ctx] ?? 0;
      case 4:
        return this.claim(ctx);
      default:
        return 0;
    }
  }

  write(offset: number, width: 1 | 2 | 4, value: number): void {
    if (width !== 4 || (offset & 3) !== 0) return;
    value >>>= 0;
    if (offset < PENDING_BASE) {
      const s = (offset - PRIORITY_BASE) >> 2;
      if (s >= 1 && s <= this.numSources) this.priority[s] = value & PRIORITY_MASK;
    } else if (offset < ENABLE_BASE) {
      return; // pending bits are read-only
    } else if (offset < CONTEXT_BASE) {
      const ctx = Math.floor((offset - ENABLE_BASE) / ENABLE_STRIDE);
      const w = ((offset - ENABLE_BASE) % ENABLE_STRIDE) >> 2;
      if (ctx >= this.numContexts || w >= this.words) return;
      this.enable[ctx * this.words + w] = value & this.validMask(w);
    } else {
      const ctx = Math.floor((offset - CONTEXT_BASE) / CONTEXT_STRIDE);
      if (ctx >= this.numContexts) return;
      const reg = (offset - CONTEXT_BASE) % CONTEXT_STRIDE;
      if (reg === 0) this.threshold[ctx] = value & PRIORITY_MASK;
      else if (reg === 4) this.complete(ctx, value);
      else return;
    }
    this.update();
  }

  saveState(): PlicState {
    const enable: number[][] = [];
    for (let c = 0; c < this.numContexts; c++) {
      enable.push(Array.from(this.enable.subarray(c * this.words, (c + 1) * this.words)));
    }
    return {
      version: 1,
      priority: Array.from(this.priority),
      threshold: Array.from(this.threshold),
      level: Array.from(this.level),
      pending: Array.from(this.pending),
      claimed: Array.from(this.claimed),
      enable,
    };
  }

  /** Restores a saved state and re-announces every context's output to the harts. */
  restoreState(state: unknown): void {
    const kind = 'PlicState';
    if (typeof state !== 'object' || state === null) throw new Error(`${kind} must be an object`);
    const s = state as Record<string, unknown>;
    if (s['version'] !== 1) throw new Error(`${kind}.version must be 1 (got ${String(s['version'])})`);
    const words = (
      field: string,
      value: unknown,
      length: number,
      allowed: (i: number) => number,
    ): number[] => {
      if (
        !Array.isArray(value) ||
        value.length !== length ||
        !value.every(
          (v, i) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff && (v & ~allowed(i)) >>> 0 === 0,
        )
      ) {
        throw new Error(`${kind}.${field} must be an array of ${length} words with only valid bits set`);
      }
      return value as number[];
    };
    const mask = (i: number) => this.validMask(i);
    const priority = words('priority', s['priority'], this.numSources + 1, (i) =>
      i === 0 ? 0 : PRIORITY_MASK,
    );
    const threshold = words('threshold', s['threshold'], this.numContexts, () => PRIORITY_MASK);
    const level = words('level', s['level'], this.words, mask);
    const pending = words('pending', s['pending'], this.words, mask);
    const claimed = words('claimed', s['claimed'], this.words, mask);
    const enableRaw = s['enable'];
    if (!Array.isArray(enableRaw) || enableRaw.length !== this.numContexts) {
      throw new Error(`${kind}.enable must be an array of ${this.numContexts} contexts`);
    }
    const enable = enableRaw.map((e: unknown, c) => words(`enable[${c}]`, e, this.words, mask));
    this.priority.set(priority);
    this.threshold.set(threshold);
    this.level.set(level);
    this.pending.set(pending);
    this.claimed.set(claimed);
    enable.forEach((e, c) => this.enable.set(e, c * this.words));
    for (let c = 0; c < this.numContexts; c++) {
      this.output[c] = this.contextPending(c) ? 1 : 0;
      this.onContextChange(c, this.output[c] === 1);
    }
  }

  /** Bits of enable/pending word `w` that name real sources (1..numSources). */
  private validMask(w: number): number {
    const first = w * 32;
    let mask = 0;
    for (let b = 0; b < 32; b++) {
      const s = first + b;
      if (s >= 1 && s <= this.numSources) mask |= 1 << b;
    }
    return mask;
  }

  private setLevel(source: number, high: boolean): void {
    const w = source >> 5;
    const bit = 1 << (source & 31);
    const lv = this.level[w] ?? 0;
    if (high === ((lv & bit) !== 0)) return;
    this.level[w] = high ? lv | bit : lv & ~bit;
    // A claimed source stays out of pending until completed; otherwise pending follows the line.
    if (((this.claimed[w] ?? 0) & bit) === 0) {
      const p = this.pending[w] ?? 0;
      this.pending[w] = high ? p | bit : p & ~bit;
    }
    this.update();
  }

  /** The best claimable source for `ctx`, or 0. */
  private best(ctx: number): number {
    const limit = this.threshold[ctx] ?? 0;
    let best = 0;
    let bestPriority = limit;
    const base = ctx * this.words;
    for (let w = 0; w < this.words; w++) {
      let bits = (this.pending[w] ?? 0) & (this.enable[base + w] ?? 0);
      while (bits !== 0) {
        const b = 31 - Math.clz32(bits & -bits);
        bits &= bits - 1;
        const s = w * 32 + b;
        const p = this.priority[s] ?? 0;
        if (p > bestPriority) {
          best = s;
          bestPriority = p;
        }
      }
    }
    return best;
  }

  private contextPending(ctx: number): boolean {
    return this.best(ctx) !== 0;
  }

  private claim(ctx: number): number {
    const s = this.best(ctx);
    if (s !== 0) {
      const w = s >> 5;
      const bit = 1 << (s & 31);
      this.pending[w] = (this.pending[w] ?? 0) & ~bit;
      this.claimed[w] = (this.claimed[w] ?? 0) | bit;
      this.update();
    }
    return s;
  }

  private complete(ctx: number, source: number): void {
    if (source < 1 || source > this.numSources) return;
    const w = source >> 5;
    const bit = 1 << (source & 31);
    if (((this.enable[ctx * this.words + w] ?? 0) & bit) === 0) return;
    if (((this.claimed[w] ?? 0) & bit) === 0) return;
    this.claimed[w] = (this.claimed[w] ?? 0) & ~bit;
    // The gateway opens again: a line still high pends at once.
    if (((this.level[w] ?? 0) & bit) !== 0) {
      this.pending[w] = (this.pending[w] ?? 0) | bit;
      this.update();
    }
  }

  private update(): void {
    for (let c = 0; c < this.numContexts; c++) {
      const now = this.contextPending(c) ? 1 : 0;
      if (now !== this.output[c]) {
        this.output[c] = now;
        this.onContextChange(c, now === 1);
      }
    }
  }
}
