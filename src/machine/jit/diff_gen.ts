/**
 * The JIT's differential tester, as a library: a seeded generator of random valid instruction
 * sequences (integer ALU, M, compressed forms, forward branches, counted loops, loads and stores
 * to a scratch area, to a read-only page, to unmapped or non-RAM addresses and to the code page
 * itself) and a harness that runs one sequence on two identical machines, one interpreted and
 * one with the JIT, comparing their whole state after every slice of a random size.
 *
 * Each machine has two harts sharing one code cache (and, on the JIT side, one Jit). In half
 * of the runs the second hart runs the same program too, interleaved slice by slice with the
 * first on the one thread, in its own regime, from its own registers, and (under Sv39) with
 * its own page tables, which map the scratch pages to other physical pages: translated code
 * shared by both harts must use the running hart's state and soft TLBs, never the other's.
 *
 * What is compared: each hart's whole state block (x registers, pc, privilege, CSRs such as
 * mcause/mtval/mepc, the retired-instruction counter, the soft TLBs), the exception counts,
 * each slice's retired count, and all of RAM (scratch data and code). Any difference is a JIT
 * bug (the interpreter is the reference). Used by diff_test.ts; not part of the product.
 */
import { Bus } from '../bus.ts';
import { CodeCache } from '../code_cache.ts';
import { Csr, Irq } from '../hart/csr_defs.ts';
import { hostCsrWrite } from '../hart/csr.ts';
import { Hart } from '../hart/hart.ts';
import { run } from '../hart/interp.ts';
import { HS, JC_BYTE_OFFSET } from '../hart/layout.ts';
import { encode } from '../isa/encode.ts';
import { disassemble } from '../isa/disasm.ts';
import { Op } from '../isa/op.ts';
import { MachineMemory } from '../memory.ts';
import { Jit, type JitOptions } from './jit.ts';
import { Xorshift32 as Rng } from '../../common/rng.ts';

/** The seeded generator (common/rng.ts), under the name this module's users know. */
export { Rng };

const RAM = 0x8000_0000;
const RAM_BYTES = 1 << 20;
/** Layout of the test machine (physical = virtual: identity mapping in S-mode). */
export const CODE = RAM + 0x1000;
const HANDLER = RAM + 0x3000;
const ROOT = RAM + 0x4000;
const L1 = RAM + 0x5000;
const L0 = RAM + 0x6000;
/** G-stage (Sv39x4) tables for the VS regime: a 16 KiB root, then L1 and L0. */
const GROOT = RAM + 0x8000;
const GL1 = RAM + 0xc000;
const GL0 = RAM + 0xd000;
/** Scratch data: two read-write pages, then a read-only page, then an unmapped one. */
const DATA = RAM + 0x10000;
const DATA_RO = DATA + 0x2000;
const DATA_NONE = DATA + 0x3000;
/**
 * The second hart's Sv39 tables, and the physical pages its two read-write scratch pages
 * (virtual DATA, DATA + 0x1000) map to.
 */
const ROOT_B = RAM + 0x20000;
const L1_B = RAM + 0x21000;
const L0_B = RAM + 0x22000;
const DATA_B = RAM + 0x18000;

/** Reserved registers: scratch pointer, fault pointer, loop counter, code-page pointer. */
const R_PTR = 8;
const R_FAULT = 9;
const R_LOOP = 28;
const R_CODE = 29;
const FREE = [
  1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 30, 31,
];
/** Compressible free registers (x8..x15 minus the reserved ones). */
const FREE_C = [10, 11, 12, 13, 14, 15];

