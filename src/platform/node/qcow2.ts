/**
 * A qcow2 disk image (version 2 or 3) as a block backend for virtio-blk (Node.js).
 *
 * `openQcow2(path, { readOnly })` returns an object of the `BlockFile` shape (block_file.ts):
 * `sizeBytes` is the virtual disk size, `read`/`write` take byte offsets inside it, `flush` is an
 * fsync of the image file, `close` closes it and its backing chain. Guest clusters are found
 * through the L1 and L2 tables; an unallocated cluster reads from the backing file (or as zeros
 * past its end or when there is none), a zero cluster (QCOW_OFLAG_ZERO) reads as zeros, and a
 * compressed cluster is inflated (zlib raw deflate). Writes go in place to clusters whose
 * refcount is exactly one (QCOW_OFLAG_COPIED); every other cluster is copied to a new cluster at
 * the end of the file first (from the backing file, the compressed data, a shared cluster, or
 * zeros) and the old one is released. Backing files (raw or qcow2, recursively) are opened
 * read-only and never written. Internal snapshots, lazy refcounts, encryption, external data
 * files, extended L2 entries and non-zlib compression are not supported: such images are refused
 * on open (snapshots only for read-write) with one `UserError` sentence naming the fix, and a
 * refused image is never written. Malformed metadata found later (a bad L2 entry) is a
 * `UserError` from `read`/`write`, which virtio-blk turns into VIRTIO_BLK_S_IOERR.
 *
 * Crash ordering for a write that allocates (each step is fsync'ed before the next starts):
 *   1. the data of every new cluster is written to its new place at the end of the file;
 *   2. refcounts of the new data clusters and new L2 tables are set (new refcount blocks and a
 *      grown refcount table have their own ordering, see qcow2_refcount.ts);
 *   3. L2 entries are pointed at the new clusters (new L2 tables are written whole);
 *   4. L1 entries are pointed at new L2 tables;
 *   5. only then (after a flush) are the refcounts of replaced clusters decremented.
 * A crash between any two steps leaves at worst clusters whose refcount is higher than their
 * references (leaks, which `qemu-img check -r leaks` reclaims), never a reference to a cluster
 * whose refcount is 0. In-place writes touch only data. We never set the dirty bit (no lazy
 * refcounts); a read-write open clears autoclear_features, as the spec asks of writers that do
 * not maintain those features (bitmaps).
 */
import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { constants as zlibConstants, inflateRawSync } from 'node:zlib';
import { UserError, isErrnoError } from '../../common/errors.ts';
import { type BlockFile, openBlockFile } from './block_file.ts';
import { ImageFile } from './qcow2_file.ts';
import { HDR_AUTOCLEAR_FEATURES, QCOW_MAGIC, type Qcow2Header, parseQcow2Header } from './qcow2_format.ts';
import { RefcountTable, checkCluster } from './qcow2_refcount.ts';

const QCOW_OFLAG_COPIED_HI = 0x80000000;
const QCOW_OFLAG_COMPRESSED_HI = 0x40000000;
const QCOW_OFLAG_ZERO_LO = 1;
/** Bits 32..55 of a standard offset, in the high word. */
const OFFSET_HI_MASK = 0x00ffffff;
const TWO_32 = 0x1_0000_0000;
const L2_CACHE_TABLES = 64;

/** `lock: false`: the caller holds the image lock. */
export function openQcow2(path: string, opts: { readOnly: boolean; lock?: boolean }): BlockFile {
  return openImage(path, opts.readOnly, [], opts.lock ?? true);
}

/** `chain` holds the real paths of the images that have this one as their backing file. */
function openImage(path: string, readOnly: boolean, chain: readonly string[], lock = true): Qcow2Image {
  const file = new ImageFile(path, readOnly, lock);
  let backing: BlockFile | null = null;
  try {
    const first = new Uint8Array(Math.min(file.sizeBytes, 512));
    file.read(0, first);
    const fv = new DataView(first.buffer);
    const bits = first.length >= 24 && fv.getUint32(0) === QCOW_MAGIC ? fv.getUint32(20) : 0;
    const head = bits >= 9 && bits <= 21 ? new Uint8Array(Math.min(file.sizeBytes, 2 ** bits)) : first;
    if (head !== first) file.read(0, head);
    const header = parseQcow2Header(path, head, file.sizeBytes);
    if (!readOnly && header.nbSnapshots > 0) {
      throw new UserError(
        `disk image ${path} has ${header.nbSnapshots} internal snapshots, which Domus cannot write; ` +
          `attach it with ,ro or delete them with qemu-img snapshot -d`,
      );
    }
    const image = new Qcow2Image(file, header);
    if (header.backingFile !== null) {
      backing = openBacking(path, header, [...chain, realpathSync(path)]);
      image.backing = backing;
    }
    if (!readOnly && header.autoclearSet) {
      file.write(HDR_AUTOCLEAR_FEATURES, new Uint8Array(8));
      file.flush();
    }
    return image;
  } catch (e) {
    backing?.close();
    file.close();
    throw e;
  }
}

