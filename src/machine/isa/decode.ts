/**
 * The decoder: turns a 32-bit or 16-bit instruction word into a packed operation word and an
 * immediate, driven entirely by the instruction table (`table.ts`).
 *
 * Packed word layout (int32):
 *   bits 0..8    operation (`Op`)
 *   bits 9..14   rd  (0..32; an integer rd of x0 becomes 32, the write sink, so that
 *                     the interpreter can write rd unconditionally)
 *   bits 15..19  rs1
 *   bits 20..24  rs2
 *   bits 25..29  rs3
 *   bit  30      set for a 16-bit (compressed) instruction
 * The immediate is the sign-extended immediate, a shift amount, a CSR number (CSR format), the
 * rounding-mode field (RM, R4 formats), or for ILLEGAL the raw instruction bits.
 *
 * The result is delivered in `decoded` (module state, so decoding allocates nothing).
 */
import { Op } from './op.ts';
import { CTABLE, TABLE, type CField, type CRow, type InsnRow } from './table.ts';

export const PACK_RD_SHIFT = 9;
export const PACK_RS1_SHIFT = 15;
export const PACK_RS2_SHIFT = 20;
export const PACK_RS3_SHIFT = 25;
export const PACK_COMPRESSED = 1 << 30;
/** The register index that integer writes to x0 are redirected to. */
export const X_SINK = 32;

export const decoded = { word: 0, imm: 0 };

/** The imm of PAUSE (Zihintpause): FENCE with fm = 0, pred = W, succ = 0. */
export const FENCE_PAUSE = 0x010;

function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v; v &= v - 1) n++;
  return n;
}

/** Rows of the 32-bit table bucketed by major opcode (bits 6:2), most specific mask first. */
const BUCKETS: InsnRow[][] = (() => {
  const b: InsnRow[][] = Array.from({ length: 32 }, () => []);
  for (const r of TABLE) b[(r.match >>> 2) & 31]?.push(r);
  for (const list of b) list.sort((x, y) => popcount(y.mask) - popcount(x.mask));
  return b;
})();

function pack(op: Op, rd: number, rs1: number, rs2: number, rs3: number): number {
  return (
    op | (rd << PACK_RD_SHIFT) | (rs1 << PACK_RS1_SHIFT) | (rs2 << PACK_RS2_SHIFT) | (rs3 << PACK_RS3_SHIFT)
  );
}

function illegal(insn: number, compressed: boolean): void {
  decoded.word = Op.ILLEGAL | (compressed ? PACK_COMPRESSED : 0);
  decoded.imm = insn | 0;
}

/** Decodes a 32-bit instruction (low two bits 11). */
export function decode32(insn: number): void {
  const bucket = BUCKETS[(insn >>> 2) & 31];
  let r: InsnRow | undefined;
  if (bucket) {
    for (const cand of bucket) {
      if ((insn & cand.mask) >>> 0 === cand.match) {
        r = cand;
        break;
      }
    }
  }
  if (!r) return illegal(insn, false);
  let rd = (insn >>> 7) & 31;
  const rs1 = (insn >>> 15) & 31;
  const rs2 = (insn >>> 20) & 31;
  const rs3 = insn >>> 27;
  let imm = 0;
  switch (r.format) {
    case 'U':
      imm = insn & 0xfffff000;
      break;
    case 'J':
      imm =
        ((insn >> 31) << 20) |
        (((insn >>> 12) & 0xff) << 12) |
        (((insn >>> 20) & 1) << 11) |
        (((insn >>> 21) & 0x3ff) << 1);
      break;
    case 'I':
      imm = insn >> 20;
      break;
    case 'S':
      imm = ((insn >> 25) << 5) | ((insn >>> 7) & 31);
      break;
    case 'B':
      imm =
        ((insn >> 31) << 12) |
        (((insn >>> 7) & 1) << 11) |
        (((insn >>> 25) & 0x3f) << 5) |
        (((insn >>> 8) & 0xf) << 1);
      break;
    case 'SH6':
      imm = (insn >>> 20) & 63;
      break;
    case 'SH5':
      imm = (insn >>> 20) & 31;
      break;
    case 'CSR':
      imm = (insn >>> 20) & 0xfff;
      break;
    case 'RM':
    case 'R4':
      imm = (insn >>> 12) & 7;
      break;
    case 'R':
    case 'N':
      // FENCE keeps fm, pred and succ (PAUSE is FENCE with pred = W, succ = 0: FENCE_PAUSE).
      if (r.op === Op.FENCE) imm = (insn >>> 20) & 0xfff;
      break;
  }
  // Fields the instruction does not use are zeroed, so that equal instructions pack equally.
  const k = r.kinds;
  if (k[0] === '-') rd = 0;
  else if (rd === 0 && k[0] === 'x') rd = X_SINK;
  const keepRs1 = k[1] !== '-' || r.format === 'CSR';
  decoded.word = pack(r.op, rd, keepRs1 ? rs1 : 0, k[2] !== '-' ? rs2 : 0, r.format === 'R4' ? rs3 : 0);
  decoded.imm = imm;
}

