/**
 * Loads and stores in translated regions (translate.ts), integer and F/D.
 *
 * A region does an access by calling one of the memory helpers, small wasm functions of the
 * dispatcher's module (dispatch.ts) that every region module imports: `ld8s … ld64(va, k) ->
 * value` and `st8 … st64(va, value, k) -> left`. Keeping the TLB lookup out of line makes an
 * access about 20 bytes of region code instead of 130–170, which is what V8 validates and
 * compiles for every region (most of a boot's regions run a few hundred times: their compile
 * time is what a translation costs). A region with a loop (Emitter.inlineMem) runs its code
 * often enough to repay the size: it does the fast path inline and calls the helper only on a
 * miss (which looks again, misses again, and takes the slow path).
 *
 * Fast path (in the helper): the interpreter's soft-TLB hit: the entry of the TLB set the
 * dispatcher was given (so one translation serves every privilege, MPRV/SUM setting and regime,
 * including two-stage VS/VU whose entries cache the combined translation), one 64-bit tag
 * compare, natural alignment, host offset = the entry's page + the page offset.
 *
 * Slow path (a TLB miss, a misaligned address, a device, a fault): the helper stores the
 * access's pc in the state block (the region's virtual page, which every region stores at
 * JIT_VPAGE_BYTE on entry, plus the page offset from k) and calls `env.ld(vaLo, vaHi, size)` or
 * `env.st(vaLo, vaHi, size, lo, hi)` (jit.ts), which run the interpreter's own slow paths
 * (hart/mmu.ts `loadSlow` / `storeSlow`: page walk of both stages, TLB fill, PMP, MMIO,
 * invalidation of decoded code, and the exception when the access faults). A load's value comes
 * back in the JIT scratch word of the state block (layout.ts, JIT_SCRATCH_BYTE) and is read with
 * the same wasm load (size and extension) as the fast path. Results of the JavaScript helpers:
 *   ld: 1 done, 0 the access trapped (the exception has been taken: pc is the trap vector);
 *   st: 1 done, 0 trapped, 2 done but the store invalidated decoded code or touched a device.
 * The region must then leave with STOP (translate.ts), so that the interpreter's outer loop goes
 * on exactly where it would after the same slow-path access: the helper stores in the state
 * block the pc to go on at (the trap vector, or the next instruction after a "done, 2") and, at
 * JIT_LEFT_BYTE, how many instructions of the block were not run; then a load throws the
 * region tag (caught once per region), a store returns 1 (the region branches out).
 *
 * k, a constant of each access: bits 0–11 its page offset, bit 12 set for a 2-byte
 * instruction, bits 13 and up the instructions of its block after it.
 *
 * Stores never reach a page that holds decoded code through the fast path: store TLB entries
 * never map such pages (code_cache.ts), so translated code cannot overwrite itself unseen.
 */
import { HS, JIT_LEFT_BYTE, JIT_SCRATCH_BYTE, JIT_VPAGE_BYTE, TLB_MASK } from '../hart/layout.ts';
import { Op } from '../isa/op.ts';
import type { Insn } from './region.ts';
import { emitFpCheck, emitFpDirty } from './translate_fp.ts';
import { INTERP, MEM_HELPER, P_LOADSET, P_STORESET, type Emitter } from './translate.ts';
import { T, W, type Code, type ModuleBuilder } from './wasm.ts';

/** The load helpers: name, access size, and the wasm load that extends the value to i64. */
export const LOAD_HELPERS: readonly (readonly [string, number, W, number])[] = [
  ['ld8s', 1, W.I64_LOAD8_S, 0],
  ['ld8u', 1, W.I64_LOAD8_U, 0],
  ['ld16s', 2, W.I64_LOAD16_S, 1],
  ['ld16u', 2, W.I64_LOAD16_U, 1],
  ['ld32s', 4, W.I64_LOAD32_S, 2],
  ['ld32u', 4, W.I64_LOAD32_U, 2],
  ['ld64', 8, W.I64_LOAD, 3],
];
/** The store helpers: name, access size, the wasm store of the low bytes of an i64. */
export const STORE_HELPERS: readonly (readonly [string, number, W, number])[] = [
  ['st8', 1, W.I64_STORE8, 0],
  ['st16', 2, W.I64_STORE16, 1],
  ['st32', 4, W.I64_STORE32, 2],
  ['st64', 8, W.I64_STORE, 3],
];
export const LOAD_PARAMS: readonly T[] = [T.I64, T.I32];
export const LOAD_RESULTS: readonly T[] = [T.I64];
export const STORE_PARAMS: readonly T[] = [T.I64, T.I64, T.I32];
export const STORE_RESULTS: readonly T[] = [T.I32];