function openBacking(path: string, header: Qcow2Header, chain: readonly string[]): BlockFile {
  const name = header.backingFile ?? '';
  const backingPath = isAbsolute(name) ? name : resolve(dirname(path), name);
  let real: string;
  try {
    real = realpathSync(backingPath);
  } catch (e) {
    if (isErrnoError(e) && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) {
      throw new UserError(
        `disk image ${path} has backing file ${name} (${backingPath}), which does not exist; ` +
          `restore it or rebase with qemu-img rebase -u -F FORMAT -b NEW ${path}`,
      );
    }
    throw e;
  }
  if (chain.includes(real)) {
    throw new UserError(
      `disk image ${path} has backing file ${backingPath}, which forms a loop in its backing chain; ` +
        `rebase it with qemu-img rebase -u -F FORMAT -b NEW ${path}`,
    );
  }
  let format = header.backingFormat;
  if (format === null) {
    const probe = new ImageFile(backingPath, true);
    const magic = new Uint8Array(4);
    probe.read(0, magic);
    probe.close();
    format = new DataView(magic.buffer).getUint32(0) === QCOW_MAGIC ? 'qcow2' : 'raw';
  }
  if (format === 'qcow2') return openImage(backingPath, true, chain);
  if (format === 'raw') return openBlockFile(backingPath, { readOnly: true });
  throw new UserError(
    `disk image ${path} has backing file ${backingPath} in format ${format}, which Domus cannot read; ` +
      `convert the backing file to raw or qcow2 and rebase with qemu-img rebase`,
  );
}

/** One guest cluster that a write moves to a new host cluster (or fills in place). */
interface Allocation {
  guestCluster: number;
  /** Host offset of its new (or, for a preallocated zero cluster, existing) place. */
  host: number;
  fresh: boolean;
  data: Uint8Array;
  release: { offset: number; bytes: number } | null;
}

class Qcow2Image implements BlockFile {
  readonly sizeBytes: number;
  readonly readOnly: boolean;
  backing: BlockFile | null = null;
  private readonly file: ImageFile;
  private readonly path: string;
  private readonly version: number;
  private readonly clusterBytes: number;
  private readonly l2Entries: number;
  private readonly l1Offset: number;
  private readonly l1: DataView;
  private readonly refcounts: RefcountTable;
  private readonly l2Cache = new Map<number, DataView>();
  /** Compressed-cluster field layout for this cluster size (x = 62 - (cluster_bits - 8)). */
  private readonly csizeShiftHi: number;
  private readonly coffsetHiMask: number;
  private lastInflated: { hi: number; lo: number; data: Uint8Array } | null = null;
  private open = true;

  get fds(): readonly number[] {
    return [this.file.descriptor, ...(this.backing?.fds ?? [])];
  }

  constructor(file: ImageFile, h: Qcow2Header) {
    this.file = file;
    this.path = file.path;
    this.readOnly = file.readOnly;
    this.sizeBytes = h.sizeBytes;
    this.version = h.version;
    this.clusterBytes = h.clusterBytes;
    this.l2Entries = h.clusterBytes / 8;
    this.csizeShiftHi = 62 - (h.clusterBits - 8) - 32;
    this.coffsetHiMask = 2 ** this.csizeShiftHi - 1;
    this.l1Offset = h.l1TableOffset;
    const l1 = new Uint8Array(h.l1Size * 8);
    file.read(h.l1TableOffset, l1);
    this.l1 = new DataView(l1.buffer);
    for (let i = 0; i < h.l1Size; i++) {
      const l2 = this.l2Offset(i);
      if (l2 !== 0) checkCluster(file, `an L2 table (L1 entry ${i})`, l2, h.clusterBytes);
    }
    this.refcounts = new RefcountTable(
      file,
      h.clusterBits,
      h.refcountOrder,
      h.refcountTableOffset,
      h.refcountTableClusters,
    );
  }