const ALU_R = [
  Op.ADD, Op.SUB, Op.SLL, Op.SLT, Op.SLTU, Op.XOR, Op.SRL, Op.SRA, Op.OR, Op.AND,
  Op.ADDW, Op.SUBW, Op.SLLW, Op.SRLW, Op.SRAW,
  Op.MUL, Op.MULH, Op.MULHSU, Op.MULHU, Op.DIV, Op.DIVU, Op.REM, Op.REMU,
  Op.MULW, Op.DIVW, Op.DIVUW, Op.REMW, Op.REMUW,
]; // prettier-ignore
const ALU_I = [Op.ADDI, Op.SLTI, Op.SLTIU, Op.XORI, Op.ORI, Op.ANDI, Op.ADDIW];
const SHIFT_I = [Op.SLLI, Op.SRLI, Op.SRAI];
const SHIFT_IW = [Op.SLLIW, Op.SRLIW, Op.SRAIW];
const LOADS = [Op.LB, Op.LH, Op.LW, Op.LD, Op.LBU, Op.LHU, Op.LWU];
const STORES = [Op.SB, Op.SH, Op.SW, Op.SD];
/** AMOs (LR/SC apart): .w from AMOSWAP_W, .d from AMOSWAP_D, nine each. */
const AMOS = Array.from({ length: 18 }, (_, i) => (i < 9 ? Op.AMOSWAP_W + i : Op.AMOSWAP_D + i - 9) as Op);
const BRANCHES = [Op.BEQ, Op.BNE, Op.BLT, Op.BGE, Op.BLTU, Op.BGEU];
const IMMS = [0, 1, -1, 2047, -2048, 0x7ff, 31, 32, 63, -7, 0x555];

// ---- compressed encodings (RVC), for the forms the generator uses -----------------------------

function cAddi(rd: number, imm: number): number {
  return (0b000 << 13) | (((imm >> 5) & 1) << 12) | (rd << 7) | ((imm & 31) << 2) | 0b01;
}
function cLi(rd: number, imm: number): number {
  return (0b010 << 13) | (((imm >> 5) & 1) << 12) | (rd << 7) | ((imm & 31) << 2) | 0b01;
}
function cMv(rd: number, rs2: number): number {
  return (0b100 << 13) | (rd << 7) | (rs2 << 2) | 0b10;
}
function cAdd(rd: number, rs2: number): number {
  return (0b100 << 13) | (1 << 12) | (rd << 7) | (rs2 << 2) | 0b10;
}
function cSlli(rd: number, sh: number): number {
  return (0b000 << 13) | (((sh >> 5) & 1) << 12) | (rd << 7) | ((sh & 31) << 2) | 0b10;
}
/** C.SUB/XOR/OR/AND (w = 0) or C.SUBW/ADDW (w = 1, f = 0/1) on rd', rs2' (x8..x15). */
function cArith(rd: number, rs2: number, f: number, w: number): number {
  return (0b100 << 13) | (w << 12) | (0b11 << 10) | ((rd - 8) << 7) | (f << 5) | ((rs2 - 8) << 2) | 0b01;
}
/** C.LW (d = 0) / C.LD (d = 1) rd', uimm(rs1'). */
function cLoad(rd: number, rs1: number, uimm: number, d: number): number {
  const f3 = d ? 0b011 : 0b010;
  const mid = d ? ((uimm >> 6) & 3) << 5 : (((uimm >> 2) & 1) << 6) | (((uimm >> 6) & 1) << 5);
  return (f3 << 13) | (((uimm >> 3) & 7) << 10) | ((rs1 - 8) << 7) | mid | ((rd - 8) << 2);
}
function cStore(rs2: number, rs1: number, uimm: number, d: number): number {
  return cLoad(rs2, rs1, uimm, d) | ((d ? 0b111 : 0b110) << 13);
}

/** A generated program: 16-bit parcels, and how many instructions it should be run for. */
export interface Program {
  parcels: number[];
  /** Instructions to run in total (enough to reach the final spin). */
  budget: number;
}

