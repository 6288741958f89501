/**
 * Translation of a region (region.ts) into one WebAssembly function.
 *
 * The function is `(base, budget, loadSet, storeSet) -> status`:
 *   base      byte offset of the hart's state block (layout.ts) in machine memory
 *   budget    instructions it may execute (it never executes more)
 *   loadSet   byte offset of the first entry of the hart's current load TLB set
 *   storeSet  the same for stores
 * It returns (count << 1) | interp, where `count` is the number of instructions it executed
 * (all retired: translated code raises no exceptions) and `interp` = 1 when the instruction
 * at the new pc must be run by the interpreter (not translated, a TLB miss, a misaligned
 * access, or too little budget left for the next block). On every exit the state block's pc
 * and x registers are exactly what the interpreter would have left after `count`
 * instructions, so exceptions and interrupts stay precise.
 *
 * Registers live in the state block and are read and written there by every instruction (no
 * caching across instructions yet). The current pc's page is read once on entry: a region is
 * all in one page, so every pc in it is that page's virtual base plus a constant, and the same
 * translation serves every virtual mapping of the physical page. Loads and stores take the
 * interpreter's soft-TLB hit path (same tag compare, same alignment rule, host offset from the
 * entry) and exit to the interpreter on a miss; store TLB entries never map pages holding
 * decoded code (code_cache.ts), so translated stores cannot modify translated code.
 *
 * Blocks are cases of a `loop` + `br_table` dispatch inside the function, so branches between
 * blocks of the same region stay in wasm; each block first checks that its whole length fits
 * in the remaining budget.
 */
import { Op } from '../isa/op.ts';
import { HS, TLB_MASK } from '../hart/layout.ts';
import { Next, type BasicBlock, type Insn, type Region } from './region.ts';
import { Code, ModuleBuilder, T, W } from './wasm.ts';

const PC_BYTE = HS.PC_LO * 4;
const P_BASE = 0;
const P_BUDGET = 1;
const P_LOADSET = 2;
const P_STORESET = 3;

export type RegionFn = (base: number, budget: number, loadSet: number, storeSet: number) => number;

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

class Emitter {
  readonly c: Code;
  private readonly helpers: number[] = new Array<number>(Helper.COUNT).fill(-1);
  private readonly n: number;
  private readonly bb: number;
  private readonly vpage: number;
  private readonly va: number;
  private readonly t: number;
  /** Nesting of structured blocks between the current code and its dispatch case. */
  private depth = 0;
  /** Index of the block being emitted, its length. */
  private cur = 0;
  private curLen = 0;

  constructor(
    private readonly mb: ModuleBuilder,
    private readonly region: Region,
    code: Code,
  ) {
    this.c = code;
    this.n = code.local(T.I32);
    this.bb = code.local(T.I32);
    this.vpage = code.local(T.I64);
    this.va = code.local(T.I64);
    this.t = code.local(T.I32);
  }

