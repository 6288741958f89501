/**
 * Translation of regions (region.ts) into WebAssembly functions, several per module.
 *
 * Every region function is `(base, budget, loadSet, storeSet) -> status` (type REGION_TYPE):
 *   base      byte offset of the hart's state block (layout.ts) in machine memory
 *   budget    instructions it may execute (it never executes more)
 *   loadSet   address in machine memory of the first entry of the hart's current load TLB
 *             set (base + the set's byte offset in the block: absolute, not relative to base,
 *             so that a lookup costs no add; one translation serves every hart of its Jit,
 *             so it must never reach another hart's TLB)
 *   storeSet  the same for stores
 * It returns (count << 2) | flags: `count` instructions executed (all retired, except an
 * access that trapped in a slow-path helper, which is counted like the interpreter counts it
 * and then subtracted with the hart's exception count), and flags:
 *   INTERP (1)  the instruction at the new pc must be run by the interpreter (not translated,
 *               an FP instruction that would trap, or too little budget left for the next block);
 *   STOP (2)    a slow-path access trapped, invalidated decoded code or touched a device: the
 *               interpreter's outer loop must look at the hart again (interrupts, new TLB sets);
 *   0           pc is wherever control went (count ≥ 1; dispatch.ts looks it up).
 * On every exit the state block's pc, x and f registers are exactly what the interpreter would
 * have left after the same instructions, so exceptions and interrupts stay precise.
 *
 * x registers live in wasm locals inside a region: every register the region uses is loaded
 * on entry, and every register it writes is stored back at each exit (and before calls that
 * read registers from memory). So do the f registers (f64 locals, bit-exact through
 * reinterpret) in a region with an F/D instruction: all 32 are loaded on entry. The current
 * pc's page is read once on entry: a region is all in one page, so every pc in it is that
 * page's virtual base plus a constant, and the same translation serves every virtual mapping
 * of the physical page.
 *
 * The emitter is split by concern: this file (blocks, exits, integer ALU, control transfer),
 * translate_mem.ts (loads and stores), translate_fp.ts (F/D arithmetic) and translate_muldiv.ts
 * (the M extension's 64-bit helpers). Imports of every region module: `env.fp` (FP_HELPER) and
 * `env.interp` (INTERP_HELPER) from jit.ts; the memory helpers `mem.ld8s … mem.st64` (from
 * MEM_HELPER on) and the tag `mem.leave` from the dispatcher's instance (dispatch.ts).
 *
 * An access that must leave the region (translate_mem.ts) either throws `leave` or makes a
 * store helper return 1: the region's dispatch loop sits in a `try` inside a `block` whose end
 * is the "leave" path, which takes pc and the instructions not run from the state block.
 *
 * Blocks are cases of a `loop` + `br_table` dispatch inside the function, so branches between
 * blocks of the same region stay in wasm; a branch to a later block is a direct `br`, and a
 * block that branches back to its own start is a wasm `loop` of its own (TurboFan compiles
 * loops through the dispatch poorly). Each block first checks that its whole length fits in
 * the remaining budget.
 */
import { F_BYTE_OFFSET, HS, JIT_LEFT_BYTE, JIT_VPAGE_BYTE } from '../hart/layout.ts';
import { Op } from '../isa/op.ts';
import { isAmo, isBranch, isLrSc, Next, type BasicBlock, type Insn, type Region } from './region.ts';
import {
  emitFpArith,
  emitFpEntryState,
  FP_LOCALS,
  fpWritesX,
  isFpArith,
  isFpLoadStore,
} from './translate_fp.ts';
import {
  emitAmo,
  emitFpLoad,
  emitFpStore,
  emitLoad,
  emitStore,
  LOAD_HELPERS,
  LOAD_PARAMS,
  LOAD_RESULTS,
  STORE_HELPERS,
  STORE_PARAMS,
  STORE_RESULTS,
} from './translate_mem.ts';
import { Helper, HelperSet } from './translate_muldiv.ts';
import { Code, ModuleBuilder, T, W } from './wasm.ts';

const PC_BYTE = HS.PC_LO * 4;
export const P_BASE = 0;
export const P_BUDGET = 1;
export const P_LOADSET = 2;
export const P_STORESET = 3;

/** Which regions do an access's TLB hit inline (JitOptions.inlineAccess). */
export type InlineAccess = 'loops' | 'all' | 'none';