const CBUCKETS: CRow[][] = (() => {
  // Bucket by quadrant (1:0) and funct3 (15:13): 3 * 8 buckets.
  const b: CRow[][] = Array.from({ length: 32 }, () => []);
  for (const r of CTABLE) b[((r.match >>> 13) << 2) | (r.match & 3)]?.push(r);
  return b;
})();

/** Bits lo..hi (inclusive) of x, as an unsigned field. */
function bits(x: number, hi: number, lo: number): number {
  return (x >>> lo) & ((1 << (hi - lo + 1)) - 1);
}

/** Decodes a 16-bit compressed instruction into the base operation it expands to. */
export function decode16(insn: number): void {
  const bucket = CBUCKETS[((insn >>> 13) << 2) | (insn & 3)];
  let r: CRow | undefined;
  if (bucket) {
    for (const cand of bucket) {
      if ((insn & cand.mask) === cand.match) {
        r = cand;
        break;
      }
    }
  }
  if (!r || insn === 0) return illegal(insn, true);
  const rdFull = bits(insn, 11, 7);
  const rs2Full = bits(insn, 6, 2);
  const rdP = 8 + bits(insn, 4, 2); // rd'/rs2' in bits 4:2
  const rs1P = 8 + bits(insn, 9, 7); // rs1'/rd' in bits 9:7
  const imm6 = (((insn << 19) >> 31) << 5) | bits(insn, 6, 2); // sign-extended imm[5|4:0]
  let rd = 0;
  let rs1 = 0;
  let rs2 = 0;
  let imm = 0;
  const f: CField = r.fields;
  switch (f) {
    case 'CIW_ADDI4SPN':
      rd = rdP;
      rs1 = 2;
      imm =
        (bits(insn, 10, 7) << 6) |
        (bits(insn, 12, 11) << 4) |
        (bits(insn, 5, 5) << 3) |
        (bits(insn, 6, 6) << 2);
      break;
    case 'CL_D':
      rd = rdP;
      rs1 = rs1P;
      imm = (bits(insn, 12, 10) << 3) | (bits(insn, 6, 5) << 6);
      break;
    case 'CL_W':
      rd = rdP;
      rs1 = rs1P;
      imm = (bits(insn, 12, 10) << 3) | (bits(insn, 6, 6) << 2) | (bits(insn, 5, 5) << 6);
      break;
    case 'CS_D':
      rs1 = rs1P;
      rs2 = rdP;
      imm = (bits(insn, 12, 10) << 3) | (bits(insn, 6, 5) << 6);
      break;
    case 'CS_W':
      rs1 = rs1P;
      rs2 = rdP;
      imm = (bits(insn, 12, 10) << 3) | (bits(insn, 6, 6) << 2) | (bits(insn, 5, 5) << 6);
      break;
    case 'CI_ADDI':
      rd = rdFull;
      rs1 = rdFull;
      imm = imm6;
      break;
    case 'CI_LI':
      rd = rdFull;
      rs1 = 0;
      imm = imm6;
      break;
    case 'CI_ADDI16SP':
      rd = 2;
      rs1 = 2;
      imm =
        (((insn << 19) >> 31) << 9) |
        (bits(insn, 4, 3) << 7) |
        (bits(insn, 5, 5) << 6) |
        (bits(insn, 2, 2) << 5) |
        (bits(insn, 6, 6) << 4);
      break;
    case 'CI_LUI':
      rd = rdFull;
      imm = imm6 << 12;
      break;
    case 'CB_SHIFT':
      rd = rs1P;
      rs1 = rs1P;
      imm = (bits(insn, 12, 12) << 5) | bits(insn, 6, 2);
      break;
    case 'CB_ANDI':
      rd = rs1P;
      rs1 = rs1P;
      imm = imm6;
      break;
    case 'CA':
      rd = rs1P;
      rs1 = rs1P;
      rs2 = rdP;
      break;
    case 'CJ':
      rd = 0;
      imm =
        (((insn << 19) >> 31) << 11) |
        (bits(insn, 8, 8) << 10) |
        (bits(insn, 10, 9) << 8) |
        (bits(insn, 6, 6) << 7) |
        (bits(insn, 7, 7) << 6) |
        (bits(insn, 2, 2) << 5) |
        (bits(insn, 11, 11) << 4) |
        (bits(insn, 5, 3) << 1);
      break;
    case 'CB_BRANCH':
      rs1 = rs1P;
      rs2 = 0;
      imm =
        (((insn << 19) >> 31) << 8) |
        (bits(insn, 6, 5) << 6) |
        (bits(insn, 2, 2) << 5) |
        (bits(insn, 11, 10) << 3) |
        (bits(insn, 4, 3) << 1);
      break;
    case 'CI_SLLI':
      rd = rdFull;
      rs1 = rdFull;
      imm = (bits(insn, 12, 12) << 5) | bits(insn, 6, 2);
      break;
    case 'CI_LDSP':
      rd = rdFull;
      rs1 = 2;
      imm = (bits(insn, 12, 12) << 5) | (bits(insn, 6, 5) << 3) | (bits(insn, 4, 2) << 6);
      break;
    case 'CI_LWSP':
      rd = rdFull;
      rs1 = 2;
      imm = (bits(insn, 12, 12) << 5) | (bits(insn, 6, 4) << 2) | (bits(insn, 3, 2) << 6);
      break;
    case 'CR_JR':
      rd = 0;
      rs1 = rdFull;
      break;
    case 'CR_MV':
      rd = rdFull;
      rs1 = 0;
      rs2 = rs2Full;
      break;
    case 'CR_JALR':
      rd = 1;
      rs1 = rdFull;
      break;
    case 'CR_ADD':
      rd = rdFull;
      rs1 = rdFull;
      rs2 = rs2Full;
      break;
    case 'CR_EBREAK':
      break;
    case 'CSS_SDSP':
      rs1 = 2;
      rs2 = rs2Full;
      imm = (bits(insn, 12, 10) << 3) | (bits(insn, 9, 7) << 6);
      break;
    case 'CSS_SWSP':
      rs1 = 2;
      rs2 = rs2Full;
      imm = (bits(insn, 12, 9) << 2) | (bits(insn, 8, 7) << 6);
      break;
  }
  switch (r.nonzero) {
    case 'rd':
      if (rdFull === 0) return illegal(insn, true);
      break;
    case 'rs1':
      if (rdFull === 0) return illegal(insn, true);
      break;
    case 'imm':
      if (imm === 0) return illegal(insn, true);
      break;
    case undefined:
    case 'rd+imm':
      break;
  }
  const kinds = TABLE_KINDS[r.op] ?? '----';
  if (rd === 0 && kinds[0] === 'x') rd = X_SINK;
  decoded.word = pack(r.op, rd, rs1, rs2, 0) | PACK_COMPRESSED;
  decoded.imm = imm;
}

const TABLE_KINDS: string[] = (() => {
  const k: string[] = [];
  for (const r of TABLE) k[r.op] = r.kinds;
  return k;
})();

/** Decodes whichever length `insn` is (the low 16 bits decide). */
export function decode(insn: number): void {
  if ((insn & 3) === 3) decode32(insn);
  else decode16(insn & 0xffff);
}
