/**
 * Address translation (Sv39, Sv48), PMP, and the memory slow paths of the hart: everything a
 * load, store, AMO or fetch does when its soft-TLB lookup misses.
 *
 * - `translate` walks the page table of satp (hardware A/D update), checks permissions
 *   (U, SUM, MXR) and PMP (also for the walk's own PTE reads), and leaves the physical
 *   address in `h.pa`. On failure it raises the page-fault or access-fault exception and
 *   returns false.
 * - A successful translation of a RAM page whose whole 4 KiB has uniform PMP permission is
 *   cached in the TLB set of the access kind. Store entries are never made for pages that hold
 *   decoded instructions; a store to such a page invalidates them first (code_cache.ts).
 * - Misaligned loads and stores are performed (no trap), byte by byte when they cross a page;
 *   both pages are translated before any byte is written. AMOs and LR/SC must be naturally
 *   aligned (address-misaligned exception otherwise). MMIO accesses must be naturally aligned
 *   (access fault otherwise).
 * - LR reservations are only ever held within one scheduling slice: the scheduler clears them
 *   when a hart's slice ends, so stores by other harts (which run in other slices) never need
 *   to look for reservations to break.
 *
 * Physical addresses are JS numbers (exact: below 2^56).
 */
import { decode16, decoded, X_SINK } from '../isa/decode.ts';
import { encode } from '../isa/encode.ts';
import { Op } from '../isa/op.ts';
import { PAGE_SIZE } from '../memory.ts';
import { Cause, Hstatus, Mstatus, Priv } from './csr_defs.ts';
import {
  type Hart,
  I_HGATP,
  I_HSTATUS,
  I_MSTATUS,
  I_SATP,
  I_VSATP,
  I_VSSTATUS,
  type PmpRegion,
} from './hart.ts';
import {
  CsrSlot,
  csrIndex,
  GCACHE_ENTRIES,
  HS,
  TLB_BYTE_OFFSET,
  TLB_ENTRIES,
  TLB_ENTRY_I32,
  TLB_SET_I32_SHIFT,
  TlbKind,
} from './layout.ts';

const TWO32 = 4294967296;

const PTE_V = 1;
const PTE_R = 2;
const PTE_W = 4;
const PTE_X = 8;
const PTE_U = 16;
const PTE_A = 64;
const PTE_D = 128;

function pageFault(kind: TlbKind): Cause {
  return kind === TlbKind.FETCH
    ? Cause.INSN_PAGE_FAULT
    : kind === TlbKind.LOAD
      ? Cause.LOAD_PAGE_FAULT
      : Cause.STORE_PAGE_FAULT;
}

function accessFault(kind: TlbKind): Cause {
  return kind === TlbKind.FETCH
    ? Cause.INSN_ACCESS
    : kind === TlbKind.LOAD
      ? Cause.LOAD_ACCESS
      : Cause.STORE_ACCESS;
}

// ---- PMP -------------------------------------------------------------------------------------

/** Rebuilds the decoded PMP regions from pmpcfg0/2 and pmpaddr0..15; flushes all TLBs. */
export function pmpRecompute(h: Hart): void {
  const S = h.S;
  const regions: PmpRegion[] = [];
  let prevTop = 0;
  for (let i = 0; i < 16; i++) {
    const cfgSlot = csrIndex(i < 8 ? CsrSlot.PMPCFG0 : CsrSlot.PMPCFG2);
    const byte = i & 7;
    const cfg = (S[cfgSlot + (byte >> 2)]! >>> ((byte & 3) * 8)) & 0xff;
    const ai = csrIndex(CsrSlot.PMPADDR0 + i);
    const aLo = S[ai]!;
    const aHi = S[ai + 1]! & 0x3fffff;
    // pmpaddr holds address bits 55:2 (54 bits, more than a double holds exactly); values
    // that large only ever describe "everything above RAM", where rounding is harmless.
    const addr = (aLo >>> 0) + aHi * TWO32;
    const a = (cfg >> 3) & 3;
    let lo = 0;
    let hi = 0;
    if (a === 1) {
      lo = prevTop;
      hi = addr * 4;
    } else if (a === 2) {
      lo = addr * 4;
      hi = lo + 4;
    } else if (a === 3) {
      // NAPOT: t trailing ones give a region of 2^(t+3) bytes; the base clears them.
      let t = 31 - Math.clz32(~aLo & (aLo + 1)); // trailing ones of the low word
      if (aLo === -1) t = 32 + (aHi === 0x3fffff ? 22 : 31 - Math.clz32(~aHi & (aHi + 1)));
      const size = Math.pow(2, t + 3);
      let bLo = aLo;
      let bHi = aHi;
      if (t + 1 >= 32) {
        bLo = 0;
        bHi = t + 1 >= 54 ? 0 : bHi & ~((1 << (t + 1 - 32)) - 1);
      } else {
        bLo = bLo & ~((1 << (t + 1)) - 1);
      }
      lo = ((bLo >>> 0) + bHi * TWO32) * 4;
      hi = lo + size;
    }
    prevTop = addr * 4;
    if (a !== 0 && hi > lo) regions.push({ lo, hi, cfg });
    else if (a !== 0) regions.push({ lo: 0, hi: 0, cfg }); // empty TOR: matches nothing
  }
  h.pmp = regions;
  // One region over all of the address space with R, W and X: every check passes, for every
  // privilege (what a hypervisor gives its vCPUs), so the walks may skip PMP altogether.
  const first = regions[0];
  h.pmpOpen = first !== undefined && first.lo === 0 && first.hi >= 2 ** 56 && (first.cfg & 7) === 7;
  h.flushTlb(true);
  h.gcache.fill(-1);
}

