/**
 * qcow2 host cluster management: the refcount table, refcount blocks, and allocation of new
 * clusters at the end of the file.
 *
 * Contract: `claim*` hands out cluster numbers at or after the end of the file whose refcount is
 * 0, without writing anything (the caller writes its data there first). `commit` then gives each
 * claimed cluster refcount 1, creating refcount blocks and growing the refcount table as needed;
 * when it returns, those refcounts are written but not yet flushed. `release` decrements the
 * refcounts of clusters that are no longer referenced (the caller must have flushed the metadata
 * that stopped referencing them). Refcount widths 1 to 64 bits (refcount_order 0..6) are handled.
 *
 * Ordering (every step is followed by an fsync before the next one that depends on it), so that
 * a crash leaves at worst a leak, never a referenced cluster with refcount 0:
 *  - a new refcount block is written (with its own refcount if it covers itself) and flushed
 *    before the refcount table entry that points to it; a block that does not cover itself gets
 *    its refcount in its covering block first;
 *  - a grown refcount table is written, with all new blocks and the refcounts of the new table's
 *    clusters, and flushed before the header is switched to it; the old table is freed after the
 *    header switch is flushed.
 */
import { UserError } from '../../common/errors.ts';
import { ImageFile } from './qcow2_file.ts';
import { HDR_REFCOUNT_TABLE_OFFSET, MAX_REFTABLE_BYTES, readU64, writeU64 } from './qcow2_format.ts';

/** Refcount blocks kept in memory; each is one cluster. */
const BLOCK_CACHE_ENTRIES = 64;

export class RefcountTable {
  private readonly file: ImageFile;
  private readonly clusterBytes: number;
  private readonly refcountBits: number;
  /** Refcount entries per refcount block. */
  private readonly blockEntries: number;
  private tableOffset: number;
  /** Host offsets of refcount blocks, 0 where none is allocated. */
  private table: Float64Array;
  private readonly blocks = new Map<number, Uint8Array>();
  /** Blocks changed by `commit` and not yet written; they take precedence over the cache. */
  private readonly dirty = new Map<number, { block: Uint8Array; start: number; end: number }>();
  /** The first cluster number that `claim` may hand out. */
  private nextFree: number;

  constructor(
    file: ImageFile,
    clusterBits: number,
    refcountOrder: number,
    tableOffset: number,
    tableClusters: number,
  ) {
    this.file = file;
    this.clusterBytes = 2 ** clusterBits;
    this.refcountBits = 2 ** refcountOrder;
    this.blockEntries = (this.clusterBytes * 8) / this.refcountBits;
    this.tableOffset = tableOffset;
    const raw = new Uint8Array(tableClusters * this.clusterBytes);
    file.read(tableOffset, raw);
    const v = new DataView(raw.buffer);
    this.table = new Float64Array(raw.length / 8);
    for (let i = 0; i < this.table.length; i++) {
      const offset = readU64(v, i * 8);
      if (offset !== 0) checkCluster(file, 'a refcount block', offset, this.clusterBytes);
      this.table[i] = offset;
    }
    this.nextFree = Math.ceil(file.sizeBytes / this.clusterBytes);
  }

  get(cluster: number): number {
    const index = Math.floor(cluster / this.blockEntries);
    const blockOffset = index < this.table.length ? (this.table[index] ?? 0) : 0;
    if (blockOffset === 0) return 0;
    return this.getEntry(this.block(blockOffset), cluster % this.blockEntries);
  }

  /** One cluster at or after the end of the file with refcount 0. */
  claim(): number {
    while (this.get(this.nextFree) !== 0) this.nextFree++;
    return this.nextFree++;
  }

  /** `n` contiguous clusters with refcount 0; returns the first. */
  claimRun(n: number): number {
    for (;;) {
      let i = 0;
      while (i < n && this.get(this.nextFree + i) === 0) i++;
      if (i === n) {
        const first = this.nextFree;
        this.nextFree += n;
        return first;
      }
      this.nextFree += i + 1;
    }
  }

  /** Gives each claimed cluster refcount 1 (written, one write per refcount block, not flushed). */
  commit(clusters: readonly number[]): void {
    for (const c of clusters) {
      this.ensureBlock(c);
      const blockOffset = this.table[Math.floor(c / this.blockEntries)] ?? 0;
      let d = this.dirty.get(blockOffset);
      if (!d) {
        d = { block: this.block(blockOffset), start: Infinity, end: 0 };
        this.dirty.set(blockOffset, d);
      }
      const at = this.setEntry(d.block, c % this.blockEntries, 1);
      d.start = Math.min(d.start, at.start);
      d.end = Math.max(d.end, at.end);
    }
    for (const [offset, { block, start, end }] of this.dirty)
      this.file.write(offset + start, block.subarray(start, end));
    this.dirty.clear();
  }

