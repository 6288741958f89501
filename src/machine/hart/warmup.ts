/**
 * Interpreter warm-up: runs a short synthetic program through `run()` on a scratch machine
 * before any guest, so that every case of the interpreter's big switch has executed once.
 *
 * Why: V8 optimizes `run()` as soon as it is hot, with the type feedback seen so far. In a
 * real boot, instructions the guest has not used yet make the optimized code bail out
 * ("insufficient type feedback") the first time each one runs, and every bailout costs a
 * recompilation of the whole interpreter — about 40 of them in a Linux boot, over a second.
 * With feedback for every case gathered up front, the first optimization is the last.
 * The program's results are checked, so the warm-up doubles as a smoke test of the hart.
 */
import { Bus } from '../bus.ts';
import { CodeCache } from '../code_cache.ts';
import { encode, loadImmediate } from '../isa/encode.ts';
import { Op } from '../isa/op.ts';
import { MachineMemory } from '../memory.ts';
import { hostCsrWrite } from './csr.ts';
import { Csr } from './csr_defs.ts';
import { Hart } from './hart.ts';
import { run } from './interp.ts';

const RAM = 0x8000_0000;

const ALU_R = [
  Op.ADD,
  Op.SUB,
  Op.SLL,
  Op.SLT,
  Op.SLTU,
  Op.XOR,
  Op.SRL,
  Op.SRA,
  Op.OR,
  Op.AND,
  Op.ADDW,
  Op.SUBW,
  Op.SLLW,
  Op.SRLW,
  Op.SRAW,
  Op.MUL,
  Op.MULH,
  Op.MULHSU,
  Op.MULHU,
  Op.DIV,
  Op.DIVU,
  Op.REM,
  Op.REMU,
  Op.MULW,
  Op.DIVW,
  Op.DIVUW,
  Op.REMW,
  Op.REMUW,
];
const ALU_I = [Op.ADDI, Op.SLTI, Op.SLTIU, Op.XORI, Op.ORI, Op.ANDI, Op.ADDIW];
const SHIFT_I = [Op.SLLI, Op.SRLI, Op.SRAI];
const SHIFT_IW = [Op.SLLIW, Op.SRLIW, Op.SRAIW];
const LOADS = [Op.LB, Op.LH, Op.LW, Op.LD, Op.LBU, Op.LHU, Op.LWU];
const STORES = [Op.SB, Op.SH, Op.SW, Op.SD];
const AMO_W = [
  Op.AMOSWAP_W,
  Op.AMOADD_W,
  Op.AMOXOR_W,
  Op.AMOAND_W,
  Op.AMOOR_W,
  Op.AMOMIN_W,
  Op.AMOMAX_W,
  Op.AMOMINU_W,
  Op.AMOMAXU_W,
];
const AMO_D = [
  Op.AMOSWAP_D,
  Op.AMOADD_D,
  Op.AMOXOR_D,
  Op.AMOAND_D,
  Op.AMOOR_D,
  Op.AMOMIN_D,
  Op.AMOMAX_D,
  Op.AMOMINU_D,
  Op.AMOMAXU_D,
];
const BRANCHES = [Op.BEQ, Op.BNE, Op.BLT, Op.BGE, Op.BLTU, Op.BGEU];
const FP_RRR = [Op.FADD_D, Op.FSUB_D, Op.FMUL_D, Op.FDIV_D, Op.FADD_S, Op.FSUB_S, Op.FMUL_S, Op.FDIV_S];
const FP_R = [
  Op.FSGNJ_D,
  Op.FSGNJN_D,
  Op.FSGNJX_D,
  Op.FMIN_D,
  Op.FMAX_D,
  Op.FSGNJ_S,
  Op.FSGNJN_S,
  Op.FSGNJX_S,
  Op.FMIN_S,
  Op.FMAX_S,
];
const FP_CMP = [Op.FEQ_D, Op.FLT_D, Op.FLE_D, Op.FEQ_S, Op.FLT_S, Op.FLE_S];
const FP_R4 = [
  Op.FMADD_D,
  Op.FMSUB_D,
  Op.FNMSUB_D,
  Op.FNMADD_D,
  Op.FMADD_S,
  Op.FMSUB_S,
  Op.FNMSUB_S,
  Op.FNMADD_S,
];
const FP_TO_X = [
  Op.FCVT_W_D,
  Op.FCVT_WU_D,
  Op.FCVT_L_D,
  Op.FCVT_LU_D,
  Op.FCVT_W_S,
  Op.FCVT_WU_S,
  Op.FCVT_L_S,
  Op.FCVT_LU_S,
  Op.FMV_X_D,
  Op.FMV_X_W,
  Op.FCLASS_D,
  Op.FCLASS_S,
];
const X_TO_FP = [
  Op.FCVT_D_W,
  Op.FCVT_D_WU,
  Op.FCVT_D_L,
  Op.FCVT_D_LU,
  Op.FCVT_S_W,
  Op.FCVT_S_WU,
  Op.FCVT_S_L,
  Op.FCVT_S_LU,
  Op.FMV_D_X,
  Op.FMV_W_X,
];

