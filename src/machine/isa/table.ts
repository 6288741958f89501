/**
 * The instruction table of the Domus hart: RV64IMAFD + Zicsr + Zifencei, the privileged
 * instructions and those of the H extension, one row per instruction, and the RV64C compressed forms, each as an expansion
 * into a base instruction. It is the single source of the decoder (`decode.ts`), the
 * disassembler and, later, the JIT: nothing else spells an encoding.
 *
 * A row gives the operation number (`Op`, same order as this table), the mnemonic, the
 * mask/match pair of its fixed bits, the operand format (how fields and the immediate are
 * extracted) and the register file of each operand (x, f, or none) — the decoder uses the
 * latter to send writes of x0 to a sink register.
 */
import { Op } from './op.ts';

/**
 * Operand formats.
 * U, J, I, S, B: the base formats (rd/rs1/rs2 and the sign-extended immediate).
 * R: rd, rs1, rs2.  SH6 / SH5: shift by an immediate of 6 / 5 bits.
 * CSR: rd, rs1 (a register, or the 5-bit uimm for the I forms), imm = CSR number.
 * RM: rd, rs1, rs2, imm = rounding-mode field (bits 14:12).  R4: RM plus rs3.
 * N: no operands.
 */
export type Format = 'U' | 'J' | 'I' | 'S' | 'B' | 'R' | 'SH6' | 'SH5' | 'CSR' | 'RM' | 'R4' | 'N';

/** Register file of rd, rs1, rs2, rs3: 'x', 'f' or '-' (unused). */
export type Kinds = string;

export interface InsnRow {
  op: Op;
  name: string;
  mask: number;
  match: number;
  format: Format;
  kinds: Kinds;
}

const f3 = (opc: number, funct3: number) => ({ mask: 0x707f, match: opc | (funct3 << 12) });
const f7 = (opc: number, funct3: number, funct7: number) => ({
  mask: 0xfe00707f,
  match: opc | (funct3 << 12) | (funct7 << 25),
});
const f6 = (opc: number, funct3: number, funct6: number) => ({
  mask: 0xfc00707f,
  match: opc | (funct3 << 12) | (funct6 << 26),
});
const exact = (word: number) => ({ mask: 0xffffffff, match: word });
/** AMO: funct5 in 31:27, funct3 = width; aq/rl free. LR also fixes rs2 = 0. */
const amo = (funct5: number, width: number) => ({
  mask: funct5 === 2 ? 0xf9f0707f : 0xf800707f,
  match: 0x2f /* AMO */ | (width << 12) | (funct5 << 27),
});
/** OP-FP with the rm field free. */
const fpRm = (funct7: number) => ({ mask: 0xfe00007f, match: 0x53 | (funct7 << 25) });
/** OP-FP with rs2 fixed and rm free (fsqrt, fcvt). */
const fpRs2 = (funct7: number, rs2: number) => ({
  mask: 0xfff0007f,
  match: 0x53 | (funct7 << 25) | (rs2 << 20),
});
/** OP-FP with funct3 fixed (sign injection, min/max, compares). */
const fpF3 = (funct7: number, funct3: number) => ({
  mask: 0xfe00707f,
  match: 0x53 | (funct7 << 25) | (funct3 << 12),
});
/** OP-FP with rs2 and funct3 fixed (fmv, fclass). */
const fpRs2F3 = (funct7: number, rs2: number, funct3: number) => ({
  mask: 0xfff0707f,
  match: 0x53 | (funct7 << 25) | (rs2 << 20) | (funct3 << 12),
});
/** HLV/HLVX: SYSTEM, funct3 4, funct7 and rs2 fixed. */
const hlv = (funct7: number, rs2: number) => ({
  mask: 0xfff0707f,
  match: 0x73 | (4 << 12) | (rs2 << 20) | (funct7 << 25),
});
/** HSV: SYSTEM, funct3 4, funct7 fixed, rd = 0. */
const hsv = (funct7: number) => ({ mask: 0xfe007fff, match: 0x73 | (4 << 12) | (funct7 << 25) });
/** Fused multiply-add: major opcode and fmt (bits 26:25). */
const fma = (opc: number, fmt: number) => ({ mask: 0x0600007f, match: opc | (fmt << 25) });

