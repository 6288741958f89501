/**
 * A small WebAssembly binary emitter: enough of the MVP binary format (plus the threads
 * proposal's `shared` memory limits and the exception-handling proposal's tags, `try`, `catch`
 * and `throw`, as V8 ships them) for the JIT to build modules by hand, without binaryen.
 *
 * Contract: `ModuleBuilder` collects function types (deduplicated), imported functions and
 * tags, one imported memory, defined tags, globals and functions, and exports, and `build()`
 * returns the module bytes in section order (type, import, function, tag, global, export,
 * code). Function and tag indices count imported ones first, as the format does. `Code` appends one function body's instructions; it
 * checks nothing about stack typing (the engine's validator does that when the module is
 * compiled), but it does check that immediates are integers in range.
 *
 * 64-bit constants are given as two int32 halves (`i64ConstHalves`) or as a JS number in
 * int32 range (`i64Const`), so that no BigInt is involved.
 */

/** Value types. */
export const enum T {
  I32 = 0x7f,
  I64 = 0x7e,
  F32 = 0x7d,
  F64 = 0x7c,
}

/** Opcodes used by the JIT (single-byte MVP and sign-extension opcodes). */
export const enum W {
  UNREACHABLE = 0x00,
  NOP = 0x01,
  BLOCK = 0x02,
  LOOP = 0x03,
  IF = 0x04,
  ELSE = 0x05,
  END = 0x0b,
  BR = 0x0c,
  BR_IF = 0x0d,
  BR_TABLE = 0x0e,
  TRY = 0x06,
  CATCH = 0x07,
  THROW = 0x08,
  RETURN = 0x0f,
  CALL = 0x10,
  CALL_INDIRECT = 0x11,
  DROP = 0x1a,
  SELECT = 0x1b,
  LOCAL_GET = 0x20,
  LOCAL_SET = 0x21,
  LOCAL_TEE = 0x22,
  GLOBAL_GET = 0x23,
  GLOBAL_SET = 0x24,
  I32_LOAD = 0x28,
  I64_LOAD = 0x29,
  F32_LOAD = 0x2a,
  F64_LOAD = 0x2b,
  I32_LOAD8_S = 0x2c,
  I32_LOAD8_U = 0x2d,
  I32_LOAD16_S = 0x2e,
  I32_LOAD16_U = 0x2f,
  I64_LOAD8_S = 0x30,
  I64_LOAD8_U = 0x31,
  I64_LOAD16_S = 0x32,
  I64_LOAD16_U = 0x33,
  I64_LOAD32_S = 0x34,
  I64_LOAD32_U = 0x35,
  I32_STORE = 0x36,
  I64_STORE = 0x37,
  F32_STORE = 0x38,
  F64_STORE = 0x39,
  I32_STORE8 = 0x3a,
  I32_STORE16 = 0x3b,
  I64_STORE8 = 0x3c,
  I64_STORE16 = 0x3d,
  I64_STORE32 = 0x3e,
  I32_CONST = 0x41,
  I64_CONST = 0x42,
  F64_CONST = 0x44,
  I32_EQZ = 0x45,
  I32_EQ = 0x46,
  I32_NE = 0x47,
  I32_LT_S = 0x48,
  I32_LT_U = 0x49,
  I32_GT_S = 0x4a,
  I32_GT_U = 0x4b,
  I32_LE_S = 0x4c,
  I32_LE_U = 0x4d,
  I32_GE_S = 0x4e,
  I32_GE_U = 0x4f,
  I64_EQZ = 0x50,
  I64_EQ = 0x51,
  I64_NE = 0x52,
  I64_LT_S = 0x53,
  I64_LT_U = 0x54,
  I64_GT_S = 0x55,
  I64_GT_U = 0x56,
  I64_LE_S = 0x57,
  I64_LE_U = 0x58,
  I64_GE_S = 0x59,
  I64_GE_U = 0x5a,
  F64_EQ = 0x61,
  F64_NE = 0x62,
  F64_LT = 0x63,
  I32_ADD = 0x6a,
  I32_SUB = 0x6b,
  I32_MUL = 0x6c,
  I32_DIV_S = 0x6d,
  I32_DIV_U = 0x6e,
  I32_REM_S = 0x6f,
  I32_REM_U = 0x70,
  I32_AND = 0x71,
  I32_OR = 0x72,
  I32_XOR = 0x73,
  I32_SHL = 0x74,
  I32_SHR_S = 0x75,
  I32_SHR_U = 0x76,
  I64_ADD = 0x7c,
  I64_SUB = 0x7d,
  I64_MUL = 0x7e,
  I64_DIV_S = 0x7f,
  I64_DIV_U = 0x80,
  I64_REM_S = 0x81,
  I64_REM_U = 0x82,
  I64_AND = 0x83,
  I64_OR = 0x84,
  I64_XOR = 0x85,
  I64_SHL = 0x86,
  I64_SHR_S = 0x87,
  I64_SHR_U = 0x88,
  F64_NEG = 0x9a,
  F64_SQRT = 0x9f,
  F64_ADD = 0xa0,
  F64_SUB = 0xa1,
  F64_MUL = 0xa2,
  F64_DIV = 0xa3,
  I32_WRAP_I64 = 0xa7,
  I64_EXTEND_I32_S = 0xac,
  I64_EXTEND_I32_U = 0xad,
  F64_CONVERT_I64_S = 0xb9,
  I64_REINTERPRET_F64 = 0xbd,
  F64_REINTERPRET_I64 = 0xbf,
  I32_EXTEND8_S = 0xc0,
  I32_EXTEND16_S = 0xc1,
  I64_EXTEND8_S = 0xc2,
  I64_EXTEND16_S = 0xc3,
  I64_EXTEND32_S = 0xc4,
}

