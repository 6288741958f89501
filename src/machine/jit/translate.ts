/**
 * Translation of regions (region.ts) into WebAssembly functions, several per module.
 *
 * Every region function is `(base, budget, loadSet, storeSet) -> status` (type REGION_TYPE):
 *   base      byte offset of the hart's state block (layout.ts) in machine memory
 *   budget    instructions it may execute (it never executes more)
 *   loadSet   byte offset of the first entry of the hart's current load TLB set
 *   storeSet  the same for stores
 * It returns (count << 1) | interp, where `count` is the number of instructions it executed
 * (all retired: translated code raises no exceptions) and `interp` = 1 when the instruction
 * at the new pc must be run by the interpreter (not translated, a TLB miss, a misaligned
 * access, an FP instruction that would trap, or too little budget left for the next block).
 * With interp = 0, count ≥ 1 and pc is wherever control went (dispatch.ts looks it up). On
 * every exit the state block's pc, x and f registers are exactly what the interpreter would
 * have left after `count` instructions, so exceptions and interrupts stay precise.
 *
 * x registers live in wasm locals inside a region: every register the region uses is loaded
 * on entry, and every register it writes is stored back at each exit (and before calls that
 * read registers from memory). The current pc's page is read once on entry: a region is all
 * in one page, so every pc in it is that page's virtual base plus a constant, and the same
 * translation serves every virtual mapping of the physical page. Loads and stores take the
 * interpreter's soft-TLB hit path (same tag compare, same alignment rule, host offset from the
 * entry) and exit to the interpreter on a miss; store TLB entries never map pages holding
 * decoded code (code_cache.ts), so translated stores cannot modify translated code.
 *
 * F and D: loads and stores are translated inline (with the mstatus.FS check and the Dirty
 * update of the interpreter); the other F/D instructions call `env.fp(w, imm)`, which runs
 * the interpreter's own soft-float code (hart/fp_exec.ts, `fpExecJit`) on the hart being run,
 * so results and accrued flags are bit-exact by construction; it returns 0 without effect
 * when the instruction would trap, and the region then leaves it to the interpreter.
 *
 * Blocks are cases of a `loop` + `br_table` dispatch inside the function, so branches between
 * blocks of the same region stay in wasm; each block first checks that its whole length fits
 * in the remaining budget.
 */
import { Op } from '../isa/op.ts';
import { Mstatus } from '../hart/csr_defs.ts';
import { CsrSlot, csrIndex, F_BYTE_OFFSET, HS, TLB_MASK } from '../hart/layout.ts';
import { Next, type BasicBlock, type Insn, type Region } from './region.ts';
import { Code, ModuleBuilder, T, W } from './wasm.ts';

const PC_BYTE = HS.PC_LO * 4;
const MSTATUS_BYTE = csrIndex(CsrSlot.MSTATUS) * 4;
const VSSTATUS_BYTE = csrIndex(CsrSlot.VSSTATUS) * 4;
const VIRT_BYTE = HS.VIRT * 4;
const FFLAGS_BYTE = HS.FFLAGS * 4;
const FRM_BYTE = HS.FRM * 4;
/** fflags NX (inexact). */
const NX = 1;
/**
 * Biased exponents of the operands and results that native double arithmetic handles: far
 * from overflow, underflow and subnormals, so that the only possible flag is inexact and the
 * exact error terms below (Dekker's product, Knuth's sum) are representable.
 */
const EXP_LO = 1023 - 300;
const EXP_HI = 1023 + 300;
/** Veltkamp's splitting constant for doubles: 2^27 + 1. */
const SPLIT = 134217729;
const P_BASE = 0;
const P_BUDGET = 1;
const P_LOADSET = 2;
const P_STORESET = 3;

/** Parameter and result types of a region function (also the dispatcher's call_indirect type). */
export const REGION_PARAMS: readonly T[] = [T.I32, T.I32, T.I32, T.I32];
export const REGION_RESULTS: readonly T[] = [T.I32];

/** Function index of the imported FP helper `env.fp(w, imm) -> ok` in every region module. */
const FP_HELPER = 0;

