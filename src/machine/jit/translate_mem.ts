/**
 * Loads and stores in translated regions (translate.ts), integer and F/D.
 *
 * Fast path: the interpreter's soft-TLB hit, inline: the entry of the TLB set passed to the
 * region (so one translation serves every privilege, MPRV/SUM setting and regime, including
 * two-stage VS/VU whose entries cache the combined translation), one 64-bit tag compare,
 * natural alignment, host offset = the entry's page + the page offset.
 *
 * Slow path (a TLB miss, a misaligned address, a device, a fault): translated code stores the
 * instruction's pc in the state block and calls `env.ld(vaLo, vaHi, size)` or
 * `env.st(vaLo, vaHi, size, lo, hi)` (jit.ts), which run the interpreter's own slow paths
 * (hart/mmu.ts `loadSlow` / `storeSlow`: page walk of both stages, TLB fill, PMP, MMIO,
 * invalidation of decoded code, and the exception when the access faults). A load's value comes
 * back in the JIT scratch word of the state block (layout.ts, JIT_SCRATCH_BYTE) and is read with
 * the same wasm load (size and extension) as the fast path. Results:
 *   ld: 1 done, 0 the access trapped (the exception has been taken: pc is the trap vector);
 *   st: 1 done, 0 trapped, 2 done but the store invalidated decoded code or touched a device.
 * After a trap or a "done, 2" the region leaves with STOP (translate.ts): the interpreter's
 * outer loop goes on, exactly where it would after the same slow-path access.
 *
 * Stores never reach a page that holds decoded code through the fast path: store TLB entries
 * never map such pages (code_cache.ts), so translated code cannot overwrite itself unseen.
 */
import { JIT_SCRATCH_BYTE, TLB_MASK } from '../hart/layout.ts';
import { Op } from '../isa/op.ts';
import type { Insn } from './region.ts';
import { emitFpCheck, emitFpDirty } from './translate_fp.ts';
import {
  INTERP,
  LD_HELPER,
  P_BASE,
  P_LOADSET,
  P_STORESET,
  ST_HELPER,
  STOP,
  type Emitter,
} from './translate.ts';
import { W } from './wasm.ts';

/**
 * The TLB lookup: va = rs1 + imm; leaves in local t the entry and pushes (i32) whether the
 * access misses the fast path (tag mismatch or misaligned).
 */
function lookup(e: Emitter, insn: Insn, set: number, size: number, imm = insn.imm): void {
  const c = e.c;
  const rs1 = (insn.w >>> 15) & 31;
  e.x(rs1);
  if (imm !== 0) c.i64Const(imm).op(W.I64_ADD);
  c.set(e.va);
  // t = set + ((va >>> 12) & TLB_MASK) * 16
  c.get(set).get(e.va).op(W.I32_WRAP_I64).i32Const(12).op(W.I32_SHR_U);
  c.i32Const(TLB_MASK).op(W.I32_AND).i32Const(4).op(W.I32_SHL).op(W.I32_ADD).set(e.t);
  // miss = tag != (va & ~0xfff) | (va & (size - 1))
  c.get(e.t).mem(W.I64_LOAD, 2, 0);
  c.get(e.va).i64ConstHalves(-4096, -1).op(W.I64_AND).op(W.I64_NE);
  if (size > 1)
    c.get(e.va)
      .op(W.I32_WRAP_I64)
      .i32Const(size - 1)
      .op(W.I32_AND)
      .op(W.I32_OR);
}

/** t = host address of va from the TLB entry in t (the fast path's address). */
function hostAddress(e: Emitter): void {
  const c = e.c;
  c.get(e.t).mem(W.I32_LOAD, 2, 8);
  c.get(e.va).op(W.I32_WRAP_I64).i32Const(4095).op(W.I32_AND).op(W.I32_ADD).set(e.t);
}

/** Stores the instruction's pc in the state block and pushes va as two i32 halves. */
function slowPrologue(e: Emitter, insn: Insn): void {
  const c = e.c;
  e.storePc(insn.off);
  c.get(e.va).op(W.I32_WRAP_I64);
  c.get(e.va).i64Const(32).op(W.I64_SHR_U).op(W.I32_WRAP_I64);
}