/** Status flags of a region's result (see the module comment). */
export const INTERP = 1;
export const STOP = 2;

/** Parameter and result types of a region function (also the dispatcher's call_indirect type). */
export const REGION_PARAMS: readonly T[] = [T.I32, T.I32, T.I32, T.I32];
export const REGION_RESULTS: readonly T[] = [T.I32];

/**
 * Function indices of the imported helpers in every region module: FP and interpreter helpers
 * (jit.ts), then the memory helpers of LOAD_HELPERS and STORE_HELPERS (dispatch.ts), in order.
 */
export const FP_HELPER = 0;
export const INTERP_HELPER = 1;
export const MEM_HELPER = 2;
/** Tag index of the exception a trapping load throws (imported, dispatch.ts). */
const LEAVE_TAG = 0;

/** Does the instruction read rs1 / rs2 as x registers, and write rd as one? */
function regUse(op: number): { rs1: boolean; rs2: boolean; rd: boolean } {
  if (isFpArith(op)) {
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

/** Emits one region's function; translate_mem.ts and translate_fp.ts emit through it. */
export class Emitter {
  readonly c: Code;
  private readonly n: number;
  private readonly bb: number;
  private readonly vpage: number;
  /** i64 scratch: an access's virtual address. */
  readonly va: number;
  /** i32 scratch: a TLB entry, an address, a helper's result. */
  readonly t: number;
  /**
   * FP state known at region entry: bit 0 = F/D enabled (mstatus.FS, and vsstatus.FS in V
   * mode), bit 1 = frm is RNE; bit 2 = FS already set to Dirty by this call; bit 3 = fflags.NX
   * is set (translate_fp.ts, NX_KNOWN). Translated code
   * changes neither FS to Off nor frm, so bits 0 and 1 hold for the whole call.
   */
  readonly fpState: number;
  /** f64 scratch locals for native FP. */
  readonly f: number[] = new Array<number>(FP_LOCALS).fill(-1);
  /** The next pc and the status of an exit, for the shared exit path. */
  private readonly pcv: number;
  private readonly st: number;
  /** Local holding x register r (1..31), or -1 when the region does not use it. */
  private readonly xl: number[] = new Array<number>(32).fill(-1);
  /** Registers the region writes (stored back at every exit). */
  private readonly written: number[] = [];
  /**
   * f64 local holding f register r (all 32 when the region has an F/D instruction, else -1),
   * and the f registers the region writes (stored back at every exit and before helper calls).
   */
  private readonly fl: number[] = new Array<number>(32).fill(-1);
  private readonly fWritten: number[] = [];
  /** Whether the region has F/D arithmetic (which needs the FP state, fpState, at entry). */
  private hasFpArith = false;
  /** Nesting of structured blocks between the current code and its dispatch case. */
  private depth = 0;
  /** `depth` just inside the current block's own loop (block()), or -1 when it has none. */
  private selfDepth = -1;
  /** Index of the block being emitted, its length. */
  private cur = 0;
  private curLen = 0;

  /**
   * Whether accesses do the TLB hit inline (translate_mem.ts): in a region with a loop (a
   * branch back to its own block or an earlier one), whose code runs often enough to repay
   * the bigger code.
   */
  readonly inlineMem: boolean;

  constructor(
    private readonly helpers: HelperSet,
    private readonly region: Region,
    code: Code,
    inline: InlineAccess,
  ) {
    this.c = code;
    this.inlineMem = inline === 'all' || (inline === 'loops' && hasLoop(region));
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
    const fWr = new Uint8Array(32);
    let hasFp = false;
    for (const b of region.blocks) {
      for (const insn of b.insns) {
        const op = insn.w & 511;
        const u = regUse(op);
        if (u.rs1) used[(insn.w >>> 15) & 31] = 1;
        if (u.rs2) used[(insn.w >>> 20) & 31] = 1;
        if (u.rd) {
          const rd = (insn.w >>> 9) & 63;
          used[rd] = 1;
          wr[rd] = 1;
        }
        const arith = isFpArith(op);
        if (!arith && !isFpLoadStore(op)) continue;
        hasFp = true;
        this.hasFpArith ||= arith;
        if ((arith && !fpWritesX(op)) || op === Op.FLW || op === Op.FLD) fWr[(insn.w >>> 9) & 31] = 1;
      }
    }
    for (let r = 1; r < 32; r++) {
      if (used[r]) this.xl[r] = code.local(T.I64);
      if (wr[r]) this.written.push(r);
    }
    if (hasFp) {
      for (let r = 0; r < 32; r++) {
        this.fl[r] = code.local(T.F64);
        if (fWr[r]) this.fWritten.push(r);
      }
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
    for (let r = 0; r < 32; r++) {
      if (this.fl[r]! >= 0)
        c.get(P_BASE)
          .mem(W.F64_LOAD, 3, F_BYTE_OFFSET + r * 8)
          .set(this.fl[r]!);
    }
    c.get(P_BASE).mem(W.I64_LOAD, 3, PC_BYTE).i64ConstHalves(-4096, -1).op(W.I64_AND).set(this.vpage);
    c.get(P_BASE).get(this.vpage).mem(W.I64_STORE, 3, JIT_VPAGE_BYTE); // for the memory helpers
    if (this.hasFpArith) emitFpEntryState(this);
    c.i32Const(this.region.entryBlock).set(this.bb);
    c.block(); // exits branch out of this block to the shared exit path
    c.block(); // a slow-path access that must leave branches out of this one (leaveIfStopped)
    c.try(); // or throws (a trapping load)
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
    c.catch(LEAVE_TAG);
    c.end(); // try
    c.end(); // leave block
    // A slow-path access left: pc is in the state block, the block's instructions after the
    // access at JIT_LEFT_BYTE (translate_mem.ts).
    c.get(P_BASE).mem(W.I64_LOAD, 3, PC_BYTE).set(this.pcv);
    c.get(this.n).get(P_BASE).mem(W.I32_LOAD, 2, JIT_LEFT_BYTE).op(W.I32_SUB);
    c.i32Const(2).op(W.I32_SHL).i32Const(STOP).op(W.I32_OR).set(this.st);
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
    // A block that branches back to its own start runs as a wasm loop of its own (the branch
    // continues it directly instead of through the dispatch loop's br_table).
    const last = b.insns[len - 1];
    const selfLoop = last !== undefined && targetOf(last) === b.start;
    if (selfLoop) {
      c.loop();
      this.depth++;
      this.selfDepth = this.depth;
    }
    // n += len; if n > budget, give the block to the interpreter (count = n - len).
    c.get(this.n).i32Const(len).op(W.I32_ADD).tee(this.n).get(P_BUDGET).op(W.I32_GT_U);
    this.open();
    this.exitConst(b.start, 0, 1);
    this.close();
    for (let i = 0; i < len; i++) this.insn(b.insns[i]!, i);
    if (selfLoop) {
      c.end();
      this.depth--;
      this.selfDepth = -1;
    }
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

  open(): void {
    this.c.if();
    this.depth++;
  }

  close(): void {
    this.c.end();
    this.depth--;
  }

  /**
   * Continues at block `i`: the current block through its own loop (block()), a later block
   * directly (its code follows the end of the case block `i`, which encloses the current
   * code), an earlier one through the dispatch loop.
   */
  private goto(i: number): void {
    if (i === this.cur && this.selfDepth >= 0) this.c.br(this.depth - this.selfDepth);
    else if (i > this.cur) this.c.br(this.depth + i - this.cur - 1);
    else this.c.i32Const(i).set(this.bb).br(this.loopDepth());
  }

  /** Stores the registers (x and f) the region writes back into the state block. */
  flush(): void {
    for (const r of this.written)
      this.c
        .get(P_BASE)
        .get(this.xl[r]!)
        .mem(W.I64_STORE, 3, r * 8);
    for (const r of this.fWritten)
      this.c
        .get(P_BASE)
        .get(this.fl[r]!)
        .mem(W.F64_STORE, 3, F_BYTE_OFFSET + r * 8);
  }

  /** f register r as a double, or as its raw bits (i64), on the stack. */
  f64(r: number): void {
    this.c.get(this.fl[r]!);
  }

  fBits(r: number): void {
    this.c.get(this.fl[r]!).op(W.I64_REINTERPRET_F64);
  }

  /** Writes the double, or the raw bits (i64), on the stack to f register r. */
  setF64(r: number): void {
    this.c.set(this.fl[r]!);
  }

  setFBits(r: number): void {
    this.c.op(W.F64_REINTERPRET_I64).set(this.fl[r]!);
  }

  /** Reloads f register r's local from the state block (after a helper wrote it there). */
  reloadF(r: number): void {
    this.c
      .get(P_BASE)
      .mem(W.F64_LOAD, 3, F_BYTE_OFFSET + r * 8)
      .set(this.fl[r]!);
  }

  /**
   * Sets the status for `done` instructions of the current block with `flags` (INTERP, STOP or
   * 0) and leaves through the exit path (the next pc must be in pcv).
   */
  private ret(done: number, flags: number): void {
    const c = this.c;
    c.get(this.n);
    if (done !== this.curLen) c.i32Const(this.curLen - done).op(W.I32_SUB);
    c.i32Const(2).op(W.I32_SHL);
    if (flags !== 0) c.i32Const(flags).op(W.I32_OR);
    c.set(this.st).br(this.loopDepth() + 3);
  }

  /** Instructions of the current block after its instruction `idx`. */
  leftAfter(idx: number): number {
    return this.curLen - idx - 1;
  }

  /** Leaves through the slow-path exit (a memory helper's "leave" result is on the stack). */
  leaveIfStopped(): void {
    this.c.brIf(this.loopDepth() + 2);
  }

  /** Leaves with pc = page base + off after `done` instructions of the current block. */
  exitConst(off: number, done: number, flags: number): void {
    const c = this.c;
    c.get(this.vpage);
    if (off !== 0) c.i64Const(off).op(W.I64_ADD);
    c.set(this.pcv);
    this.ret(done, flags);
  }

  /**
   * Leaves after instruction `idx` of the current block trapped in a helper: the trap set pc
   * (the state block's), and the instruction counts as executed, as in the interpreter (which
   * subtracts the exceptions it took from what it ran).
   */
  exitTrap(idx: number): void {
    this.c.get(P_BASE).mem(W.I64_LOAD, 3, PC_BYTE).set(this.pcv);
    this.ret(idx + 1, STOP);
  }

  /** Reloads rd's local from the state block (after a helper wrote the register there). */
  reloadX(rd: number): void {
    this.c
      .get(P_BASE)
      .mem(W.I64_LOAD, 3, rd * 8)
      .set(this.xl[rd]!);
  }

  x(r: number): void {
    if (r === 0) this.c.i64Const(0);
    else this.c.get(this.xl[r]!);
  }

  /** Writes the i64 on the stack to rd (dropped for x0, whose "rd" is the sink 32). */
  setX(rd: number): void {
    if (rd === 0 || rd >= 32) this.c.op(W.DROP);
    else this.c.set(this.xl[rd]!);
  }

  /** Stores pc = page base + off in the state block (before a helper that may trap). */
  storePc(off: number): void {
    this.c.get(P_BASE);
    this.pcRel(off);
    this.c.mem(W.I64_STORE, 3, PC_BYTE);
  }

  /** pc-relative constant: page base + off (i64 on the stack). */
  pcRel(off: number): void {
    this.c.get(this.vpage);
    if (off !== 0) this.c.i64Const(off).op(W.I64_ADD);
  }

  /** Index in its block of the instruction being emitted. */
  curIdx = 0;

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
    if (isFpArith(op)) return emitFpArith(this, insn, idx);
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
        return emitLoad(this, insn, idx, 1, W.I64_LOAD8_S);
      case Op.LBU:
        return emitLoad(this, insn, idx, 1, W.I64_LOAD8_U);
      case Op.LH:
        return emitLoad(this, insn, idx, 2, W.I64_LOAD16_S);
      case Op.LHU:
        return emitLoad(this, insn, idx, 2, W.I64_LOAD16_U);
      case Op.LW:
        return emitLoad(this, insn, idx, 4, W.I64_LOAD32_S);
      case Op.LWU:
        return emitLoad(this, insn, idx, 4, W.I64_LOAD32_U);
      case Op.LD:
        return emitLoad(this, insn, idx, 8, W.I64_LOAD);
      case Op.SB:
        return emitStore(this, insn, idx, 1);
      case Op.SH:
        return emitStore(this, insn, idx, 2);
      case Op.SW:
        return emitStore(this, insn, idx, 4);
      case Op.SD:
        return emitStore(this, insn, idx, 8);
      case Op.FLW:
      case Op.FLD:
        return emitFpLoad(this, insn, idx);
      case Op.FSW:
      case Op.FSD:
        return emitFpStore(this, insn, idx);
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
        if (isAmo(op)) return emitAmo(this, insn, idx);
        if ((op >= Op.CSRRW && op <= Op.CSRRCI) || isLrSc(op)) return this.viaInterpreter(insn, idx);
        throw new Error(`jit: op ${op} reached the translator but is not translatable`);
    }
  }

  /**
   * A CSR, LR or SC instruction (region.ts, runByHelper) through env.interp(w, imm), which runs it
   * as the interpreter does, on the registers and pc in the state block: 0 it trapped (pc is
   * the trap vector), 1 done, 2 done but the hart must be looked at before the next instruction
   * (an interrupt became deliverable, the TLB sets or the FP state changed, or an SC rewrote
   * decoded code).
   */
  private viaInterpreter(insn: Insn, idx: number): void {
    const c = this.c;
    this.flush();
    this.storePc(insn.off); // for a trap's epc
    c.i32Const(insn.w).i32Const(insn.imm).call(INTERP_HELPER).tee(this.t).op(W.I32_EQZ);
    this.open();
    this.exitTrap(idx);
    this.close();
    const rd = (insn.w >>> 9) & 63;
    if (rd > 0 && rd < 32) this.reloadX(rd);
    c.get(this.t).i32Const(2).op(W.I32_EQ);
    this.open();
    this.exitConst(insn.off + insn.len, idx + 1, STOP);
    this.close();
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

/** The in-page offset a branch or `jal` goes to when taken, or -1 for other instructions. */
function targetOf(insn: Insn): number {
  const op = insn.w & 511;
  return isBranch(op) || op === Op.JAL ? insn.off + insn.imm : -1;
}

/** Whether a block of the region branches back to itself or to an earlier block. */
function hasLoop(region: Region): boolean {
  return region.blocks.some((b) => {
    const last = b.insns[b.insns.length - 1];
    const t = last === undefined ? -1 : targetOf(last);
    return t >= 0 && t <= b.start && region.blockAt.has(t);
  });
}

/**
 * Builds one module holding a function per region, exported as r0, r1, … in order.
 * `memoryPages` is the size of the machine memory in 64 KiB pages (imported as env.memory,
 * shared); the module also imports the helpers listed in the module comment. `inline` says
 * which regions do an access's TLB hit inline (JitOptions.inlineAccess).
 */
export function buildRegionModule(
  regions: readonly Region[],
  memoryPages: number,
  inline: InlineAccess = 'loops',
): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder();
  mb.importFunc('env', 'fp', [T.I32, T.I32], [T.I32]);
  mb.importFunc('env', 'interp', [T.I32, T.I32], [T.I32]);
  for (const [name] of LOAD_HELPERS) mb.importFunc('mem', name, LOAD_PARAMS, LOAD_RESULTS);
  for (const [name] of STORE_HELPERS) mb.importFunc('mem', name, STORE_PARAMS, STORE_RESULTS);
  mb.importTag('mem', 'leave', []);
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
    new Emitter(helpers, r, fns[i]!.code, inline).emit();
    mb.export(`r${i}`, fns[i]!.index);
  });
  return mb.build();
}

export type RegionFn = (base: number, budget: number, loadSet: number, storeSet: number) => number;

/**
 * What regions import, run on the hart being run:
 * fp(w, imm) runs one F/D instruction (1) or refuses without effect (0);
 * interp(w, imm) runs one CSR, LR or SC instruction (Emitter.viaInterpreter: 0 trapped, 1 done,
 * 2 done, stop) (both jit.ts);
 * mem: the exports of the dispatcher's instance, whose memory helpers and `leave` tag regions
 * import (dispatch.ts, translate_mem.ts).
 */
export interface RegionImports {
  fp: (w: number, imm: number) => number;
  interp: (w: number, imm: number) => number;
  mem: WebAssembly.Exports;
}

/** Compiles and instantiates regions against the machine memory; returns their functions. */
export function compileRegions(
  regions: readonly Region[],
  memory: WebAssembly.Memory,
  imports: RegionImports,
  inline: InlineAccess = 'loops',
): RegionFn[] {
  const pages = memory.buffer.byteLength / 65536;
  const mod = new WebAssembly.Module(buildRegionModule(regions, pages, inline));
  const inst = new WebAssembly.Instance(mod, {
    env: { memory, fp: imports.fp, interp: imports.interp },
    mem: imports.mem,
  });
  const fns: RegionFn[] = [];
  for (let i = 0; i < regions.length; i++) fns.push(inst.exports[`r${i}`] as RegionFn);
  return fns;
}
