/**
 * Region discovery for the JIT: starting at an entry offset in one RAM page, follows the
 * guest's control flow through the page's decoded instructions (the same decoded-instruction
 * array, decoder and `Op` table the interpreter uses; slots not decoded yet are decoded here
 * exactly as the interpreter would, and written back) and cuts what it finds into basic blocks.
 *
 * Contract: a region never leaves its page. Every instruction in it is one `translatable()`
 * or runByHelper accepts; an instruction the JIT does not translate (other CSRs, system,
 * H, illegal, a 32-bit instruction straddling the page end) is not part of the region
 * but an *interpreter exit*:
 * translated code stops before it and lets the interpreter run it. A block ends at a branch or
 * jump, before the next leader, or where the code runs into an interpreter exit, the page end
 * or the size limit. This module reads guest memory (through the decoded array) but does not
 * care about privilege, translation regime or which hart runs the code: none of that changes
 * what the instructions are.
 */
import { Csr } from '../hart/csr_defs.ts';
import { decode16, decode32, decoded, FENCE_PAUSE } from '../isa/decode.ts';
import { Op } from '../isa/op.ts';

export interface Insn {
  /** Byte offset in the page. */
  off: number;
  /** Packed decoded word and immediate (isa/decode.ts). */
  w: number;
  imm: number;
  len: number;
}

/** How a block continues when control falls off its end (or its branch is not taken). */
export const enum Next {
  /** Into another block of the region (`nextBlock`). */
  BLOCK,
  /** Leave translated code at `nextOff`; the interpreter runs the instruction there. */
  INTERP,
  /** Leave translated code at `nextOff` (maybe on the next page); the dispatcher looks again. */
  DISPATCH,
  /** Nothing falls through (the block ends with JAL or JALR). */
  NONE,
}

export interface BasicBlock {
  start: number;
  insns: Insn[];
  next: Next;
  nextOff: number;
  /** Index of the block at nextOff when next = BLOCK. */
  nextBlock: number;
}

export interface Region {
  /** Blocks in address order. */
  blocks: BasicBlock[];
  /** Index of the block starting at the region's entry. */
  entryBlock: number;
  /** Block index by start offset. */
  blockAt: Map<number, number>;
}

/** Largest number of instructions in one region. */
export const MAX_REGION_INSNS = 512;

/** Is `op` translated by translate.ts? */
export function translatable(op: number): boolean {
  return (
    (op >= Op.LUI && op <= Op.FENCE) ||
    (op >= Op.MUL && op <= Op.REMUW) ||
    isAmo(op) ||
    (op >= Op.FLW && op <= Op.FMV_D_X)
  );
}

/**
 * Is this a CSR instruction the translator handles (through the env.interp helper)? Accesses to
 * sstatus only: Linux turns interrupts off and on with them all the time (a boot ran 70 k of
 * them, each a return to the interpreter while they were not translated).
 */
export function isTranslatedCsr(op: number, csr: number): boolean {
  return op >= Op.CSRRW && op <= Op.CSRRCI && csr === Csr.sstatus;
}

/** LR or SC (.w or .d)? */
export function isLrSc(op: number): boolean {
  return op === Op.LR_W || op === Op.SC_W || op === Op.LR_D || op === Op.SC_D;
}

/**
 * Does translated code run this instruction by calling the interpreter on it (the env.interp
 * helper)? The sstatus accesses above, and LR/SC: Linux's compare-and-swap loops (a boot left
 * ~23 k of them to the interpreter, each a return from translated code and a re-entry).
 */
export function runByHelper(op: number, imm: number): boolean {
  return isTranslatedCsr(op, imm) || isLrSc(op);
}

/** An AMO other than LR/SC (.w or .d)? */
export function isAmo(op: number): boolean {
  return (op >= Op.AMOSWAP_W && op <= Op.AMOMAXU_W) || (op >= Op.AMOSWAP_D && op <= Op.AMOMAXU_D);
}