const PC_BYTE = HS.PC_LO * 4;

/**
 * Where the memory helpers find the hart: globals of the dispatcher's module that its `run` sets
 * on every call (the state block, the load and store TLB sets), its imported JavaScript slow
 * paths, and the tag a trapping load throws.
 */
export interface MemHelperEnv {
  base: number;
  loadSet: number;
  storeSet: number;
  jsLoad: number;
  jsStore: number;
  tag: number;
}

/**
 * t = set + ((va >>> 12) & TLB_MASK) * 16; pushes (i32) whether va misses the fast path (tag
 * mismatch or misaligned). va is local 0.
 */
function lookup(c: Code, set: number, t: number, size: number): void {
  c.globalGet(set).get(0).op(W.I32_WRAP_I64).i32Const(12).op(W.I32_SHR_U);
  c.i32Const(TLB_MASK).op(W.I32_AND).i32Const(4).op(W.I32_SHL).op(W.I32_ADD).set(t);
  c.get(t).mem(W.I64_LOAD, 2, 0);
  c.get(0).i64ConstHalves(-4096, -1).op(W.I64_AND).op(W.I64_NE);
  if (size > 1)
    c.get(0)
      .op(W.I32_WRAP_I64)
      .i32Const(size - 1)
      .op(W.I32_AND)
      .op(W.I32_OR);
}

/** Host address of va from the TLB entry in t. */
function hostAddress(c: Code, t: number): void {
  c.get(t).mem(W.I32_LOAD, 2, 8);
  c.get(0).op(W.I32_WRAP_I64).i32Const(4095).op(W.I32_AND).op(W.I32_ADD);
}

/** The state block's pc = the region's virtual page + k's page offset (k is local `k`). */
function storeAccessPc(c: Code, env: MemHelperEnv, k: number): void {
  c.globalGet(env.base);
  c.globalGet(env.base).mem(W.I64_LOAD, 3, JIT_VPAGE_BYTE);
  c.get(k).i32Const(4095).op(W.I32_AND).op(W.I64_EXTEND_I32_U).op(W.I64_ADD);
  c.mem(W.I64_STORE, 3, PC_BYTE);
}

/** Pushes va (local 0) as two i32 halves. */
function vaHalves(c: Code): void {
  c.get(0).op(W.I32_WRAP_I64);
  c.get(0).i64Const(32).op(W.I64_SHR_U).op(W.I32_WRAP_I64);
}

/** JIT_LEFT = k >>> 13 (k is local `k`). */
function storeLeft(c: Code, env: MemHelperEnv, k: number): void {
  c.globalGet(env.base).get(k).i32Const(13).op(W.I32_SHR_U).mem(W.I32_STORE, 2, JIT_LEFT_BYTE);
}

/** Defines the load and store helpers (in LOAD_HELPERS, STORE_HELPERS order) and exports them. */
export function emitMemHelpers(mb: ModuleBuilder, env: MemHelperEnv): void {
  for (const [name, size, o, align] of LOAD_HELPERS) {
    const f = mb.func(LOAD_PARAMS, LOAD_RESULTS);
    const c = f.code;
    const K = 1;
    const t = c.local(T.I32);
    lookup(c, env.loadSet, t, size);
    c.if();
    storeAccessPc(c, env, K);
    vaHalves(c);
    c.i32Const(size).call(env.jsLoad).op(W.I32_EQZ);
    c.if();
    storeLeft(c, env, K);
    c.throw(env.tag);
    c.end();
    c.globalGet(env.base).mem(o, align, JIT_SCRATCH_BYTE).op(W.RETURN);
    c.end();
    hostAddress(c, t);
    c.mem(o, align, 0);
    mb.export(name, f.index);
  }
  for (const [name, size, o, align] of STORE_HELPERS) {
    const f = mb.func(STORE_PARAMS, STORE_RESULTS);
    const c = f.code;
    const V = 1;
    const K = 2;
    const t = c.local(T.I32);
    const r = c.local(T.I32);
    lookup(c, env.storeSet, t, size);
    c.if();
    storeAccessPc(c, env, K);
    vaHalves(c);
    c.i32Const(size);
    c.get(V).op(W.I32_WRAP_I64);
    c.get(V).i64Const(32).op(W.I64_SHR_U).op(W.I32_WRAP_I64);
    c.call(env.jsStore).tee(r).i32Const(1).op(W.I32_EQ);
    c.if().i32Const(0).op(W.RETURN).end();
    storeLeft(c, env, K);
    // Done, but decoded code or a device changed: go on at the next instruction.
    c.get(r).i32Const(2).op(W.I32_EQ);
    c.if();
    c.globalGet(env.base);
    c.globalGet(env.base).mem(W.I64_LOAD, 3, PC_BYTE);
    c.i32Const(4).get(K).i32Const(11).op(W.I32_SHR_U).i32Const(2).op(W.I32_AND).op(W.I32_SUB);
    c.op(W.I64_EXTEND_I32_U).op(W.I64_ADD).mem(W.I64_STORE, 3, PC_BYTE);
    c.end();
    c.i32Const(1).op(W.RETURN);
    c.end();
    hostAddress(c, t);
    c.get(V).mem(o, align, 0);
    c.i32Const(0);
    mb.export(name, f.index);
  }
}