/** Block type of a block/loop/if with no result. */
export const BLOCK_VOID = 0x40;

const SECTION_TYPE = 1;
const SECTION_IMPORT = 2;
const SECTION_FUNCTION = 3;
const SECTION_GLOBAL = 6;
const SECTION_EXPORT = 7;
const SECTION_CODE = 10;
const SECTION_TAG = 13;
const EXTERN_FUNC = 0;
const EXTERN_TABLE = 1;
const EXTERN_MEMORY = 2;
const EXTERN_TAG = 4;
const FUNCREF = 0x70;

/** A growable byte buffer with the format's integer encodings. */
export class Bytes {
  private buf: Uint8Array<ArrayBuffer>;
  length = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
  }

  private grow(need: number): void {
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const n = new Uint8Array(size);
    n.set(this.buf.subarray(0, this.length));
    this.buf = n;
  }

  byte(b: number): this {
    if (this.length === this.buf.length) this.grow(this.length + 1);
    this.buf[this.length++] = b;
    return this;
  }

  bytes(src: Uint8Array | readonly number[]): this {
    if (this.length + src.length > this.buf.length) this.grow(this.length + src.length);
    if (src instanceof Uint8Array) this.buf.set(src, this.length);
    else for (let i = 0; i < src.length; i++) this.buf[this.length + i] = src[i]!;
    this.length += src.length;
    return this;
  }

  /** Unsigned LEB128 of a non-negative integer below 2^32. */
  u32(v: number): this {
    // Most are local indices and alignments: one byte.
    if (v >>> 0 === v && v < 128) return this.byte(v);
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`wasm: bad u32 ${v}`);
    do {
      let b = v % 128;
      v = Math.floor(v / 128);
      if (v !== 0) b |= 0x80;
      this.byte(b);
    } while (v !== 0);
    return this;
  }

  /** Signed LEB128 of an int32 (or any integer in [-2^31, 2^32), taken modulo 2^32 as int32). */
  s32(v: number): this {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) throw new RangeError(`wasm: bad s32 ${v}`);
    return this.s64(v | 0, (v | 0) >> 31);
  }

  /** Signed LEB128 of the 64-bit value hi:lo (int32 halves). */
  s64(lo: number, hi: number): this {
    lo |= 0;
    hi |= 0;
    if (hi === lo >> 31 && lo >= -64 && lo < 64) return this.byte(lo & 0x7f);
    for (;;) {
      const b = lo & 0x7f;
      // Arithmetic shift of the pair right by 7.
      lo = (lo >>> 7) | (hi << 25);
      hi >>= 7;
      const done = (lo === 0 && hi === 0 && (b & 0x40) === 0) || (lo === -1 && hi === -1 && (b & 0x40) !== 0);
      this.byte(done ? b : b | 0x80);
      if (done) return this;
    }
  }

  name(s: string): this {
    const enc = new TextEncoder().encode(s);
    this.u32(enc.length);
    return this.bytes(enc);
  }

  /** A length-prefixed copy of another buffer. */
  sized(b: Bytes): this {
    this.u32(b.length);
    return this.bytes(b.view());
  }

  view(): Uint8Array<ArrayBuffer> {
    return this.buf.subarray(0, this.length);
  }
}