/**
 * Leaves t = the address to load from: the host address on a TLB hit, else the scratch word
 * after the slow path (or leaves the region after a trap).
 */
function loadAddress(e: Emitter, insn: Insn, idx: number, size: number): void {
  const c = e.c;
  lookup(e, insn, P_LOADSET, size);
  e.open();
  slowPrologue(e, insn);
  c.i32Const(size).call(LD_HELPER).op(W.I32_EQZ);
  e.open();
  e.exitTrap(idx);
  e.close();
  c.get(P_BASE).i32Const(JIT_SCRATCH_BYTE).op(W.I32_ADD).set(e.t);
  c.else();
  hostAddress(e);
  e.close();
}

/**
 * A store of the value pushed by `value` (two i32 halves for the slow path, or one value of
 * the wasm store `o`'s type for the fast path, chosen by `halves`).
 */
function storeAt(
  e: Emitter,
  insn: Insn,
  idx: number,
  size: number,
  o: W,
  align: number,
  value: (halves: boolean) => void,
): void {
  const c = e.c;
  lookup(e, insn, P_STORESET, size);
  e.open();
  slowPrologue(e, insn);
  c.i32Const(size);
  value(true);
  c.call(ST_HELPER).tee(e.t).i32Const(1).op(W.I32_NE);
  e.open();
  c.get(e.t).op(W.I32_EQZ);
  e.open();
  e.exitTrap(idx);
  e.close();
  // Done, but decoded code or a device changed: go back to the interpreter's outer loop.
  e.exitConst(insn.off + insn.len, idx + 1, STOP);
  e.close();
  c.else();
  hostAddress(e);
  c.get(e.t);
  value(false);
  c.mem(o, align, 0);
  e.close();
}

export function emitLoad(e: Emitter, insn: Insn, idx: number, size: number, o: W, align: number): void {
  const rd = (insn.w >>> 9) & 63;
  // The address is computed before rd is written (rd may be rs1).
  loadAddress(e, insn, idx, size);
  e.c.get(e.t).mem(o, align, 0);
  e.setX(rd);
}

export function emitStore(e: Emitter, insn: Insn, idx: number, size: number, o: W, align: number): void {
  const c = e.c;
  const rs2 = (insn.w >>> 20) & 31;
  storeAt(e, insn, idx, size, o, align, (halves) => {
    e.x(rs2);
    if (!halves) return;
    c.op(W.I32_WRAP_I64);
    e.x(rs2);
    c.i64Const(32).op(W.I64_SHR_U).op(W.I32_WRAP_I64);
  });
}

export function emitFpLoad(e: Emitter, insn: Insn, idx: number): void {
  const c = e.c;
  const size = (insn.w & 511) === Op.FLD ? 8 : 4;
  const fd = (insn.w >>> 9) & 31;
  emitFpCheck(e, insn, idx);
  loadAddress(e, insn, idx, size);
  emitFpDirty(e);
  if (size === 8) c.get(e.t).mem(W.I64_LOAD, 3, 0);
  else c.get(e.t).mem(W.I64_LOAD32_U, 2, 0).i64ConstHalves(0, -1).op(W.I64_OR); // NaN-boxed
  e.setFBits(fd);
}

export function emitFpStore(e: Emitter, insn: Insn, idx: number): void {
  const c = e.c;
  const size = (insn.w & 511) === Op.FSD ? 8 : 4;
  const fs2 = (insn.w >>> 20) & 31;
  emitFpCheck(e, insn, idx);
  storeAt(e, insn, idx, size, size === 8 ? W.I64_STORE : W.I32_STORE, size === 8 ? 3 : 2, (halves) => {
    e.fBits(fs2);
    if (!halves) {
      if (size === 4) c.op(W.I32_WRAP_I64);
      return;
    }
    c.op(W.I32_WRAP_I64);
    if (size === 8) {
      e.fBits(fs2);
      c.i64Const(32).op(W.I64_SHR_U).op(W.I32_WRAP_I64);
    } else c.i32Const(0);
  });
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
  lookup(e, insn, P_STORESET, word ? 4 : 8, 0);
  e.open();
  e.exitConst(insn.off, idx, INTERP);
  e.close();
  hostAddress(e);
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
