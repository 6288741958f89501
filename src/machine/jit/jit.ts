/**
 * The JIT's code cache and entry point: counts how often each (RAM page, offset) is entered,
 * translates hot entries into wasm regions (region.ts, translate.ts; a page's warm entries
 * are batched into one module), keeps them in a function table, and runs them through the
 * dispatcher (dispatch.ts), which chains from region to region inside wasm.
 *
 * Contract with the interpreter (interp.ts): at the top of its outer loop, with the state
 * block's pc at `pcLo` on RAM page `ramPage` whose decoded array is `decoded`, it calls
 * `enter(h, ramPage, decoded, pcLo, budget)`. The result is -1 when there is no translation
 * (the interpreter runs the code), or (count << 2) | flags from the dispatcher: `count`
 * instructions run (an access that trapped counts, as in the interpreter, which subtracts the
 * exceptions taken), pc updated; flag INTERP (1) when the instruction at the new pc must be
 * run by the interpreter (it may be on another page than the entry's), STOP (2) when the
 * interpreter's outer loop must look at the hart again (a trap in a slow-path access, a store
 * that invalidated decoded code or reached a device).
 *
 * Cache key: physical RAM page + offset only. A translation does not depend on privilege,
 * virtualization mode, MPRV/SUM or the page tables: its loads and stores use the TLB sets
 * passed at each entry, its pc-relative values come from the pc at entry, and nothing that
 * changes the regime is translated. It depends on the page's code, so it belongs to one
 * decoded array of CodeCache: when that array is dropped (a store or DMA into the page, see
 * code_cache.ts) the page's translations are dropped with it, their table slots are freed and
 * every jump cache entry leading to them is cleared, so the dispatcher can never reach them.
 * FENCE.I needs nothing more, since stores already invalidated what they touched.
 *
 * The cache holds at most `maxRegions` regions; beyond that, whole pages are evicted, least
 * recently entered first. One Jit serves all harts that share a CodeCache (a board's harts,
 * or every vCPU of a hypervisor): translations take the hart's state block as a parameter.
 * It runs on the thread that owns those harts.
 */
import { UserError } from '../../common/errors.ts';
import type { CodeCache } from '../code_cache.ts';
import { fexc } from '../fpu/fpu.ts';
import { fpExecJit } from '../hart/fp_exec.ts';
import { Mstatus } from '../hart/csr_defs.ts';
import { I_MIE, I_MSTATUS, I_VSSTATUS, type Hart } from '../hart/hart.ts';
import { execCold } from '../hart/interp_cold.ts';
import { HS, JC_BYTE_OFFSET, JC_ENTRIES, JC_MASK, JIT_SCRATCH_BYTE } from '../hart/layout.ts';
import { loadSlow, storeSlow } from '../hart/mmu.ts';
import type { MachineMemory } from '../memory.ts';
import { compileDispatcher, type DispatchFn, type SlowPaths } from './dispatch.ts';
import { discoverRegion, type Region } from './region.ts';
import { compileRegions, type InlineAccess, type RegionImports } from './translate.ts';

export type JitMode = 'off' | 'on' | 'force';

/**
 * The mode `domus run` (hosted or --bare) uses when neither --jit, --no-jit nor DOMUS_JIT says
 * otherwise: on, since translated loops run 5–20× faster than interpreted ones (a boot, mostly
 * code that runs a few times, is about 10% slower; docs/benchmarks.md).
 */
export const DEFAULT_JIT_MODE: JitMode = 'on';

export interface JitOptions {
  /** 'on': translate entries seen `threshold` times; 'force': translate at first entry. */
  mode: 'on' | 'force';
  /**
   * Entries before translation in 'on' mode (DEFAULT_THRESHOLD: boot code that runs a few
   * hundred or thousand times is cheaper to interpret than to compile and enter).
   */
  threshold?: number;
  /** Most regions kept (default 8192). */
  maxRegions?: number;
  /**
   * Which regions do a memory access's TLB hit inline rather than through the memory helpers
   * (translate_mem.ts): 'loops' (the default), regions with a loop; 'all' or 'none' let the
   * differential tester cover both ways in every kind of region.
   */
  inlineAccess?: InlineAccess;
}