  read(offset: number, dst: Uint8Array): void {
    this.checkRange(offset, dst.length);
    const cb = this.clusterBytes;
    // Host-contiguous standard clusters are read with one call: [runHost, runHost + runBytes) → dst[runDst..].
    let runHost = -1;
    let runDst = 0;
    let runBytes = 0;
    for (let done = 0; done < dst.length;) {
      const pos = offset + done;
      const g = Math.floor(pos / cb);
      const inCluster = pos - g * cb;
      const n = Math.min(cb - inCluster, dst.length - done);
      const out = dst.subarray(done, done + n);
      const table = this.l2TableFor(g);
      const i = (g % this.l2Entries) * 8;
      const hi = table === null ? 0 : table.getUint32(i);
      const lo = table === null ? 0 : table.getUint32(i + 4);
      const host = (hi & OFFSET_HI_MASK) * TWO_32 + ((lo & ~0x1ff) >>> 0);
      const plain = (hi & QCOW_OFLAG_COMPRESSED_HI) === 0 && host !== 0 && !this.isZero(lo);
      if (plain && runHost >= 0 && runHost + runBytes === host + inCluster) {
        runBytes += n;
      } else {
        if (runHost >= 0) this.file.read(runHost, dst.subarray(runDst, runDst + runBytes));
        runHost = -1;
        if (plain) {
          runHost = host + inCluster;
          runDst = done;
          runBytes = n;
        } else if ((hi & QCOW_OFLAG_COMPRESSED_HI) !== 0) {
          out.set(this.inflate(hi, lo).subarray(inCluster, inCluster + n));
        } else if (this.isZero(lo)) {
          out.fill(0);
        } else {
          this.readBacking(pos, out);
        }
      }
      done += n;
    }
    if (runHost >= 0) this.file.read(runHost, dst.subarray(runDst, runDst + runBytes));
  }

  write(offset: number, src: Uint8Array): void {
    this.checkRange(offset, src.length);
    if (this.readOnly) throw new Error(`disk image ${this.path} is attached read-only`);
    const cb = this.clusterBytes;
    const allocations: Allocation[] = [];
    for (let done = 0; done < src.length;) {
      const pos = offset + done;
      const g = Math.floor(pos / cb);
      const inCluster = pos - g * cb;
      const n = Math.min(cb - inCluster, src.length - done);
      const piece = src.subarray(done, done + n);
      done += n;
      const table = this.l2TableFor(g);
      const i = (g % this.l2Entries) * 8;
      const hi = table === null ? 0 : table.getUint32(i);
      const lo = table === null ? 0 : table.getUint32(i + 4);
      const compressed = (hi & QCOW_OFLAG_COMPRESSED_HI) !== 0;
      const copied = (hi & QCOW_OFLAG_COPIED_HI) !== 0;
      const zero = this.isZero(lo);
      const host = compressed ? 0 : (hi & OFFSET_HI_MASK) * TWO_32 + ((lo & ~0x1ff) >>> 0);
      if (host !== 0 && copied && !zero) {
        this.file.write(host + inCluster, piece);
        continue;
      }
      let data = piece;
      if (n !== cb) {
        data = new Uint8Array(cb);
        if (compressed) data.set(this.inflate(hi, lo));
        else if (host !== 0 && !zero) this.file.read(host, data);
        else if (!zero) this.readBacking(g * cb, data);
        data.set(piece, inCluster);
      }
      if (host !== 0 && copied) {
        // A preallocated zero cluster that is ours alone: fill it in place, then clear the flag.
        allocations.push({ guestCluster: g, host, fresh: false, data, release: null });
        continue;
      }
      const release = compressed
        ? this.compressedExtent(hi, lo)
        : host !== 0
          ? { offset: host, bytes: cb }
          : null;
      allocations.push({ guestCluster: g, host: -1, fresh: true, data, release });
    }
    if (allocations.length > 0) this.commitAllocations(allocations);
  }

  flush(): void {
    if (!this.open) throw new Error(`disk image ${this.path} is closed`);
    this.file.flush();
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.file.close();
    this.backing?.close();
  }