/** Generates one random program of about `length` instructions. */
/** F/D instructions of FP programs (register operands; rounding mode chosen per instance). */
const FP_RM = [Op.FADD_D, Op.FSUB_D, Op.FMUL_D, Op.FDIV_D, Op.FSQRT_D, Op.FADD_S, Op.FMUL_S, Op.FDIV_S];
const FP_R4 = [Op.FMADD_D, Op.FMSUB_D, Op.FNMSUB_D, Op.FNMADD_D, Op.FMADD_S];
const FP_R = [Op.FSGNJ_D, Op.FSGNJN_D, Op.FSGNJX_D, Op.FMIN_D, Op.FEQ_D, Op.FLT_D, Op.FLE_D, Op.FSGNJ_S];
const FP_CVT = [Op.FCVT_L_D, Op.FCVT_W_D, Op.FCVT_D_L, Op.FCVT_S_D, Op.FCVT_D_S];
/** Rounding modes: mostly RNE (static or dynamic), the others, and rarely a reserved one. */
const RMS = [0, 0, 0, 7, 7, 7, 7, 1, 2, 3, 4, 5];

/**
 * A random program; with `fp`, about a quarter of its instructions are F/D (arithmetic with
 * every rounding mode, fused multiply-add, sign injection, compares, conversions, moves,
 * loads and stores).
 */