/** 64-bit helpers a region may call (defined once per module when first used). */
const enum Helper {
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

function isFpLoadStore(op: number): boolean {
  return op === Op.FLW || op === Op.FSW || op === Op.FLD || op === Op.FSD;
}

function isFpHelperOp(op: number): boolean {
  return op >= Op.FLW && op <= Op.FMV_D_X && !isFpLoadStore(op);
}

/** F/D instructions (run by the helper) whose rd is an x register. */
function fpWritesX(op: number): boolean {
  switch (op) {
    case Op.FCVT_W_S:
    case Op.FCVT_WU_S:
    case Op.FCVT_L_S:
    case Op.FCVT_LU_S:
    case Op.FMV_X_W:
    case Op.FEQ_S:
    case Op.FLT_S:
    case Op.FLE_S:
    case Op.FCLASS_S:
    case Op.FCVT_W_D:
    case Op.FCVT_WU_D:
    case Op.FCVT_L_D:
    case Op.FCVT_LU_D:
    case Op.FMV_X_D:
    case Op.FEQ_D:
    case Op.FLT_D:
    case Op.FLE_D:
    case Op.FCLASS_D:
      return true;
    default:
      return false;
  }
}

/** Does the instruction read rs1 / rs2 as x registers, and write rd as one? */
function regUse(op: number): { rs1: boolean; rs2: boolean; rd: boolean } {
  if (isFpHelperOp(op)) {
    // rs1 may be an x source (fmv.d.x, fcvt.d.l…): the helper reads it from memory.
    return { rs1: true, rs2: false, rd: fpWritesX(op) };
  }
  switch (op) {
    case Op.LUI:
    case Op.AUIPC:
    case Op.JAL:
      return { rs1: false, rs2: false, rd: true };
    case Op.FENCE:
      return { rs1: false, rs2: false, rd: false };
    case Op.FLW:
    case Op.FLD:
      return { rs1: true, rs2: false, rd: false };
    case Op.FSW:
    case Op.FSD:
      return { rs1: true, rs2: false, rd: false };
    case Op.SB:
    case Op.SH:
    case Op.SW:
    case Op.SD:
    case Op.BEQ:
    case Op.BNE:
    case Op.BLT:
    case Op.BGE:
    case Op.BLTU:
    case Op.BGEU:
      return { rs1: true, rs2: true, rd: false };
    default:
      return { rs1: true, rs2: true, rd: true };
  }
}

class Emitter {
  readonly c: Code;
  private readonly n: number;
  private readonly bb: number;
  private readonly vpage: number;
  private readonly va: number;
  private readonly t: number;
  /**
   * FP state known at region entry: bit 0 = F/D enabled (mstatus.FS, and vsstatus.FS in V
   * mode), bit 1 = frm is RNE; bit 2 = FS already set to Dirty by this call. Translated code
   * changes neither FS to Off nor frm, so bits 0 and 1 hold for the whole call.
   */
  private readonly fpState: number;
  /** f64 scratch locals for native FP. */
  private readonly f: number[] = new Array<number>(9).fill(-1);
  /** The next pc and the status of an exit, for the shared exit path. */
  private readonly pcv: number;
  private readonly st: number;
  /** Local holding x register r (1..31), or -1 when the region does not use it. */
  private readonly xl: number[] = new Array<number>(32).fill(-1);
  /** Registers the region writes (stored back at every exit). */
  private readonly written: number[] = [];
  /** Nesting of structured blocks between the current code and its dispatch case. */
  private depth = 0;
  /** Index of the block being emitted, its length. */
  private cur = 0;
  private curLen = 0;

  constructor(
    private readonly helpers: HelperSet,
    private readonly region: Region,
    code: Code,
  ) {
    this.c = code;
    this.n = code.local(T.I32);
    this.bb = code.local(T.I32);
    this.vpage = code.local(T.I64);
    this.va = code.local(T.I64);
    this.t = code.local(T.I32);
    this.pcv = code.local(T.I64);
    this.st = code.local(T.I32);
    this.fpState = code.local(T.I32);
    for (let i = 0; i < this.f.length; i++) this.f[i] = code.local(T.F64);
    const used = new Uint8Array(33);
    const wr = new Uint8Array(33);
    for (const b of region.blocks) {
      for (const insn of b.insns) {
        const u = regUse(insn.w & 511);
        if (u.rs1) used[(insn.w >>> 15) & 31] = 1;
        if (u.rs2) used[(insn.w >>> 20) & 31] = 1;
        if (u.rd) {
          const rd = (insn.w >>> 9) & 63;
          used[rd] = 1;
          wr[rd] = 1;
        }
      }
    }
    for (let r = 1; r < 32; r++) {
      if (used[r]) this.xl[r] = code.local(T.I64);
      if (wr[r]) this.written.push(r);
    }
  }

  emit(): void {
    const c = this.c;
    const blocks = this.region.blocks;
    const k = blocks.length;
    for (let r = 1; r < 32; r++) {
      if (this.xl[r]! >= 0)
        c.get(P_BASE)
          .mem(W.I64_LOAD, 3, r * 8)
          .set(this.xl[r]!);
    }
    c.get(P_BASE).mem(W.I64_LOAD, 3, PC_BYTE).i64ConstHalves(-4096, -1).op(W.I64_AND).set(this.vpage);
    if (this.region.blocks.some((b) => b.insns.some((i) => isFpHelperOp(i.w & 511)))) {
      const FS = Mstatus.FS as number;
      // on = (mstatus & FS) != 0 & !(virt & (vsstatus & FS) == 0)
      c.get(P_BASE).mem(W.I32_LOAD, 2, MSTATUS_BYTE).i32Const(FS).op(W.I32_AND).i32Const(0).op(W.I32_NE);
      c.get(P_BASE).mem(W.I32_LOAD, 2, VIRT_BYTE);
      c.get(P_BASE).mem(W.I32_LOAD, 2, VSSTATUS_BYTE).i32Const(FS).op(W.I32_AND).op(W.I32_EQZ);
      c.op(W.I32_AND).op(W.I32_EQZ).op(W.I32_AND);
      c.get(P_BASE).mem(W.I32_LOAD, 2, FRM_BYTE).op(W.I32_EQZ).i32Const(1).op(W.I32_SHL).op(W.I32_OR);
      c.set(this.fpState);
    }
    c.i32Const(this.region.entryBlock).set(this.bb);
    c.block(); // exits branch out of this block to the shared exit path
    c.loop();
    for (let i = 0; i < k; i++) c.block();
    c.get(this.bb).brTable(
      blocks.map((_, i) => i),
      0,
    );
    for (let i = 0; i < k; i++) {
      c.end();
      this.cur = i;
      this.block(blocks[i]!);
    }
    c.end(); // loop
    c.op(W.UNREACHABLE);
    c.end(); // exit block
    // The one exit path: write back registers, store pc, return the status.
    this.flush();
    c.get(P_BASE).get(this.pcv).mem(W.I64_STORE, 3, PC_BYTE);
    c.get(this.st);
  }

  /** Depth of the dispatch loop's label from the current position. */
  private loopDepth(): number {
    return this.region.blocks.length - 1 - this.cur + this.depth;
  }

  private block(b: BasicBlock): void {
    const c = this.c;
    const len = b.insns.length;
    this.curLen = len;
    // n += len; if n > budget, give the block to the interpreter (count = n - len).
    c.get(this.n).i32Const(len).op(W.I32_ADD).tee(this.n).get(P_BUDGET).op(W.I32_GT_U);
    this.open();
    this.exitConst(b.start, 0, 1);
    this.close();
    for (let i = 0; i < len; i++) this.insn(b.insns[i]!, i);
    // Fall-through or not-taken successor.
    switch (b.next) {
      case Next.BLOCK:
        if (b.nextBlock !== this.cur + 1) this.goto(b.nextBlock);
        break;
      case Next.INTERP:
        this.exitConst(b.nextOff, len, 1);
        break;
      case Next.DISPATCH:
        this.exitConst(b.nextOff, len, 0);
        break;
      case Next.NONE:
        break;
    }
  }

  private open(): void {
    this.c.if();
    this.depth++;
  }

  private close(): void {
    this.c.end();
    this.depth--;
  }

  /** Continues at block `i` through the dispatch loop. */
  private goto(i: number): void {
    this.c.i32Const(i).set(this.bb).br(this.loopDepth());
  }

  /** Stores the registers the region writes back into the state block. */
  private flush(): void {
    for (const r of this.written)
      this.c
        .get(P_BASE)
        .get(this.xl[r]!)
        .mem(W.I64_STORE, 3, r * 8);
  }

  /**
   * Sets the status for `done` instructions of the current block and leaves through the exit
   * path (the next pc must be in pcv).
   */
  private ret(done: number, interp: number): void {
    const c = this.c;
    c.get(this.n);
    if (done !== this.curLen) c.i32Const(this.curLen - done).op(W.I32_SUB);
    c.i32Const(1).op(W.I32_SHL);
    if (interp) c.i32Const(1).op(W.I32_OR);
    c.set(this.st).br(this.loopDepth() + 1);
  }

  /** Leaves with pc = page base + off after `done` instructions of the current block. */
  private exitConst(off: number, done: number, interp: number): void {
    const c = this.c;
    c.get(this.vpage);
    if (off !== 0) c.i64Const(off).op(W.I64_ADD);
    c.set(this.pcv);
    this.ret(done, interp);
  }

  private x(r: number): void {
    if (r === 0) this.c.i64Const(0);
    else this.c.get(this.xl[r]!);
  }

  /** Writes the i64 on the stack to rd (dropped for x0, whose "rd" is the sink 32). */
  private setX(rd: number): void {
    if (rd === 0 || rd >= 32) this.c.op(W.DROP);
    else this.c.set(this.xl[rd]!);
  }

  /** pc-relative constant: page base + off (i64 on the stack). */
  private pcRel(off: number): void {
    this.c.get(this.vpage);
    if (off !== 0) this.c.i64Const(off).op(W.I64_ADD);
  }

  /** Index in its block of the instruction being emitted. */
  private curIdx = 0;

  private insn(insn: Insn, idx: number): void {
    const c = this.c;
    this.curIdx = idx;
    const w = insn.w;
    const op = w & 511;
    const rd = (w >>> 9) & 63;
    const rs1 = (w >>> 15) & 31;
    const rs2 = (w >>> 20) & 31;
    const imm = insn.imm;
    const binI64 = (o: W): void => {
      this.x(rs1);
      this.x(rs2);
      c.op(o);
      this.setX(rd);
    };
    const immI64 = (o: W): void => {
      this.x(rs1);
      c.i64Const(imm).op(o);
      this.setX(rd);
    };
    const cmp = (o: W, withImm: boolean): void => {
      this.x(rs1);
      if (withImm) c.i64Const(imm);
      else this.x(rs2);
      c.op(o).op(W.I64_EXTEND_I32_U);
      this.setX(rd);
    };
    const word = (o: W, withImm: boolean): void => {
      this.x(rs1);
      c.op(W.I32_WRAP_I64);
      if (withImm) c.i32Const(imm);
      else {
        this.x(rs2);
        c.op(W.I32_WRAP_I64);
      }
      c.op(o).op(W.I64_EXTEND_I32_S);
      this.setX(rd);
    };
    const helper = (h: Helper): void => {
      this.x(rs1);
      this.x(rs2);
      c.call(this.helpers.get(h));
      this.setX(rd);
    };
    if (isFpHelperOp(op)) return this.fpHelper(insn, idx);
    switch (op) {
      case Op.LUI:
        c.i64Const(imm);
        this.setX(rd);
        break;
      case Op.AUIPC:
        this.pcRel(insn.off + imm);
        this.setX(rd);
        break;
      case Op.ADDI:
        return immI64(W.I64_ADD);
      case Op.XORI:
        return immI64(W.I64_XOR);
      case Op.ORI:
        return immI64(W.I64_OR);
      case Op.ANDI:
        return immI64(W.I64_AND);
      case Op.SLLI:
        return immI64(W.I64_SHL);
      case Op.SRLI:
        return immI64(W.I64_SHR_U);
      case Op.SRAI:
        return immI64(W.I64_SHR_S);
      case Op.SLTI:
        return cmp(W.I64_LT_S, true);
      case Op.SLTIU:
        return cmp(W.I64_LT_U, true);
      case Op.ADDIW:
        return word(W.I32_ADD, true);
      case Op.SLLIW:
        return word(W.I32_SHL, true);
      case Op.SRLIW:
        return word(W.I32_SHR_U, true);
      case Op.SRAIW:
        return word(W.I32_SHR_S, true);
      case Op.ADD:
        return binI64(W.I64_ADD);
      case Op.SUB:
        return binI64(W.I64_SUB);
      case Op.SLL:
        return binI64(W.I64_SHL);
      case Op.SRL:
        return binI64(W.I64_SHR_U);
      case Op.SRA:
        return binI64(W.I64_SHR_S);
      case Op.XOR:
        return binI64(W.I64_XOR);
      case Op.OR:
        return binI64(W.I64_OR);
      case Op.AND:
        return binI64(W.I64_AND);
      case Op.SLT:
        return cmp(W.I64_LT_S, false);
      case Op.SLTU:
        return cmp(W.I64_LT_U, false);
      case Op.ADDW:
        return word(W.I32_ADD, false);
      case Op.SUBW:
        return word(W.I32_SUB, false);
      case Op.SLLW:
        return word(W.I32_SHL, false);
      case Op.SRLW:
        return word(W.I32_SHR_U, false);
      case Op.SRAW:
        return word(W.I32_SHR_S, false);
      case Op.MUL:
        return binI64(W.I64_MUL);
      case Op.MULW:
        return word(W.I32_MUL, false);
      case Op.MULH:
        return helper(Helper.MULH);
      case Op.MULHU:
        return helper(Helper.MULHU);
      case Op.MULHSU:
        return helper(Helper.MULHSU);
      case Op.DIV:
        return helper(Helper.DIV);
      case Op.DIVU:
        return helper(Helper.DIVU);
      case Op.REM:
        return helper(Helper.REM);
      case Op.REMU:
        return helper(Helper.REMU);
      case Op.DIVW:
        return helper(Helper.DIVW);
      case Op.DIVUW:
        return helper(Helper.DIVUW);
      case Op.REMW:
        return helper(Helper.REMW);
      case Op.REMUW:
        return helper(Helper.REMUW);
      case Op.FENCE:
        break;
      case Op.LB:
        return this.load(insn, idx, 1, W.I64_LOAD8_S, 0);
      case Op.LBU:
        return this.load(insn, idx, 1, W.I64_LOAD8_U, 0);
      case Op.LH:
        return this.load(insn, idx, 2, W.I64_LOAD16_S, 1);
      case Op.LHU:
        return this.load(insn, idx, 2, W.I64_LOAD16_U, 1);
      case Op.LW:
        return this.load(insn, idx, 4, W.I64_LOAD32_S, 2);
      case Op.LWU:
        return this.load(insn, idx, 4, W.I64_LOAD32_U, 2);
      case Op.LD:
        return this.load(insn, idx, 8, W.I64_LOAD, 3);
      case Op.SB:
        return this.store(insn, idx, 1, W.I64_STORE8, 0);
      case Op.SH:
        return this.store(insn, idx, 2, W.I64_STORE16, 1);
      case Op.SW:
        return this.store(insn, idx, 4, W.I64_STORE32, 2);
      case Op.SD:
        return this.store(insn, idx, 8, W.I64_STORE, 3);
      case Op.FLW:
      case Op.FLD:
        return this.fpLoad(insn, idx, op === Op.FLD ? 8 : 4);
      case Op.FSW:
      case Op.FSD:
        return this.fpStore(insn, idx, op === Op.FSD ? 8 : 4);
      case Op.JAL:
      case Op.JALR:
        return this.jump(insn, op);
      case Op.BEQ:
        return this.branch(insn, W.I64_EQ);
      case Op.BNE:
        return this.branch(insn, W.I64_NE);
      case Op.BLT:
        return this.branch(insn, W.I64_LT_S);
      case Op.BGE:
        return this.branch(insn, W.I64_GE_S);
      case Op.BLTU:
        return this.branch(insn, W.I64_LT_U);
      case Op.BGEU:
        return this.branch(insn, W.I64_GE_U);
      default:
        throw new Error(`jit: op ${op} reached the translator but is not translatable`);
    }
  }

  /**
   * The soft-TLB lookup of loads and stores: va = rs1 + imm; t = the entry; leaves the host
   * address on the stack on a hit, exits to the interpreter (before this instruction) on a
   * miss or a misaligned address.
   */
  private tlb(insn: Insn, idx: number, set: number, size: number): void {
    const c = this.c;
    const rs1 = (insn.w >>> 15) & 31;
    this.x(rs1);
    c.i64Const(insn.imm).op(W.I64_ADD).set(this.va);
    // t = set + ((va >>> 12) & TLB_MASK) * 16
    c.get(set).get(this.va).op(W.I32_WRAP_I64).i32Const(12).op(W.I32_SHR_U);
    c.i32Const(TLB_MASK).op(W.I32_AND).i32Const(4).op(W.I32_SHL).op(W.I32_ADD).set(this.t);
    // miss = tag != (va & ~0xfff) | (va & (size - 1))
    c.get(this.t).mem(W.I64_LOAD, 2, 0);
    c.get(this.va).i64ConstHalves(-4096, -1).op(W.I64_AND).op(W.I64_NE);
    if (size > 1)
      c.get(this.va)
        .op(W.I32_WRAP_I64)
        .i32Const(size - 1)
        .op(W.I32_AND)
        .op(W.I32_OR);
    this.open();
    this.exitConst(insn.off, idx, 1);
    this.close();
    c.get(this.t).mem(W.I32_LOAD, 2, 8);
    c.get(this.va).op(W.I32_WRAP_I64).i32Const(4095).op(W.I32_AND).op(W.I32_ADD);
  }

  private load(insn: Insn, idx: number, size: number, o: W, align: number): void {
    const rd = (insn.w >>> 9) & 63;
    // The address is computed before rd is written (rd may be rs1).
    this.tlb(insn, idx, P_LOADSET, size);
    this.c.mem(o, align, 0);
    this.setX(rd);
  }

  private store(insn: Insn, idx: number, size: number, o: W, align: number): void {
    const rs2 = (insn.w >>> 20) & 31;
    this.tlb(insn, idx, P_STORESET, size);
    this.x(rs2);
    this.c.mem(o, align, 0);
  }

  /** Exits to the interpreter before the instruction when FP is off (it raises illegal). */
  private fpCheck(insn: Insn, idx: number): void {
    const c = this.c;
    const FS = Mstatus.FS as number;
    // off = !(mstatus & FS) | (virt & !(vsstatus & FS))
    c.get(P_BASE).mem(W.I32_LOAD, 2, MSTATUS_BYTE).i32Const(FS).op(W.I32_AND).op(W.I32_EQZ);
    c.get(P_BASE).mem(W.I32_LOAD, 2, VIRT_BYTE);
    c.get(P_BASE).mem(W.I32_LOAD, 2, VSSTATUS_BYTE).i32Const(FS).op(W.I32_AND).op(W.I32_EQZ);
    c.op(W.I32_AND).op(W.I32_OR);
    this.open();
    this.exitConst(insn.off, idx, 1);
    this.close();
  }

  /** Marks the FP state Dirty, as fpDirty does (vsstatus too while V = 1). */
  private fpDirty(): void {
    const c = this.c;
    const FS = Mstatus.FS as number;
    c.get(P_BASE).get(P_BASE).mem(W.I32_LOAD, 2, MSTATUS_BYTE).i32Const(FS).op(W.I32_OR);
    c.mem(W.I32_STORE, 2, MSTATUS_BYTE);
    c.get(P_BASE).mem(W.I32_LOAD, 2, VIRT_BYTE);
    c.if();
    c.get(P_BASE).get(P_BASE).mem(W.I32_LOAD, 2, VSSTATUS_BYTE).i32Const(FS).op(W.I32_OR);
    c.mem(W.I32_STORE, 2, VSSTATUS_BYTE);
    c.end();
  }

  private fpLoad(insn: Insn, idx: number, size: number): void {
    const c = this.c;
    const fd = (insn.w >>> 9) & 31;
    this.fpCheck(insn, idx);
    this.tlb(insn, idx, P_LOADSET, size);
    c.set(this.t);
    this.fpDirty();
    const at = F_BYTE_OFFSET + fd * 8;
    if (size === 8) {
      c.get(P_BASE).get(this.t).mem(W.I64_LOAD, 3, 0).mem(W.I64_STORE, 3, at);
    } else {
      c.get(P_BASE).get(this.t).mem(W.I32_LOAD, 2, 0).mem(W.I32_STORE, 2, at);
      c.get(P_BASE)
        .i32Const(-1)
        .mem(W.I32_STORE, 2, at + 4); // NaN-box
    }
  }

  private fpStore(insn: Insn, idx: number, size: number): void {
    const c = this.c;
    const fs2 = (insn.w >>> 20) & 31;
    this.fpCheck(insn, idx);
    this.tlb(insn, idx, P_STORESET, size);
    const at = F_BYTE_OFFSET + fs2 * 8;
    if (size === 8) c.get(P_BASE).mem(W.I64_LOAD, 3, at).mem(W.I64_STORE, 3, 0);
    else c.get(P_BASE).mem(W.I32_LOAD, 2, at).mem(W.I32_STORE, 2, 0);
  }

  /** Any other F/D instruction: natively when that is exact, else the soft-float helper. */
  private fpHelper(insn: Insn, idx: number): void {
    if (this.fpNative(insn)) return;
    this.fpCall(insn, idx);
  }

  /** f register r as raw bits (i64) / as a double. */
  private fBits(r: number): void {
    this.c.get(P_BASE).mem(W.I64_LOAD, 3, F_BYTE_OFFSET + r * 8);
  }

  private fF64(r: number): void {
    this.c.get(P_BASE).mem(W.F64_LOAD, 3, F_BYTE_OFFSET + r * 8);
  }

  /** Sets FS to Dirty once per call (fpDirty), after the first native FP instruction. */
  private fpDirtyOnce(): void {
    const c = this.c;
    c.get(this.fpState).i32Const(4).op(W.I32_AND).op(W.I32_EQZ);
    c.if();
    this.fpDirty();
    c.get(this.fpState).i32Const(4).op(W.I32_OR).set(this.fpState);
    c.end();
  }

  /** Is the double in local `l` in the native exponent range? (i32 on the stack) */
  private inRange(l: number): void {
    const c = this.c;
    c.get(l).op(W.I64_REINTERPRET_F64).i64Const(52).op(W.I64_SHR_U).op(W.I32_WRAP_I64);
    c.i32Const(0x7ff)
      .op(W.I32_AND)
      .i32Const(EXP_LO)
      .op(W.I32_SUB)
      .i32Const(EXP_HI - EXP_LO)
      .op(W.I32_LT_U);
  }

  /** Splits the double in `x` into hi/lo halves (Veltkamp): hi + lo = x, each 26 bits. */
  private split(x: number, hi: number, lo: number): void {
    const c = this.c;
    c.f64Const(SPLIT).get(x).op(W.F64_MUL).tee(hi); // hi = t for now
    c.get(hi).get(x).op(W.F64_SUB).op(W.F64_SUB).set(hi); // hi = t - (t - x)
    c.get(x).get(hi).op(W.F64_SUB).set(lo);
  }

  /**
   * Pushes (i32) whether x × y differs from the double `p` = fl(x × y) + nothing, i.e. whether
   * the exact product x·y ≠ target, where target is in local `tgt` (p itself for a product:
   * pass tgt = p). Uses Dekker's exact product: x·y = p' + e with p' = fl(x·y).
   */
  private productNotEqual(x: number, y: number, tgt: number): void {
    const c = this.c;
    const [xh, xl, yh, yl, p] = [this.f[4]!, this.f[5]!, this.f[6]!, this.f[7]!, this.f[8]!];
    this.split(x, xh, xl);
    this.split(y, yh, yl);
    c.get(x).get(y).op(W.F64_MUL).set(p);
    // e = ((xh*yh - p) + xh*yl + xl*yh) + xl*yl
    c.get(xh).get(yh).op(W.F64_MUL).get(p).op(W.F64_SUB);
    c.get(xh).get(yl).op(W.F64_MUL).op(W.F64_ADD);
    c.get(xl).get(yh).op(W.F64_MUL).op(W.F64_ADD);
    c.get(xl).get(yl).op(W.F64_MUL).op(W.F64_ADD);
    c.f64Const(0).op(W.F64_NE);
    c.get(p).get(tgt).op(W.F64_NE).op(W.I32_OR);
  }

  /**
   * Emits the native form of a double add/sub/mul/div/sqrt, sign injection or move, with a
   * run-time fallback to the helper. Returns false when the instruction has no native form.
   */
  private fpNative(insn: Insn): boolean {
    const c = this.c;
    const w = insn.w;
    const op = w & 511;
    const rd = (w >>> 9) & 63;
    const rs1 = (w >>> 15) & 31;
    const rs2 = (w >>> 20) & 31;
    const fd = rd & 31;
    const SIGN_LO = 0;
    const SIGN_HI = 0x80000000 | 0;
    const arith =
      op === Op.FADD_D || op === Op.FSUB_D || op === Op.FMUL_D || op === Op.FDIV_D || op === Op.FSQRT_D;
    const moves =
      op === Op.FMV_X_D || op === Op.FMV_D_X || op === Op.FSGNJ_D || op === Op.FSGNJN_D || op === Op.FSGNJX_D;
    if (!arith && !moves) return false;
    if (arith && insn.imm !== 0 && insn.imm !== 7) return false;
    // need = FP on (bit 0), and RNE from frm (bit 1) for a dynamic rounding mode.
    const need = arith && insn.imm === 7 ? 3 : 1;
    c.get(this.fpState).i32Const(need).op(W.I32_AND).i32Const(need).op(W.I32_NE);
    c.if();
    this.depth++;
    this.fpCall(insn, -1);
    c.else();
    if (moves) {
      if (op === Op.FMV_X_D) {
        this.fBits(rs1);
        this.setX(rd);
      } else if (op === Op.FMV_D_X) {
        c.get(P_BASE);
        this.x(rs1);
        c.mem(W.I64_STORE, 3, F_BYTE_OFFSET + fd * 8);
      } else {
        c.get(P_BASE);
        this.fBits(rs1);
        if (op === Op.FSGNJ_D || op === Op.FSGNJN_D) c.i64ConstHalves(-1, 0x7fffffff).op(W.I64_AND);
        this.fBits(rs2);
        if (op === Op.FSGNJN_D) c.i64Const(-1).op(W.I64_XOR);
        c.i64ConstHalves(SIGN_LO, SIGN_HI).op(W.I64_AND);
        c.op(op === Op.FSGNJX_D ? W.I64_XOR : W.I64_OR);
        c.mem(W.I64_STORE, 3, F_BYTE_OFFSET + fd * 8);
      }
      this.fpDirtyOnce();
      c.end();
      this.depth--;
      return true;
    }
    const [a, b, r, t] = [this.f[0]!, this.f[1]!, this.f[2]!, this.f[3]!];
    this.fF64(rs1);
    c.set(a);
    if (op !== Op.FSQRT_D) {
      this.fF64(rs2);
      if (op === Op.FSUB_D) c.op(W.F64_NEG);
      c.set(b);
    }
    c.get(a);
    if (op === Op.FSQRT_D) c.op(W.F64_SQRT);
    else c.get(b).op(op === Op.FMUL_D ? W.F64_MUL : op === Op.FDIV_D ? W.F64_DIV : W.F64_ADD);
    c.set(r);
    this.inRange(a);
    if (op !== Op.FSQRT_D) {
      this.inRange(b);
      c.op(W.I32_AND);
    }
    this.inRange(r);
    c.op(W.I32_AND).op(W.I32_EQZ);
    c.if();
    this.depth++;
    this.fpCall(insn, -1);
    c.else();
    // inexact?
    switch (op) {
      case Op.FADD_D:
      case Op.FSUB_D:
        // Knuth's TwoSum: err = (a - (r - bb)) + (b - bb), bb = r - a
        c.get(r).get(a).op(W.F64_SUB).set(t);
        c.get(a).get(r).get(t).op(W.F64_SUB).op(W.F64_SUB);
        c.get(b).get(t).op(W.F64_SUB).op(W.F64_ADD);
        c.f64Const(0).op(W.F64_NE);
        break;
      case Op.FMUL_D:
        this.productNotEqual(a, b, r);
        break;
      case Op.FDIV_D:
        this.productNotEqual(r, b, a); // a == r·b exactly?
        break;
      case Op.FSQRT_D:
        this.productNotEqual(r, r, a);
        break;
    }
    c.set(this.t);
    c.get(P_BASE)
      .get(P_BASE)
      .mem(W.I32_LOAD, 2, FFLAGS_BYTE)
      .get(this.t)
      .i32Const(NX)
      .op(W.I32_MUL)
      .op(W.I32_OR);
    c.mem(W.I32_STORE, 2, FFLAGS_BYTE);
    c.get(P_BASE)
      .get(r)
      .mem(W.F64_STORE, 3, F_BYTE_OFFSET + fd * 8);
    this.fpDirtyOnce();
    c.end();
    this.depth--;
    c.end();
    this.depth--;
    return true;
  }

  /**
   * The soft-float helper for one F/D instruction. `idx` ≥ 0: the instruction's index in its
   * block (a refusal exits before it); -1: called from inside fpNative's structured code.
   */
  private fpCall(insn: Insn, idx: number): void {
    const c = this.c;
    const op = insn.w & 511;
    if (idx < 0) idx = this.curIdx;
    this.flush(); // the helper reads x sources from the state block
    c.i32Const(insn.w).i32Const(insn.imm).call(FP_HELPER).op(W.I32_EQZ);
    this.open();
    this.exitConst(insn.off, idx, 1);
    this.close();
    const rd = (insn.w >>> 9) & 63;
    if (fpWritesX(op) && rd > 0 && rd < 32)
      c.get(P_BASE)
        .mem(W.I64_LOAD, 3, rd * 8)
        .set(this.xl[rd]!);
  }

  private jump(insn: Insn, op: number): void {
    const c = this.c;
    const rd = (insn.w >>> 9) & 63;
    const rs1 = (insn.w >>> 15) & 31;
    if (op === Op.JALR) {
      // Target first: rd may be rs1.
      this.x(rs1);
      c.i64Const(insn.imm).op(W.I64_ADD).i64Const(-2).op(W.I64_AND).set(this.va);
      this.pcRel(insn.off + insn.len);
      this.setX(rd);
      c.get(this.va).set(this.pcv);
      this.ret(this.curLen, 0);
      return;
    }
    this.pcRel(insn.off + insn.len);
    this.setX(rd);
    this.toTarget(insn.off + insn.imm);
  }

  private branch(insn: Insn, o: W): void {
    const rs1 = (insn.w >>> 15) & 31;
    const rs2 = (insn.w >>> 20) & 31;
    this.x(rs1);
    this.x(rs2);
    this.c.op(o);
    this.open();
    this.toTarget(insn.off + insn.imm);
    this.close();
  }

  /** Control goes to page offset `off` (maybe outside the page) after the whole block. */
  private toTarget(off: number): void {
    const i = off >= 0 && off < 4096 ? this.region.blockAt.get(off) : undefined;
    if (i !== undefined) this.goto(i);
    else this.exitConst(off, this.curLen, 0);
  }
}

/** The 64-bit helpers of one module, defined on first use. */
class HelperSet {
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

/**
 * Builds one module holding a function per region, exported as r0, r1, … in order.
 * `memoryPages` is the size of the machine memory in 64 KiB pages (imported as env.memory,
 * shared); the module also imports `env.fp`, the FP helper.
 */
export function buildRegionModule(regions: readonly Region[], memoryPages: number): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder();
  mb.importFunc('env', 'fp', [T.I32, T.I32], [T.I32]);
  mb.importMemory({
    module: 'env',
    name: 'memory',
    minPages: memoryPages,
    maxPages: memoryPages,
    shared: true,
  });
  const helpers = new HelperSet(mb);
  const fns = regions.map(() => mb.func(REGION_PARAMS, REGION_RESULTS));
  regions.forEach((r, i) => {
    new Emitter(helpers, r, fns[i]!.code).emit();
    mb.export(`r${i}`, fns[i]!.index);
  });
  return mb.build();
}

export type RegionFn = (base: number, budget: number, loadSet: number, storeSet: number) => number;

/** The FP helper regions import: runs one F/D instruction on the current hart (1) or refuses (0). */
export type FpHelper = (w: number, imm: number) => number;

/** Compiles and instantiates regions against the machine memory; returns their functions. */
export function compileRegions(
  regions: readonly Region[],
  memory: WebAssembly.Memory,
  fp: FpHelper,
): RegionFn[] {
  const pages = memory.buffer.byteLength / 65536;
  const mod = new WebAssembly.Module(buildRegionModule(regions, pages));
  const inst = new WebAssembly.Instance(mod, { env: { memory, fp } });
  return regions.map((_, i) => inst.exports[`r${i}`] as RegionFn);
}
