/**
 * The JIT's code cache and dispatcher: counts how often each (RAM page, offset) is entered,
 * translates hot entries into wasm regions (region.ts, translate.ts), and runs them.
 *
 * Contract with the interpreter (interp.ts): at the top of its outer loop, with the state
 * block's pc at `pcLo` on RAM page `ramPage` whose decoded array is `decoded`, it calls
 * `enter(h, ramPage, decoded, pcLo, budget)`. The result is -1 when there is no translation
 * (the interpreter runs the code), or (count << 1) | interp as the region returned it (see
 * translate.ts): `count` instructions retired, pc updated; `interp` = 1 when the instruction at
 * the new pc, which is on the same page, must be run by the interpreter.
 *
 * Cache key: physical RAM page + offset only. A translation does not depend on privilege,
 * virtualization mode, MPRV/SUM or the page tables: its loads and stores use the TLB sets
 * passed at each entry, its pc-relative values come from the pc at entry, and nothing that
 * changes the regime is translated. It depends on the page's code, so it belongs to one
 * decoded array of CodeCache: when that array is dropped (a store or DMA into the page, see
 * code_cache.ts) the page's translations are dropped with it, and a translation is never run
 * unless its array is still current. FENCE.I needs nothing more, since stores already
 * invalidated what they touched.
 *
 * The cache holds at most `maxRegions` regions; beyond that, whole pages are evicted, least
 * recently entered first. One Jit serves all harts of a machine (translations take the hart's
 * state block as a parameter), on the thread that owns the harts.
 */
import { UserError } from '../../common/errors.ts';
import type { CodeCache } from '../code_cache.ts';
import type { Hart } from '../hart/hart.ts';
import type { MachineMemory } from '../memory.ts';
import { discoverRegion } from './region.ts';
import { compileRegion, type RegionFn } from './translate.ts';

export type JitMode = 'off' | 'on' | 'force';

export interface JitOptions {
  /** 'on': translate entries seen `threshold` times; 'force': translate at first entry. */
  mode: 'on' | 'force';
  /** Entries before translation in 'on' mode (default 32). */
  threshold?: number;
  /** Most regions kept (default 8192). */
  maxRegions?: number;
}

export interface JitStats {
  regions: number;
  translated: number;
  /** Entries whose first instruction cannot be translated. */
  refused: number;
  evictedPages: number;
  invalidatedPages: number;
  entries: number;
}

const SLOTS = 2048;
const NOT_TRANSLATABLE = null;

class JitPage {
  /** Entry counters per 2-byte slot. */
  readonly counts = new Uint16Array(SLOTS);
  /** Translations per slot: undefined = none yet, null = the entry cannot be translated. */
  readonly fns: (RegionFn | null | undefined)[] = new Array<RegionFn | null | undefined>(SLOTS);
  regions = 0;
  lastUse = 0;

  constructor(
    readonly ramPage: number,
    readonly decoded: Int32Array,
  ) {}
}

export class Jit {
  readonly threshold: number;
  readonly maxRegions: number;
  private readonly pages: (JitPage | undefined)[];
  private readonly live = new Set<JitPage>();
  private regions = 0;
  private tick = 0;
  private readonly statsCounts = {
    translated: 0,
    refused: 0,
    evictedPages: 0,
    invalidatedPages: 0,
    entries: 0,
  };

  constructor(
    private readonly mem: MachineMemory,
    code: CodeCache,
    opts: JitOptions,
  ) {
    this.threshold = opts.mode === 'force' ? 0 : Math.max(0, opts.threshold ?? 32);
    this.maxRegions = Math.max(1, opts.maxRegions ?? 8192);
    this.pages = new Array<JitPage | undefined>(code.ramPages);
    code.onInvalidatePage = (ramPage) => this.dropPage(ramPage, true);
  }

  /** Runs the translation for pc (see the module comment), or returns -1. */
  enter(h: Hart, ramPage: number, decoded: Int32Array, pcLo: number, budget: number): number {
    let jp = this.pages[ramPage];
    if (jp === undefined || jp.decoded !== decoded) {
      if (jp !== undefined) this.dropPage(ramPage, true);
      jp = new JitPage(ramPage, decoded);
      this.pages[ramPage] = jp;
      this.live.add(jp);
    }
    const slot = (pcLo & 4095) >>> 1;
    let fn = jp.fns[slot];
    if (fn === undefined) {
      const c = jp.counts[slot]!;
      if (c < this.threshold) {
        jp.counts[slot] = c + 1;
        return -1;
      }
      fn = this.translate(jp, pcLo & 4095);
      jp.fns[slot] = fn;
      if (fn === NOT_TRANSLATABLE) return -1;
    } else if (fn === NOT_TRANSLATABLE) return -1;
    jp.lastUse = ++this.tick;
    this.statsCounts.entries++;
    const base = h.base;
    return fn(base, budget, base + h.loadSet * 4, base + h.storeSet * 4);
  }

  private translate(jp: JitPage, off: number): RegionFn | null {
    const region = discoverRegion(jp.decoded, this.mem.u16, this.mem.ramOffset + jp.ramPage * 4096, off);
    if (region === undefined) {
      this.statsCounts.refused++;
      return NOT_TRANSLATABLE;
    }
    if (this.regions >= this.maxRegions) this.evict(jp);
    const fn = compileRegion(region, this.mem.memory);
    jp.regions++;
    this.regions++;
    this.statsCounts.translated++;
    return fn;
  }

  /** Drops least recently entered pages (never `keep`) until a quarter of the cache is free. */
  private evict(keep: JitPage): void {
    const target = Math.floor((this.maxRegions * 3) / 4);
    const order = [...this.live]
      .filter((p) => p !== keep && p.regions > 0)
      .sort((a, b) => a.lastUse - b.lastUse);
    for (const p of order) {
      if (this.regions <= target) break;
      this.dropPage(p.ramPage, false);
      this.statsCounts.evictedPages++;
    }
    if (this.regions >= this.maxRegions) {
      // Only `keep` is left holding regions: start it afresh too.
      keep.fns.fill(undefined);
      this.regions -= keep.regions;
      keep.regions = 0;
    }
  }

  private dropPage(ramPage: number, invalidated: boolean): void {
    const jp = this.pages[ramPage];
    if (jp === undefined) return;
    this.pages[ramPage] = undefined;
    this.live.delete(jp);
    this.regions -= jp.regions;
    if (invalidated && jp.regions > 0) this.statsCounts.invalidatedPages++;
  }

  /** Forgets every translation. */
  clear(): void {
    for (const jp of this.live) this.pages[jp.ramPage] = undefined;
    this.live.clear();
    this.regions = 0;
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
  for (const h of machine.harts) h.jit = jit;
  return jit;
}