/**
 * Builds the warm-up program as bytes. It is position independent (data is addressed from
 * auipc), so that the same bytes run in M-mode at their physical address and in S- and
 * U-mode through page tables. It starts near the end of a page, so that execution flows into
 * the next page, and one 32-bit instruction straddles the boundary.
 */
function program(): Uint8Array {
  const p: number[] = []; // 16-bit parcels
  const e = (op: Op, o: Parameters<typeof encode>[1] = {}) => {
    const w = encode(op, o);
    p.push(w & 0xffff, (w >>> 16) & 0xffff);
  };
  const li = (rd: number, v: bigint) => {
    for (const w of loadImmediate(rd, v)) p.push(w & 0xffff, (w >>> 16) & 0xffff);
  };
  // x28 = data area, 64 KiB after the code (auipc-relative).
  e(Op.AUIPC, { rd: 28, imm: 0x10000 });
  const values: [number, bigint][] = [
    [6, 0x1234_5678_9abc_def0n],
    [7, -5n],
    [8, 3n],
    [9, 40n],
    [10, 0x7fff_ffffn],
  ];
  for (const [r, v] of values) li(r, v);
  for (const op of ALU_R) {
    e(op, { rd: 11, rs1: 6, rs2: 7 });
    e(op, { rd: 12, rs1: 7, rs2: 8 });
    e(op, { rd: 13, rs1: 10, rs2: 9 });
    e(op, { rd: 0, rs1: 8, rs2: 0 });
  }
  for (const op of ALU_I) {
    e(op, { rd: 11, rs1: 6, imm: 5 });
    e(op, { rd: 12, rs1: 7, imm: -7 });
  }
  for (const op of SHIFT_I) for (const s of [0, 3, 40]) e(op, { rd: 11, rs1: 6, imm: s });
  for (const op of SHIFT_IW) for (const s of [0, 3, 31]) e(op, { rd: 11, rs1: 7, imm: s });
  e(Op.LUI, { rd: 11, imm: 0x12345000 });
  e(Op.AUIPC, { rd: 11, imm: 0x1000 });
  // A compressed nop, so that later 32-bit instructions sit at odd halfwords and one of them
  // straddles the page boundary.
  p.push(0x0001);
  // 32-bit nops at odd halfwords up to past the page boundary (CODE is 0x800 before it).
  while (p.length < 1100) e(Op.ADDI, { rd: 0, rs1: 0, imm: 0 });
  // AMOs first touch a fresh page (TLB miss, slow path), then hit.
  for (const op of AMO_W) e(op, { rd: 11, rs1: 28, rs2: 7 });
  for (const op of AMO_D) e(op, { rd: 11, rs1: 28, rs2: 6 });
  // Every load and store op: first on a fresh page (TLB miss, slow path), then a hit, then
  // misaligned (slow path again).
  const nextPage = () => {
    e(Op.ADDI, { rd: 28, rs1: 28, imm: 2047 });
    e(Op.ADDI, { rd: 28, rs1: 28, imm: 2047 });
    e(Op.ADDI, { rd: 28, rs1: 28, imm: 2 });
  };
  for (const op of STORES) {
    nextPage();
    e(op, { rs1: 28, rs2: 6, imm: 64 });
    e(op, { rs1: 28, rs2: 7, imm: 72 });
    e(op, { rs1: 28, rs2: 7, imm: 81 });
  }
  for (const op of [...LOADS, Op.FLD, Op.FLW]) {
    nextPage();
    e(op, { rd: op === Op.FLD || op === Op.FLW ? 5 : 11, rs1: 28, imm: 64 });
    e(op, { rd: op === Op.FLD || op === Op.FLW ? 5 : 11, rs1: 28, imm: 72 });
    e(op, { rd: op === Op.FLD || op === Op.FLW ? 5 : 12, rs1: 28, imm: 73 });
  }
  for (const op of [Op.FSD, Op.FSW]) {
    nextPage();
    e(op, { rs1: 28, rs2: 5, imm: 64 });
    e(op, { rs1: 28, rs2: 5, imm: 72 });
    e(op, { rs1: 28, rs2: 5, imm: 81 });
  }
  e(Op.LR_W, { rd: 11, rs1: 28 });
  e(Op.SC_W, { rd: 12, rs1: 28, rs2: 8 });
  e(Op.SC_W, { rd: 12, rs1: 28, rs2: 8 }); // fails: no reservation
  e(Op.LR_D, { rd: 11, rs1: 28 });
  e(Op.SC_D, { rd: 12, rs1: 28, rs2: 8 });
  for (const op of BRANCHES) {
    for (const [a, b] of [
      [6, 6],
      [6, 7],
      [7, 6],
    ] as const) {
      e(op, { rs1: a, rs2: b, imm: 8 });
      e(Op.ADDI, { rd: 0, rs1: 0, imm: 0 });
    }
  }
  e(Op.JAL, { rd: 1, imm: 8 });
  e(Op.ADDI, { rd: 0, rs1: 0, imm: 0 });
  e(Op.AUIPC, { rd: 11, imm: 0 });
  e(Op.JALR, { rd: 1, rs1: 11, imm: 8 });
  e(Op.ADDI, { rd: 0, rs1: 0, imm: 0 });
  // A jump to the next page and a branch back (control transfers that leave the page).
  e(Op.JAL, { rd: 0, imm: 4096 + 8 });
  const backAt = p.length;
  e(Op.JAL, { rd: 0, imm: 4096 + 16 }); // patched below: lands after the far code
  // CSRs, fences, a trap and its return (in S and U mode the M-mode CSRs trap too).
  e(Op.CSRRW, { rd: 11, rs1: 6, imm: Csr.mscratch });
  e(Op.CSRRS, { rd: 11, rs1: 0, imm: Csr.mstatus });
  e(Op.CSRRC, { rd: 11, rs1: 0, imm: Csr.sscratch });
  e(Op.CSRRWI, { rd: 11, rs1: 3, imm: Csr.sscratch });
  e(Op.CSRRSI, { rd: 11, rs1: 1, imm: Csr.sscratch });
  e(Op.CSRRCI, { rd: 11, rs1: 1, imm: Csr.sscratch });
  e(Op.CSRRS, { rd: 11, rs1: 0, imm: Csr.instret });
  e(Op.CSRRS, { rd: 11, rs1: 0, imm: Csr.time });
  e(Op.FENCE);
  e(Op.FENCE_I);
  e(Op.ECALL);
  e(Op.EBREAK);
  p.push(0x0000, 0x0000); // an illegal instruction
  e(Op.SFENCE_VMA, { rs1: 0, rs2: 0 });
  e(Op.SFENCE_VMA, { rs1: 28, rs2: 0 });
  // Floating point.
  e(Op.FMV_D_X, { rd: 1, rs1: 6 });
  e(Op.FCVT_D_W, { rd: 2, rs1: 7, imm: 0 });
  e(Op.FCVT_S_W, { rd: 3, rs1: 8, imm: 0 });
  e(Op.FCVT_S_W, { rd: 4, rs1: 7, imm: 0 });
  for (const op of FP_RRR) {
    e(op, { rd: 5, rs1: 1, rs2: 2, imm: 7 });
    e(op, { rd: 5, rs1: 3, rs2: 4, imm: 0 });
  }
  e(Op.FSQRT_D, { rd: 5, rs1: 1, imm: 7 });
  e(Op.FSQRT_S, { rd: 5, rs1: 3, imm: 7 });
  for (const op of FP_R) e(op, { rd: 5, rs1: 1, rs2: 2 });
  for (const op of FP_CMP) e(op, { rd: 11, rs1: 1, rs2: 2 });
  for (const op of FP_R4) e(op, { rd: 5, rs1: 1, rs2: 2, rs3: 1, imm: 7 });
  for (const op of FP_TO_X) e(op, { rd: 11, rs1: 2, imm: 1 });
  for (const op of X_TO_FP) e(op, { rd: 5, rs1: 7, imm: 0 });
  e(Op.FCVT_S_D, { rd: 5, rs1: 2, imm: 7 });
  e(Op.FCVT_D_S, { rd: 5, rs1: 3, imm: 0 });
  e(Op.WFI);
  // Done: spin.
  e(Op.JAL, { rd: 0, imm: 0 });
  // Far code, one page after the first jump: branch back to the instruction after it.
  const farFrom = backAt - 2; // the JAL to the next page
  while (p.length < farFrom + 2048 + 4) p.push(0x0001);
  const far = p.length;
  e(Op.JAL, { rd: 0, imm: -((far - backAt) * 2) });
  // Patch the second JAL so that it skips nothing (it jumps to the next instruction).
  const skip = encode(Op.JAL, { rd: 0, imm: 4 });
  p[backAt] = skip & 0xffff;
  p[backAt + 1] = (skip >>> 16) & 0xffff;
  return new Uint8Array(new Uint16Array(p).buffer);
}