export function generate(rng: Rng, length: number, fp = false): Program {
  const p: number[] = [];
  const e32 = (w: number): void => {
    p.push(w & 0xffff, (w >>> 16) & 0xffff);
  };
  const e = (op: Op, o: Parameters<typeof encode>[1]): void => e32(encode(op, o));
  const reg = (): number => (rng.chance(0.05) ? 0 : rng.pick(FREE));
  const src = (): number => (rng.chance(0.1) ? rng.pick([0, R_PTR, R_LOOP]) : rng.pick(FREE));
  let loopDepth = 0;
  // Pending forward branches: parcel index of the branch and the instruction count to skip.
  const fixups: { at: number; target: number; op: Op; rs1: number; rs2: number }[] = [];
  let count = 0;

  const f = (): number => rng.int(32);
  const oneFp = (): void => {
    const k = rng.int(10);
    if (k < 4) e(rng.pick(FP_RM), { rd: f(), rs1: f(), rs2: f(), imm: rng.pick(RMS) });
    else if (k < 5) e(rng.pick(FP_R4), { rd: f(), rs1: f(), rs2: f(), rs3: f(), imm: rng.pick(RMS) });
    else if (k < 7) e(rng.pick(FP_R), { rd: rng.chance(0.5) ? f() : reg(), rs1: f(), rs2: f() });
    else if (k < 8) {
      const op = rng.pick(FP_CVT);
      const toX = op === Op.FCVT_L_D || op === Op.FCVT_W_D;
      e(op, { rd: toX ? reg() : f(), rs1: op === Op.FCVT_D_L ? src() : f(), imm: rng.pick(RMS) });
    } else if (k < 9) {
      if (rng.chance(0.5)) e(Op.FMV_X_D, { rd: reg(), rs1: f() });
      else e(Op.FMV_D_X, { rd: f(), rs1: src() });
    } else {
      const op = rng.pick([Op.FLD, Op.FSD, Op.FLW, Op.FSW]);
      const imm = (rng.int(4096) - 2048) & (rng.chance(0.9) ? ~7 : ~0);
      if (op === Op.FSD || op === Op.FSW) e(op, { rs1: R_PTR, rs2: f(), imm });
      else e(op, { rd: f(), rs1: R_PTR, imm });
    }
  };

  const one = (): void => {
    const k = rng.int(fp ? 130 : 100);
    if (rng.chance(0.02)) {
      // sstatus (translated through the JIT's CSR helper): read, interrupts off and on, and
      // whole writes of a random register (FS, SUM, MXR… change: translated code must stop).
      const op = rng.pick([Op.CSRRS, Op.CSRRCI, Op.CSRRSI, Op.CSRRW, Op.CSRRC]);
      const rs1 = op === Op.CSRRS ? 0 : op === Op.CSRRCI || op === Op.CSRRSI ? 2 : src();
      e(op, { rd: reg(), rs1, imm: Csr.sstatus });
    } else if (k >= 100) oneFp();
    else if (k < 30) e(rng.pick(ALU_R), { rd: reg(), rs1: src(), rs2: src() });
    else if (k < 42) e(rng.pick(ALU_I), { rd: reg(), rs1: src(), imm: rng.pick(IMMS) });
    else if (k < 46) e(rng.pick(SHIFT_I), { rd: reg(), rs1: src(), imm: rng.int(64) });
    else if (k < 49) e(rng.pick(SHIFT_IW), { rd: reg(), rs1: src(), imm: rng.int(32) });
    else if (k < 51) e(Op.LUI, { rd: reg(), imm: (rng.next() & 0xfffff000) | 0 });
    else if (k < 52) e(Op.AUIPC, { rd: reg(), imm: (rng.next() & 0x000ff000) | 0 });
    else if (k < 66 && rng.chance(0.15)) {
      // An AMO at t = base + imm: mostly aligned scratch data; sometimes misaligned, the
      // read-only page (a store fault), or the code page (invalidation).
      const op = rng.pick(AMOS);
      const size = op <= Op.AMOMAXU_W ? 4 : 8;
      const where = rng.int(10);
      const base = where === 7 ? R_FAULT : where === 8 ? R_CODE : R_PTR;
      let imm = where === 8 ? rng.int(0x300) & ~7 : (rng.int(4096) - 2048) & -size;
      if (where === 9) imm += 1 + rng.int(size - 1);
      const t = rng.pick(FREE.filter((r) => r !== 0));
      e(Op.ADDI, { rd: t, rs1: base, imm });
      count++;
      if (rng.chance(0.3)) {
        // LR then SC (translated code runs them through its helper) at the same address, so
        // the SC succeeds unless the LR overwrote the address register; or an SC alone.
        const d = size === 8;
        if (rng.chance(0.8)) {
          e(d ? Op.LR_D : Op.LR_W, { rd: reg(), rs1: t, rs2: 0 });
          count++;
        }
        e(d ? Op.SC_D : Op.SC_W, { rd: reg(), rs1: t, rs2: src() });
      } else e(op, { rd: reg(), rs1: t, rs2: src() });
    } else if (k < 66) {
      // Loads and stores: mostly scratch data (aligned or not), sometimes a fault.
      const isStore = rng.chance(0.45);
      const op = rng.pick(isStore ? STORES : LOADS);
      const where = rng.int(20);
      let base = R_PTR;
      let imm = rng.int(4096) - 2048;
      if (where < 14 && rng.chance(0.8)) imm &= ~7; // mostly aligned
      if (where === 14)
        base = R_FAULT; // read-only page (stores fault), then unmapped
      else if (where === 15)
        base = src(); // anything: usually a fault
      else if (where === 16 && isStore) {
        base = R_CODE; // the code page itself, beyond the program
        imm = rng.int(0x300) & ~7;
      }
      if (isStore) e(op, { rs1: base, rs2: src(), imm });
      else e(op, { rd: reg(), rs1: base, imm });
    } else if (k < 78) {
      // Compressed forms.
      const c = rng.int(8);
      const rd = rng.pick(FREE.filter((r) => r !== 0));
      if (c === 0) p.push(cAddi(rd, (rng.int(63) - 31) | 1));
      else if (c === 1) p.push(cLi(rd, rng.int(64) - 32));
      else if (c === 2) p.push(cMv(rd, rng.pick(FREE)));
      else if (c === 3) p.push(cAdd(rd, rng.pick(FREE)));
      else if (c === 4) p.push(cSlli(rd, 1 + rng.int(63)));
      else if (c === 5) p.push(cArith(rng.pick(FREE_C), rng.pick([...FREE_C, R_PTR]), rng.int(4), 0));
      else if (c === 6) p.push(cArith(rng.pick(FREE_C), rng.pick(FREE_C), rng.int(2), 1));
      else {
        const d = rng.int(2);
        const uimm = d ? rng.int(32) * 8 : rng.int(32) * 4;
        if (rng.chance(0.5)) p.push(cLoad(rng.pick(FREE_C), R_PTR, uimm, d));
        else p.push(cStore(rng.pick(FREE_C), R_PTR, uimm, d));
      }
    } else if (k < 90) {
      // A forward branch over 1..6 instructions (patched when the target is known).
      const skip = 1 + rng.int(6);
      fixups.push({ at: p.length, target: count + 1 + skip, op: rng.pick(BRANCHES), rs1: src(), rs2: src() });
      e(Op.ADDI, { rd: 0, rs1: 0, imm: 0 });
    } else if (k < 93 && loopDepth === 0) {
      // A counted loop of a few random instructions.
      loopDepth++;
      e(Op.ADDI, { rd: R_LOOP, rs1: 0, imm: 2 + rng.int(6) });
      count++;
      const head = p.length;
      const n = 1 + rng.int(6);
      for (let i = 0; i < n; i++) {
        one();
        count++;
      }
      e(Op.ADDI, { rd: R_LOOP, rs1: R_LOOP, imm: -1 });
      count++;
      e(Op.BNE, { rs1: R_LOOP, rs2: 0, imm: (head - p.length) * 2 });
      loopDepth--;
    } else e(Op.FENCE, {});
  };

  // Instruction index → parcel index, for patching branches.
  const starts: number[] = [];
  while (count < length) {
    starts[count] = p.length;
    one();
    count++;
  }
  starts[count] = p.length;
  // Final spin: the run ends here.
  e(Op.JAL, { rd: 0, imm: 0 });
  for (const f of fixups) {
    const to = starts[Math.min(f.target, count)] ?? starts[count]!;
    const w = encode(f.op, { rs1: f.rs1, rs2: f.rs2, imm: (to - f.at) * 2 });
    p[f.at] = w & 0xffff;
    p[f.at + 1] = (w >>> 16) & 0xffff;
  }
  return { parcels: p, budget: 16 * length + 200 };
}