/** Result of the last PMP check: may the whole 4 KiB page be cached with this permission? */
let pmpPageUniform = true;

/**
 * Checks an access of `size` bytes at `pa` by privilege `priv`. `perm` is R=1, W=2, X=4.
 * Sets `pmpPageUniform` when every byte of pa's page would get the same answer.
 */
function pmpCheck(h: Hart, pa: number, size: number, perm: number, priv: Priv): boolean {
  const regions = h.pmp;
  const pageLo = pa - (pa % PAGE_SIZE);
  const pageHi = pageLo + PAGE_SIZE;
  const end = pa + size;
  let uniform = true;
  for (let i = 0; i < regions.length; i++) {
    const r = regions[i]!;
    if (r.hi <= r.lo) continue;
    if (end <= r.lo || pa >= r.hi) {
      // No match for this access; but if the region cuts into the page, the page is not uniform.
      if (r.lo < pageHi && pageLo < r.hi) uniform = false;
      continue;
    }
    pmpPageUniform = uniform && r.lo <= pageLo && r.hi >= pageHi;
    if (pa < r.lo || end > r.hi) return false; // partial match fails
    if (priv === Priv.M && (r.cfg & 0x80) === 0) return true;
    return (r.cfg & perm) === perm;
  }
  pmpPageUniform = uniform;
  return priv === Priv.M;
}

// ---- translation -----------------------------------------------------------------------------

/** Level of the last successful translation's first-stage leaf (0: a 4 KiB page, else a superpage). */
let leafLevel = 0;

function guestPageFault(kind: TlbKind): Cause {
  return kind === TlbKind.FETCH
    ? Cause.INSN_GUEST_PAGE_FAULT
    : kind === TlbKind.LOAD
      ? Cause.LOAD_GUEST_PAGE_FAULT
      : Cause.STORE_GUEST_PAGE_FAULT;
}

/** faultHtinst value asking for the transformed trapping instruction (computed on a fault). */
export const HTINST_TRANSFORM = -1;

/**
 * The "transformed instruction" (H extension, htinst) of the load, store, AMO or HLV/HSV at
 * pc: the instruction with its address field (rs1) replaced by the offset of the faulting
 * byte (0 here: the accesses that get a transformed instruction are not page-crossing) and,
 * for plain loads and stores, the immediate zeroed; a compressed one is expanded first and
 * then has bit 1 cleared. 0 for anything else.
 */
export function transformedInsnAtPc(h: Hart): number {
  const raw = rawInsnAtPc(h);
  let w = raw;
  const compressed = (raw & 3) !== 3;
  if (compressed) {
    decode16(raw & 0xffff);
    const op = (decoded.word & 511) as Op;
    if (op === Op.ILLEGAL) return 0;
    const rd = (decoded.word >>> 9) & 63;
    w = encode(op, {
      rd: rd === X_SINK ? 0 : rd,
      rs1: (decoded.word >>> 15) & 31,
      rs2: (decoded.word >>> 20) & 31,
      imm: decoded.imm,
    });
  }
  const opcode = w & 0x7f;
  let t: number;
  if (opcode === 0x03 || opcode === 0x07) t = w & 0x00007fff;
  else if (opcode === 0x23 || opcode === 0x27) t = w & 0x01f0707f;
  else if (opcode === 0x2f || (opcode === 0x73 && ((w >>> 12) & 7) === 4)) t = w & ~(31 << 15);
  else return 0;
  return compressed ? t & ~2 : t;
}

/** htinst pseudoinstructions for faults on VS-stage page-table accesses (RV64). */
const PSEUDO_PTE_READ = 0x00003000;
const PSEUDO_PTE_WRITE = 0x00003020;

/** A guest-page fault (or access fault) raised by the G-stage for the access that was asked. */
const gFault: { kind: TlbKind; gvaLo: number; gvaHi: number; htinst: number } = {
  kind: TlbKind.LOAD,
  gvaLo: 0,
  gvaHi: 0,
  htinst: 0,
};