  /** Decrements the refcount of every cluster that overlaps [offset, offset + bytes). */
  release(offset: number, bytes: number): void {
    const first = Math.floor(offset / this.clusterBytes);
    const last = Math.floor((offset + bytes - 1) / this.clusterBytes);
    for (let c = first; c <= last; c++) {
      const n = this.get(c);
      if (n === 0) {
        throw new UserError(
          `disk image ${this.file.path} frees host cluster ${c} whose refcount is already 0; ` +
            `the image is corrupt, run qemu-img check -r all ${this.file.path}`,
        );
      }
      this.set(c, n - 1);
    }
  }

  private set(cluster: number, value: number): void {
    const index = Math.floor(cluster / this.blockEntries);
    const blockOffset = this.table[index] ?? 0;
    if (blockOffset === 0) throw new Error(`qcow2: no refcount block for cluster ${cluster}`);
    const block = this.block(blockOffset);
    const at = this.setEntry(block, cluster % this.blockEntries, value);
    this.file.write(blockOffset + at.start, block.subarray(at.start, at.end));
  }

  /** Makes sure a refcount block covers `cluster`, allocating one (and growing the table) if not. */
  private ensureBlock(cluster: number): void {
    const index = Math.floor(cluster / this.blockEntries);
    if (index >= this.table.length) this.grow(index);
    if ((this.table[index] ?? 0) !== 0) return;
    const b = this.claim();
    const block = new Uint8Array(this.clusterBytes);
    if (Math.floor(b / this.blockEntries) === index) {
      this.setEntry(block, b % this.blockEntries, 1);
    } else {
      // Its refcount lives in another block: make that one durable before pointing at this one.
      this.ensureBlock(b);
      this.set(b, 1);
    }
    const offset = b * this.clusterBytes;
    this.file.write(offset, block);
    this.blocks.set(offset, block);
    this.trimCache();
    this.file.flush();
    this.table[index] = offset;
    this.writeTableEntry(this.tableOffset, index, offset);
    this.file.flush();
  }

  /** Moves the refcount table to a larger one at the end of the file that has entry `index`. */
  private grow(index: number): void {
    let entries = Math.max(index + 1, this.table.length * 2);
    for (;;) {
      const plan = this.planGrowth(entries);
      if (plan) return this.applyGrowth(plan);
      entries *= 2;
    }
  }

  private planGrowth(entries: number): GrowthPlan | null {
    const entriesPerCluster = this.clusterBytes / 8;
    const tableClusters = Math.ceil(entries / entriesPerCluster);
    if (tableClusters * this.clusterBytes > MAX_REFTABLE_BYTES) {
      throw new UserError(
        `disk image ${this.file.path} would need a refcount table larger than ${MAX_REFTABLE_BYTES} bytes; ` +
          `convert it with qemu-img convert -O qcow2 -o cluster_size=2M to a larger cluster size`,
      );
    }
    const saved = this.nextFree;
    const table = new Float64Array(tableClusters * entriesPerCluster);
    table.set(this.table);
    const tableStart = this.claimRun(tableClusters);
    const pending: number[] = [];
    for (let i = 0; i < tableClusters; i++) pending.push(tableStart + i);
    const newBlocks = new Map<number, Uint8Array>();
    const oldRefs: number[] = [];
    for (let k = 0; k < pending.length; k++) {
      const c = pending[k] ?? 0;
      const i = Math.floor(c / this.blockEntries);
      if (i >= table.length) {
        this.nextFree = saved;
        return null;
      }
      if (table[i] === 0) {
        const b = this.claim();
        table[i] = b * this.clusterBytes;
        newBlocks.set(i, new Uint8Array(this.clusterBytes));
        pending.push(b);
      }
      const fresh = newBlocks.get(i);
      if (fresh) this.setEntry(fresh, c % this.blockEntries, 1);
      else oldRefs.push(c);
    }
    return { tableStart, tableClusters, table, newBlocks, oldRefs };
  }