/** Pushes va = rs1 + imm (i64). */
function address(e: Emitter, insn: Insn): void {
  e.x((insn.w >>> 15) & 31);
  if (insn.imm !== 0) e.c.i64Const(insn.imm).op(W.I64_ADD);
}

/** Pushes the access's k (module comment). */
function accessK(e: Emitter, insn: Insn, idx: number): void {
  e.c.i32Const(insn.off | (insn.len === 2 ? 0x1000 : 0) | (e.leftAfter(idx) << 13));
}

/** The index of the load helper for `size` bytes extended by the wasm load `o`. */
function loadHelper(size: number, o: W): number {
  const i = LOAD_HELPERS.findIndex(([, s, lo]) => s === size && lo === o);
  if (i < 0) throw new Error(`jit: no load helper for ${size} bytes, op ${o}`);
  return i;
}

/**
 * The inline TLB lookup of a region with a loop (Emitter.inlineMem): va (pushed) goes to e.va,
 * the entry of `set` to e.t, and it pushes (i32) whether the access misses the fast path.
 */
function inlineLookup(e: Emitter, set: number, size: number): void {
  const c = e.c;
  c.set(e.va);
  c.get(set).get(e.va).op(W.I32_WRAP_I64).i32Const(12).op(W.I32_SHR_U);
  c.i32Const(TLB_MASK).op(W.I32_AND).i32Const(4).op(W.I32_SHL).op(W.I32_ADD).set(e.t);
  c.get(e.t).mem(W.I64_LOAD, 2, 0);
  c.get(e.va).i64ConstHalves(-4096, -1).op(W.I64_AND).op(W.I64_NE);
  if (size > 1)
    c.get(e.va)
      .op(W.I32_WRAP_I64)
      .i32Const(size - 1)
      .op(W.I32_AND)
      .op(W.I32_OR);
}

/** Pushes the host address of e.va from the TLB entry in e.t (after a hit). */
function inlineHost(e: Emitter): void {
  const c = e.c;
  c.get(e.t).mem(W.I32_LOAD, 2, 8);
  c.get(e.va).op(W.I32_WRAP_I64).i32Const(4095).op(W.I32_AND).op(W.I32_ADD);
}

/**
 * Pushes the value of a load of `size` bytes extended by the wasm load `o` from va (pushed):
 * through the helper, or in a region with a loop with the fast path inline and the helper on
 * a miss (it looks again, misses, and takes the slow path).
 */
function load(e: Emitter, insn: Insn, idx: number, size: number, o: W): void {
  const c = e.c;
  const i = loadHelper(size, o);
  if (!e.inlineMem) {
    accessK(e, insn, idx);
    c.call(MEM_HELPER + i);
    return;
  }
  inlineLookup(e, P_LOADSET, size);
  c.if(T.I64);
  c.get(e.va);
  accessK(e, insn, idx);
  c.call(MEM_HELPER + i);
  c.else();
  inlineHost(e);
  c.mem(o, LOAD_HELPERS[i]![3], 0);
  c.end();
}

/**
 * A store of `size` bytes of the i64 that `value` pushes to va (pushed): through the helper,
 * leaving the region when it says so, or as load() does in a region with a loop.
 */
function store(e: Emitter, insn: Insn, idx: number, size: number, value: () => void): void {
  const c = e.c;
  const i = STORE_HELPERS.findIndex(([, s]) => s === size);
  const helper = (): void => {
    value();
    accessK(e, insn, idx);
    c.call(MEM_HELPER + LOAD_HELPERS.length + i);
    e.leaveIfStopped();
  };
  if (!e.inlineMem) {
    helper();
    return;
  }
  inlineLookup(e, P_STORESET, size);
  e.open();
  c.get(e.va);
  helper();
  c.else();
  inlineHost(e);
  value();
  c.mem(STORE_HELPERS[i]![2], STORE_HELPERS[i]![3], 0);
  e.close();
}