export interface JitStats {
  regions: number;
  translated: number;
  /** Modules compiled (a module holds one or more regions). */
  modules: number;
  /** Milliseconds spent discovering, emitting and compiling regions. */
  compileMs: number;
  /** Entries whose first instruction cannot be translated. */
  refused: number;
  evictedPages: number;
  invalidatedPages: number;
  /** Calls from the interpreter into translated code. */
  entries: number;
  /** Instructions those calls ran. */
  instructions: number;
}

const SLOTS = 2048;
/**
 * Slot marks in JitPage.ids: no translation yet, the entry cannot be translated, or its region
 * waits in the pending batch.
 */
const NONE = 0;
const REFUSED = -1;
const PENDING = -2;
/**
 * Compiling a module has a fixed cost of about a millisecond, so hot regions are collected and
 * compiled together: when MAX_BATCH are pending, or when a pending entry has been entered
 * `threshold` more times (it is clearly hot, and waiting costs more than compiling now).
 */
const MAX_BATCH = 48;

interface PendingRegion {
  jp: JitPage;
  slot: number;
  region: Region;
}

/** Countdown of a slot that cannot be translated: the interpreter rarely asks about it again. */
const REFUSED_COUNTDOWN = 0x7fff;
/**
 * The default threshold. A boot to the ready marker (`domus run`, 10 alternating boots each)
 * took 1.44 s at 1000, 1.35 s at 3000 and 1.42 s interpreted (medians); the loops of
 * domus-bench, hot from their first thousand iterations, ran the same at either.
 */
const DEFAULT_THRESHOLD = 3000;
/** Thresholds are clamped to what an Int16Array countdown holds. */
const MAX_THRESHOLD = 0x7000;

class JitPage {
  /**
   * Countdown per 2-byte slot (see Jit.countdown): entries left before the slot is worth
   * translating; 0 or less once it has a translation (the interpreter then always offers it).
   */
  readonly countdown: Int16Array;
  /** Region per slot: a function table index (> 0), NONE or REFUSED. */
  readonly ids = new Int32Array(SLOTS);
  regions = 0;
  lastUse = 0;

  constructor(
    readonly ramPage: number,
    readonly decoded: Int32Array,
    threshold: number,
  ) {
    this.countdown = new Int16Array(SLOTS).fill(threshold);
  }
}