function isPause(insn: Insn): boolean {
  return (insn.w & 511) === Op.FENCE && insn.imm === FENCE_PAUSE;
}

/** Is `op` a conditional branch (BEQ to BGEU, contiguous in Op)? */
export function isBranch(op: number): boolean {
  return op >= Op.BEQ && op <= Op.BGEU;
}

/**
 * The decoded instruction at `off` of a page (decoding and caching it if needed), or undefined
 * for a 32-bit instruction that starts at 0xffe (the interpreter handles those page by page).
 */
export function insnAt(
  page: Int32Array,
  u16: Uint16Array,
  pageHostOff: number,
  off: number,
): Insn | undefined {
  const slot = (off >>> 1) << 1;
  let w = page[slot]!;
  if (w === 0) {
    const low = u16[(pageHostOff + off) >>> 1]!;
    if ((low & 3) !== 3) decode16(low);
    else if (off === 4094) return undefined;
    else decode32(low | (u16[((pageHostOff + off) >>> 1) + 1]! << 16));
    page[slot] = decoded.word;
    page[slot + 1] = decoded.imm;
    w = decoded.word;
  }
  return { off, w, imm: page[slot + 1]!, len: 4 - ((w >>> 29) & 2) };
}

/**
 * Discovers the region entered at `entry`, or returns undefined when the entry instruction
 * itself is not translatable (the caller then leaves that entry to the interpreter).
 */
export function discoverRegion(
  page: Int32Array,
  u16: Uint16Array,
  pageHostOff: number,
  entry: number,
): Region | undefined {
  const insns = new Map<number, Insn>();
  const interpExits = new Set<number>();
  const leaders = new Set<number>([entry]);
  const work = [entry];
  while (work.length > 0) {
    let off = work.pop()!;
    for (;;) {
      if (off >= 4096) break;
      if (insns.has(off)) {
        leaders.add(off); // reached from two directions: a block must start here
        break;
      }
      if (interpExits.has(off)) break;
      if (insns.size >= MAX_REGION_INSNS) break;
      const insn = insnAt(page, u16, pageHostOff, off);
      // PAUSE is left to the interpreter, which tells the hypervisor (Hart.onPause).
      if (
        insn === undefined ||
        !(translatable(insn.w & 511) || runByHelper(insn.w & 511, insn.imm)) ||
        isPause(insn)
      ) {
        interpExits.add(off);
        break;
      }
      insns.set(off, insn);
      const op = insn.w & 511;
      if (isBranch(op) || op === Op.JAL) {
        const target = off + insn.imm;
        if (target >= 0 && target < 4096) {
          leaders.add(target);
          if (!insns.has(target)) work.push(target);
        }
        if (op === Op.JAL) break;
        leaders.add(off + insn.len);
      } else if (op === Op.JALR) break;
      off += insn.len;
    }
  }
  if (!insns.has(entry)) return undefined;

  const starts = [...leaders].filter((o) => insns.has(o)).sort((a, b) => a - b);
  const blockAt = new Map<number, number>();
  starts.forEach((s, i) => blockAt.set(s, i));
  const blocks: BasicBlock[] = starts.map((start) => {
    const list: Insn[] = [];
    let off = start;
    for (;;) {
      const insn = insns.get(off)!;
      list.push(insn);
      const op = insn.w & 511;
      off += insn.len;
      if (isBranch(op) || op === Op.JAL || op === Op.JALR) break;
      if (!insns.has(off) || blockAt.has(off)) break;
    }
    const lastOp = list[list.length - 1]!.w & 511;
    let next: Next;
    if (lastOp === Op.JAL || lastOp === Op.JALR) next = Next.NONE;
    else if (blockAt.has(off)) next = Next.BLOCK;
    else if (interpExits.has(off)) next = Next.INTERP;
    else next = Next.DISPATCH;
    return { start, insns: list, next, nextOff: off, nextBlock: blockAt.get(off) ?? -1 };
  });
  return { blocks, entryBlock: blockAt.get(entry)!, blockAt };
}