export function emitLoad(e: Emitter, insn: Insn, idx: number, size: number, o: W): void {
  address(e, insn);
  load(e, insn, idx, size, o);
  e.setX((insn.w >>> 9) & 63);
}

/** A store of rs2's low `size` bytes. */
export function emitStore(e: Emitter, insn: Insn, idx: number, size: number): void {
  address(e, insn);
  store(e, insn, idx, size, () => e.x((insn.w >>> 20) & 31));
}

export function emitFpLoad(e: Emitter, insn: Insn, idx: number): void {
  const c = e.c;
  const size = (insn.w & 511) === Op.FLD ? 8 : 4;
  emitFpCheck(e, insn, idx);
  address(e, insn);
  load(e, insn, idx, size, size === 8 ? W.I64_LOAD : W.I64_LOAD32_U);
  emitFpDirty(e);
  if (size === 4) c.i64ConstHalves(0, -1).op(W.I64_OR); // NaN-boxed
  e.setFBits((insn.w >>> 9) & 31);
}

/** fsw / fsd: the low 4 or all 8 bytes of the f register's bits. */
export function emitFpStore(e: Emitter, insn: Insn, idx: number): void {
  emitFpCheck(e, insn, idx);
  address(e, insn);
  store(e, insn, idx, (insn.w & 511) === Op.FSD ? 8 : 4, () => e.fBits((insn.w >>> 20) & 31));
}

/**
 * An AMO (swap, add, xor, and, or, min, max, minu, maxu; .w or .d) through the store TLB's fast
 * path, as the interpreter's own fast path does (a store entry means the page is writable and
 * readable, and holds no decoded code). Anything else (a miss, a misaligned address, a device)
 * leaves the instruction to the interpreter. Harts of a pCPU take turns, so the read-modify-write
 * needs no atomic operation, as in the interpreter.
 */
export function emitAmo(e: Emitter, insn: Insn, idx: number): void {
  const c = e.c;
  const op = insn.w & 511;
  const word = op <= Op.AMOMAXU_W;
  const kind = op - (word ? Op.AMOSWAP_W : Op.AMOSWAP_D);
  const rd = (insn.w >>> 9) & 63;
  const rs2 = (insn.w >>> 20) & 31;
  e.x((insn.w >>> 15) & 31);
  inlineLookup(e, P_STORESET, word ? 4 : 8);
  e.open();
  e.exitConst(insn.off, idx, INTERP);
  e.close();
  inlineHost(e);
  c.set(e.t);
  // va (no longer needed as an address) holds the old value, sign-extended for .w.
  c.get(e.t)
    .mem(word ? W.I64_LOAD32_S : W.I64_LOAD, word ? 2 : 3, 0)
    .set(e.va);
  c.get(e.t);
  amoValue(e, kind, word, rs2);
  c.mem(word ? W.I64_STORE32 : W.I64_STORE, word ? 2 : 3, 0);
  c.get(e.va);
  e.setX(rd);
}

/** Pushes the value an AMO stores: old (in e.va) combined with rs2 by `kind` (0 = swap … 8 = maxu). */
function amoValue(e: Emitter, kind: number, word: boolean, rs2: number): void {
  const c = e.c;
  const src = (): void => {
    e.x(rs2);
    // A .w min/max compares 32-bit values: sign- or zero-extend both sides alike.
    if (word && kind >= 5) {
      c.op(W.I32_WRAP_I64).op(kind >= 7 ? W.I64_EXTEND_I32_U : W.I64_EXTEND_I32_S);
    }
  };
  const old = (): void => {
    c.get(e.va);
    if (word && kind >= 7) c.op(W.I32_WRAP_I64).op(W.I64_EXTEND_I32_U);
  };
  if (kind === 0) {
    src();
    return;
  }
  if (kind <= 4) {
    c.get(e.va);
    src();
    c.op([W.I64_ADD, W.I64_XOR, W.I64_AND, W.I64_OR][kind - 1]!);
    return;
  }
  // min, max, minu, maxu: select(old, src, old < src) for min, old > src for max.
  old();
  src();
  old();
  src();
  c.op([W.I64_LT_S, W.I64_GT_S, W.I64_LT_U, W.I64_GT_U][kind - 5]!);
  c.op(W.SELECT);
}