export class Jit {
  readonly threshold: number;
  /**
   * The countdowns of the page of the last `enter` call, for the interpreter: at a taken
   * backward branch or a jump inside that page it decrements the target slot's countdown and
   * keeps interpreting while it stays above 0; otherwise it goes back to its outer loop, which
   * calls `enter` for the target (to count, translate, or run the translation). So a loop
   * inside one page costs the interpreter one decrement per iteration until it is hot.
   */
  countdown: Int16Array = new Int16Array(SLOTS);
  readonly maxRegions: number;
  private readonly inlineAccess: InlineAccess;
  private readonly pages: (JitPage | undefined)[];
  private readonly live = new Set<JitPage>();
  private regions = 0;
  private tick = 0;
  private readonly table: WebAssembly.Table;
  private readonly freeIds: number[] = [];
  private pending: PendingRegion[] = [];
  private nextId = 1;
  private readonly dispatch: DispatchFn;
  private readonly imports: RegionImports;
  /** Harts that have run translated code (their jump caches hold entries of this Jit). */
  private readonly harts: Hart[] = [];
  private lastHart: Hart | null = null;
  /** The hart running translated code now (for the FP helper). */
  private cur: Hart | null = null;
  private readonly statsCounts = {
    translated: 0,
    modules: 0,
    compileMs: 0,
    refused: 0,
    evictedPages: 0,
    invalidatedPages: 0,
    entries: 0,
    instructions: 0,
  };
  /** The helpers translated code imports (translate.ts, RegionImports; mem is the dispatcher's). */
  private readonly helpers: Omit<RegionImports, 'mem'> = {
    /**
     * env.fp: the interpreter keeps fflags in `fexc.flags` while it runs, native FP code in
     * the state block; enter() and this helper hand them over.
     */
    fp: (w: number, imm: number): number => {
      const h = this.cur!;
      fexc.flags = h.S[HS.FFLAGS]!;
      const ok = fpExecJit(h, w, imm);
      h.S[HS.FFLAGS] = fexc.flags;
      return ok ? 1 : 0;
    },
    /**
     * env.interp: one CSR, LR or SC instruction, run by the interpreter's own execCold (pc in the
     * state block is the instruction's). 0: it trapped; 2: done, but only sstatus's SIE may
     * change under translated code (and only so that no pending interrupt becomes
     * deliverable): anything else in mstatus or vsstatus (FS, SUM, MXR…), new TLB sets, or an
     * SC that rewrote decoded code ends the dispatcher's call; 1: done.
     */
    interp: (w: number, imm: number): number => {
      const h = this.cur!;
      const S = h.S;
      const mstatus = S[I_MSTATUS]!;
      const vsstatus = S[I_VSSTATUS]!;
      const fetchSet = h.fetchSet;
      const loadSet = h.loadSet;
      const storeSet = h.storeSet;
      const exceptions = h.exceptions;
      const invalidations = h.code.invalidations;
      execCold(h, w, imm, 4 - ((w >>> 29) & 2));
      if (h.exceptions !== exceptions) return 0;
      if (h.code.invalidations !== invalidations) return 2;
      const changed = (S[I_MSTATUS]! ^ mstatus) | (S[I_VSSTATUS]! ^ vsstatus);
      const stop =
        (changed & ~Mstatus.SIE) !== 0 ||
        h.fetchSet !== fetchSet ||
        h.loadSet !== loadSet ||
        h.storeSet !== storeSet ||
        ((changed & Mstatus.SIE) !== 0 && (h.mip() & S[I_MIE]!) !== 0);
      return stop ? 2 : 1;
    },
  };
  /** The slow paths of the dispatcher's memory helpers (dispatch.ts, translate_mem.ts). */
  private readonly slowPaths: SlowPaths = {
    /** env.ld: the interpreter's slow-path load; the value goes to the scratch word. */
    ld: (vaLo: number, vaHi: number, size: number): number => {
      const h = this.cur!;
      if (!loadSlow(h, vaLo, vaHi, size)) return 0;
      const j = (h.base + JIT_SCRATCH_BYTE) >>> 2;
      const M = this.mem.i32;
      M[j] = h.tmpLo;
      M[j + 1] = h.tmpHi;
      return 1;
    },
    /** env.st: the interpreter's slow-path store; 2 when the interpreter must look again. */
    st: (vaLo: number, vaHi: number, size: number, lo: number, hi: number): number => {
      const h = this.cur!;
      const invalidations = h.code.invalidations;
      if (!storeSlow(h, vaLo, vaHi, size, lo, hi)) return 0;
      return h.code.invalidations === invalidations && !h.irqCheck ? 1 : 2;
    },
  };

  constructor(
    private readonly mem: MachineMemory,
    code: CodeCache,
    opts: JitOptions,
  ) {
    this.threshold =
      opts.mode === 'force' ? 0 : Math.min(MAX_THRESHOLD, Math.max(0, opts.threshold ?? DEFAULT_THRESHOLD));
    this.maxRegions = Math.max(1, opts.maxRegions ?? 8192);
    this.inlineAccess = opts.inlineAccess ?? 'loops';
    this.pages = new Array<JitPage | undefined>(code.ramPages).fill(undefined); // see CodeCache.pages
    this.table = new WebAssembly.Table({ element: 'anyfunc', initial: 1024 });
    const d = compileDispatcher(mem.memory, this.table, this.slowPaths);
    this.dispatch = d.run;
    this.imports = { ...this.helpers, mem: d.exports };
    code.onInvalidatePage = (ramPage) => this.dropPage(ramPage, true);
  }

  /**
   * Makes `h` a hart of this Jit: clears its jump cache (it may hold entries of another Jit
   * that used the same state block). Called by attachJit and on a hart's first entry.
   */
  addHart(h: Hart): void {
    if (this.harts.includes(h)) return;
    this.harts.push(h);
    const at = (h.base + JC_BYTE_OFFSET) >>> 2;
    this.mem.i32.fill(0, at, at + JC_ENTRIES * 2);
  }