/**
 * G-stage translation of guest physical address gfn × 4096 + inPage (hgatp: Bare, Sv39x4,
 * Sv48x4). All accesses are checked as U-mode accesses (the leaf must have U set) with
 * permission `perm` (R=1, W=2, X=4); HS-level mstatus.MXR lets loads read executable pages. A
 * and D are set in hardware. Returns the machine page number (the machine physical address is
 * that × 4096 + inPage), or -1 after raising a guest-page fault (or an access fault for a
 * non-RAM page table) reported as `gFault.kind` with tval = the guest virtual address and
 * htval = gpa >> 2. PMP is checked on the result with `pmpPriv`.
 *
 * The address comes as a page number and an offset, and the result as a page number, so that
 * on the hot path every value crossing the call is a small integer (a double would be boxed).
 */
function gStage(h: Hart, gfn: number, inPage: number, perm: number, pmpPriv: Priv, size: number): number {
  // The G-stage cache first (small enough for V8 to inline into the callers): gfn → machine
  // page, per permission kind (see Hart.gcache).
  const ci = ((perm === 4 ? 2 : perm === 2 ? 1 : 0) * GCACHE_ENTRIES + (gfn & (GCACHE_ENTRIES - 1))) * 2;
  const gc = h.gcache;
  if (gc[ci] === gfn && inPage + size <= PAGE_SIZE) {
    pmpPageUniform = true; // only uniform pages are cached
    return gc[ci + 1]!;
  }
  return gStageWalk(h, gfn, inPage, perm, pmpPriv, size, ci);
}

/** gStage on a cache miss: the walk (or Bare), filling cache slot `ci` when it may. */
function gStageWalk(
  h: Hart,
  gfn: number,
  inPage: number,
  perm: number,
  pmpPriv: Priv,
  size: number,
  ci: number,
): number {
  const S = h.S;
  const hgatpHi = S[I_HGATP + 1]!;
  const mode = hgatpHi >>> 28;
  if (mode === 0) {
    const gpa = gfn * PAGE_SIZE + inPage;
    if (gpa >= 2 ** 56) return gFail(h, accessFault(gFault.kind), gfn, inPage, false);
    pmpPageUniform = true;
    if (!h.pmpOpen && !pmpCheck(h, gpa, size, perm, pmpPriv))
      return gFail(h, accessFault(gFault.kind), gfn, inPage, false);
    return gfn;
  }
  const gc = h.gcache;
  const levels = mode === 8 ? 3 : 4;
  if (gfn >= (levels === 3 ? 2 ** 29 : 2 ** 38))
    return gFail(h, guestPageFault(gFault.kind), gfn, inPage, true);
  const i32 = h.mem.i32;
  // Root: 16 KiB, PPN[1:0] ignored.
  let a = (((S[I_HGATP]! >>> 0) & ~3) + (hgatpHi & 0xfff) * TWO32) * PAGE_SIZE;
  for (let level = levels - 1; level >= 0; level--) {
    const span = level === 0 ? 1 : level === 1 ? 512 : level === 2 ? 262144 : 134217728;
    let vpn: number;
    if (gfn < 0x80000000) {
      vpn = level === 0 ? gfn & 511 : level === 1 ? (gfn >>> 9) & 511 : level === 2 ? gfn >>> 18 : 0;
      if (level === 2 && levels === 4) vpn &= 511;
    } else {
      vpn = Math.floor(gfn / span);
    }
    if (level !== levels - 1) vpn %= 512; // the root index has 2 extra bits
    const pteAddr = a + vpn * 8;
    const off = h.mem.ramOffsetOf(pteAddr, 8);
    if (off < 0 || (!h.pmpOpen && !pmpCheck(h, pteAddr, 8, 1, Priv.S)))
      return gFail(h, accessFault(gFault.kind), gfn, inPage, false);
    let pteLo = i32[off >>> 2]!;
    const pteHi = i32[(off >>> 2) + 1]!;
    if (!(pteLo & PTE_V) || (!(pteLo & PTE_R) && pteLo & PTE_W) || pteHi >>> 22 !== 0) {
      return gFail(h, guestPageFault(gFault.kind), gfn, inPage, true);
    }
    const ppn = (pteLo >>> 10) + (pteHi & 0x3fffff) * 4194304;
    if (!(pteLo & (PTE_R | PTE_X))) {
      if (level === 0) return gFail(h, guestPageFault(gFault.kind), gfn, inPage, true);
      a = ppn * PAGE_SIZE;
      continue;
    }
    let ok: boolean;
    if (perm === 4) ok = (pteLo & PTE_X) !== 0;
    else if (perm === 1)
      ok = (pteLo & PTE_R) !== 0 || ((S[I_MSTATUS]! & Mstatus.MXR) !== 0 && (pteLo & PTE_X) !== 0);
    else ok = (pteLo & PTE_W) !== 0;
    if (ok) ok = (pteLo & PTE_U) !== 0;
    if (ok && level > 0 && ppn % span !== 0) ok = false;
    if (!ok) return gFail(h, guestPageFault(gFault.kind), gfn, inPage, true);
    const want = PTE_A | (perm === 2 ? PTE_D : 0);
    let updated = false;
    if ((pteLo & want) !== want) {
      if (!h.pmpOpen && !pmpCheck(h, pteAddr, 8, 2, Priv.S))
        return gFail(h, accessFault(gFault.kind), gfn, inPage, false);
      pteLo |= want;
      i32[off >>> 2] = pteLo;
      h.code.invalidatePage((off - h.mem.ramOffset) >>> 12);
      updated = true;
    }
    const spaPage = ppn + (gfn % span);
    pmpPageUniform = true;
    if (!h.pmpOpen && !pmpCheck(h, spaPage * PAGE_SIZE + inPage, size, perm, pmpPriv))
      return gFail(h, accessFault(gFault.kind), gfn, inPage, false);
    // Cache it when the next identical access would take the same path (no A/D to set, no
    // PMP boundary inside the page; MXR-dependent reads are not cached).
    if (!updated && pmpPageUniform && gfn < 0x7fffffff && (perm !== 1 || pteLo & PTE_R)) {
      gc[ci] = gfn;
      gc[ci + 1] = spaPage;
    }
    return spaPage;
  }
  return gFail(h, guestPageFault(gFault.kind), gfn, inPage, true);
}

