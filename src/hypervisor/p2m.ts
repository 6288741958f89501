/**
 * A domain's P2M: the map from its guest frames (GFNs) to machine frames (MFNs), kept as a real
 * G-stage page table (Sv39x4) in hypervisor-owned machine frames — what the domain's vCPUs'
 * `hgatp` points at, so that the MMU's ordinary two-stage walk enforces isolation: a guest can
 * only reach frames its P2M maps. A flat mirror (`mfnOf`) answers lookups for the hypervisor's
 * own accesses to guest memory without walking the table.
 *
 * Leaves are 4 KiB, user (the G-stage checks every access as U-mode), with A and D set so the
 * hardware never needs to write them. Changing a mapping requires flushing the combined soft
 * TLBs of the domain's vCPUs (the caller's job: it knows which vCPUs exist).
 */
import type { FrameAllocator, Mfn } from './frames.ts';

export type Gfn = number & { readonly __brand: 'Gfn' };

export const enum P2mPerm {
  R = 2,
  W = 4,
  X = 8,
  RWX = 14,
}

const PTE_V = 1;
const PTE_U = 16;
const PTE_A = 64;
const PTE_D = 128;
const TWO22 = 4194304;

export class P2m {
  /** Root table: 4 frames, 16 KiB aligned (Sv39x4). */
  readonly root: Mfn;
  /** Every frame this P2M allocated for its own tables (freed on destroy). */
  private readonly tableFrames: Mfn[] = [];
  /** gfn → mfn, for gfns in [baseGfn, baseGfn + mirror.length); -1 = unmapped. */
  private readonly mirror: Int32Array;
  /**
   * Called after a mapping that existed was changed or removed, so that whoever caches
   * translations through this P2M (the vCPUs' TLBs and G-stage caches) forgets them.
   */
  onChange: (gfn: Gfn) => void = () => {};
  /** The leaf table leafSlot found last: gfn / 512 and its host offset. */
  private lastLeafKey = -1;
  private lastLeafTable = 0;

  constructor(
    private readonly frames: FrameAllocator,
    readonly baseGfn: number,
    spanFrames: number,
  ) {
    this.root = frames.allocContiguous(4, 4);
    for (let i = 0; i < 4; i++) this.tableFrames.push((this.root + i) as Mfn);
    this.mirror = new Int32Array(spanFrames).fill(-1);
  }

  /** The hgatp value (MODE = Sv39x4, VMID 0) as lo/hi halves. */
  hgatp(): { lo: number; hi: number } {
    const ppn = this.frames.paOf(this.root) / 4096;
    return { lo: ppn >>> 0, hi: (8 << 28) | Math.floor(ppn / 4294967296) };
  }

  mfnOf(gfn: number): Mfn | -1 {
    const i = gfn - this.baseGfn;
    if (i < 0 || i >= this.mirror.length) return -1;
    return this.mirror[i]! as Mfn | -1;
  }

  /** Maps gfn → mfn with `perm`. */
  map(gfn: Gfn, mfn: Mfn, perm: P2mPerm = P2mPerm.RWX): void {
    const i = gfn - this.baseGfn;
    if (i < 0 || i >= this.mirror.length)
      throw new RangeError(`gfn 0x${gfn.toString(16)} is outside this P2M's span`);
    this.writeLeaf(this.leafSlot(gfn, true) >>> 2, mfn, perm);
    const old = this.mirror[i]!;
    this.mirror[i] = mfn;
    if (old !== -1) this.onChange(gfn);
  }

  /**
   * Maps gfn0 + i → mfns[i] (RWX) for every i: a domain's RAM at creation, a leaf table at a
   * time. Throws like map; the mappings made before that stay.
   */
  mapMany(gfn0: Gfn, mfns: Int32Array): void {
    const n = mfns.length;
    if (gfn0 < this.baseGfn || gfn0 - this.baseGfn + n > this.mirror.length)
      throw new RangeError(`gfns 0x${gfn0.toString(16)}+${n} are outside this P2M's span`);
    const changed: Gfn[] = [];
    for (let i = 0; i < n;) {
      const gfn = gfn0 + i;
      const slot = this.leafSlot(gfn, true) >>> 2;
      // The rest of this leaf table.
      const end = Math.min(n, i + 512 - (gfn & 511));
      for (let k = 0; i < end; i++, k += 2) {
        const mfn = mfns[i]! as Mfn;
        this.writeLeaf(slot + k, mfn, P2mPerm.RWX);
        const m = gfn0 - this.baseGfn + i;
        if (this.mirror[m] !== -1) changed.push((gfn0 + i) as Gfn);
        this.mirror[m] = mfn;
      }
    }
    for (const gfn of changed) this.onChange(gfn);
  }