  emit(): void {
    const c = this.c;
    const blocks = this.region.blocks;
    const k = blocks.length;
    c.get(P_BASE).mem(W.I64_LOAD, 3, PC_BYTE).i64ConstHalves(-4096, -1).op(W.I64_AND).set(this.vpage);
    c.i32Const(this.region.entryBlock).set(this.bb);
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

  /** Pushes the return status for `done` instructions of the current block and returns. */
  private ret(done: number, interp: number): void {
    const c = this.c;
    c.get(this.n);
    if (done !== this.curLen) c.i32Const(this.curLen - done).op(W.I32_SUB);
    c.i32Const(1).op(W.I32_SHL);
    if (interp) c.i32Const(1).op(W.I32_OR);
    c.op(W.RETURN);
  }

  /** Leaves with pc = page base + off after `done` instructions of the current block. */
  private exitConst(off: number, done: number, interp: number): void {
    const c = this.c;
    c.get(P_BASE).get(this.vpage);
    if (off !== 0) c.i64Const(off).op(W.I64_ADD);
    c.mem(W.I64_STORE, 3, PC_BYTE);
    this.ret(done, interp);
  }

  private x(r: number): void {
    if (r === 0) this.c.i64Const(0);
    else this.c.get(P_BASE).mem(W.I64_LOAD, 3, r * 8);
  }

  /** Starts a write of rd: push the address part; finish with `setX`. */
  private rdAddr(): void {
    this.c.get(P_BASE);
  }

  private setX(rd: number): void {
    this.c.mem(W.I64_STORE, 3, rd * 8);
  }

  /** pc-relative constant: page base + off (i64 on the stack). */
  private pcRel(off: number): void {
    this.c.get(this.vpage);
    if (off !== 0) this.c.i64Const(off).op(W.I64_ADD);
  }

  private insn(insn: Insn, idx: number): void {
    const c = this.c;
    const w = insn.w;
    const op = w & 511;
    const rd = (w >>> 9) & 63;
    const rs1 = (w >>> 15) & 31;
    const rs2 = (w >>> 20) & 31;
    const imm = insn.imm;
    const binI64 = (o: W): void => {
      this.rdAddr();
      this.x(rs1);
      this.x(rs2);
      c.op(o);
      this.setX(rd);
    };
    const immI64 = (o: W): void => {
      this.rdAddr();
      this.x(rs1);
      c.i64Const(imm).op(o);
      this.setX(rd);
    };
    const cmp = (o: W, withImm: boolean): void => {
      this.rdAddr();
      this.x(rs1);
      if (withImm) c.i64Const(imm);
      else this.x(rs2);
      c.op(o).op(W.I64_EXTEND_I32_U);
      this.setX(rd);
    };
    const word = (o: W, withImm: boolean): void => {
      this.rdAddr();
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
      this.rdAddr();
      this.x(rs1);
      this.x(rs2);
      c.call(this.helper(h));
      this.setX(rd);
    };
    switch (op) {
      case Op.LUI:
        this.rdAddr();
        c.i64Const(imm);
        this.setX(rd);
        break;
      case Op.AUIPC:
        this.rdAddr();
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
    this.c.mem(o, align, 0).set(this.va);
    this.rdAddr();
    this.c.get(this.va);
    this.setX(rd);
  }

  private store(insn: Insn, idx: number, size: number, o: W, align: number): void {
    const rs2 = (insn.w >>> 20) & 31;
    this.tlb(insn, idx, P_STORESET, size);
    this.x(rs2);
    this.c.mem(o, align, 0);
  }

  private jump(insn: Insn, op: number): void {
    const c = this.c;
    const rd = (insn.w >>> 9) & 63;
    const rs1 = (insn.w >>> 15) & 31;
    if (op === Op.JALR) {
      // Target first: rd may be rs1.
      this.x(rs1);
      c.i64Const(insn.imm).op(W.I64_ADD).i64Const(-2).op(W.I64_AND).set(this.va);
      this.rdAddr();
      this.pcRel(insn.off + insn.len);
      this.setX(rd);
      c.get(P_BASE).get(this.va).mem(W.I64_STORE, 3, PC_BYTE);
      this.ret(this.curLen, 0);
      return;
    }
    this.rdAddr();
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

  private helper(h: Helper): number {
    const have = this.helpers[h]!;
    if (have >= 0) return have;
    const f = this.mb.func([T.I64, T.I64], [T.I64]);
    this.helpers[h] = f.index;
    emitHelper(f.code, h, h === Helper.MULH || h === Helper.MULHSU ? this.helper(Helper.MULHU) : -1);
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
 * Builds the module bytes of a region. `memoryPages` is the size of the machine memory in
 * 64 KiB pages (it is imported as env.memory, shared).
 */
export function buildRegionModule(region: Region, memoryPages: number): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder();
  mb.importMemory({
    module: 'env',
    name: 'memory',
    minPages: memoryPages,
    maxPages: memoryPages,
    shared: true,
  });
  const f = mb.func([T.I32, T.I32, T.I32, T.I32], [T.I32]);
  new Emitter(mb, region, f.code).emit();
  mb.export('run', f.index);
  return mb.build();
}

/** Compiles and instantiates a region against the machine memory. */
export function compileRegion(region: Region, memory: WebAssembly.Memory): RegionFn {
  const pages = memory.buffer.byteLength / 65536;
  const mod = new WebAssembly.Module(buildRegionModule(region, pages));
  const inst = new WebAssembly.Instance(mod, { env: { memory } });
  return inst.exports['run'] as RegionFn;
}