/** Raises a G-stage fault for gfn × 4096 + inPage (see gStage) and returns -1. */
function gFail(h: Hart, cause: Cause, gfn: number, inPage: number, withHtval: boolean): number {
  const f = gFault;
  const htinst = f.htinst === HTINST_TRANSFORM ? transformedInsnAtPc(h) : withHtval ? f.htinst : 0;
  h.exception(cause, f.gvaLo, f.gvaHi, withHtval ? gfn * 1024 + Math.floor(inPage / 4) : 0, htinst);
  return -1;
}

/**
 * Translates a virtual address for an access of `kind` by privilege `priv` in
 * virtualization mode `virt` (MPRV already applied by the caller), leaving the machine
 * physical address in h.pa. With `virt`, the VS-stage (vsatp) runs first and every guest
 * physical address it produces or reads (page-table entries) goes through the G-stage
 * (hgatp). `hlvx` asks for execute instead of read permission (HLVX). PMP is checked on the
 * result for `size` bytes. Returns false after raising the exception.
 */
export function translate(
  h: Hart,
  vaLo: number,
  vaHi: number,
  kind: TlbKind,
  priv: Priv,
  size: number,
  virt = false,
  hlvx = false,
): boolean {
  const S = h.S;
  const perm = hlvx ? 4 : kind === TlbKind.FETCH ? 4 : kind === TlbKind.LOAD ? 1 : 2;
  leafLevel = 0;
  if (priv === Priv.M) virt = false;
  const satpHi = virt ? S[I_VSATP + 1]! : S[I_SATP + 1]!;
  const mode = priv === Priv.M ? 0 : satpHi >>> 28;
  if (virt) {
    gFault.kind = kind;
    gFault.gvaLo = vaLo;
    gFault.gvaHi = vaHi;
    gFault.htinst = kind === TlbKind.FETCH ? 0 : h.faultHtinst;
  }
  if (mode === 0) {
    if (virt) {
      // VS-stage bare: the guest virtual address is the guest physical address.
      const gfn = (vaHi >>> 0) * 1048576 + (vaLo >>> 12);
      const spaPage = gStage(h, gfn, vaLo & 0xfff, perm, priv, size);
      if (spaPage < 0) return false;
      h.pa = spaPage * PAGE_SIZE + (vaLo & 0xfff);
      return true;
    }
    if (vaHi >>> 24 !== 0) {
      // Physical addresses are 56 bits.
      h.exception(accessFault(kind), vaLo, vaHi);
      return false;
    }
    const pa = vaHi * TWO32 + (vaLo >>> 0);
    pmpPageUniform = true;
    if (!h.pmpOpen && !pmpCheck(h, pa, size, perm, priv)) {
      h.exception(accessFault(kind), vaLo, vaHi);
      return false;
    }
    h.pa = pa;
    return true;
  }
  const levels = mode === 8 ? 3 : 4;
  // Canonical check: bits 63..(VA bits - 1) must all equal.
  const top = levels === 3 ? vaHi >> 6 : vaHi >> 15;
  if (top !== 0 && top !== -1) {
    h.exception(pageFault(kind), vaLo, vaHi);
    return false;
  }
  // The first stage's status bits: vsstatus for a guest, mstatus otherwise.
  const status = virt ? S[I_VSSTATUS]! : S[I_MSTATUS]!;
  const i32 = h.mem.i32;
  const satpLo = virt ? S[I_VSATP]! : S[I_SATP]!;
  // The current table's page number (a guest physical one for a guest).
  let tablePpn = (satpLo >>> 0) + (satpHi & 0xfff) * TWO32;
  for (let level = levels - 1; level >= 0; level--) {
    let vpn: number;
    if (level === 0) vpn = (vaLo >>> 12) & 511;
    else if (level === 1) vpn = (vaLo >>> 21) & 511;
    else if (level === 2) vpn = ((vaLo >>> 30) | (vaHi << 2)) & 511;
    else vpn = (vaHi >>> 7) & 511;
    let pteAddr: number;
    if (virt) {
      // The VS-level page table lives in guest physical memory: an implicit read.
      gFault.htinst = PSEUDO_PTE_READ;
      const spaPage = gStage(h, tablePpn, vpn * 8, 1, Priv.S, 8);
      if (spaPage < 0) return false;
      pteAddr = spaPage * PAGE_SIZE + vpn * 8;
    } else {
      pteAddr = tablePpn * PAGE_SIZE + vpn * 8;
    }
    const off = h.mem.ramOffsetOf(pteAddr, 8);
    if (off < 0 || (!virt && !h.pmpOpen && !pmpCheck(h, pteAddr, 8, 1, Priv.S))) {
      h.exception(accessFault(kind), vaLo, vaHi);
      return false;
    }
    let pteLo = i32[off >>> 2]!;
    const pteHi = i32[(off >>> 2) + 1]!;
    if (!(pteLo & PTE_V) || (!(pteLo & PTE_R) && pteLo & PTE_W) || pteHi >>> 22 !== 0) {
      h.exception(pageFault(kind), vaLo, vaHi);
      return false;
    }
    const ppn = (pteLo >>> 10) + (pteHi & 0x3fffff) * 4194304;
    if (!(pteLo & (PTE_R | PTE_X))) {
      if (level === 0) {
        h.exception(pageFault(kind), vaLo, vaHi);
        return false;
      }
      tablePpn = ppn;
      continue;
    }
    // Leaf: permissions. MXR: the stage's own bit, or (guests) HS-level mstatus.MXR too.
    const mxr = (status & Mstatus.MXR) !== 0 || (virt && (S[I_MSTATUS]! & Mstatus.MXR) !== 0);
    let ok: boolean;
    if (perm === 4) ok = (pteLo & PTE_X) !== 0;
    else if (perm === 1) ok = (pteLo & PTE_R) !== 0 || (mxr && (pteLo & PTE_X) !== 0);
    else ok = (pteLo & PTE_W) !== 0;
    if (ok) {
      if (priv === Priv.U) ok = (pteLo & PTE_U) !== 0;
      else if (pteLo & PTE_U) ok = kind !== TlbKind.FETCH && !hlvx && (status & Mstatus.SUM) !== 0;
    }
    // Superpage alignment: the PPN bits below this level must be zero.
    const lowSpan = level === 0 ? 1 : Math.pow(2, 9 * level);
    if (ok && level > 0 && ppn % lowSpan !== 0) ok = false;
    if (!ok) {
      h.exception(pageFault(kind), vaLo, vaHi);
      return false;
    }
    // Hardware A/D update.
    const want = PTE_A | (kind === TlbKind.STORE ? PTE_D : 0);
    if ((pteLo & want) !== want) {
      if (virt) {
        // Writing the PTE is an implicit store at the G-stage.
        gFault.htinst = PSEUDO_PTE_WRITE;
        if (gStage(h, tablePpn, vpn * 8, 2, Priv.S, 8) < 0) return false;
      } else if (!h.pmpOpen && !pmpCheck(h, pteAddr, 8, 2, Priv.S)) {
        h.exception(accessFault(kind), vaLo, vaHi);
        return false;
      }
      pteLo |= want;
      i32[off >>> 2] = pteLo;
      h.code.invalidatePage((off - h.mem.ramOffset) >>> 12);
    }
    const vaPage = (vaLo >>> 12) + (vaHi & 0x7f) * 1048576; // VA bits 12..38 as a page number
    const pagePpn = level === 0 ? ppn : ppn + (vaPage % lowSpan);
    leafLevel = level;
    if (virt) {
      gFault.htinst = kind === TlbKind.FETCH ? 0 : h.faultHtinst;
      const spaPage = gStage(h, pagePpn, vaLo & 0xfff, perm, priv, size);
      if (spaPage < 0) return false;
      h.pa = spaPage * PAGE_SIZE + (vaLo & 0xfff);
      return true;
    }
    const pa = pagePpn * PAGE_SIZE + (vaLo & 0xfff);
    pmpPageUniform = true;
    if (!h.pmpOpen && !pmpCheck(h, pa, size, perm, priv)) {
      h.exception(accessFault(kind), vaLo, vaHi);
      return false;
    }
    h.pa = pa;
    return true;
  }
  h.exception(pageFault(kind), vaLo, vaHi);
  return false;
}