/** One function body being emitted. Methods return `this` so that sequences chain. */
export class Code {
  /** A region's body is a few KiB: start there rather than grow to it. */
  readonly out = new Bytes(4096);
  private readonly localTypes: T[] = [];

  constructor(readonly paramCount: number) {}

  /** Declares a local of type `t` and returns its index (after the parameters). */
  local(t: T): number {
    this.localTypes.push(t);
    return this.paramCount + this.localTypes.length - 1;
  }

  op(o: W): this {
    this.out.byte(o);
    return this;
  }

  i32Const(v: number): this {
    this.out.byte(W.I32_CONST).s32(v);
    return this;
  }

  /** i64.const of an integer in int32 range (sign-extended). */
  i64Const(v: number): this {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new RangeError(`wasm: bad i64 ${v}`);
    this.out.byte(W.I64_CONST).s64(v, v >> 31);
    return this;
  }

  i64ConstHalves(lo: number, hi: number): this {
    this.out.byte(W.I64_CONST).s64(lo, hi);
    return this;
  }

  /** f64.const of a JS number (8 bytes little-endian). */
  f64Const(v: number): this {
    const b = new Uint8Array(new Float64Array([v]).buffer);
    this.out.byte(W.F64_CONST).bytes(b);
    return this;
  }

  get(i: number): this {
    this.out.byte(W.LOCAL_GET).u32(i);
    return this;
  }

  set(i: number): this {
    this.out.byte(W.LOCAL_SET).u32(i);
    return this;
  }

  tee(i: number): this {
    this.out.byte(W.LOCAL_TEE).u32(i);
    return this;
  }

  /** A load or store with alignment log2 `align` and constant byte offset `offset`. */
  mem(o: W, align: number, offset: number): this {
    this.out.byte(o).u32(align).u32(offset);
    return this;
  }

  /** block / loop / if with a result type (a T) or none (BLOCK_VOID). */
  block(type: number = BLOCK_VOID): this {
    this.out.byte(W.BLOCK).byte(type);
    return this;
  }

  loop(type: number = BLOCK_VOID): this {
    this.out.byte(W.LOOP).byte(type);
    return this;
  }

  if(type: number = BLOCK_VOID): this {
    this.out.byte(W.IF).byte(type);
    return this;
  }

  else(): this {
    return this.op(W.ELSE);
  }

  end(): this {
    return this.op(W.END);
  }

  br(depth: number): this {
    this.out.byte(W.BR).u32(depth);
    return this;
  }

  brIf(depth: number): this {
    this.out.byte(W.BR_IF).u32(depth);
    return this;
  }

