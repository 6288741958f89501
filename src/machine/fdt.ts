/**
 * A flattened device tree (DTB) writer, format version 17 (last compatible version 16), as
 * the Devicetree Specification v0.4 §5 lays it out: a 40-byte big-endian header, the memory
 * reservation block (8-aligned, pairs of u64 ending in 0,0), the structure block
 * (FDT_BEGIN_NODE / FDT_PROP / FDT_END_NODE tokens, 4-aligned, ending in FDT_END) and the
 * strings block (property names, each stored once).
 *
 * Nodes are opened and closed in document order, starting with the root node `''`;
 * properties of a node come before its children, as the format requires. Misuse (a property
 * after a child, unbalanced nodes, a second root, a duplicate name, a name the specification
 * does not allow, a number out of range) is a bug in the caller and throws. 64-bit values are
 * JS numbers, so they must be safe integers (below 2^53).
 */

const FDT_MAGIC = 0xd00dfeed;
const FDT_BEGIN_NODE = 0x1;
const FDT_END_NODE = 0x2;
const FDT_PROP = 0x3;
const FDT_END = 0x9;
const FDT_VERSION = 17;
const FDT_LAST_COMP_VERSION = 16;
const HEADER_BYTES = 40;

/** Node names: 1..31 characters of the set in DTSpec §2.2.1, then an optional @unit-address. */
const NODE_NAME = /^[0-9A-Za-z,._+-]{1,31}(@[0-9A-Za-z,._+-]+)?$/;
/** Property names: 1..31 characters of the set in DTSpec §2.2.4. */
const PROP_NAME = /^[0-9A-Za-z,._+?#-]{1,31}$/;

const utf8 = new TextEncoder();

/** A growable big-endian byte buffer. */
class ByteSink {
  bytes = new Uint8Array(1024);
  length = 0;
  private view = new DataView(this.bytes.buffer);

  private reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }

  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, v >>> 0);
    this.length += 4;
  }

  raw(b: Uint8Array): void {
    this.reserve(b.length);
    this.bytes.set(b, this.length);
    this.length += b.length;
  }

  align4(): void {
    const pad = (4 - (this.length & 3)) & 3;
    this.reserve(pad);
    this.bytes.fill(0, this.length, this.length + pad);
    this.length += pad;
  }
}

type OpenNode = { name: string; props: Set<string>; children: Set<string>; hasChildren: boolean };

export class FdtBuilder {
  private readonly struct = new ByteSink();
  private readonly strings = new ByteSink();
  private readonly stringOffsets = new Map<string, number>();
  private readonly stack: OpenNode[] = [];
  private rootDone = false;

  beginNode(name: string): this {
    const parent = this.stack[this.stack.length - 1];
    if (parent === undefined) {
      if (this.rootDone) throw new Error('FDT: the tree already has its root node');
      if (name !== '') throw new Error(`FDT: the first node must be the root '', not '${name}'`);
    } else {
      if (!NODE_NAME.test(name)) throw new Error(`FDT: '${name}' is not a valid node name`);
      if (parent.children.has(name))
        throw new Error(`FDT: node ${this.path().replace(/\/$/, '')}/${name} exists already`);
      parent.children.add(name);
      parent.hasChildren = true;
    }
    this.struct.u32(FDT_BEGIN_NODE);
    this.struct.raw(utf8.encode(name));
    this.struct.raw(Uint8Array.of(0));
    this.struct.align4();
    this.stack.push({ name, props: new Set(), children: new Set(), hasChildren: false });
    return this;
  }

  endNode(): this {
    if (this.stack.pop() === undefined) throw new Error('FDT: endNode() without an open node');
    this.struct.u32(FDT_END_NODE);
    if (this.stack.length === 0) this.rootDone = true;
    return this;
  }

  /** A property of 32-bit cells. */
  propU32(name: string, ...cells: number[]): this {
    const value = new Uint8Array(4 * cells.length);
    const view = new DataView(value.buffer);
    cells.forEach((c, i) => {
      if (!Number.isInteger(c) || c < 0 || c > 0xffffffff) {
        throw new RangeError(`FDT: property ${name}: cell ${c} is not a u32`);
      }
      view.setUint32(4 * i, c);
    });
    return this.prop(name, value);
  }

  /** A property of 64-bit values (each two cells, high first). */
  propU64(name: string, ...values: number[]): this {
    const value = new Uint8Array(8 * values.length);
    const view = new DataView(value.buffer);
    values.forEach((v, i) => {
      if (!Number.isSafeInteger(v) || v < 0)
        throw new RangeError(`FDT: property ${name}: ${v} is not a u64 below 2^53`);
      view.setUint32(8 * i, Math.floor(v / 0x1_0000_0000));
      view.setUint32(8 * i + 4, v >>> 0);
    });
    return this.prop(name, value);
  }