/** Fills a TLB entry of `set` for the page of va → RAM host page, when cacheable. */
function fillTlb(h: Hart, set: number, vaLo: number, vaHi: number, hostOff: number): void {
  if (!pmpPageUniform) return;
  const i = set + ((vaLo >>> 12) & (TLB_ENTRIES - 1)) * TLB_ENTRY_I32;
  const S = h.S;
  h.tlbUsed |= 1 << ((set - TLB_BYTE_OFFSET / 4) >>> TLB_SET_I32_SHIFT);
  S[i] = vaLo & ~0xfff;
  S[i + 1] = vaHi;
  S[i + 2] = (hostOff - (hostOff % PAGE_SIZE)) | 0;
  if (leafLevel > 0) h.noteSuperEntry(i, leafLevel);
}

// ---- slow paths --------------------------------------------------------------------------

/**
 * Instruction fetch translation of pc (from the state block): returns the RAM page index of
 * pc's page (and fills the fetch TLB), or -1 after raising the exception.
 */
export function fetchPage(h: Hart, pcLo: number, pcHi: number): number {
  const priv = h.S[HS.PRIV]! as Priv;
  if (!translate(h, pcLo, pcHi, TlbKind.FETCH, priv, 2, h.S[HS.VIRT] === 1)) return -1;
  const off = h.mem.ramOffsetOf(h.pa, 2);
  if (off < 0) {
    h.exception(Cause.INSN_ACCESS, pcLo, pcHi);
    return -1;
  }
  fillTlb(h, h.fetchSet, pcLo, pcHi, off);
  return (off - h.mem.ramOffset) >>> 12;
}