function row(
  op: Op,
  name: string,
  enc: { mask: number; match: number },
  format: Format,
  kinds: Kinds,
): InsnRow {
  return { op, name, mask: enc.mask >>> 0, match: enc.match >>> 0, format, kinds };
}

const LOAD = 0x03;
const LOAD_FP = 0x07;
const MISC_MEM = 0x0f;
const OP_IMM = 0x13;
const AUIPC = 0x17;
const OP_IMM_32 = 0x1b;
const STORE = 0x23;
const STORE_FP = 0x27;
const OP = 0x33;
const LUI = 0x37;
const OP_32 = 0x3b;
const BRANCH = 0x63;
const JALR = 0x67;
const JAL = 0x6f;
const SYSTEM = 0x73;

export const TABLE: readonly InsnRow[] = [
  row(Op.LUI, 'lui', { mask: 0x7f, match: LUI }, 'U', 'x---'),
  row(Op.AUIPC, 'auipc', { mask: 0x7f, match: AUIPC }, 'U', 'x---'),
  row(Op.JAL, 'jal', { mask: 0x7f, match: JAL }, 'J', 'x---'),
  row(Op.JALR, 'jalr', f3(JALR, 0), 'I', 'xx--'),
  row(Op.BEQ, 'beq', f3(BRANCH, 0), 'B', '-xx-'),
  row(Op.BNE, 'bne', f3(BRANCH, 1), 'B', '-xx-'),
  row(Op.BLT, 'blt', f3(BRANCH, 4), 'B', '-xx-'),
  row(Op.BGE, 'bge', f3(BRANCH, 5), 'B', '-xx-'),
  row(Op.BLTU, 'bltu', f3(BRANCH, 6), 'B', '-xx-'),
  row(Op.BGEU, 'bgeu', f3(BRANCH, 7), 'B', '-xx-'),
  row(Op.LB, 'lb', f3(LOAD, 0), 'I', 'xx--'),
  row(Op.LH, 'lh', f3(LOAD, 1), 'I', 'xx--'),
  row(Op.LW, 'lw', f3(LOAD, 2), 'I', 'xx--'),
  row(Op.LD, 'ld', f3(LOAD, 3), 'I', 'xx--'),
  row(Op.LBU, 'lbu', f3(LOAD, 4), 'I', 'xx--'),
  row(Op.LHU, 'lhu', f3(LOAD, 5), 'I', 'xx--'),
  row(Op.LWU, 'lwu', f3(LOAD, 6), 'I', 'xx--'),
  row(Op.SB, 'sb', f3(STORE, 0), 'S', '-xx-'),
  row(Op.SH, 'sh', f3(STORE, 1), 'S', '-xx-'),
  row(Op.SW, 'sw', f3(STORE, 2), 'S', '-xx-'),
  row(Op.SD, 'sd', f3(STORE, 3), 'S', '-xx-'),
  row(Op.ADDI, 'addi', f3(OP_IMM, 0), 'I', 'xx--'),
  row(Op.SLTI, 'slti', f3(OP_IMM, 2), 'I', 'xx--'),
  row(Op.SLTIU, 'sltiu', f3(OP_IMM, 3), 'I', 'xx--'),
  row(Op.XORI, 'xori', f3(OP_IMM, 4), 'I', 'xx--'),
  row(Op.ORI, 'ori', f3(OP_IMM, 6), 'I', 'xx--'),
  row(Op.ANDI, 'andi', f3(OP_IMM, 7), 'I', 'xx--'),
  row(Op.SLLI, 'slli', f6(OP_IMM, 1, 0x00), 'SH6', 'xx--'),
  row(Op.SRLI, 'srli', f6(OP_IMM, 5, 0x00), 'SH6', 'xx--'),
  row(Op.SRAI, 'srai', f6(OP_IMM, 5, 0x10), 'SH6', 'xx--'),
  row(Op.ADD, 'add', f7(OP, 0, 0x00), 'R', 'xxx-'),
  row(Op.SUB, 'sub', f7(OP, 0, 0x20), 'R', 'xxx-'),
  row(Op.SLL, 'sll', f7(OP, 1, 0x00), 'R', 'xxx-'),
  row(Op.SLT, 'slt', f7(OP, 2, 0x00), 'R', 'xxx-'),
  row(Op.SLTU, 'sltu', f7(OP, 3, 0x00), 'R', 'xxx-'),
  row(Op.XOR, 'xor', f7(OP, 4, 0x00), 'R', 'xxx-'),
  row(Op.SRL, 'srl', f7(OP, 5, 0x00), 'R', 'xxx-'),
  row(Op.SRA, 'sra', f7(OP, 5, 0x20), 'R', 'xxx-'),
  row(Op.OR, 'or', f7(OP, 6, 0x00), 'R', 'xxx-'),
  row(Op.AND, 'and', f7(OP, 7, 0x00), 'R', 'xxx-'),
  row(Op.ADDIW, 'addiw', f3(OP_IMM_32, 0), 'I', 'xx--'),
  row(Op.SLLIW, 'slliw', f7(OP_IMM_32, 1, 0x00), 'SH5', 'xx--'),
  row(Op.SRLIW, 'srliw', f7(OP_IMM_32, 5, 0x00), 'SH5', 'xx--'),
  row(Op.SRAIW, 'sraiw', f7(OP_IMM_32, 5, 0x20), 'SH5', 'xx--'),
  row(Op.ADDW, 'addw', f7(OP_32, 0, 0x00), 'R', 'xxx-'),
  row(Op.SUBW, 'subw', f7(OP_32, 0, 0x20), 'R', 'xxx-'),
  row(Op.SLLW, 'sllw', f7(OP_32, 1, 0x00), 'R', 'xxx-'),
  row(Op.SRLW, 'srlw', f7(OP_32, 5, 0x00), 'R', 'xxx-'),
  row(Op.SRAW, 'sraw', f7(OP_32, 5, 0x20), 'R', 'xxx-'),
  // FENCE ignores rd/rs1/fm/pred/succ (reserved encodings must execute as FENCE); likewise FENCE.I.
  row(Op.FENCE, 'fence', f3(MISC_MEM, 0), 'N', '----'),
  row(Op.FENCE_I, 'fence.i', f3(MISC_MEM, 1), 'N', '----'),
  row(Op.ECALL, 'ecall', exact(0x00000073), 'N', '----'),
  row(Op.EBREAK, 'ebreak', exact(0x00100073), 'N', '----'),
  row(Op.SRET, 'sret', exact(0x10200073), 'N', '----'),
  row(Op.MRET, 'mret', exact(0x30200073), 'N', '----'),
  row(Op.WFI, 'wfi', exact(0x10500073), 'N', '----'),
  row(Op.SFENCE_VMA, 'sfence.vma', { mask: 0xfe007fff, match: 0x12000073 }, 'R', '-xx-'),
  row(Op.CSRRW, 'csrrw', f3(SYSTEM, 1), 'CSR', 'xx--'),
  row(Op.CSRRS, 'csrrs', f3(SYSTEM, 2), 'CSR', 'xx--'),
  row(Op.CSRRC, 'csrrc', f3(SYSTEM, 3), 'CSR', 'xx--'),
  row(Op.CSRRWI, 'csrrwi', f3(SYSTEM, 5), 'CSR', 'x---'),
  row(Op.CSRRSI, 'csrrsi', f3(SYSTEM, 6), 'CSR', 'x---'),
  row(Op.CSRRCI, 'csrrci', f3(SYSTEM, 7), 'CSR', 'x---'),
  row(Op.MUL, 'mul', f7(OP, 0, 1), 'R', 'xxx-'),
  row(Op.MULH, 'mulh', f7(OP, 1, 1), 'R', 'xxx-'),
  row(Op.MULHSU, 'mulhsu', f7(OP, 2, 1), 'R', 'xxx-'),
  row(Op.MULHU, 'mulhu', f7(OP, 3, 1), 'R', 'xxx-'),
  row(Op.DIV, 'div', f7(OP, 4, 1), 'R', 'xxx-'),
  row(Op.DIVU, 'divu', f7(OP, 5, 1), 'R', 'xxx-'),
  row(Op.REM, 'rem', f7(OP, 6, 1), 'R', 'xxx-'),
  row(Op.REMU, 'remu', f7(OP, 7, 1), 'R', 'xxx-'),
  row(Op.MULW, 'mulw', f7(OP_32, 0, 1), 'R', 'xxx-'),
  row(Op.DIVW, 'divw', f7(OP_32, 4, 1), 'R', 'xxx-'),
  row(Op.DIVUW, 'divuw', f7(OP_32, 5, 1), 'R', 'xxx-'),
  row(Op.REMW, 'remw', f7(OP_32, 6, 1), 'R', 'xxx-'),
  row(Op.REMUW, 'remuw', f7(OP_32, 7, 1), 'R', 'xxx-'),
  row(Op.LR_W, 'lr.w', amo(0x02, 2), 'R', 'xx--'),
  row(Op.SC_W, 'sc.w', amo(0x03, 2), 'R', 'xxx-'),
  row(Op.AMOSWAP_W, 'amoswap.w', amo(0x01, 2), 'R', 'xxx-'),
  row(Op.AMOADD_W, 'amoadd.w', amo(0x00, 2), 'R', 'xxx-'),
  row(Op.AMOXOR_W, 'amoxor.w', amo(0x04, 2), 'R', 'xxx-'),
  row(Op.AMOAND_W, 'amoand.w', amo(0x0c, 2), 'R', 'xxx-'),
  row(Op.AMOOR_W, 'amoor.w', amo(0x08, 2), 'R', 'xxx-'),
  row(Op.AMOMIN_W, 'amomin.w', amo(0x10, 2), 'R', 'xxx-'),
  row(Op.AMOMAX_W, 'amomax.w', amo(0x14, 2), 'R', 'xxx-'),
  row(Op.AMOMINU_W, 'amominu.w', amo(0x18, 2), 'R', 'xxx-'),
  row(Op.AMOMAXU_W, 'amomaxu.w', amo(0x1c, 2), 'R', 'xxx-'),
  row(Op.LR_D, 'lr.d', amo(0x02, 3), 'R', 'xx--'),
  row(Op.SC_D, 'sc.d', amo(0x03, 3), 'R', 'xxx-'),
  row(Op.AMOSWAP_D, 'amoswap.d', amo(0x01, 3), 'R', 'xxx-'),
  row(Op.AMOADD_D, 'amoadd.d', amo(0x00, 3), 'R', 'xxx-'),
  row(Op.AMOXOR_D, 'amoxor.d', amo(0x04, 3), 'R', 'xxx-'),
  row(Op.AMOAND_D, 'amoand.d', amo(0x0c, 3), 'R', 'xxx-'),
  row(Op.AMOOR_D, 'amoor.d', amo(0x08, 3), 'R', 'xxx-'),
  row(Op.AMOMIN_D, 'amomin.d', amo(0x10, 3), 'R', 'xxx-'),
  row(Op.AMOMAX_D, 'amomax.d', amo(0x14, 3), 'R', 'xxx-'),
  row(Op.AMOMINU_D, 'amominu.d', amo(0x18, 3), 'R', 'xxx-'),
  row(Op.AMOMAXU_D, 'amomaxu.d', amo(0x1c, 3), 'R', 'xxx-'),
  row(Op.FLW, 'flw', f3(LOAD_FP, 2), 'I', 'fx--'),
  row(Op.FSW, 'fsw', f3(STORE_FP, 2), 'S', '-xf-'),
  row(Op.FMADD_S, 'fmadd.s', fma(0x43, 0), 'R4', 'ffff'),
  row(Op.FMSUB_S, 'fmsub.s', fma(0x47, 0), 'R4', 'ffff'),
  row(Op.FNMSUB_S, 'fnmsub.s', fma(0x4b, 0), 'R4', 'ffff'),
  row(Op.FNMADD_S, 'fnmadd.s', fma(0x4f, 0), 'R4', 'ffff'),
  row(Op.FADD_S, 'fadd.s', fpRm(0x00), 'RM', 'fff-'),
  row(Op.FSUB_S, 'fsub.s', fpRm(0x04), 'RM', 'fff-'),
  row(Op.FMUL_S, 'fmul.s', fpRm(0x08), 'RM', 'fff-'),
  row(Op.FDIV_S, 'fdiv.s', fpRm(0x0c), 'RM', 'fff-'),
  row(Op.FSQRT_S, 'fsqrt.s', fpRs2(0x2c, 0), 'RM', 'ff--'),
  row(Op.FSGNJ_S, 'fsgnj.s', fpF3(0x10, 0), 'R', 'fff-'),
  row(Op.FSGNJN_S, 'fsgnjn.s', fpF3(0x10, 1), 'R', 'fff-'),
  row(Op.FSGNJX_S, 'fsgnjx.s', fpF3(0x10, 2), 'R', 'fff-'),
  row(Op.FMIN_S, 'fmin.s', fpF3(0x14, 0), 'R', 'fff-'),
  row(Op.FMAX_S, 'fmax.s', fpF3(0x14, 1), 'R', 'fff-'),
  row(Op.FCVT_W_S, 'fcvt.w.s', fpRs2(0x60, 0), 'RM', 'xf--'),
  row(Op.FCVT_WU_S, 'fcvt.wu.s', fpRs2(0x60, 1), 'RM', 'xf--'),
  row(Op.FCVT_L_S, 'fcvt.l.s', fpRs2(0x60, 2), 'RM', 'xf--'),
  row(Op.FCVT_LU_S, 'fcvt.lu.s', fpRs2(0x60, 3), 'RM', 'xf--'),
  row(Op.FMV_X_W, 'fmv.x.w', fpRs2F3(0x70, 0, 0), 'R', 'xf--'),
  row(Op.FEQ_S, 'feq.s', fpF3(0x50, 2), 'R', 'xff-'),
  row(Op.FLT_S, 'flt.s', fpF3(0x50, 1), 'R', 'xff-'),
  row(Op.FLE_S, 'fle.s', fpF3(0x50, 0), 'R', 'xff-'),
  row(Op.FCLASS_S, 'fclass.s', fpRs2F3(0x70, 0, 1), 'R', 'xf--'),
  row(Op.FCVT_S_W, 'fcvt.s.w', fpRs2(0x68, 0), 'RM', 'fx--'),
  row(Op.FCVT_S_WU, 'fcvt.s.wu', fpRs2(0x68, 1), 'RM', 'fx--'),
  row(Op.FCVT_S_L, 'fcvt.s.l', fpRs2(0x68, 2), 'RM', 'fx--'),
  row(Op.FCVT_S_LU, 'fcvt.s.lu', fpRs2(0x68, 3), 'RM', 'fx--'),
  row(Op.FMV_W_X, 'fmv.w.x', fpRs2F3(0x78, 0, 0), 'R', 'fx--'),
  row(Op.FLD, 'fld', f3(LOAD_FP, 3), 'I', 'fx--'),
  row(Op.FSD, 'fsd', f3(STORE_FP, 3), 'S', '-xf-'),
  row(Op.FMADD_D, 'fmadd.d', fma(0x43, 1), 'R4', 'ffff'),
  row(Op.FMSUB_D, 'fmsub.d', fma(0x47, 1), 'R4', 'ffff'),
  row(Op.FNMSUB_D, 'fnmsub.d', fma(0x4b, 1), 'R4', 'ffff'),
  row(Op.FNMADD_D, 'fnmadd.d', fma(0x4f, 1), 'R4', 'ffff'),
  row(Op.FADD_D, 'fadd.d', fpRm(0x01), 'RM', 'fff-'),
  row(Op.FSUB_D, 'fsub.d', fpRm(0x05), 'RM', 'fff-'),
  row(Op.FMUL_D, 'fmul.d', fpRm(0x09), 'RM', 'fff-'),
  row(Op.FDIV_D, 'fdiv.d', fpRm(0x0d), 'RM', 'fff-'),
  row(Op.FSQRT_D, 'fsqrt.d', fpRs2(0x2d, 0), 'RM', 'ff--'),
  row(Op.FSGNJ_D, 'fsgnj.d', fpF3(0x11, 0), 'R', 'fff-'),
  row(Op.FSGNJN_D, 'fsgnjn.d', fpF3(0x11, 1), 'R', 'fff-'),
  row(Op.FSGNJX_D, 'fsgnjx.d', fpF3(0x11, 2), 'R', 'fff-'),
  row(Op.FMIN_D, 'fmin.d', fpF3(0x15, 0), 'R', 'fff-'),
  row(Op.FMAX_D, 'fmax.d', fpF3(0x15, 1), 'R', 'fff-'),
  row(Op.FCVT_S_D, 'fcvt.s.d', fpRs2(0x20, 1), 'RM', 'ff--'),
  row(Op.FCVT_D_S, 'fcvt.d.s', fpRs2(0x21, 0), 'RM', 'ff--'),
  row(Op.FCVT_W_D, 'fcvt.w.d', fpRs2(0x61, 0), 'RM', 'xf--'),
  row(Op.FCVT_WU_D, 'fcvt.wu.d', fpRs2(0x61, 1), 'RM', 'xf--'),
  row(Op.FCVT_L_D, 'fcvt.l.d', fpRs2(0x61, 2), 'RM', 'xf--'),
  row(Op.FCVT_LU_D, 'fcvt.lu.d', fpRs2(0x61, 3), 'RM', 'xf--'),
  row(Op.FMV_X_D, 'fmv.x.d', fpRs2F3(0x71, 0, 0), 'R', 'xf--'),
  row(Op.FEQ_D, 'feq.d', fpF3(0x51, 2), 'R', 'xff-'),
  row(Op.FLT_D, 'flt.d', fpF3(0x51, 1), 'R', 'xff-'),
  row(Op.FLE_D, 'fle.d', fpF3(0x51, 0), 'R', 'xff-'),
  row(Op.FCLASS_D, 'fclass.d', fpRs2F3(0x71, 0, 1), 'R', 'xf--'),
  row(Op.FCVT_D_W, 'fcvt.d.w', fpRs2(0x69, 0), 'RM', 'fx--'),
  row(Op.FCVT_D_WU, 'fcvt.d.wu', fpRs2(0x69, 1), 'RM', 'fx--'),
  row(Op.FCVT_D_L, 'fcvt.d.l', fpRs2(0x69, 2), 'RM', 'fx--'),
  row(Op.FCVT_D_LU, 'fcvt.d.lu', fpRs2(0x69, 3), 'RM', 'fx--'),
  row(Op.FMV_D_X, 'fmv.d.x', fpRs2F3(0x79, 0, 0), 'R', 'fx--'),
  // H extension: fences, and virtual-machine loads (rs2 selects the variant) and stores.
  row(Op.HFENCE_VVMA, 'hfence.vvma', { mask: 0xfe007fff, match: 0x22000073 }, 'R', '-xx-'),
  row(Op.HFENCE_GVMA, 'hfence.gvma', { mask: 0xfe007fff, match: 0x62000073 }, 'R', '-xx-'),
  row(Op.HLV_B, 'hlv.b', hlv(0x30, 0), 'R', 'xx--'),
  row(Op.HLV_BU, 'hlv.bu', hlv(0x30, 1), 'R', 'xx--'),
  row(Op.HLV_H, 'hlv.h', hlv(0x32, 0), 'R', 'xx--'),
  row(Op.HLV_HU, 'hlv.hu', hlv(0x32, 1), 'R', 'xx--'),
  row(Op.HLVX_HU, 'hlvx.hu', hlv(0x32, 3), 'R', 'xx--'),
  row(Op.HLV_W, 'hlv.w', hlv(0x34, 0), 'R', 'xx--'),
  row(Op.HLVX_WU, 'hlvx.wu', hlv(0x34, 3), 'R', 'xx--'),
  row(Op.HLV_WU, 'hlv.wu', hlv(0x34, 1), 'R', 'xx--'),
  row(Op.HLV_D, 'hlv.d', hlv(0x36, 0), 'R', 'xx--'),
  row(Op.HSV_B, 'hsv.b', hsv(0x31), 'R', '-xx-'),
  row(Op.HSV_H, 'hsv.h', hsv(0x33), 'R', '-xx-'),
  row(Op.HSV_W, 'hsv.w', hsv(0x35), 'R', '-xx-'),
  row(Op.HSV_D, 'hsv.d', hsv(0x37), 'R', '-xx-'),
];

