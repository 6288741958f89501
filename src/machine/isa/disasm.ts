/**
 * A disassembler driven by the instruction table, for traces and error messages. It prints
 * the base instruction a word decodes to (compressed words as their expansion), with every
 * field that the encoding carries, in GNU assembler syntax with numeric register names
 * (x0..x31, f0..f31), so that its output can be fed back to `as` (the decoder's test does).
 */
import { decode, decoded, X_SINK } from './decode.ts';
import { Op } from './op.ts';
import { ROW_OF_OP } from './table.ts';

const RM_NAMES = ['rne', 'rtz', 'rdn', 'rup', 'rmm', 'rm5', 'rm6', 'dyn'];

/** Conversions that never round; the assembler gives them no rm operand. */
export const EXACT: ReadonlySet<Op> = new Set([Op.FCVT_D_S, Op.FCVT_D_W, Op.FCVT_D_WU]);

function reg(kind: string, i: number): string {
  if (kind === 'f') return `f${i}`;
  return `x${i === X_SINK ? 0 : i}`;
}

/** Disassembles one instruction word (only the low 16 bits are used for compressed ones). */
export function disassemble(insn: number): string {
  decode(insn);
  const w = decoded.word;
  const imm = decoded.imm;
  const op = w & 511;
  if (op === Op.ILLEGAL) return `.insn 0x${(imm >>> 0).toString(16)} (illegal)`;
  const row = ROW_OF_OP[op];
  if (!row) return `.insn op ${op}`;
  const rd = (w >>> 9) & 63;
  const rs1 = (w >>> 15) & 31;
  const rs2 = (w >>> 20) & 31;
  const rs3 = (w >>> 25) & 31;
  const k = row.kinds;
  const [kd = '-', k1 = '-', k2 = '-', k3 = '-'] = k;
  const name = row.name;
  switch (row.format) {
    case 'U':
      return `${name} ${reg(kd, rd)},0x${(imm >>> 12).toString(16)}`;
    case 'J':
      return `${name} ${reg(kd, rd)},${imm}`;
    case 'B':
      return `${name} ${reg(k1, rs1)},${reg(k2, rs2)},${imm}`;
    case 'S':
      return `${name} ${reg(k2, rs2)},${imm}(${reg(k1, rs1)})`;
    case 'I':
      if (name === 'jalr' || /^(l[bhwd]u?|fl[wd])$/.test(name))
        return `${name} ${reg(kd, rd)},${imm}(${reg(k1, rs1)})`;
      return `${name} ${reg(kd, rd)},${reg(k1, rs1)},${imm}`;
    case 'SH6':
    case 'SH5':
      return `${name} ${reg(kd, rd)},${reg(k1, rs1)},${imm}`;
    case 'CSR':
      if (name.endsWith('i')) return `${name} ${reg(kd, rd)},0x${imm.toString(16)},${rs1}`;
      return `${name} ${reg(kd, rd)},0x${imm.toString(16)},${reg(k1, rs1)}`;
    case 'RM': {
      const ops = [reg(kd, rd), reg(k1, rs1)];
      if (k2 !== '-') ops.push(reg(k2, rs2));
      // Exact conversions take no rounding-mode operand in assembly (the field still exists).
      if (EXACT.has(op)) return `${name} ${ops.join(',')}`;
      return `${name} ${ops.join(',')},${RM_NAMES[imm] ?? imm}`;
    }
    case 'R4':
      return `${name} ${reg(kd, rd)},${reg(k1, rs1)},${reg(k2, rs2)},${reg(k3, rs3)},${RM_NAMES[imm] ?? imm}`;
    case 'R': {
      if (name.startsWith('lr.') || name.startsWith('hlv')) return `${name} ${reg(kd, rd)},(${reg(k1, rs1)})`;
      if (name.startsWith('hsv')) return `${name} ${reg(k2, rs2)},(${reg(k1, rs1)})`;
      if (name.startsWith('sc.') || name.startsWith('amo')) {
        return `${name} ${reg(kd, rd)},${reg(k2, rs2)},(${reg(k1, rs1)})`;
      }
      const ops: string[] = [];
      if (kd !== '-') ops.push(reg(kd, rd));
      if (k1 !== '-') ops.push(reg(k1, rs1));
      if (k2 !== '-') ops.push(reg(k2, rs2));
      return `${name} ${ops.join(',')}`;
    }
    case 'N':
      return name;
  }
}