/**
 * Reads the 16 or 32 bits of the instruction at (pcLo, pcHi), crossing pages if needed.
 * Returns the instruction, or undefined after raising a fetch exception (with tval = the
 * address of the part that faulted).
 */
export function fetchInsnSlow(h: Hart, pcLo: number, pcHi: number): number | undefined {
  const priv = h.S[HS.PRIV]! as Priv;
  const virt = h.S[HS.VIRT] === 1;
  if (!translate(h, pcLo, pcHi, TlbKind.FETCH, priv, 2, virt)) return undefined;
  let off = h.mem.ramOffsetOf(h.pa, 2);
  if (off < 0) {
    h.exception(Cause.INSN_ACCESS, pcLo, pcHi);
    return undefined;
  }
  const low = h.mem.u8[off]! | (h.mem.u8[off + 1]! << 8);
  if ((low & 3) !== 3) return low;
  const nLo = (pcLo + 2) | 0;
  const nHi = nLo >>> 0 < pcLo >>> 0 ? (pcHi + 1) | 0 : pcHi;
  if (!translate(h, nLo, nHi, TlbKind.FETCH, priv, 2, virt)) return undefined;
  off = h.mem.ramOffsetOf(h.pa, 2);
  if (off < 0) {
    h.exception(Cause.INSN_ACCESS, nLo, nHi);
    return undefined;
  }
  return low | (h.mem.u8[off]! << 16) | (h.mem.u8[off + 1]! << 24) | 0;
}

/** The raw instruction at the state block's pc, for mtval on illegal instruction (0 if unreadable). */
export function rawInsnAtPc(h: Hart): number {
  const S = h.S;
  const pcLo = S[HS.PC_LO]!;
  const pcHi = S[HS.PC_HI]!;
  const priv = S[HS.PRIV]! as Priv;
  // Only read when the fetch TLB or a bare mapping gives the page directly: a full
  // translation could itself fault, and this runs while raising another exception.
  let off = -1;
  const i = h.fetchSet + ((pcLo >>> 12) & (TLB_ENTRIES - 1)) * TLB_ENTRY_I32;
  if (S[i] === (pcLo & ~0xfff) && S[i + 1] === pcHi) off = S[i + 2]! + (pcLo & 0xfff);
  else if (priv === Priv.M || (S[HS.VIRT] === 0 && S[I_SATP + 1]! >>> 28 === 0)) {
    off = h.mem.ramOffsetOf(pcHi * TWO32 + (pcLo >>> 0), 2);
  }
  if (off < 0) return 0;
  const u8 = h.mem.u8;
  const low = u8[off]! | (u8[off + 1]! << 8);
  if ((low & 3) !== 3) return low;
  if ((pcLo & 0xfff) === 0xffe) return low; // the upper half is on another page; low bits suffice
  return low | (u8[off + 2]! << 16) | (u8[off + 3]! << 24) | 0;
}

/**
 * Load of `size` bytes at a virtual address; the zero-extended value is left in
 * h.tmpLo / h.tmpHi. Returns false after raising the exception.
 */