/** The row of each operation, indexed by `Op`. */
export const ROW_OF_OP: readonly (InsnRow | undefined)[] = (() => {
  const byOp: (InsnRow | undefined)[] = [];
  for (const r of TABLE) byOp[r.op] = r;
  return byOp;
})();

// ---------------------------------------------------------------------------------------------
// RV64C: each compressed instruction expands into a row above. `fields` names how the
// operands and the immediate are pulled out of the 16-bit word (see compressed.ts).

export type CField =
  | 'CIW_ADDI4SPN'
  | 'CL_D' // ld/fld: uimm[5:3]=12:10, uimm[7:6]=6:5
  | 'CL_W' // lw: uimm[5:3]=12:10, uimm[2]=6, uimm[6]=5
  | 'CS_D'
  | 'CS_W'
  | 'CI_ADDI' // rd = rs1 = 11:7, imm[5]=12, imm[4:0]=6:2
  | 'CI_LI' // rd = 11:7, rs1 = x0
  | 'CI_ADDI16SP'
  | 'CI_LUI'
  | 'CB_SHIFT' // rd' = rs1' = 9:7, shamt[5]=12, shamt[4:0]=6:2
  | 'CB_ANDI'
  | 'CA' // rd' = rs1' = 9:7, rs2' = 4:2
  | 'CJ' // offset, rd = x0
  | 'CB_BRANCH' // rs1' = 9:7, rs2 = x0
  | 'CI_SLLI' // rd = rs1 = 11:7, shamt
  | 'CI_LDSP'
  | 'CI_LWSP'
  | 'CR_JR' // jalr x0, 0(rs1)
  | 'CR_MV' // add rd, x0, rs2
  | 'CR_JALR' // jalr x1, 0(rs1)
  | 'CR_ADD' // add rd, rd, rs2
  | 'CR_EBREAK'
  | 'CSS_SDSP'
  | 'CSS_SWSP';