/** Disassembly of a program, one instruction per line (for failure messages). */
export function listing(prog: Program): string {
  const out: string[] = [];
  const p = prog.parcels;
  for (let i = 0; i < p.length;) {
    const low = p[i]!;
    const insn = (low & 3) === 3 ? low | (p[i + 1]! << 16) : low;
    out.push(`${(CODE + i * 2).toString(16)}: ${disassemble(insn)}`);
    i += (low & 3) === 3 ? 2 : 1;
  }
  return out.join('\n');
}

/** One machine of the pair (also used by jit_test.ts). */
export interface Machine {
  mem: MachineMemory;
  code: CodeCache;
  /** Hart 0 (state block at offset 0), and hart 1, which shares the code cache and the Jit. */
  h: Hart;
  h2: Hart;
  jit: Jit | null;
}

/** A 1 MiB, two-hart machine at 0x8000_0000, interpreted (jit = null) or with a JIT. */
export function machine(jit: JitOptions | null): Machine {
  const mem = new MachineMemory({ harts: 2, ramBase: RAM, ramBytes: RAM_BYTES });
  const code = new CodeCache(mem.ramPages);
  const clock = { frequencyHz: 10_000_000, mtime: () => 0, wallClockNs: () => 0 };
  const bus = new Bus();
  const h = new Hart(0, { mem, bus, code, clock });
  const h2 = new Hart(1, { mem, bus, code, clock });
  code.onNewCodePage = (page) => {
    h.dropStoreEntriesFor(page);
    h2.dropStoreEntriesFor(page);
  };
  const j = jit ? new Jit(mem, code, jit) : null;
  h.jit = j;
  h2.jit = j;
  return { mem, code, h, h2, jit: j };
}

/** Privilege and paging the program runs with. */
export type Regime = 'M' | 'S' | 'VS';

/**
 * Prepares hart `h` of `m` to run `prog` in `regime` from registers `init`; `second` gives it
 * the second hart's page tables (scratch pages at DATA_B) under Sv39.
 */