export function loadSlow(
  h: Hart,
  vaLo: number,
  vaHi: number,
  size: number,
  htinst = HTINST_TRANSFORM,
): boolean {
  const priv = h.dataPriv;
  const pageOff = vaLo & 0xfff;
  if (pageOff + size > PAGE_SIZE) return loadCrossing(h, vaLo, vaHi, size);
  h.faultHtinst = htinst;
  const ok = translate(h, vaLo, vaHi, TlbKind.LOAD, priv, size, h.dataVirt);
  h.faultHtinst = 0;
  if (!ok) return false;
  const pa = h.pa;
  const off = h.mem.ramOffsetOf(pa, size);
  if (off >= 0) {
    fillTlb(h, h.loadSet, vaLo, vaHi, off);
    readRam(h, off, size);
    return true;
  }
  if (vaLo & (size - 1) || !h.bus.read(pa, size as 1 | 2 | 4 | 8)) {
    h.exception(Cause.LOAD_ACCESS, vaLo, vaHi);
    return false;
  }
  h.tmpLo = h.bus.value | 0;
  h.tmpHi = h.bus.valueHi | 0;
  return true;
}

function readRam(h: Hart, off: number, size: number): void {
  const u8 = h.mem.u8;
  if (size === 8) {
    h.tmpLo = u8[off]! | (u8[off + 1]! << 8) | (u8[off + 2]! << 16) | (u8[off + 3]! << 24);
    h.tmpHi = u8[off + 4]! | (u8[off + 5]! << 8) | (u8[off + 6]! << 16) | (u8[off + 7]! << 24);
  } else if (size === 4) {
    h.tmpLo = u8[off]! | (u8[off + 1]! << 8) | (u8[off + 2]! << 16) | (u8[off + 3]! << 24);
    h.tmpHi = 0;
  } else if (size === 2) {
    h.tmpLo = u8[off]! | (u8[off + 1]! << 8);
    h.tmpHi = 0;
  } else {
    h.tmpLo = u8[off]!;
    h.tmpHi = 0;
  }
}

/** A load that crosses a page boundary: both halves translated, then assembled bytewise. */
function loadCrossing(h: Hart, vaLo: number, vaHi: number, size: number): boolean {
  const bytes = crossingBytes;
  for (let k = 0; k < size; k++) {
    const lo = (vaLo + k) | 0;
    const hi = lo >>> 0 < vaLo >>> 0 ? (vaHi + 1) | 0 : vaHi;
    if (!loadSlow(h, lo, hi, 1, 0)) return false;
    bytes[k] = h.tmpLo;
  }
  h.tmpLo = bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! << 24);
  h.tmpHi = size === 8 ? bytes[4]! | (bytes[5]! << 8) | (bytes[6]! << 16) | (bytes[7]! << 24) : 0;
  if (size === 2) h.tmpLo &= 0xffff;
  return true;
}

const crossingBytes = new Uint8Array(8);

/** Store of `size` bytes (value lo/hi) at a virtual address. Returns false after a trap. */
export function storeSlow(
  h: Hart,
  vaLo: number,
  vaHi: number,
  size: number,
  lo: number,
  hi: number,
): boolean {
  const pageOff = vaLo & 0xfff;
  if (pageOff + size > PAGE_SIZE) return storeCrossing(h, vaLo, vaHi, size, lo, hi);
  h.faultHtinst = HTINST_TRANSFORM;
  const ok = translate(h, vaLo, vaHi, TlbKind.STORE, h.dataPriv, size, h.dataVirt);
  h.faultHtinst = 0;
  if (!ok) return false;
  const pa = h.pa;
  const off = h.mem.ramOffsetOf(pa, size);
  if (off >= 0) {
    const ramPage = (off - h.mem.ramOffset) >>> 12;
    h.code.invalidatePage(ramPage);
    fillTlb(h, h.storeSet, vaLo, vaHi, off);
    writeRam(h, off, size, lo, hi);
    return true;
  }
  if (vaLo & (size - 1) || !h.bus.write(pa, size as 1 | 2 | 4 | 8, lo, hi)) {
    h.exception(Cause.STORE_ACCESS, vaLo, vaHi);
    return false;
  }
  h.irqCheck = true;
  return true;
}

function writeRam(h: Hart, off: number, size: number, lo: number, hi: number): void {
  const u8 = h.mem.u8;
  u8[off] = lo;
  if (size >= 2) u8[off + 1] = lo >>> 8;
  if (size >= 4) {
    u8[off + 2] = lo >>> 16;
    u8[off + 3] = lo >>> 24;
  }
  if (size === 8) {
    u8[off + 4] = hi;
    u8[off + 5] = hi >>> 8;
    u8[off + 6] = hi >>> 16;
    u8[off + 7] = hi >>> 24;
  }
}