  /** Steps 1-5 of the module comment for the clusters one write request moves. */
  private commitAllocations(allocations: Allocation[]): void {
    const cb = this.clusterBytes;
    const claimed: number[] = [];
    const newTables = new Map<number, { host: number; table: DataView }>();
    // Data clusters first, so that a request's new clusters are contiguous; then new L2 tables.
    for (const a of allocations) {
      if (!a.fresh) continue;
      const c = this.refcounts.claim();
      claimed.push(c);
      a.host = c * cb;
    }
    for (const a of allocations) {
      const l1Index = Math.floor(a.guestCluster / this.l2Entries);
      if (this.l2Offset(l1Index) !== 0) {
        this.checkL2Owned(l1Index);
      } else if (!newTables.has(l1Index)) {
        const c = this.refcounts.claim();
        claimed.push(c);
        newTables.set(l1Index, { host: c * cb, table: new DataView(new ArrayBuffer(cb)) });
      }
    }
    // 1. data
    for (let i = 0; i < allocations.length;) {
      // Clusters claimed one after another are usually contiguous: one write for the run.
      const start = allocations[i]?.host ?? 0;
      const parts: Uint8Array[] = [];
      for (let a = allocations[i]; a && a.host === start + parts.length * cb; a = allocations[++i])
        parts.push(a.data);
      this.file.writeParts(start, parts);
    }
    this.file.flush();
    // 2. refcounts
    if (claimed.length > 0) {
      this.refcounts.commit(claimed);
      this.file.flush();
    }
    // 3. L2 entries, one write per table for the range of entries that changed
    const touched = new Map<number, { table: DataView; first: number; end: number }>();
    for (const a of allocations) {
      const l1Index = Math.floor(a.guestCluster / this.l2Entries);
      const at = (a.guestCluster % this.l2Entries) * 8;
      const fresh = newTables.get(l1Index);
      let table: DataView;
      if (fresh) {
        table = fresh.table;
      } else {
        const l2 = this.l2Offset(l1Index);
        let t = touched.get(l2);
        if (!t) {
          t = { table: this.l2Table(l2), first: at, end: at + 8 };
          touched.set(l2, t);
        }
        t.first = Math.min(t.first, at);
        t.end = Math.max(t.end, at + 8);
        table = t.table;
      }
      table.setUint32(at, QCOW_OFLAG_COPIED_HI | Math.floor(a.host / TWO_32));
      table.setUint32(at + 4, a.host >>> 0);
    }
    for (const [l2, { table, first, end }] of touched) {
      this.file.write(l2 + first, new Uint8Array(table.buffer, first, end - first));
    }
    for (const { host, table } of newTables.values()) {
      this.file.write(host, new Uint8Array(table.buffer));
      this.cacheL2(host, table);
    }
    this.file.flush();
    // 4. L1 entries
    for (const [l1Index, { host }] of newTables) {
      this.l1.setUint32(l1Index * 8, QCOW_OFLAG_COPIED_HI | Math.floor(host / TWO_32));
      this.l1.setUint32(l1Index * 8 + 4, host >>> 0);
      this.file.write(this.l1Offset + l1Index * 8, new Uint8Array(this.l1.buffer, l1Index * 8, 8));
    }
    // 5. releases, once nothing durable points at the old clusters
    const releases = allocations.filter((a) => a.release !== null);
    if (releases.length > 0) {
      this.file.flush();
      for (const a of releases) if (a.release) this.refcounts.release(a.release.offset, a.release.bytes);
      this.lastInflated = null;
    }
  }

  /** An L2 table we update in place must not be shared with a snapshot. */
  private checkL2Owned(l1Index: number): void {
    if ((this.l1.getUint32(l1Index * 8) & QCOW_OFLAG_COPIED_HI) !== 0) return;
    const l2 = this.l2Offset(l1Index);
    if (this.refcounts.get(l2 / this.clusterBytes) === 1) return;
    throw new UserError(
      `disk image ${this.path} has an L2 table at offset ${l2} shared with another table, which Domus ` +
        `cannot write; run qemu-img check -r all ${this.path}`,
    );
  }

  private isZero(lo: number): boolean {
    return this.version >= 3 && (lo & QCOW_OFLAG_ZERO_LO) !== 0;
  }

