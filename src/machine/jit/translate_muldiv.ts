/**
 * The M extension's 64-bit helpers for translated regions (translate.ts): mulh, mulhu, mulhsu
 * (from four 32×32-bit partial products, since wasm has no 128-bit multiply) and the divisions
 * and remainders with RISC-V's results for a zero divisor and for overflow (where wasm would
 * trap). Each is a wasm function `(a: i64, b: i64) -> i64` defined in the region module the
 * first time a region uses it, so a module carries only the helpers its regions need.
 */
import { Code, ModuleBuilder, T, W } from './wasm.ts';

/** 64-bit helpers a region may call. */
export const enum Helper {
  MULHU,
  MULH,
  MULHSU,
  DIV,
  DIVU,
  REM,
  REMU,
  DIVW,
  DIVUW,
  REMW,
  REMUW,
  COUNT,
}

/** The 64-bit helpers of one module, defined on first use. */
export class HelperSet {
  private readonly index: number[] = new Array<number>(Helper.COUNT).fill(-1);

  constructor(private readonly mb: ModuleBuilder) {}

  get(h: Helper): number {
    const have = this.index[h]!;
    if (have >= 0) return have;
    const f = this.mb.func([T.I64, T.I64], [T.I64]);
    this.index[h] = f.index;
    emitHelper(f.code, h, h === Helper.MULH || h === Helper.MULHSU ? this.get(Helper.MULHU) : -1);
    return f.index;
  }
}

/** Body of a 64-bit helper (a, b) -> result with the M extension's rules. */
function emitHelper(c: Code, h: Helper, mulhu: number): void {
  const A = 0;
  const B = 1;
  const MASK32 = (): Code => c.i64ConstHalves(-1, 0);
  switch (h) {
    case Helper.MULHU: {
      // Four 32×32 partial products.
      const al = c.local(T.I64);
      const ah = c.local(T.I64);
      const bl = c.local(T.I64);
      const bh = c.local(T.I64);
      const lh = c.local(T.I64);
      const hl = c.local(T.I64);
      c.get(A);
      MASK32();
      c.op(W.I64_AND).set(al);
      c.get(A).i64Const(32).op(W.I64_SHR_U).set(ah);
      c.get(B);
      MASK32();
      c.op(W.I64_AND).set(bl);
      c.get(B).i64Const(32).op(W.I64_SHR_U).set(bh);
      c.get(al).get(bh).op(W.I64_MUL).set(lh);
      c.get(ah).get(bl).op(W.I64_MUL).set(hl);
      // hi = ah*bh + (lh >> 32) + (hl >> 32) + (((al*bl) >> 32) + (lh & m) + (hl & m)) >> 32
      c.get(ah).get(bh).op(W.I64_MUL);
      c.get(lh).i64Const(32).op(W.I64_SHR_U).op(W.I64_ADD);
      c.get(hl).i64Const(32).op(W.I64_SHR_U).op(W.I64_ADD);
      c.get(al).get(bl).op(W.I64_MUL).i64Const(32).op(W.I64_SHR_U);
      c.get(lh);
      MASK32();
      c.op(W.I64_AND).op(W.I64_ADD);
      c.get(hl);
      MASK32();
      c.op(W.I64_AND).op(W.I64_ADD);
      c.i64Const(32).op(W.I64_SHR_U).op(W.I64_ADD);
      return;
    }
    case Helper.MULH:
      // mulhu(a, b) - (a < 0 ? b : 0) - (b < 0 ? a : 0)
      c.get(A).get(B).call(mulhu);
      c.get(A).i64Const(63).op(W.I64_SHR_S).get(B).op(W.I64_AND).op(W.I64_SUB);
      c.get(B).i64Const(63).op(W.I64_SHR_S).get(A).op(W.I64_AND).op(W.I64_SUB);
      return;
    case Helper.MULHSU:
      c.get(A).get(B).call(mulhu);
      c.get(A).i64Const(63).op(W.I64_SHR_S).get(B).op(W.I64_AND).op(W.I64_SUB);
      return;
    case Helper.DIV:
      // b == 0 → -1; a == MIN && b == -1 → a (wasm would trap); else a / b.
      c.get(B).op(W.I64_EQZ).if(T.I64).i64Const(-1).else();
      c.get(B).i64Const(-1).op(W.I64_EQ).get(A).i64ConstHalves(0, 0x80000000).op(W.I64_EQ).op(W.I32_AND);
      c.if(T.I64).get(A).else().get(A).get(B).op(W.I64_DIV_S).end().end();
      return;
    case Helper.DIVU:
      c.get(B).op(W.I64_EQZ).if(T.I64).i64Const(-1).else().get(A).get(B).op(W.I64_DIV_U).end();
      return;
    case Helper.REM:
      // wasm's rem_s gives 0 for MIN % -1 as RISC-V does; only b == 0 needs care.
      c.get(B).op(W.I64_EQZ).if(T.I64).get(A).else().get(A).get(B).op(W.I64_REM_S).end();
      return;
    case Helper.REMU:
      c.get(B).op(W.I64_EQZ).if(T.I64).get(A).else().get(A).get(B).op(W.I64_REM_U).end();
      return;
    case Helper.DIVW:
    case Helper.DIVUW:
    case Helper.REMW:
    case Helper.REMUW: {
      const a32 = c.local(T.I32);
      const b32 = c.local(T.I32);
      c.get(A).op(W.I32_WRAP_I64).set(a32);
      c.get(B).op(W.I32_WRAP_I64).set(b32);
      c.get(b32).op(W.I32_EQZ).if(T.I32);
      if (h === Helper.DIVW || h === Helper.DIVUW) c.i32Const(-1);
      else c.get(a32);
      c.else();
      if (h === Helper.DIVW) {
        c.get(b32).i32Const(-1).op(W.I32_EQ).get(a32).i32Const(0x80000000).op(W.I32_EQ).op(W.I32_AND);
        c.if(T.I32).get(a32).else().get(a32).get(b32).op(W.I32_DIV_S).end();
      } else {
        const o = h === Helper.DIVUW ? W.I32_DIV_U : h === Helper.REMW ? W.I32_REM_S : W.I32_REM_U;
        c.get(a32).get(b32).op(o);
      }
      c.end().op(W.I64_EXTEND_I32_S);
      return;
    }
  }
}