function storeCrossing(h: Hart, vaLo: number, vaHi: number, size: number, lo: number, hi: number): boolean {
  // Translate both pages first so that a fault on the second leaves memory untouched.
  const lastLo = (vaLo + size - 1) | 0;
  const lastHi = lastLo >>> 0 < vaLo >>> 0 ? (vaHi + 1) | 0 : vaHi;
  if (!translate(h, vaLo, vaHi, TlbKind.STORE, h.dataPriv, 1, h.dataVirt)) return false;
  const pa0 = h.pa;
  if (!translate(h, lastLo & ~0xfff, lastHi, TlbKind.STORE, h.dataPriv, 1, h.dataVirt)) {
    // Report the first faulting byte's address, as hardware would.
    return false;
  }
  const pa1 = h.pa;
  const firstPart = PAGE_SIZE - (vaLo & 0xfff);
  for (let k = 0; k < size; k++) {
    const byte = k < 4 ? (lo >>> (8 * k)) & 0xff : (hi >>> (8 * (k - 4))) & 0xff;
    const pa = k < firstPart ? pa0 + k : pa1 + (k - firstPart);
    const off = h.mem.ramOffsetOf(pa, 1);
    if (off >= 0) {
      h.code.invalidatePage((off - h.mem.ramOffset) >>> 12);
      h.mem.u8[off] = byte;
    } else if (!h.bus.write(pa, 1, byte, 0)) {
      const aLo = (vaLo + k) | 0;
      h.exception(Cause.STORE_ACCESS, aLo, aLo >>> 0 < vaLo >>> 0 ? (vaHi + 1) | 0 : vaHi);
      return false;
    }
  }
  return true;
}

/**
 * Address of an AMO / LR / SC operand: checks alignment, translates (as a store for AMO and
 * SC, as a load for LR), requires RAM, and returns its host byte offset, or -1 after a trap.
 */
export function amoOffset(h: Hart, vaLo: number, vaHi: number, size: number, isLoad: boolean): number {
  if (vaLo & (size - 1)) {
    h.exception(isLoad ? Cause.LOAD_MISALIGNED : Cause.STORE_MISALIGNED, vaLo, vaHi);
    return -1;
  }
  const kind = isLoad ? TlbKind.LOAD : TlbKind.STORE;
  h.faultHtinst = HTINST_TRANSFORM;
  const ok = translate(h, vaLo, vaHi, kind, h.dataPriv, size, h.dataVirt);
  h.faultHtinst = 0;
  if (!ok) return -1;
  const off = h.mem.ramOffsetOf(h.pa, size);
  if (off < 0) {
    h.exception(isLoad ? Cause.LOAD_ACCESS : Cause.STORE_ACCESS, vaLo, vaHi);
    return -1;
  }
  if (!isLoad) {
    h.code.invalidatePage((off - h.mem.ramOffset) >>> 12);
  }
  // As a load or store would: the next AMO on this page takes the fast path (the
  // interpreter's and translated code's), instead of this walk.
  fillTlb(h, isLoad ? h.loadSet : h.storeSet, vaLo, vaHi, off);
  return off;
}

/**
 * HLV / HLVX / HSV: an explicit access made as though V=1 at privilege hstatus.SPVP (VS or
 * VU), whatever the current mode; HLVX needs execute instead of read permission. Loads leave
 * the zero-extended value in tmpLo/tmpHi. Never cached in the TLB. Returns false after a trap.
 */
export function hypervisorAccess(
  h: Hart,
  vaLo: number,
  vaHi: number,
  size: number,
  isStore: boolean,
  hlvx: boolean,
  lo: number,
  hi: number,
): boolean {
  const priv = h.S[I_HSTATUS]! & Hstatus.SPVP ? Priv.S : Priv.U;
  const kind = isStore ? TlbKind.STORE : TlbKind.LOAD;
  h.hlvActive = true;
  h.faultHtinst = HTINST_TRANSFORM;
  try {
    if ((vaLo & 0xfff) + size > PAGE_SIZE || vaLo & (size - 1)) {
      // Misaligned: the spec allows a misaligned exception here; take it (rare in practice).
      h.exception(isStore ? Cause.STORE_MISALIGNED : Cause.LOAD_MISALIGNED, vaLo, vaHi);
      return false;
    }
    if (!translate(h, vaLo, vaHi, kind, priv, size, true, hlvx)) return false;
    const pa = h.pa;
    const off = h.mem.ramOffsetOf(pa, size);
    if (off >= 0) {
      if (isStore) {
        h.code.invalidatePage((off - h.mem.ramOffset) >>> 12);
        writeRam(h, off, size, lo, hi);
      } else readRam(h, off, size);
      return true;
    }
    if (isStore ? !h.bus.write(pa, size as 1 | 2 | 4 | 8, lo, hi) : !h.bus.read(pa, size as 1 | 2 | 4 | 8)) {
      h.exception(isStore ? Cause.STORE_ACCESS : Cause.LOAD_ACCESS, vaLo, vaHi);
      return false;
    }
    if (!isStore) {
      h.tmpLo = h.bus.value | 0;
      h.tmpHi = h.bus.valueHi | 0;
    }
    h.irqCheck = true;
    return true;
  } finally {
    h.hlvActive = false;
    h.faultHtinst = 0;
  }
}