/** Where the program starts: 0x800 bytes before the end of a page, so that it crosses it. */
const CODE = RAM + 0x800;
/** Page table root and the M-mode trap handler (physical). */
const ROOT = RAM + 0x4_0000;
const HANDLER = RAM + 0x4_2000;

let done = false;

/**
 * Runs the warm-up once per process (later calls return at once): the program in M-mode,
 * then in S-mode at a kernel-like address through Sv39, then in U-mode. Throws if the hart
 * computes a wrong result: an interpreter bug must surface before any guest runs.
 */
export function warmUpInterpreter(): void {
  if (done) return;
  done = true;
  const mem = new MachineMemory({ harts: 1, ramBase: RAM, ramBytes: 1 << 20 });
  const code = new CodeCache(mem.ramPages);
  const clock = { frequencyHz: 10_000_000, mtime: () => 0, wallClockNs: () => 0 };
  const h = new Hart(0, { mem, bus: new Bus(), code, clock });
  code.onNewCodePage = (page) => h.dropStoreEntriesFor(page);
  const bytes = program();
  // Trap handler (M-mode, physical): skip the trapping instruction, return.
  const handler = [
    encode(Op.CSRRS, { rd: 29, rs1: 0, imm: Csr.mepc }),
    encode(Op.ADDI, { rd: 29, rs1: 29, imm: 4 }),
    encode(Op.CSRRW, { rd: 0, rs1: 29, imm: Csr.mepc }),
    encode(Op.MRET),
  ];
  // Sv39: VA 0xffff_ffff_8000_0000 (root[510]) and VA 0x8000_0000 with U (root[2]) both map
  // the 1 GiB at PA 0x8000_0000; leaves have A and D set.
  const leaf = (user: boolean) => BigInt(((RAM / 4096) << 10) | 0xcf | (user ? 0x10 : 0));
  const modes: { priv: number; pc: bigint; satp: bigint }[] = [
    { priv: 3, pc: BigInt(CODE), satp: 0n },
    { priv: 1, pc: 0xffff_ffff_8000_0000n + BigInt(CODE - RAM), satp: (8n << 60n) | BigInt(ROOT / 4096) },
    { priv: 0, pc: BigInt(CODE), satp: (8n << 60n) | BigInt(ROOT / 4096) },
  ];
  const dv = new DataView(mem.buffer);
  for (const m of modes) {
    h.reset();
    code.clear();
    mem.u8.fill(0, mem.ramOffset, mem.ramOffset + mem.ramBytes);
    mem.loadBytes(CODE, bytes);
    mem.loadBytes(HANDLER, new Uint8Array(new Int32Array(handler).buffer));
    dv.setBigUint64(mem.ramOffsetOf(ROOT + 510 * 8), leaf(false), true);
    dv.setBigUint64(mem.ramOffsetOf(ROOT + 2 * 8), leaf(true), true);
    hostCsrWrite(h, Csr.mtvec, BigInt(HANDLER));
    hostCsrWrite(h, Csr.mstatus, 0x6000n | 0x40000n | (BigInt(m.priv) << 11n)); // FS dirty, SUM, MPP
    hostCsrWrite(h, Csr.satp, m.satp);
    hostCsrWrite(h, Csr.pmpaddr0, (1n << 54n) - 1n);
    hostCsrWrite(h, Csr.pmpcfg0, 0x1fn);
    h.setPriv(m.priv);
    h.setPc(Number(BigInt.asIntN(32, m.pc)), Number(BigInt.asIntN(32, m.pc >> 32n)));
    run(h, bytes.length);
    if (h.xNumber(8) !== 3 || h.xNumber(7) !== -5 || h.X[12] !== (0x9abcdef0 | 0) || h.X[13] !== 0x12345678) {
      throw new Error(
        `interpreter warm-up in privilege ${m.priv} computed wrong register values (emulator bug)`,
      );
    }
  }
}