  private applyGrowth(plan: GrowthPlan): void {
    const cb = this.clusterBytes;
    for (const c of plan.oldRefs) this.set(c, 1);
    for (const [i, block] of plan.newBlocks) {
      const offset = plan.table[i] ?? 0;
      this.file.write(offset, block);
      this.blocks.set(offset, block);
    }
    const raw = new Uint8Array(plan.tableClusters * cb);
    const v = new DataView(raw.buffer);
    for (let i = 0; i < plan.table.length; i++) writeU64(v, i * 8, plan.table[i] ?? 0);
    const newOffset = plan.tableStart * cb;
    this.file.write(newOffset, raw);
    this.file.flush();

    const hdr = new Uint8Array(12);
    const hv = new DataView(hdr.buffer);
    writeU64(hv, 0, newOffset);
    hv.setUint32(8, plan.tableClusters);
    this.file.write(HDR_REFCOUNT_TABLE_OFFSET, hdr);
    this.file.flush();

    const oldOffset = this.tableOffset;
    const oldBytes = this.table.length * 8;
    this.tableOffset = newOffset;
    this.table = plan.table;
    this.trimCache();
    this.release(oldOffset, oldBytes);
  }

  private writeTableEntry(tableOffset: number, index: number, value: number): void {
    const e = new Uint8Array(8);
    writeU64(new DataView(e.buffer), 0, value);
    this.file.write(tableOffset + index * 8, e);
  }

  private block(offset: number): Uint8Array {
    const pinned = this.dirty.get(offset);
    if (pinned) return pinned.block;
    let b = this.blocks.get(offset);
    if (b) {
      this.blocks.delete(offset); // most recently used goes last
      this.blocks.set(offset, b);
      return b;
    }
    b = new Uint8Array(this.clusterBytes);
    this.file.read(offset, b);
    this.blocks.set(offset, b);
    this.trimCache();
    return b;
  }

  private trimCache(): void {
    while (this.blocks.size > BLOCK_CACHE_ENTRIES) {
      const oldest = this.blocks.keys().next().value;
      if (oldest === undefined) break;
      this.blocks.delete(oldest);
    }
  }

  private getEntry(block: Uint8Array, i: number): number {
    const bits = this.refcountBits;
    if (bits < 8) {
      const perByte = 8 / bits;
      const shift = (i % perByte) * bits;
      return ((block[Math.floor(i / perByte)] ?? 0) >>> shift) & ((1 << bits) - 1);
    }
    const bytes = bits / 8;
    let n = 0;
    for (let k = 0; k < bytes; k++) n = n * 256 + (block[i * bytes + k] ?? 0);
    return n; // a 64-bit count above 2^53 loses precision, which only matters for equality with 0/1
  }

  /** Stores `value` and returns the byte range of the block that changed. */
  private setEntry(block: Uint8Array, i: number, value: number): { start: number; end: number } {
    const bits = this.refcountBits;
    if (value >= 2 ** Math.min(bits, 53)) {
      throw new UserError(
        `disk image ${this.file.path} needs a refcount above its ${bits}-bit limit; ` +
          `raise it with qemu-img amend -o refcount_bits=16 ${this.file.path}`,
      );
    }
    if (bits < 8) {
      const perByte = 8 / bits;
      const shift = (i % perByte) * bits;
      const at = Math.floor(i / perByte);
      const mask = ((1 << bits) - 1) << shift;
      block[at] = ((block[at] ?? 0) & ~mask) | (value << shift);
      return { start: at, end: at + 1 };
    }
    const bytes = bits / 8;
    let n = value;
    for (let k = bytes - 1; k >= 0; k--) {
      block[i * bytes + k] = n % 256;
      n = Math.floor(n / 256);
    }
    return { start: i * bytes, end: (i + 1) * bytes };
  }
}

interface GrowthPlan {
  tableStart: number;
  tableClusters: number;
  table: Float64Array;
  newBlocks: Map<number, Uint8Array>;
  /** Clusters of the new table and blocks that fall in ranges of existing blocks. */
  oldRefs: number[];
}

/** A pointer to a metadata cluster must be cluster-aligned and inside the file. */
export function checkCluster(file: ImageFile, what: string, offset: number, clusterBytes: number) {
  if (offset < 0 || offset % clusterBytes !== 0) {
    throw new UserError(
      `disk image ${file.path} has ${what} at offset ${offset < 0 ? '2^53 or more' : offset}, ` +
        `which is not cluster-aligned; the image is corrupt, restore it from a copy`,
    );
  }
  if (offset >= file.sizeBytes) {
    throw new UserError(
      `disk image ${file.path} has ${what} at offset ${offset}, past the end of the file ` +
        `(${file.sizeBytes} bytes); the image is corrupt, restore it from a copy`,
    );
  }
}