  propString(name: string, value: string): this {
    return this.propStrings(name, value);
  }

  /** A string list: each string NUL-terminated, back to back. */
  propStrings(name: string, ...values: string[]): this {
    const parts = values.map((v) => {
      if (v.includes('\0')) throw new Error(`FDT: property ${name}: a string may not contain NUL`);
      return utf8.encode(`${v}\0`);
    });
    const value = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      value.set(p, at);
      at += p.length;
    }
    return this.prop(name, value);
  }

  propEmpty(name: string): this {
    return this.prop(name, new Uint8Array(0));
  }

  propBytes(name: string, bytes: Uint8Array): this {
    return this.prop(name, bytes);
  }

  /**
   * The finished blob. `bootCpuId` is the header's boot_cpuid_phys (default 0); `reserved`
   * fills the memory reservation block.
   */
  finish(opts: { bootCpuId?: number; reserved?: { address: number; size: number }[] } = {}): Uint8Array {
    if (this.stack.length > 0) throw new Error(`FDT: node ${this.path()} is still open`);
    if (!this.rootDone) throw new Error('FDT: the tree has no root node');
    const bootCpuId = opts.bootCpuId ?? 0;
    if (!Number.isInteger(bootCpuId) || bootCpuId < 0 || bootCpuId > 0xffffffff) {
      throw new RangeError(`FDT: boot CPU id ${bootCpuId} is not a u32`);
    }
    const reserved = opts.reserved ?? [];
    for (const r of reserved) {
      if (!Number.isSafeInteger(r.address) || r.address < 0 || !Number.isSafeInteger(r.size) || r.size < 0) {
        throw new RangeError(`FDT: reserved range ${r.address}+${r.size} is not a pair of u64 below 2^53`);
      }
    }
    const structBytes = this.struct.length + 4; // + FDT_END
    const rsvmapOff = HEADER_BYTES; // already 8-aligned
    const rsvmapBytes = 16 * (reserved.length + 1);
    const structOff = rsvmapOff + rsvmapBytes;
    const stringsOff = structOff + structBytes;
    const total = stringsOff + this.strings.length;

    const out = new Uint8Array(total);
    const view = new DataView(out.buffer);
    const header = [
      FDT_MAGIC,
      total,
      structOff,
      stringsOff,
      rsvmapOff,
      FDT_VERSION,
      FDT_LAST_COMP_VERSION,
      bootCpuId,
      this.strings.length,
      structBytes,
    ];
    header.forEach((v, i) => view.setUint32(4 * i, v));
    reserved.forEach((r, i) => {
      const at = rsvmapOff + 16 * i;
      view.setUint32(at, Math.floor(r.address / 0x1_0000_0000));
      view.setUint32(at + 4, r.address >>> 0);
      view.setUint32(at + 8, Math.floor(r.size / 0x1_0000_0000));
      view.setUint32(at + 12, r.size >>> 0);
    }); // the terminating 0,0 entry is already zero
    out.set(this.struct.bytes.subarray(0, this.struct.length), structOff);
    view.setUint32(structOff + this.struct.length, FDT_END);
    out.set(this.strings.bytes.subarray(0, this.strings.length), stringsOff);
    return out;
  }

  private prop(name: string, value: Uint8Array): this {
    const node = this.stack[this.stack.length - 1];
    if (node === undefined) throw new Error(`FDT: property ${name} outside any node`);
    if (!PROP_NAME.test(name)) throw new Error(`FDT: '${name}' is not a valid property name`);
    if (node.hasChildren) throw new Error(`FDT: property ${name} of ${this.path()} comes after a child node`);
    if (node.props.has(name)) throw new Error(`FDT: property ${name} of ${this.path()} is set twice`);
    node.props.add(name);
    this.struct.u32(FDT_PROP);
    this.struct.u32(value.length);
    this.struct.u32(this.stringOffset(name));
    this.struct.raw(value);
    this.struct.align4();
    return this;
  }

  private stringOffset(name: string): number {
    let off = this.stringOffsets.get(name);
    if (off === undefined) {
      off = this.strings.length;
      this.strings.raw(utf8.encode(`${name}\0`));
      this.stringOffsets.set(name, off);
    }
    return off;
  }

  private path(): string {
    const names = this.stack.slice(1).map((n) => n.name);
    return names.length === 0 ? '/' : `/${names.join('/')}`;
  }
}