function setUp(
  m: Machine,
  h: Hart,
  prog: Program,
  regime: Regime,
  init: readonly number[],
  second: boolean,
): void {
  const { mem } = m;
  const dv = new DataView(mem.buffer);
  const put = (pa: number, v: bigint): void => dv.setBigUint64(mem.ramOffsetOf(pa), v, true);
  const parcels = new Uint16Array(prog.parcels);
  mem.loadBytes(CODE, new Uint8Array(parcels.buffer));
  // Trap handler: spin (the state at the trap is what gets compared).
  mem.loadBytes(HANDLER, new Uint8Array(new Int32Array([encode(Op.JAL, { rd: 0, imm: 0 })]).buffer));
  // Scratch data: a fixed pattern (another one in the second hart's scratch pages).
  for (let i = 0; i < 0x3000; i += 4) {
    dv.setUint32(mem.ramOffsetOf(DATA + i), Math.imul(i + 1, 0x9e3779b1), true);
    if (i < 0x2000) dv.setUint32(mem.ramOffsetOf(DATA_B + i), Math.imul(i + 7, 0x85ebca6b), true);
  }
  // Sv39: root[2] → L1; L1[0] → L0 (VA 0x8000_0000..0x801f_ffff, identity, 4 KiB pages); the
  // second hart's tables send the two read-write scratch pages to DATA_B instead.
  const [root, l1, l0] = second ? [ROOT_B, L1_B, L0_B] : [ROOT, L1, L0];
  const pte = (pa: number, flags: number): bigint => (BigInt(pa / 4096) << 10n) | BigInt(flags);
  put(root + 2 * 8, pte(l1, 1));
  put(l1, pte(l0, 1));
  for (let i = 0; i < 512; i++) {
    let pa = RAM + i * 4096;
    let flags = 0xcf; // V R W X A D
    if (pa === DATA_RO) flags = 0x43; // V R A
    if (pa === DATA_NONE) flags = 0;
    if (second && (pa === DATA || pa === DATA + 0x1000)) pa += DATA_B - DATA;
    put(l0 + i * 8, pte(pa, flags));
  }
  hostCsrWrite(h, Csr.mtvec, BigInt(HANDLER));
  hostCsrWrite(h, Csr.pmpaddr0, (1n << 54n) - 1n);
  hostCsrWrite(h, Csr.pmpcfg0, 0x1fn);
  hostCsrWrite(h, Csr.mie, BigInt(Irq.MTIP));
  if (regime === 'S') {
    hostCsrWrite(h, Csr.satp, (8n << 60n) | BigInt(root / 4096));
    h.setPriv(1);
  } else if (regime === 'VS') {
    // Two-stage: VS-stage Sv39 as above (its tables at guest-physical = physical addresses),
    // G-stage Sv39x4 identity over the first 2 MiB of RAM (U set, as G-stage leaves need).
    put(GROOT + 2 * 8, pte(GL1, 1));
    put(GL1, pte(GL0, 1));
    for (let i = 0; i < 512; i++) put(GL0 + i * 8, pte(RAM + i * 4096, 0xdf));
    hostCsrWrite(h, Csr.hgatp, (8n << 60n) | BigInt(GROOT / 4096));
    hostCsrWrite(h, Csr.vsatp, (8n << 60n) | BigInt(root / 4096));
    h.S[HS.VIRT] = 1;
    h.setPriv(1);
  }
  for (let r = 1; r < 32; r++) h.setX(r, init[2 * r]!, init[2 * r + 1]!);
  // FP state: special and ordinary values, FS Initial (or Off, rarely), a random frm.
  const sel = rng32(init[1]! ^ 0x51ed);
  for (let r = 0; r < 32; r++) {
    const k = rng32(sel + r * 7919);
    // A third are ordinary doubles with every mantissa bit random (exponents within 2^±40), so
    // that rounding (and the JIT's exact error terms) meet more than the fixed values.
    const v = k % 3 === 0 ? randomDouble(k) : FP_VALUES[k % FP_VALUES.length]!;
    h.FI[2 * r] = v[0];
    h.FI[2 * r + 1] = v[1];
  }
  hostCsrWrite(h, Csr.mstatus, sel % 16 === 0 ? 0n : 1n << 13n);
  hostCsrWrite(h, Csr.frm, BigInt((sel >>> 4) % 8 === 5 ? 5 : (sel >>> 8) % 3 === 0 ? (sel >>> 12) % 5 : 0));
  hostCsrWrite(h, Csr.fflags, BigInt((sel >>> 16) & 31));
  h.setXNumber(R_PTR, DATA + 0x800);
  h.setXNumber(R_FAULT, rng32(init[0]!) & 1 ? DATA_RO + 0x100 : DATA_NONE + 0x100);
  h.setXNumber(R_CODE, CODE + 0xc00);
  h.setXNumber(R_LOOP, 0);
  h.setPcNumber(CODE);
}