  /** Runs the translation for pc (see the module comment), or returns -1. */
  enter(h: Hart, ramPage: number, decoded: Int32Array, pcLo: number, budget: number): number {
    let jp = this.pages[ramPage];
    if (jp === undefined || jp.decoded !== decoded) {
      if (jp !== undefined) this.dropPage(ramPage, true);
      jp = new JitPage(ramPage, decoded, this.threshold);
      this.pages[ramPage] = jp;
      this.live.add(jp);
    }
    const cd = jp.countdown;
    this.countdown = cd;
    const slot = (pcLo & 4095) >>> 1;
    let id = jp.ids[slot]!;
    if (id <= 0) {
      if (--cd[slot]! > 0) return -1;
      if (id === REFUSED) {
        cd[slot] = REFUSED_COUNTDOWN;
        return -1;
      }
      // Hot: queue its region (NONE), or compile the queue now (it waited `threshold` more).
      if (id === NONE) this.discover(jp, slot);
      else this.compilePending();
      id = jp.ids[slot]!;
      if (id <= 0) return -1;
    }
    cd[slot] = 0;
    if (h !== this.lastHart) {
      this.addHart(h);
      this.lastHart = h;
    }
    jp.lastUse = ++this.tick;
    this.statsCounts.entries++;
    const base = h.base;
    // Let the dispatcher find this entry when control comes back to it from translated code.
    const host = this.mem.ramOffset + ramPage * 4096 + (pcLo & 4095);
    const j = (base + JC_BYTE_OFFSET + ((host >>> 1) & JC_MASK) * 8) >>> 2;
    const M = this.mem.i32;
    M[j] = host;
    M[j + 1] = id;
    this.cur = h;
    const S = h.S;
    S[HS.FFLAGS] = fexc.flags;
    // The TLB sets go in as addresses in machine memory, inside this hart's own state block:
    // translated code of one Jit serves every hart, so nothing in it may assume a block.
    const r = this.dispatch(
      base,
      budget,
      base + h.fetchSet * 4,
      base + h.loadSet * 4,
      base + h.storeSet * 4,
      id,
    );
    fexc.flags = S[HS.FFLAGS]!;
    this.statsCounts.instructions += r >>> 2;
    return r;
  }

  /** Finds the region of a hot entry and queues it (compiling the queue when it is full). */
  private discover(jp: JitPage, slot: number): void {
    const t0 = performance.now();
    const region = discoverRegion(jp.decoded, this.mem.u16, this.mem.ramOffset + jp.ramPage * 4096, slot * 2);
    this.statsCounts.compileMs += performance.now() - t0;
    if (region === undefined) {
      this.statsCounts.refused++;
      jp.ids[slot] = REFUSED;
      jp.countdown[slot] = REFUSED_COUNTDOWN;
      return;
    }
    jp.ids[slot] = PENDING;
    jp.countdown[slot] = this.threshold;
    this.pending.push({ jp, slot, region });
    if (this.threshold === 0 || this.pending.length >= MAX_BATCH) this.compilePending();
  }

  /** Compiles every pending region whose page is still current, in one module. */
  private compilePending(): void {
    const t0 = performance.now();
    const batch = this.pending.filter(
      (p) => this.pages[p.jp.ramPage] === p.jp && p.jp.ids[p.slot] === PENDING,
    );
    this.pending = [];
    if (batch.length === 0) return;
    if (this.regions + batch.length > this.maxRegions) this.evict(batch.length);
    // Eviction may have dropped pages of the batch; a batch larger than the cache is cut.
    const live = batch
      .filter((p) => this.pages[p.jp.ramPage] === p.jp && p.jp.ids[p.slot] === PENDING)
      .slice(0, this.maxRegions - this.regions);
    for (const p of batch) if (p.jp.ids[p.slot] === PENDING) p.jp.ids[p.slot] = NONE;
    const fns = compileRegions(
      live.map((p) => p.region),
      this.mem.memory,
      this.imports,
      this.inlineAccess,
    );
    for (let i = 0; i < fns.length; i++) {
      const { jp, slot } = live[i]!;
      const id = this.allocId();
      this.table.set(id, fns[i]!);
      jp.ids[slot] = id;
      jp.regions++;
    }
    this.regions += fns.length;
    this.statsCounts.translated += fns.length;
    this.statsCounts.modules++;
    this.statsCounts.compileMs += performance.now() - t0;
  }

  private allocId(): number {
    const free = this.freeIds.pop();
    if (free !== undefined) return free;
    const id = this.nextId++;
    if (id >= this.table.length) this.table.grow(this.table.length);
    return id;
  }

  /** Drops least recently entered pages until `incoming` more regions leave a quarter free. */
  private evict(incoming: number): void {
    const target = Math.floor((this.maxRegions * 3) / 4);
    const order = [...this.live].filter((p) => p.regions > 0).sort((a, b) => a.lastUse - b.lastUse);
    for (const p of order) {
      if (this.regions + incoming <= target) break;
      this.dropPage(p.ramPage, false);
      this.statsCounts.evictedPages++;
    }
  }