  /** Writes the leaf PTE at int32 index `at`: mfn with `perm`, U, A and D (see the header). */
  private writeLeaf(at: number, mfn: Mfn, perm: P2mPerm): void {
    const ppn = this.frames.paOf(mfn) / 4096;
    const i32 = this.frames.mem.i32;
    i32[at] = ((ppn % TWO22) << 10) | perm | PTE_V | PTE_U | PTE_A | PTE_D | 0;
    i32[at + 1] = Math.floor(ppn / TWO22);
  }

  /**
   * Rewrites the permissions of gfn's existing leaf (log-dirty write protection) without telling
   * `onChange`: the caller flushes translation caches when it takes permissions away. False if
   * gfn is not mapped.
   */
  setPerm(gfn: number, perm: P2mPerm): boolean {
    if (this.mfnOf(gfn) < 0) return false;
    const slot = this.leafSlot(gfn, false);
    if (slot < 0) return false;
    const i32 = this.frames.mem.i32;
    i32[slot >>> 2] = (i32[slot >>> 2]! & ~P2mPerm.RWX) | perm;
    return true;
  }

  /** Removes a mapping (the frame itself is the caller's). */
  unmap(gfn: Gfn): void {
    const slot = this.leafSlot(gfn, false);
    if (slot >= 0) {
      this.frames.mem.i32[slot >>> 2] = 0;
      this.frames.mem.i32[(slot >>> 2) + 1] = 0;
    }
    const i = gfn - this.baseGfn;
    if (i >= 0 && i < this.mirror.length && this.mirror[i] !== -1) {
      this.mirror[i] = -1;
      this.onChange(gfn);
    }
  }

  /** Frees the page-table frames (not the mapped frames). */
  destroy(): void {
    for (const f of this.tableFrames) this.frames.freeFrame(f);
    this.tableFrames.length = 0;
    this.lastLeafKey = -1;
  }

  /** Host byte offset of gfn's leaf PTE, creating intermediate tables when `create`; -1 if absent. */
  private leafSlot(gfn: number, create: boolean): number {
    // Leaf tables are never freed before destroy(): the last one found serves its 512 gfns
    // (building a domain maps its RAM gfn after gfn).
    const leafKey = Math.floor(gfn / 512);
    if (leafKey === this.lastLeafKey) return this.lastLeafTable + (gfn & 511) * 8;
    const i32 = this.frames.mem.i32;
    // Sv39x4: VPN[2] = gfn bits 28:18 (11 bits), VPN[1] = 17:9, VPN[0] = 8:0.
    let table = this.frames.offsetOf(this.root);
    for (let level = 0; level < 2; level++) {
      const slot = table + (level === 0 ? Math.floor(gfn / 262144) & 0x7ff : leafKey & 511) * 8;
      const lo = i32[slot >>> 2]!;
      const hi = i32[(slot >>> 2) + 1]!;
      if (lo & PTE_V) {
        const ppn = (lo >>> 10) + (hi & 0x3fffff) * TWO22;
        table = this.frames.mem.ramOffset + (ppn * 4096 - this.frames.mem.ramBase);
        continue;
      }
      if (!create) return -1;
      const t = this.frames.alloc();
      this.tableFrames.push(t);
      const ppn = this.frames.paOf(t) / 4096;
      i32[slot >>> 2] = ((ppn % TWO22) << 10) | PTE_V | 0;
      i32[(slot >>> 2) + 1] = Math.floor(ppn / TWO22);
      table = this.frames.offsetOf(t);
    }
    this.lastLeafKey = leafKey;
    this.lastLeafTable = table;
    return table + (gfn & 511) * 8;
  }
}