/** A double (lo, hi) from the hash of `k`: random sign and mantissa, exponent in [-40, 40]. */
function randomDouble(k: number): readonly [number, number] {
  const exp = 1023 - 40 + (rng32(k ^ 0x2545f491) % 81);
  const hi = ((rng32(k ^ 0x68e31da4) & 1) << 31) | (exp << 20) | (rng32(k ^ 0x1b56c4e9) & 0xfffff);
  return [rng32(k ^ 0x7f4a7c15) | 0, hi | 0];
}

/** f register values (lo, hi): zeros, ±1, fractions, huge/tiny, subnormals, ±∞, NaNs, boxed singles. */
const FP_VALUES: readonly (readonly [number, number])[] = (() => {
  const d = (x: number): [number, number] => {
    const a = new Int32Array(new Float64Array([x]).buffer);
    return [a[0]!, a[1]!];
  };
  const s = (x: number): [number, number] => [new Int32Array(new Float32Array([x]).buffer)[0]!, -1];
  return [
    d(0),
    d(-0),
    d(1),
    d(-1),
    d(0.3),
    d(0.7),
    d(3.9),
    d(1 / 3),
    d(2),
    d(1.5),
    d(1e300),
    d(-1e-300),
    d(1e200),
    d(2.2250738585072014e-308),
    d(5e-324),
    d(1.5e-310),
    d(Infinity),
    d(-Infinity),
    d(2 ** 53 + 2),
    d(-123456.789),
    d(1.7976931348623157e308),
    [0, 0x7ff80000], // canonical qNaN
    [1, 0x7ff00000], // sNaN
    [5, -0x80000], // negative qNaN with payload
    s(1.25),
    s(-0.1),
    s(3.4e38),
    s(1e-40),
    [0x7f800001, -1], // boxed single sNaN
    [0x3f800000, 0], // an unboxed single (reads as NaN)
    d(0.1),
    d(4.5),
  ];
})();

function rng32(x: number): number {
  return Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) >>> 0;
}

export interface DiffResult {
  /** Undefined when both machines agreed throughout. */
  mismatch?: string;
  /** Instructions run (interpreter side). */
  instructions: number;
  /** Regions the JIT translated, and how often translated code was entered. */
  translated: number;
  entries: number;
  /** The program ended in the trap handler (a fault or the timer interrupt). */
  trapped: boolean;
}

/**
 * Runs `prog` on an interpreted machine and a JIT machine from identical states, in slices of
 * random sizes, and compares them after each slice. With `second`, hart 1 runs `prog` too, in
 * that regime, interleaved with hart 0 slice by slice (see the module comment).
 */