  private l2Offset(l1Index: number): number {
    const hi = this.l1.getUint32(l1Index * 8);
    const lo = this.l1.getUint32(l1Index * 8 + 4);
    return (hi & OFFSET_HI_MASK) * TWO_32 + ((lo & ~0x1ff) >>> 0);
  }

  /** The L2 table that maps guest cluster `g`, or null if its L1 entry is unallocated. */
  private l2TableFor(g: number): DataView | null {
    const l2 = this.l2Offset(Math.floor(g / this.l2Entries));
    return l2 === 0 ? null : this.l2Table(l2);
  }

  private l2Table(offset: number): DataView {
    const cached = this.l2Cache.get(offset);
    if (cached) {
      this.l2Cache.delete(offset);
      this.l2Cache.set(offset, cached);
      return cached;
    }
    const raw = new Uint8Array(this.clusterBytes);
    this.file.read(offset, raw);
    const table = new DataView(raw.buffer);
    this.validateL2(offset, table);
    this.cacheL2(offset, table);
    return table;
  }

  private cacheL2(offset: number, table: DataView): void {
    this.l2Cache.set(offset, table);
    while (this.l2Cache.size > L2_CACHE_TABLES) {
      const oldest = this.l2Cache.keys().next().value;
      if (oldest === undefined) break;
      this.l2Cache.delete(oldest);
    }
  }

  /** Every entry of a table read from disk must point inside the file, aligned as the spec says. */
  private validateL2(offset: number, table: DataView): void {
    for (let i = 0; i < this.l2Entries; i++) {
      const hi = table.getUint32(i * 8);
      const lo = table.getUint32(i * 8 + 4);
      let host: number;
      let aligned = true;
      if ((hi & QCOW_OFLAG_COMPRESSED_HI) !== 0) {
        host = (hi & this.coffsetHiMask) * TWO_32 + lo;
      } else {
        host = (hi & OFFSET_HI_MASK) * TWO_32 + ((lo & ~0x1ff) >>> 0);
        aligned = host % this.clusterBytes === 0;
        if (host === 0) continue;
      }
      if (aligned && host < this.file.sizeBytes) continue;
      throw new UserError(
        `disk image ${this.path} has an L2 table at offset ${offset} whose entry ${i} points to host offset ` +
          `${host}, ${aligned ? `past the end of the file (${this.file.sizeBytes} bytes)` : 'which is not cluster-aligned'}` +
          `; the image is corrupt, restore it from a copy`,
      );
    }
  }

  /** Host bytes [offset, offset + bytes) that hold a compressed cluster (refcounted per cluster). */
  private compressedExtent(hi: number, lo: number): { offset: number; bytes: number } {
    const offset = (hi & this.coffsetHiMask) * TWO_32 + lo;
    const sectors = ((hi & 0x3fffffff) >>> this.csizeShiftHi) + 1;
    return { offset, bytes: sectors * 512 - (offset % 512) };
  }

  private inflate(hi: number, lo: number): Uint8Array {
    const last = this.lastInflated;
    if (last && last.hi === hi && last.lo === lo) return last.data;
    const { offset, bytes } = this.compressedExtent(hi, lo);
    const packed = new Uint8Array(bytes);
    this.file.read(offset, packed);
    let data: Uint8Array;
    try {
      data = inflateRawSync(packed, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    } catch {
      data = new Uint8Array(0);
    }
    if (data.length < this.clusterBytes) {
      throw new UserError(
        `disk image ${this.path} has a compressed cluster at host offset ${offset} that does not inflate to ` +
          `${this.clusterBytes} bytes; the image is corrupt, restore it from a copy`,
      );
    }
    data = data.subarray(0, this.clusterBytes);
    this.lastInflated = { hi, lo, data };
    return data;
  }

  /** Unallocated guest bytes: the backing file's, or zeros past its end or without one. */
  private readBacking(pos: number, dst: Uint8Array): void {
    const b = this.backing;
    const have = b === null ? 0 : Math.max(0, Math.min(dst.length, b.sizeBytes - pos));
    if (b !== null && have > 0) b.read(pos, dst.subarray(0, have));
    dst.fill(0, have);
  }

  private checkRange(offset: number, n: number): void {
    if (!this.open) throw new Error(`disk image ${this.path} is closed`);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + n > this.sizeBytes) {
      throw new RangeError(
        `disk image ${this.path}: ${n} bytes at ${offset} are outside its ${this.sizeBytes} bytes`,
      );
    }
  }
}
