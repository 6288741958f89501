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
 *
 * Feedback is not only which cases ran: a path inside a case (a taken backward branch with
 * the JIT's countdown, an interrupt taken in hosted mode, a PAUSE with a handler, an AMO that
 * hits the TLB or invalidates its own page, a guest-page fault) and the objects and functions
 * the code meets (the code cache's page array, the handlers a hypervisor installs) must look
 * as they will in the guest, or the optimized code bails out there. A recompilation of
 * `run()` takes about 0.1 s, which the guest spends in unoptimized code: the warm-up runs in
 * every mode a guest uses (M, S, U, and VS/VU through two stages as a hypervisor's guest),
 * and tests/warmup_test.ts checks that a boot of the default guest causes no bailout.
 */
import { Bus } from '../bus.ts';
import { CodeCache } from '../code_cache.ts';
import { encode, loadImmediate } from '../isa/encode.ts';
import { Op } from '../isa/op.ts';
import { MachineMemory } from '../memory.ts';
import { hostCsrWrite } from './csr.ts';
import { Csr, Irq } from './csr_defs.ts';
import { Hart } from './hart.ts';
import { HS } from './layout.ts';
import { run } from './interp.ts';

const RAM = 0x8000_0000;
/** PAUSE: FENCE with pred = W, succ = 0. */
const PAUSE = 0x0100_000f;
const LOOP_ITERATIONS = 64;

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
  // AMOs first touch a fresh page (TLB miss, slow path); a store fills the store TLB (the
  // AMOs' slow path does not), then they hit.
  // The .d ones start on the page before (x30, unused): each size's slow path runs once.
  e(Op.LUI, { rd: 30, imm: 0x1000 });
  e(Op.SUB, { rd: 30, rs1: 28, rs2: 30 });
  for (let k = 0; k < 2; k++) {
    if (k === 1) e(Op.SD, { rs1: 30, rs2: 0, imm: 8 });
    for (const op of AMO_W) e(op, { rd: 11, rs1: 28, rs2: 7 });
    for (const op of AMO_D) e(op, { rd: 11, rs1: 30, rs2: 6 });
  }
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
  // Loops inside the page, one per kind of backward jump: the interpreter's taken-backward-branch
  // path (and, with the JIT, its countdown and a loop translated mid-way). x16 = 1.
  e(Op.ADDI, { rd: 16, rs1: 0, imm: 1 });
  const loop = (body: () => void) => {
    // FENCE.I is not translated: a region found from one loop's head ends here, so that the
    // next loop starts in the interpreter too.
    e(Op.FENCE_I);
    e(Op.ADDI, { rd: 14, rs1: 0, imm: LOOP_ITERATIONS });
    const top = p.length;
    e(Op.ADDI, { rd: 14, rs1: 14, imm: -1 });
    body();
    return top;
  };
  const back = (op: Op, rs1: number, rs2: number) => loop(() => e(op, { rs1, rs2, imm: -4 }));
  back(Op.BNE, 14, 0); // x14 != 0
  back(Op.BLT, 0, 14); // 0 < x14
  back(Op.BGE, 14, 16); // x14 >= 1
  back(Op.BLTU, 0, 14);
  back(Op.BGEU, 14, 16);
  loop(() => {
    e(Op.SLTU, { rd: 17, rs1: 0, rs2: 14 }); // x17 = x14 != 0
    e(Op.BEQ, { rs1: 17, rs2: 16, imm: -8 });
  });
  const jalTop = loop(() => e(Op.BEQ, { rs1: 14, rs2: 0, imm: 8 }));
  e(Op.JAL, { rd: 0, imm: -2 * (p.length - jalTop) });
  // Loads and stores at fixed addresses (x11), each a different kind of translation:
  // - 0x4000_0000, where nothing is: an access fault (in VS/VU-mode a guest-page fault, the
  //   G-stage maps nothing there);
  // - 0x8000_0100 through a user leaf: in S-mode a supervisor access to a user page (SUM);
  // - 0xc000_0100 through a leaf without A and D: the walk sets them (in VS-mode through the
  //   G-stage);
  // - 0x1_0000_0000, which nothing maps: a page fault (in M-mode an access fault);
  // - 0x1_4000_0000 through a read-only leaf: a store's permission fault, as copy-on-write takes.
  const at = (va: bigint, ops: readonly Op[]): void => {
    li(11, va);
    for (const op of ops) {
      if (op === Op.LW || op === Op.LD) e(op, { rd: 15, rs1: 11, imm: 0 });
      else e(op, { rs1: 11, rs2: 15, imm: 0 });
    }
  };
  at(0x4000_0000n, [Op.LW, Op.SW]);
  at(0x8000_0100n, [Op.LD, Op.SD]);
  at(0xc000_0100n, [Op.LD, Op.SD]);
  at(0x1_0000_0000n, [Op.LW]);
  at(0x1_4000_0000n, [Op.SD]);
  // The F/D CSRs.
  e(Op.CSRRS, { rd: 15, rs1: 0, imm: Csr.fcsr });
  e(Op.CSRRW, { rd: 0, rs1: 0, imm: Csr.fflags });
  e(Op.CSRRS, { rd: 15, rs1: 0, imm: Csr.frm });
  e(Op.CSRRW, { rd: 0, rs1: 15, imm: Csr.frm });
  // PAUSE (the hart tells whoever set onPause) and an AMO that stores into the page being run
  // (a cold instruction that invalidates its own page's decoded code; the value is unchanged).
  p.push(PAUSE & 0xffff, PAUSE >>> 16);
  e(Op.AUIPC, { rd: 11, imm: 0 });
  e(Op.ANDI, { rd: 11, rs1: 11, imm: -4 }); // AMOs must be aligned (this code is not)
  e(Op.AMOOR_W, { rd: 0, rs1: 11, rs2: 0 });
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
/** Page table root, the M-mode trap handler and the G-stage root (16 KiB aligned), physical. */
const ROOT = RAM + 0x4_0000;
const HANDLER = RAM + 0x4_2000;
const GROOT = RAM + 0x4_4000;

/**
 * Rounds of the whole program in every mode: enough for V8 to see `run()` as hot and compile
 * it with feedback from every mode (measured: a cold boot reached its first kernel line at
 * 0.5 M instructions about 100 ms later than a boot after a warmed-up one).
 */
const ROUNDS = 2;

let done = false;

/**
 * Runs the warm-up once per process (later calls return at once). See runWarmUp.
 */
export function warmUpInterpreter(): void {
  if (done) return;
  done = true;
  runWarmUp(ROUNDS);
}

/**
 * Makes interrupts of every level pending and enabled and lets the hart take them (the
 * interpreter checks for them between instructions; the program itself never has one).
 */
function takeInterrupts(h: Hart): void {
  hostCsrWrite(h, Csr.mideleg, BigInt(Irq.S_ALL));
  hostCsrWrite(h, Csr.hideleg, BigInt(Irq.VS_ALL));
  hostCsrWrite(h, Csr.mie, BigInt(Irq.ALL | Irq.VS_ALL));
  hostCsrWrite(h, Csr.vsstatus, 2n); // SIE
  hostCsrWrite(h, Csr.mstatus, 2n | 8n); // SIE, MIE
  // Lowest level first (taking one moves the hart up to that level's handler). A hypervisor's
  // vCPU takes VS-level interrupts in hosted mode (hostTraps), the others exit there.
  hostCsrWrite(h, Csr.hvip, BigInt(Irq.VSTIP));
  h.hostTraps = h.S[HS.VIRT] === 1;
  h.takeInterrupt();
  h.hostTraps = false;
  hostCsrWrite(h, Csr.hvip, 0n);
  h.setIrqLine(Irq.SEIP, true);
  h.takeInterrupt();
  h.setIrqLine(Irq.SEIP, false);
  h.setIrqLine(Irq.MTIP, true);
  h.takeInterrupt();
  h.setIrqLine(Irq.MTIP, false);
}

interface Mode {
  priv: number;
  virt: boolean;
  pc: bigint;
  satp: bigint;
}

/**
 * Runs the program `rounds` times in M-mode, in S-mode at a kernel-like address through Sv39,
 * in U-mode, and in VS- and VU-mode through two stages (VS-stage Sv39 on G-stage Sv39x4, as a
 * hypervisor's guest runs), on a scratch 1 MiB machine; `virtOnly`: in VS and VU-mode only.
 * `prepare` gets the hart before the first run (the JIT's warm-up attaches itself there). Throws if the hart computes a wrong
 * result: an interpreter bug must surface before any guest runs.
 */
export function runWarmUp(rounds: number, prepare?: (h: Hart) => void, virtOnly = false): void {
  const mem = new MachineMemory({ harts: 1, ramBase: RAM, ramBytes: 1 << 20 });
  const code = new CodeCache(mem.ramPages);
  const clock = { frequencyHz: 10_000_000, mtime: () => 0, wallClockNs: () => 0 };
  const h = new Hart(0, { mem, bus: new Bus(), code, clock });
  // Two PAUSE handlers and two new-code-page hooks in turn, from the first mode on: a guest's
  // are other functions, and a call site that has only seen one target is compiled for that
  // one (and bails out on the next); one that has seen two makes a generic call.
  const pauseHandlers = [() => {}, () => {}];
  const newCodePageHooks = [
    (page: number) => h.dropStoreEntriesFor(page),
    (page: number) => h.dropStoreEntriesFor(page),
  ];
  prepare?.(h);
  // Interrupts at every level before the first run: the interpreter's loop inlines
  // takeInterrupt, and if V8 optimizes that loop before takeInterrupt has run past its early
  // return, the optimized code bails out at the guest's first interrupt.
  for (const [priv, virt] of [
    [1, 1],
    [0, 1],
    [1, 0],
  ] as const) {
    h.reset();
    h.S[HS.VIRT] = virt;
    h.setPriv(priv);
    takeInterrupts(h);
  }
  const bytes = program();
  // Trap handler (M-mode, physical): skip the trapping instruction, return.
  const handler = [
    encode(Op.CSRRS, { rd: 29, rs1: 0, imm: Csr.mepc }),
    encode(Op.ADDI, { rd: 29, rs1: 29, imm: 4 }),
    encode(Op.CSRRW, { rd: 0, rs1: 29, imm: Csr.mepc }),
    encode(Op.MRET),
  ];
  // Sv39: VA 0xffff_ffff_8000_0000 (root[510]) and VA 0x8000_0000 with U (root[2]) both map
  // the 1 GiB at PA 0x8000_0000, and so does VA 0xc000_0000 (root[3]) but without A and D;
  // VA 0x1_4000_0000 (root[5]) too, read-only; VA 0x4000_0000 (root[1]) maps itself, where
  // nothing is; the other leaves have A and D set. The G-stage maps guest-physical
  // 0x8000_0000 to itself (a 1 GiB leaf, U set as G-stage leaves need).
  const leaf = (user: boolean) => BigInt(((RAM / 4096) << 10) | 0xcf | (user ? 0x10 : 0));
  const sv39 = (8n << 60n) | BigInt(ROOT / 4096);
  const kernelPc = 0xffff_ffff_8000_0000n + BigInt(CODE - RAM);
  const modes: Mode[] = [
    { priv: 3, virt: false, pc: BigInt(CODE), satp: 0n },
    { priv: 1, virt: false, pc: kernelPc, satp: sv39 },
    { priv: 0, virt: false, pc: BigInt(CODE), satp: sv39 },
    { priv: 1, virt: true, pc: kernelPc, satp: sv39 },
    { priv: 0, virt: true, pc: BigInt(CODE), satp: sv39 },
  ];
  const dv = new DataView(mem.buffer);
  for (let round = 0; round < rounds; round++) {
    for (const [i, m] of modes.entries()) {
      if (virtOnly && !m.virt) continue;
      h.reset();
      code.clear();
      mem.u8.fill(0, mem.ramOffset, mem.ramOffset + mem.ramBytes);
      mem.loadBytes(CODE, bytes);
      mem.loadBytes(HANDLER, new Uint8Array(new Int32Array(handler).buffer));
      dv.setBigUint64(mem.ramOffsetOf(ROOT + 510 * 8), leaf(false), true);
      dv.setBigUint64(mem.ramOffsetOf(ROOT + 2 * 8), leaf(true), true);
      dv.setBigUint64(mem.ramOffsetOf(ROOT + 1 * 8), BigInt(((0x4000_0000 / 4096) << 10) | 0xdf), true);
      dv.setBigUint64(mem.ramOffsetOf(ROOT + 3 * 8), BigInt(((RAM / 4096) << 10) | 0x1f), true);
      dv.setBigUint64(mem.ramOffsetOf(ROOT + 5 * 8), BigInt(((RAM / 4096) << 10) | 0x5b), true);
      dv.setBigUint64(mem.ramOffsetOf(GROOT + 2 * 8), leaf(true), true);
      hostCsrWrite(h, Csr.mtvec, BigInt(HANDLER));
      hostCsrWrite(h, Csr.mstatus, 0x6000n | 0x40000n | (BigInt(m.priv) << 11n)); // FS dirty, SUM, MPP
      hostCsrWrite(h, Csr.pmpaddr0, (1n << 54n) - 1n);
      hostCsrWrite(h, Csr.pmpcfg0, 0x1fn);
      if (m.virt) {
        hostCsrWrite(h, Csr.hgatp, (8n << 60n) | BigInt(GROOT / 4096));
        hostCsrWrite(h, Csr.vsatp, m.satp);
        hostCsrWrite(h, Csr.vsstatus, 0x6000n | 0x40000n); // FS dirty, SUM
        h.S[HS.VIRT] = 1;
      } else hostCsrWrite(h, Csr.satp, m.satp);
      h.setPriv(m.priv);
      h.setPc(Number(BigInt.asIntN(32, m.pc)), Number(BigInt.asIntN(32, m.pc >> 32n)));
      h.onPause = pauseHandlers[i & 1]!;
      code.onNewCodePage = newCodePageHooks[i & 1]!;
      run(h, bytes.length + 4 * LOOP_ITERATIONS);
      // A host's yield request (a hypervisor sets one on each trap it takes): until the field
      // has been written, V8 compiles run() with it as a constant and throws that code away
      // at the guest's first trap.
      h.yieldRequest = true;
      run(h, 1);
      h.yieldRequest = false;
      if (
        h.xNumber(8) !== 3 ||
        h.xNumber(7) !== -5 ||
        h.X[12] !== (0x9abcdef0 | 0) ||
        h.X[13] !== 0x12345678
      ) {
        throw new Error(
          `interpreter warm-up in ${m.virt ? 'V' : ''}${'USHM'[m.priv]}-mode computed wrong register values (emulator bug)`,
        );
      }
      takeInterrupts(h);
    }
  }
}