  brTable(depths: readonly number[], defaultDepth: number): this {
    this.out.byte(W.BR_TABLE).u32(depths.length);
    for (const d of depths) this.out.u32(d);
    this.out.u32(defaultDepth);
    return this;
  }

  call(funcIndex: number): this {
    this.out.byte(W.CALL).u32(funcIndex);
    return this;
  }

  globalGet(i: number): this {
    this.out.byte(W.GLOBAL_GET).u32(i);
    return this;
  }

  globalSet(i: number): this {
    this.out.byte(W.GLOBAL_SET).u32(i);
    return this;
  }

  /** `try` with no result; its `catch` clause is `catch(tag)`. */
  try(): this {
    this.out.byte(W.TRY).byte(BLOCK_VOID);
    return this;
  }

  catch(tag: number): this {
    this.out.byte(W.CATCH).u32(tag);
    return this;
  }

  throw(tag: number): this {
    this.out.byte(W.THROW).u32(tag);
    return this;
  }

  /** call_indirect through table 0 with function type index `typeIndex` (callee index on the stack). */
  callIndirect(typeIndex: number): this {
    this.out.byte(W.CALL_INDIRECT).u32(typeIndex).u32(0);
    return this;
  }

  /** The body as the code section wants it: local declarations, instructions, final `end`. */
  finish(): Bytes {
    const body = new Bytes(this.out.length + 16);
    // Runs of equal types compress into one declaration each.
    const runs: [number, T][] = [];
    for (const t of this.localTypes) {
      const last = runs[runs.length - 1];
      if (last && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    body.u32(runs.length);
    for (const [n, t] of runs) body.u32(n).byte(t);
    body.bytes(this.out.view());
    body.byte(W.END);
    return body;
  }
}

interface FuncType {
  params: readonly T[];
  results: readonly T[];
}

interface Defined {
  type: number;
  code: Code;
}

export interface MemoryImport {
  module: string;
  name: string;
  /** Limits in 64 KiB pages. */
  minPages: number;
  maxPages: number;
  shared: boolean;
}

export class ModuleBuilder {
  private readonly types: FuncType[] = [];
  private readonly imports: { module: string; name: string; type: number }[] = [];
  private memory: MemoryImport | undefined;
  private table: { module: string; name: string; minSize: number } | undefined;
  private readonly funcs: Defined[] = [];
  private readonly exports: { name: string; kind: number; index: number }[] = [];
  private readonly tagImports: { module: string; name: string; type: number }[] = [];
  private readonly tags: number[] = [];
  private readonly globals: { type: T; mutable: boolean }[] = [];

  /** The index of a function type, added if new. */
  type(params: readonly T[], results: readonly T[]): number {
    const i = this.types.findIndex(
      (t) =>
        t.params.length === params.length &&
        t.results.length === results.length &&
        t.params.every((p, k) => p === params[k]) &&
        t.results.every((r, k) => r === results[k]),
    );
    if (i >= 0) return i;
    this.types.push({ params: [...params], results: [...results] });
    return this.types.length - 1;
  }

  /** Imports a function; returns its function index. Imports must precede definitions. */
  importFunc(module: string, name: string, params: readonly T[], results: readonly T[]): number {
    if (this.funcs.length > 0) throw new Error('wasm: import functions before defining any');
    this.imports.push({ module, name, type: this.type(params, results) });
    return this.imports.length - 1;
  }

  /** Imports a tag whose exception carries values of `params`; returns its tag index. */
  importTag(module: string, name: string, params: readonly T[]): number {
    if (this.tags.length > 0) throw new Error('wasm: import tags before defining any');
    this.tagImports.push({ module, name, type: this.type(params, []) });
    return this.tagImports.length - 1;
  }

  /** Defines a tag; returns its index. */
  tag(params: readonly T[]): number {
    this.tags.push(this.type(params, []));
    return this.tagImports.length + this.tags.length - 1;
  }

  /** Defines a global initialized to zero; returns its index. */
  global(type: T, mutable: boolean): number {
    this.globals.push({ type, mutable });
    return this.globals.length - 1;
  }

  importMemory(m: MemoryImport): void {
    this.memory = { ...m };
  }

  /** Imports a funcref table (table 0, for call_indirect) of at least `minSize` entries. */
  importTable(module: string, name: string, minSize: number): void {
    this.table = { module, name, minSize };
  }

  /**
   * Starts a function definition: returns its index and the Code to fill (the body may be
   * written after other functions are declared, so that functions can call each other).
   */
  func(params: readonly T[], results: readonly T[]): { index: number; code: Code } {
    const code = new Code(params.length);
    this.funcs.push({ type: this.type(params, results), code });
    return { index: this.imports.length + this.funcs.length - 1, code };
  }

  export(name: string, funcIndex: number): void {
    this.exports.push({ name, kind: EXTERN_FUNC, index: funcIndex });
  }

  exportTag(name: string, tagIndex: number): void {
    this.exports.push({ name, kind: EXTERN_TAG, index: tagIndex });
  }

  build(): Uint8Array<ArrayBuffer> {
    const out = new Bytes();
    out.bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

    const types = new Bytes().u32(this.types.length);
    for (const t of this.types) {
      types.byte(0x60).u32(t.params.length);
      for (const p of t.params) types.byte(p);
      types.u32(t.results.length);
      for (const r of t.results) types.byte(r);
    }
    out.byte(SECTION_TYPE).sized(types);

    const nImports =
      this.imports.length + this.tagImports.length + (this.memory ? 1 : 0) + (this.table ? 1 : 0);
    if (nImports > 0) {
      const imp = new Bytes().u32(nImports);
      for (const f of this.imports) imp.name(f.module).name(f.name).byte(EXTERN_FUNC).u32(f.type);
      for (const t of this.tagImports) imp.name(t.module).name(t.name).byte(EXTERN_TAG).byte(0).u32(t.type);
      const tb = this.table;
      if (tb) imp.name(tb.module).name(tb.name).byte(EXTERN_TABLE).byte(FUNCREF).byte(0x00).u32(tb.minSize);
      const m = this.memory;
      if (m) {
        imp.name(m.module).name(m.name).byte(EXTERN_MEMORY);
        imp
          .byte(m.shared ? 0x03 : 0x01)
          .u32(m.minPages)
          .u32(m.maxPages);
      }
      out.byte(SECTION_IMPORT).sized(imp);
    }

    const fsec = new Bytes().u32(this.funcs.length);
    for (const f of this.funcs) fsec.u32(f.type);
    out.byte(SECTION_FUNCTION).sized(fsec);

    if (this.tags.length > 0) {
      const tsec = new Bytes().u32(this.tags.length);
      for (const t of this.tags) tsec.byte(0).u32(t);
      out.byte(SECTION_TAG).sized(tsec);
    }

    if (this.globals.length > 0) {
      const gsec = new Bytes().u32(this.globals.length);
      for (const g of this.globals) {
        gsec.byte(g.type).byte(g.mutable ? 1 : 0);
        if (g.type === T.I32) gsec.byte(W.I32_CONST).byte(0);
        else if (g.type === T.I64) gsec.byte(W.I64_CONST).byte(0);
        else throw new Error('wasm: only integer globals');
        gsec.byte(W.END);
      }
      out.byte(SECTION_GLOBAL).sized(gsec);
    }

    const ex = new Bytes().u32(this.exports.length);
    for (const e of this.exports) ex.name(e.name).byte(e.kind).u32(e.index);
    out.byte(SECTION_EXPORT).sized(ex);

    const code = new Bytes().u32(this.funcs.length);
    for (const f of this.funcs) code.sized(f.code.finish());
    out.byte(SECTION_CODE).sized(code);
    return out.view().slice();
  }
}
