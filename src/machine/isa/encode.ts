/**
 * An assembler for single instructions, driven by the instruction table: the inverse of the
 * decoder for 32-bit encodings. Used to build code at run time (the interpreter's warm-up
 * program, tests). Register numbers are 0..31; immediates are checked against their format.
 */
import { Op } from './op.ts';
import { ROW_OF_OP } from './table.ts';

export interface Operands {
  rd?: number;
  rs1?: number;
  rs2?: number;
  rs3?: number;
  /** Immediate, shift amount, CSR number, or rounding mode (RM/R4), per the format. */
  imm?: number;
}

function fits(v: number, bits: number): boolean {
  return v >= -(2 ** (bits - 1)) && v < 2 ** (bits - 1);
}

export function encode(op: Op, o: Operands = {}): number {
  const row = ROW_OF_OP[op];
  if (!row) throw new Error(`encode: no instruction for op ${op}`);
  const rd = o.rd ?? 0;
  const rs1 = o.rs1 ?? 0;
  const rs2 = o.rs2 ?? 0;
  const imm = o.imm ?? 0;
  let w = row.match;
  const bad = () => new Error(`encode: ${row.name} cannot take immediate ${imm}`);
  switch (row.format) {
    case 'U':
      if ((imm & 0xfff) !== 0) throw bad();
      w |= (rd << 7) | (imm & 0xfffff000);
      break;
    case 'J':
      if (!fits(imm, 21) || imm & 1) throw bad();
      w |=
        (rd << 7) |
        (((imm >> 20) & 1) << 31) |
        (((imm >> 1) & 0x3ff) << 21) |
        (((imm >> 11) & 1) << 20) |
        (((imm >> 12) & 0xff) << 12);
      break;
    case 'I':
      if (!fits(imm, 12)) throw bad();
      w |= (rd << 7) | (rs1 << 15) | ((imm & 0xfff) << 20);
      break;
    case 'S':
      if (!fits(imm, 12)) throw bad();
      w |= ((imm & 31) << 7) | (rs1 << 15) | (rs2 << 20) | (((imm >> 5) & 0x7f) << 25);
      break;
    case 'B':
      if (!fits(imm, 13) || imm & 1) throw bad();
      w |=
        (((imm >> 11) & 1) << 7) |
        (((imm >> 1) & 0xf) << 8) |
        (rs1 << 15) |
        (rs2 << 20) |
        (((imm >> 5) & 0x3f) << 25) |
        (((imm >> 12) & 1) << 31);
      break;
    case 'SH6':
      if (imm < 0 || imm > 63) throw bad();
      w |= (rd << 7) | (rs1 << 15) | (imm << 20);
      break;
    case 'SH5':
      if (imm < 0 || imm > 31) throw bad();
      w |= (rd << 7) | (rs1 << 15) | (imm << 20);
      break;
    case 'CSR':
      if (imm < 0 || imm > 0xfff) throw bad();
      w |= (rd << 7) | (rs1 << 15) | (imm << 20);
      break;
    case 'RM':
      w |= (rd << 7) | (rs1 << 15) | (row.kinds[2] !== '-' ? rs2 << 20 : 0) | ((imm & 7) << 12);
      break;
    case 'R4':
      w |= (rd << 7) | (rs1 << 15) | (rs2 << 20) | ((imm & 7) << 12) | ((o.rs3 ?? 0) << 27);
      break;
    case 'R':
      w |= (row.kinds[0] !== '-' ? rd << 7 : 0) | (rs1 << 15) | (row.kinds[2] !== '-' ? rs2 << 20 : 0);
      break;
    case 'N':
      break;
  }
  return w | 0;
}

/** Instructions that load a 64-bit constant into `rd` (lui/addi/slli sequences). */
export function loadImmediate(rd: number, value: bigint): number[] {
  const v = BigInt.asIntN(64, value);
  if (v >= -2048n && v < 2048n) return [encode(Op.ADDI, { rd, rs1: 0, imm: Number(v) })];
  if (v >= -(2n ** 31n) && v < 2n ** 31n) {
    const n = Number(v);
    const lo = (n << 20) >> 20; // sign-extended low 12 bits
    const hi = (n - lo) | 0;
    const out = [encode(Op.LUI, { rd, imm: hi })];
    if (lo !== 0) out.push(encode(Op.ADDIW, { rd, rs1: rd, imm: lo }));
    return out;
  }
  // Upper part first, then shift in 12-bit chunks.
  const lo12 = BigInt.asIntN(12, v);
  const rest = (v - lo12) >> 12n;
  const out = loadImmediate(rd, rest);
  out.push(encode(Op.SLLI, { rd, rs1: rd, imm: 12 }));
  if (lo12 !== 0n) out.push(encode(Op.ADDI, { rd, rs1: rd, imm: Number(lo12) }));
  return out;
}