export interface CRow {
  name: string;
  mask: number;
  match: number;
  /** The base operation it expands to. */
  op: Op;
  fields: CField;
  /** Encodings that are reserved when this field is zero ('rd', 'rs1', 'imm'), or none. */
  nonzero?: 'rd' | 'rs1' | 'imm' | 'rd+imm';
}

const c = (
  name: string,
  mask: number,
  match: number,
  op: Op,
  fields: CField,
  nonzero?: CRow['nonzero'],
): CRow => (nonzero ? { name, mask, match, op, fields, nonzero } : { name, mask, match, op, fields });

/** funct3 (15:13) and quadrant (1:0). */
const Q = 0xe003;
export const CTABLE: readonly CRow[] = [
  // Quadrant 0
  c('c.addi4spn', Q, 0x0000, Op.ADDI, 'CIW_ADDI4SPN', 'imm'),
  c('c.fld', Q, 0x2000, Op.FLD, 'CL_D'),
  c('c.lw', Q, 0x4000, Op.LW, 'CL_W'),
  c('c.ld', Q, 0x6000, Op.LD, 'CL_D'),
  c('c.fsd', Q, 0xa000, Op.FSD, 'CS_D'),
  c('c.sw', Q, 0xc000, Op.SW, 'CS_W'),
  c('c.sd', Q, 0xe000, Op.SD, 'CS_D'),
  // Quadrant 1
  c('c.addi', Q, 0x0001, Op.ADDI, 'CI_ADDI'),
  c('c.addiw', Q, 0x2001, Op.ADDIW, 'CI_ADDI', 'rd'),
  c('c.li', Q, 0x4001, Op.ADDI, 'CI_LI'),
  c('c.addi16sp', 0xef83, 0x6101, Op.ADDI, 'CI_ADDI16SP', 'imm'),
  c('c.lui', Q, 0x6001, Op.LUI, 'CI_LUI', 'imm'),
  c('c.srli', 0xec03, 0x8001, Op.SRLI, 'CB_SHIFT'),
  c('c.srai', 0xec03, 0x8401, Op.SRAI, 'CB_SHIFT'),
  c('c.andi', 0xec03, 0x8801, Op.ANDI, 'CB_ANDI'),
  c('c.sub', 0xfc63, 0x8c01, Op.SUB, 'CA'),
  c('c.xor', 0xfc63, 0x8c21, Op.XOR, 'CA'),
  c('c.or', 0xfc63, 0x8c41, Op.OR, 'CA'),
  c('c.and', 0xfc63, 0x8c61, Op.AND, 'CA'),
  c('c.subw', 0xfc63, 0x9c01, Op.SUBW, 'CA'),
  c('c.addw', 0xfc63, 0x9c21, Op.ADDW, 'CA'),
  c('c.j', Q, 0xa001, Op.JAL, 'CJ'),
  c('c.beqz', Q, 0xc001, Op.BEQ, 'CB_BRANCH'),
  c('c.bnez', Q, 0xe001, Op.BNE, 'CB_BRANCH'),
  // Quadrant 2
  c('c.slli', Q, 0x0002, Op.SLLI, 'CI_SLLI'),
  c('c.fldsp', Q, 0x2002, Op.FLD, 'CI_LDSP'),
  c('c.lwsp', Q, 0x4002, Op.LW, 'CI_LWSP', 'rd'),
  c('c.ldsp', Q, 0x6002, Op.LD, 'CI_LDSP', 'rd'),
  c('c.ebreak', 0xffff, 0x9002, Op.EBREAK, 'CR_EBREAK'),
  c('c.jr', 0xf07f, 0x8002, Op.JALR, 'CR_JR', 'rs1'),
  c('c.mv', 0xf003, 0x8002, Op.ADD, 'CR_MV'),
  c('c.jalr', 0xf07f, 0x9002, Op.JALR, 'CR_JALR', 'rs1'),
  c('c.add', 0xf003, 0x9002, Op.ADD, 'CR_ADD'),
  c('c.fsdsp', Q, 0xa002, Op.FSD, 'CSS_SDSP'),
  c('c.swsp', Q, 0xc002, Op.SW, 'CSS_SWSP'),
  c('c.sdsp', Q, 0xe002, Op.SD, 'CSS_SDSP'),
];