  /** Frees a page's regions: their table slots and every jump cache entry that leads to them. */
  private releaseRegions(jp: JitPage): void {
    const ids = jp.ids;
    for (let s = 0; s < SLOTS; s++) {
      const id = ids[s]!;
      if (id > 0) {
        this.table.set(id, null);
        this.freeIds.push(id);
      }
      if (id > 0 || id === PENDING) {
        ids[s] = NONE;
        jp.countdown[s] = this.threshold;
      }
    }
    if (jp.regions === 0) return;
    // A host offset's jump cache slot is (host >>> 1) & JC_MASK: a page's entries lie in one
    // window of SLOTS consecutive slots (modulo the cache size).
    const M = this.mem.i32;
    const pageHost = this.mem.ramOffset + jp.ramPage * 4096;
    for (const h of this.harts) {
      const jc = (h.base + JC_BYTE_OFFSET) >>> 2;
      for (let k = 0; k < SLOTS; k++) {
        const j = jc + (((pageHost >>> 1) + k) & JC_MASK) * 2;
        if (M[j] === pageHost + 2 * k) M[j] = 0;
      }
    }
    this.regions -= jp.regions;
    jp.regions = 0;
  }

  private dropPage(ramPage: number, invalidated: boolean): void {
    const jp = this.pages[ramPage];
    if (jp === undefined) return;
    if (invalidated && jp.regions > 0) this.statsCounts.invalidatedPages++;
    this.releaseRegions(jp);
    this.pages[ramPage] = undefined;
    this.live.delete(jp);
  }

  /** Forgets every translation. */
  clear(): void {
    for (const jp of [...this.live]) this.dropPage(jp.ramPage, false);
  }

  stats(): JitStats {
    return { regions: this.regions, ...this.statsCounts };
  }
}

const MODES: readonly JitMode[] = ['off', 'on', 'force'];

/** Parses a JIT mode given by the user; `source` names where it came from (DOMUS_JIT, --jit). */
export function parseJitMode(value: string, source: string): JitMode {
  if ((MODES as readonly string[]).includes(value)) return value as JitMode;
  throw new UserError(`${source} ${JSON.stringify(value)} is not a JIT mode; use off, on or force`);
}

/** The Jit of each CodeCache that has one (a CodeCache has one invalidation hook, so one Jit). */
const jitOfCode = new WeakMap<CodeCache, Jit>();

function jitFor(
  mem: MachineMemory,
  code: CodeCache,
  mode: 'on' | 'force',
  opts: Omit<JitOptions, 'mode'>,
): Jit {
  let jit = jitOfCode.get(code);
  if (jit === undefined) {
    jit = new Jit(mem, code, { ...opts, mode });
    jitOfCode.set(code, jit);
  }
  return jit;
}

/**
 * Gives every hart of a machine one shared Jit in `mode`, or none for 'off' (the interpreter
 * runs everything). Returns the Jit, for statistics. Call it before the harts run.
 */
export function attachJit(
  machine: { mem: MachineMemory; code: CodeCache; harts: readonly Hart[] },
  mode: JitMode,
  opts: Omit<JitOptions, 'mode'> = {},
): Jit | null {
  const jit = mode === 'off' ? null : new Jit(machine.mem, machine.code, { ...opts, mode });
  if (jit !== null) jitOfCode.set(machine.code, jit);
  for (const h of machine.harts) {
    h.jit = jit;
    jit?.addHart(h);
  }
  return jit;
}

/**
 * Attaches the JIT to one hart (a hypervisor's vCPU), or detaches it for 'off'. Harts that
 * share a CodeCache share one Jit (created by the first call, in that call's mode), so a
 * hypervisor can call this for each vCPU as it creates it. Call it while the hart is not
 * running. Returns the hart's Jit, for statistics.
 */
export function attachJitToHart(hart: Hart, mode: JitMode, opts: Omit<JitOptions, 'mode'> = {}): Jit | null {
  if (mode === 'off') {
    hart.jit = null;
    return null;
  }
  const jit = jitFor(hart.mem, hart.code, mode, opts);
  jit.addHart(hart);
  hart.jit = jit;
  return jit;
}