export function runDiff(
  rng: Rng,
  prog: Program,
  regime: Regime,
  jit: JitOptions,
  second?: Regime,
): DiffResult {
  const a = machine(null);
  const b = machine(jit);
  const init = randomRegisters(rng);
  setUp(a, a.h, prog, regime, init, false);
  setUp(b, b.h, prog, regime, init, false);
  if (second !== undefined) {
    const init2 = randomRegisters(rng);
    setUp(a, a.h2, prog, second, init2, true);
    setUp(b, b.h2, prog, second, init2, true);
  }
  const harts = second !== undefined ? 2 : 1;
  let total = 0;
  let slice = 0;
  const irqAt = rng.chance(0.2) ? rng.int(prog.budget) : -1;
  while (total < prog.budget) {
    const k = 1 + (rng.chance(0.3) ? rng.int(8) : rng.int(400));
    for (let i = 0; i < harts; i++) {
      const [ha, hb] = i === 0 ? [a.h, b.h] : [a.h2, b.h2];
      if (irqAt >= 0 && total >= irqAt && total - k < irqAt) {
        ha.setIrqLine(Irq.MTIP, true);
        hb.setIrqLine(Irq.MTIP, true);
      }
      // The second hart's slices differ in size from the first's, so that their switches
      // land at other points of the program.
      const n = i === 0 ? k : 1 + rng.int(400);
      const na = run(ha, n);
      const nb = run(hb, n);
      slice++;
      const where = `slice ${slice} (hart ${i}, ${n} instructions, ${total} before)`;
      if (na !== nb) return fail(`${where}: retired ${na} interpreted, ${nb} with the JIT`);
      const diff = compare(a, b, harts);
      if (diff) return fail(`${where}: ${diff}`);
    }
    total += k;
  }
  return result();

  function result(): DiffResult {
    const st = b.jit!.stats();
    return {
      instructions: total,
      translated: st.translated,
      entries: st.entries,
      trapped: a.h.pc === HANDLER,
    };
  }
  function fail(msg: string): DiffResult {
    return { ...result(), mismatch: msg };
  }
}

/** Initial x register halves: small values, sign boundaries, or random ones. */
function randomRegisters(rng: Rng): number[] {
  const init: number[] = [];
  for (let i = 0; i < 64; i++) {
    const k = rng.int(8);
    // Interesting values: small, sign boundaries, or random.
    init.push(
      k === 0
        ? 0
        : k === 1
          ? -1
          : k === 2
            ? i & 1
              ? 0x7fffffff
              : -1
            : k === 3
              ? i & 1
                ? -0x80000000
                : 0
              : rng.next() | 0,
    );
  }
  return init;
}

function compare(a: Machine, b: Machine, harts: number): string | undefined {
  for (let k = 0; k < harts; k++) {
    const [ha, hb] = k === 0 ? [a.h, b.h] : [a.h2, b.h2];
    if (ha.exceptions !== hb.exceptions) return `hart ${k}: exceptions ${ha.exceptions} vs ${hb.exceptions}`;
    const sa = ha.S;
    const sb = hb.S;
    // Everything below the jump cache except the x0 write sink (not architectural: translated
    // code drops writes to x0 instead of storing them there).
    for (let i = 0; i < JC_BYTE_OFFSET / 4; i++) {
      if (sa[i] !== sb[i] && i !== 64 && i !== 65) {
        const what = i < 64 ? `x${i >> 1}` : i < 66 ? 'x0 sink' : `state word 0x${(i * 4).toString(16)}`;
        return `hart ${k}: ${what} (${i & 1 ? 'high' : 'low'} half) differs: 0x${(sa[i]! >>> 0).toString(16)} interpreted, 0x${(sb[i]! >>> 0).toString(16)} with the JIT (pc 0x${ha.pc.toString(16)} / 0x${hb.pc.toString(16)})`;
      }
    }
  }
  const ra = new Int32Array(a.mem.buffer, a.mem.ramOffset, RAM_BYTES / 4);
  const rb = new Int32Array(b.mem.buffer, b.mem.ramOffset, RAM_BYTES / 4);
  for (let i = 0; i < ra.length; i++) {
    if (ra[i] !== rb[i]) return `RAM at 0x${(RAM + i * 4).toString(16)} differs`;
  }
  return undefined;
}
