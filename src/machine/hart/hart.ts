/**
 * A RISC-V hart (RV64IMAFDC, M/S/U): its state views, traps and interrupts, xRET, and the
 * soft-TLB bookkeeping. The interpreter loop lives in interp.ts, CSR semantics in csr.ts,
 * address translation and the memory slow paths in mmu.ts.
 *
 * All architectural state is in the hart's block of machine memory (layout.ts); this object
 * holds only views, references to the machine, and derived values (which TLB set each access
 * kind uses) that `updateModes()` recomputes whenever privilege, mstatus or satp change.
 *
 * Traps are status codes, not exceptions: a function that traps calls `trap()` (which
 * redirects pc) and returns false; the interpreter then reloads pc and carries on.
 */
import type { Bus } from '../bus.ts';
import type { CodeCache } from '../code_cache.ts';
import type { Clock } from '../device.ts';
import type { Jit } from '../jit/jit.ts';
import type { MachineMemory } from '../memory.ts';
import { rawInsnAtPc } from './mmu.ts';
import { Cause, Hstatus, Irq, Mstatus, Priv } from './csr_defs.ts';
import {
  CsrSlot,
  csrIndex,
  F_BYTE_OFFSET,
  HART_BLOCK_BYTES,
  HC,
  GCACHE_ENTRIES,
  HS,
  TLB_END_BYTE,
  TLB_ENTRIES,
  TLB_ALL_SETS,
  TLB_ENTRY_I32,
  TLB_MODES,
  tlbSetIndex,
  TlbKind,
  TlbMode,
  X_BYTE_OFFSET,
} from './layout.ts';

/** int32 indices of frequently used CSR slots. */
export const I_MSTATUS = csrIndex(CsrSlot.MSTATUS);
export const I_MIE = csrIndex(CsrSlot.MIE);
export const I_MIP_SW = csrIndex(CsrSlot.MIP_SW);
export const I_MIDELEG = csrIndex(CsrSlot.MIDELEG);
export const I_MEDELEG = csrIndex(CsrSlot.MEDELEG);
export const I_SATP = csrIndex(CsrSlot.SATP);
export const I_HSTATUS = csrIndex(CsrSlot.HSTATUS);
export const I_HVIP = csrIndex(CsrSlot.HVIP);
export const I_HIDELEG = csrIndex(CsrSlot.HIDELEG);
export const I_HEDELEG = csrIndex(CsrSlot.HEDELEG);
export const I_VSSTATUS = csrIndex(CsrSlot.VSSTATUS);
export const I_VSATP = csrIndex(CsrSlot.VSATP);
export const I_HGATP = csrIndex(CsrSlot.HGATP);

/** Exception causes whose tval is an address (so GVA applies when it is a guest one). */
const ADDRESS_CAUSES =
  (1 << 0) |
  (1 << 1) |
  (1 << 3) |
  (1 << 4) |
  (1 << 5) |
  (1 << 6) |
  (1 << 7) |
  (1 << 12) |
  (1 << 13) |
  (1 << 15) |
  (1 << 20) |
  (1 << 21) |
  (1 << 23);

export interface HartEnv {
  mem: MachineMemory;
  bus: Bus;
  code: CodeCache;
  clock: Clock;
}

export class Hart {
  readonly id: number;
  readonly mem: MachineMemory;
  readonly bus: Bus;
  readonly code: CodeCache;
  readonly clock: Clock;
  /** Byte offset of this hart's state block in machine memory. */
  readonly base: number;
  /** The whole state block as int32 (scalars, CSRs, TLBs); indices per layout.ts. */
  readonly S: Int32Array;
  /** The state block as float64 (counters). */
  readonly SF: Float64Array;
  /** x registers: x[i] lo at 2i, hi at 2i+1; index 64/65 is the x0 write sink. */
  readonly X: Int32Array;
  /** f registers as raw bits (lo/hi int32), as float64, and as float32 (low half at 2i). */
  readonly FI: Int32Array;
  readonly F64: Float64Array;
  readonly F32: Float32Array;

  /** TLB set indices (into S) for fetch, loads and stores in the current regime. */
  fetchSet = 0;
  loadSet = 0;
  storeSet = 0;
  /** Privilege that data accesses are checked with (MPRV applied). */
  dataPriv: Priv = Priv.M;
  /** Virtualization mode of data accesses (MPRV with MPV, or HLV/HSV, applied). */
  dataVirt = false;
  /**
   * Hosted mode: traps that would enter HS-mode or M-mode are not taken; they stop the run
   * loop instead, with the trap recorded in the EXIT_* fields and the guest's state untouched
   * (pc still at the trapping instruction), for the TypeScript hypervisor to handle.
   */
  hostTraps = false;
  /** Set while an HLV/HLVX/HSV access runs: its faults carry guest virtual addresses. */
  hlvActive = false;
  /**
   * htinst for a guest-page fault of the explicit access being translated: HTINST_TRANSFORM
   * (mmu.ts) computes the transformed instruction at pc; 0 gives none.
   */
  faultHtinst = 0;
  /**
   * TLB entries (int32 indices into S) that were filled from superpage translations, and the
   * level of each one's leaf (1: 2 MiB, 2: 1 GiB, 3: 512 GiB): an address-specific SFENCE.VMA
   * invalidates those whose superpage contains the fenced address (they come from the leaf
   * being fenced) and keeps the others. On overflow, such an SFENCE flushes everything.
   */
  readonly superEntries = new Int32Array(4096);
  superCount = 0;
  /**
   * TLB sets that may hold a valid entry (bit kind × TLB_MODES + mode): fillTlb sets a set's
   * bit, a flush of the set clears it. Flushes and dropStoreEntriesFor skip the others (a
   * hosted guest uses 6 of the 21 sets; each is 64 KiB). All set until the first flush, as
   * the block's memory may hold anything.
   */
  tlbUsed = TLB_ALL_SETS;
  /**
   * By TLB entry (int32 index / 4): 0 when it is not in superEntries, else the largest leaf
   * level it was filled from since it was listed (so that no entry is listed twice).
   */
  private readonly superLevel = new Uint8Array(TLB_END_BYTE / 16);
  /**
   * G-stage translation cache: for each permission kind (R, W, X) GCACHE_ENTRIES pairs of
   * [gfn, machine page], direct-mapped. It serves the G-stage walks of TLB misses (VS-stage
   * page-table reads above all). Flushed by hgatp writes, HFENCE.GVMA, PMP changes and the
   * hypervisor's P2M changes (flushGStage); -1 tags are empty.
   */
  readonly gcache = new Int32Array(3 * GCACHE_ENTRIES * 2).fill(-1);
  /** Something may have made an interrupt pending: the run loop re-checks before continuing. */
  irqCheck = true;
  /** The run loop must return to the scheduler (WFI, power state change). */
  yieldRequest = false;
  /**
   * Zihintpause: called when the hart executes PAUSE (a spin-wait hint; Linux's cpu_relax). A
   * hypervisor ends the vCPU's slice there, as Xen's pause-loop exiting does; null: a no-op.
   */
  onPause: (() => void) | null = null;
  /** Scratch results of slow-path helpers (64-bit values as halves; a physical address). */
  // Non-Smi initial values give these fields a double representation from the start, so
  // that int32 values above 2^30 and large addresses never change the Hart's map (a map
  // change deoptimizes the interpreter).
  tmpLo = 0.5;
  tmpHi = 0.5;
  pa = 0.5;
  /** Instructions executed in the current slice but not yet added to the INSTRET counter. */
  sliceExecuted = 0;
  /** Exceptions taken since reset (the interpreter does not count their instructions as retired). */
  exceptions = 0;
  /**
   * The JIT that runs this hart's hot code (jit/jit.ts), or null to interpret everything
   * (`--no-jit`, DOMUS_JIT=off). Set between runs, never during one.
   */
  jit: Jit | null = null;
  /** Called when the hart has a new pending interrupt while waiting (wakes the scheduler). */
  onWake: () => void = () => {};

  constructor(id: number, env: HartEnv) {
    this.id = id;
    this.mem = env.mem;
    this.bus = env.bus;
    this.code = env.code;
    this.clock = env.clock;
    this.base = env.mem.hartBlockOffset(id);
    const buf = env.mem.buffer;
    this.S = new Int32Array(buf, this.base, HART_BLOCK_BYTES / 4);
    this.SF = new Float64Array(buf, this.base, HART_BLOCK_BYTES / 8);
    this.X = new Int32Array(buf, this.base + X_BYTE_OFFSET, 66);
    this.FI = new Int32Array(buf, this.base + F_BYTE_OFFSET, 64);
    this.F64 = new Float64Array(buf, this.base + F_BYTE_OFFSET, 32);
    this.F32 = new Float32Array(buf, this.base + F_BYTE_OFFSET, 64);
    this.reset();
  }

  /** Architectural reset: M-mode, pc = 0, everything cleared except mhartid. */
  reset(): void {
    this.S.fill(0, 0, 0x1000 / 4); // registers, scalars, CSRs and counters live below the TLB
    this.S[HS.HARTID] = this.id;
    this.S[HS.PRIV] = Priv.M;
    this.pmp = [];
    this.pmpOpen = false;
    this.gcache.fill(-1);
    this.flushTlb(true);
    this.updateModes();
  }

  // ---- convenience accessors (not for the hot path) ------------------------------------

  get priv(): Priv {
    return this.S[HS.PRIV] as Priv;
  }

  /** pc as a JS number (exact for canonical addresses below 2^53 or sign-extended ones). */
  get pc(): number {
    return this.S[HS.PC_HI]! * 4294967296 + (this.S[HS.PC_LO]! >>> 0);
  }

  /** Sets the privilege level (host use: board setup, tests). */
  setPriv(priv: Priv): void {
    this.S[HS.PRIV] = priv;
    this.updateModes();
  }

  setPc(lo: number, hi: number): void {
    this.S[HS.PC_LO] = lo | 0;
    this.S[HS.PC_HI] = hi | 0;
  }

  /** Sets pc from a non-negative number below 2^53. */
  setPcNumber(pc: number): void {
    this.setPc(pc >>> 0, Math.floor(pc / 4294967296));
  }

  /** x register as a signed JS number (exact when |value| < 2^53) — for tests and tools. */
  xNumber(i: number): number {
    return this.X[2 * i + 1]! * 4294967296 + (this.X[2 * i]! >>> 0);
  }

  setX(i: number, lo: number, hi: number): void {
    if (i === 0) return;
    this.X[2 * i] = lo | 0;
    this.X[2 * i + 1] = hi | 0;
  }

  setXNumber(i: number, v: number): void {
    this.setX(i, v >>> 0, Math.floor(v / 4294967296));
  }

  get mstatus(): number {
    return this.S[I_MSTATUS]!;
  }

  /** Effective mip: software-written bits, device lines, and the hypervisor's hvip bits. */
  mip(): number {
    return this.S[I_MIP_SW]! | this.S[HS.MIP_HW]! | (this.S[I_HVIP]! & Irq.VS_ALL);
  }

  get virt(): boolean {
    return this.S[HS.VIRT] === 1;
  }

  /** Drives a device interrupt line into mip (MSIP, MTIP, MEIP or the PLIC's SEIP). */
  setIrqLine(bit: number, level: boolean): void {
    const old = this.S[HS.MIP_HW]!;
    const now = level ? old | bit : old & ~bit;
    if (now === old) return;
    this.S[HS.MIP_HW] = now;
    if (level) {
      this.irqCheck = true;
      if (this.S[HS.WFI]) this.onWake();
    }
  }

  get instret(): number {
    return this.SF[HC.INSTRET]! + this.sliceExecuted;
  }

  // ---- modes and TLB -------------------------------------------------------------------

  /** Recomputes the TLB sets and translation flags from priv, V, mstatus, vsstatus and satp. */
  updateModes(): void {
    const S = this.S;
    const priv = S[HS.PRIV]! as Priv;
    const virt = S[HS.VIRT] === 1;
    const mstatus = S[I_MSTATUS]!;
    const fetchMode = tlbMode(priv, virt, false);
    let dpriv = priv;
    let dvirt = virt;
    if (priv === Priv.M && mstatus & Mstatus.MPRV) {
      dpriv = ((mstatus >>> Mstatus.MPP_SHIFT) & 3) as Priv;
      dvirt = dpriv !== Priv.M && (S[I_MSTATUS + 1]! & Mstatus.HI_MPV) !== 0;
    }
    const sum = ((dvirt ? S[I_VSSTATUS]! : mstatus) & Mstatus.SUM) !== 0;
    this.dataPriv = dpriv;
    this.dataVirt = dvirt;
    const dataMode = tlbMode(dpriv, dvirt, sum);
    this.fetchSet = tlbSetIndex(TlbKind.FETCH, fetchMode);
    this.loadSet = tlbSetIndex(TlbKind.LOAD, dataMode);
    this.storeSet = tlbSetIndex(TlbKind.STORE, dataMode);
  }

  /**
   * Invalidates TLB entries: all translated sets, and the M sets too when `all`. Filling a
   * whole set with 1 makes every tag invalid (a valid tag has its low 12 bits clear).
   */
  flushTlb(all: boolean): void {
    const S = this.S;
    const setLen = TLB_ENTRIES * TLB_ENTRY_I32;
    for (let kind = 0; kind < 3; kind++) {
      for (let mode = 0; mode < TLB_MODES; mode++) {
        const bit = 1 << (kind * TLB_MODES + mode);
        if ((this.tlbUsed & bit) === 0 || (mode === TlbMode.M && !all)) continue;
        const start = tlbSetIndex(kind as TlbKind, mode as TlbMode);
        S.fill(1, start, start + setLen);
        this.tlbUsed &= ~bit;
      }
    }
    this.superCount = 0;
    this.superLevel.fill(0);
  }

  /** Invalidates the entries for one virtual page in every translated set (SFENCE.VMA rs1). */
  flushTlbPage(vaLo: number, vaHi: number): void {
    const S = this.S;
    if (this.superCount > this.superEntries.length) {
      this.flushTlb(false);
      return;
    }
    const tag = vaLo & ~0xfff;
    const slot = ((vaLo >>> 12) & (TLB_ENTRIES - 1)) * TLB_ENTRY_I32;
    for (let kind = 0; kind < 3; kind++) {
      for (let mode = 0; mode < TLB_MODES; mode++) {
        if (mode === TlbMode.M) continue;
        const i = tlbSetIndex(kind as TlbKind, mode as TlbMode) + slot;
        if (S[i] === tag && S[i + 1] === vaHi) S[i] = 1;
      }
    }
    // Entries from a superpage that contains va came from the fenced leaf: drop them. Keep
    // the others listed (and still valid).
    const sup = this.superEntries;
    const levels = this.superLevel;
    let kept = 0;
    for (let k = 0; k < this.superCount; k++) {
      const i = sup[k]!;
      const level = levels[i >>> 2]!;
      const tagLo = S[i]!;
      const shift = 12 + 9 * level;
      const inside =
        shift < 32
          ? S[i + 1] === vaHi && (tagLo ^ vaLo) >>> shift === 0
          : (S[i + 1]! ^ vaHi) >>> (shift - 32) === 0;
      if ((tagLo & 0xfff) !== 0 || inside) {
        // Invalid already, or fenced.
        if (inside) S[i] = 1;
        levels[i >>> 2] = 0;
        continue;
      }
      sup[kept++] = i;
    }
    this.superCount = kept;
  }

  /** Forgets cached G-stage translations (and, since they depend on them, the guest TLB entries). */
  flushGStage(): void {
    this.gcache.fill(-1);
    this.flushTlb(false);
  }

  /** Records a TLB entry filled from a superpage leaf of `level` (see superEntries). */
  noteSuperEntry(i: number, level: number): void {
    const listed = this.superLevel[i >>> 2]!;
    if (listed !== 0) {
      // Listed already (since refilled): the larger span is the safe one to compare against.
      if (listed < level) this.superLevel[i >>> 2] = level;
      return;
    }
    const n = this.superCount;
    if (n < this.superEntries.length) {
      this.superEntries[n] = i;
      this.superLevel[i >>> 2] = level;
    }
    this.superCount = n + 1;
  }

  /** Drops store-TLB entries (all modes) that map RAM page `ramPage` (it now holds code). */
  dropStoreEntriesFor(ramPage: number): void {
    const S = this.S;
    const hostPage = this.mem.ramOffset + ramPage * 4096;
    for (let mode = 0; mode < TLB_MODES; mode++) {
      if ((this.tlbUsed & (1 << (TlbKind.STORE * TLB_MODES + mode))) === 0) continue;
      const start = tlbSetIndex(TlbKind.STORE, mode as TlbMode);
      for (let i = start, end = start + TLB_ENTRIES * TLB_ENTRY_I32; i < end; i += TLB_ENTRY_I32) {
        if (S[i + 2] === (hostPage | 0) && S[i] !== 1) S[i] = 1;
      }
    }
  }

  // ---- traps ---------------------------------------------------------------------------

  /**
   * Takes an exception (cause < 64) or interrupt (`interrupt` = true) at the current pc
   * (state block), with tval as lo/hi halves; `htval` is the guest physical address >> 2
   * of a guest-page fault (else 0) and `htinst` the transformed instruction or
   * pseudoinstruction (else 0). An exception goes to M, HS or VS by medeleg and hedeleg;
   * an interrupt goes to the level its caller (takeInterrupt) determined, `intLevel`.
   * Updates the status stacks and jumps to the trap vector.
   */
  trap(
    cause: number,
    interrupt: boolean,
    tvalLo: number,
    tvalHi: number,
    htval = 0,
    htinst = 0,
    intLevel = Level.M,
  ): void {
    const S = this.S;
    if (!interrupt) this.exceptions++;
    const priv = S[HS.PRIV]! as Priv;
    const virt = S[HS.VIRT] === 1;
    const pcLo = S[HS.PC_LO]!;
    const pcHi = S[HS.PC_HI]!;
    const gva = !interrupt && (virt || this.hlvActive) && ((ADDRESS_CAUSES >>> cause) & 1) === 1;
    let target: Level;
    if (interrupt) target = intLevel;
    else if (priv <= Priv.S && (S[I_MEDELEG]! >>> cause) & 1) {
      target = virt && (S[I_HEDELEG]! >>> cause) & 1 ? Level.VS : Level.HS;
    } else target = Level.M;
    if (target !== Level.VS && this.hostTraps) {
      S[HS.EXIT_CAUSE] = cause | (interrupt ? 0x80000000 : 0);
      S[HS.EXIT_TVAL_LO] = tvalLo;
      S[HS.EXIT_TVAL_HI] = tvalHi;
      S[HS.EXIT_HTVAL_LO] = htval >>> 0;
      S[HS.EXIT_HTVAL_HI] = Math.floor(htval / 4294967296);
      S[HS.EXIT_HTINST] = htinst;
      this.yieldRequest = true;
      return;
    }
    let mstatus = S[I_MSTATUS]!;
    const causeHi = interrupt ? 0x80000000 | 0 : 0;
    let tvecLo: number;
    let tvecHi: number;
    let code = cause;
    if (target === Level.VS) {
      // Into VS-mode: vs* CSRs; V stays 1; VS-level interrupt codes are translated (10→9, 6→5, 2→1).
      if (interrupt) code = cause - 1;
      this.enterVs(code, interrupt, tvalLo, tvalHi);
      return;
    } else if (target === Level.HS) {
      const sepc = csrIndex(CsrSlot.SEPC);
      S[sepc] = pcLo;
      S[sepc + 1] = pcHi;
      const scause = csrIndex(CsrSlot.SCAUSE);
      S[scause] = cause;
      S[scause + 1] = causeHi;
      const stval = csrIndex(CsrSlot.STVAL);
      S[stval] = tvalLo;
      S[stval + 1] = tvalHi;
      const htv = csrIndex(CsrSlot.HTVAL);
      S[htv] = htval >>> 0;
      S[htv + 1] = Math.floor(htval / 4294967296);
      const hti = csrIndex(CsrSlot.HTINST);
      S[hti] = htinst;
      S[hti + 1] = 0;
      let hs = S[I_HSTATUS]!;
      hs = (hs & ~(Hstatus.SPV | Hstatus.GVA)) | (virt ? Hstatus.SPV : 0) | (gva ? Hstatus.GVA : 0);
      if (virt) hs = (hs & ~Hstatus.SPVP) | (priv === Priv.S ? Hstatus.SPVP : 0);
      S[I_HSTATUS] = hs;
      mstatus =
        (mstatus & ~(Mstatus.SPIE | Mstatus.SIE | Mstatus.SPP)) |
        (mstatus & Mstatus.SIE ? Mstatus.SPIE : 0) |
        (priv === Priv.S ? Mstatus.SPP : 0);
      S[HS.PRIV] = Priv.S;
      S[HS.VIRT] = 0;
      const stvec = csrIndex(CsrSlot.STVEC);
      tvecLo = S[stvec]!;
      tvecHi = S[stvec + 1]!;
    } else {
      const mepc = csrIndex(CsrSlot.MEPC);
      S[mepc] = pcLo;
      S[mepc + 1] = pcHi;
      const mcause = csrIndex(CsrSlot.MCAUSE);
      S[mcause] = cause;
      S[mcause + 1] = causeHi;
      const mtval = csrIndex(CsrSlot.MTVAL);
      S[mtval] = tvalLo;
      S[mtval + 1] = tvalHi;
      const mtv2 = csrIndex(CsrSlot.MTVAL2);
      S[mtv2] = htval >>> 0;
      S[mtv2 + 1] = Math.floor(htval / 4294967296);
      const mti = csrIndex(CsrSlot.MTINST);
      S[mti] = htinst;
      S[mti + 1] = 0;
      mstatus =
        (mstatus & ~(Mstatus.MPIE | Mstatus.MIE | Mstatus.MPP)) |
        (mstatus & Mstatus.MIE ? Mstatus.MPIE : 0) |
        (priv << Mstatus.MPP_SHIFT);
      S[I_MSTATUS + 1] =
        (S[I_MSTATUS + 1]! & ~(Mstatus.HI_MPV | Mstatus.HI_GVA)) |
        (virt ? Mstatus.HI_MPV : 0) |
        (gva ? Mstatus.HI_GVA : 0);
      S[HS.PRIV] = Priv.M;
      S[HS.VIRT] = 0;
      const mtvec = csrIndex(CsrSlot.MTVEC);
      tvecLo = S[mtvec]!;
      tvecHi = S[mtvec + 1]!;
    }
    S[I_MSTATUS] = mstatus;
    let targetLo = tvecLo & ~3;
    if (interrupt && (tvecLo & 3) === 1) targetLo = (targetLo + 4 * code) | 0; // vectored (tvec is 4-aligned)
    S[HS.PC_LO] = targetLo;
    S[HS.PC_HI] = tvecHi;
    S[HS.RES_VALID] = 0;
    this.updateModes();
    this.irqCheck = true;
  }

  /**
   * Trap entry into VS-mode (V=1): vsepc/vscause/vstval, the vsstatus SPP/SPIE/SIE stack, and
   * pc = vstvec (vectored for interrupts). `code` is the cause as VS-mode sees it. The hosted
   * hypervisor also uses this to inject an exception into a guest.
   */
  enterVs(code: number, interrupt: boolean, tvalLo: number, tvalHi: number): void {
    const S = this.S;
    const priv = S[HS.PRIV]! as Priv;
    const vsepc = csrIndex(CsrSlot.VSEPC);
    S[vsepc] = S[HS.PC_LO]!;
    S[vsepc + 1] = S[HS.PC_HI]!;
    const vscause = csrIndex(CsrSlot.VSCAUSE);
    S[vscause] = code;
    S[vscause + 1] = interrupt ? 0x80000000 | 0 : 0;
    const vstval = csrIndex(CsrSlot.VSTVAL);
    S[vstval] = tvalLo;
    S[vstval + 1] = tvalHi;
    let vs = S[I_VSSTATUS]!;
    vs =
      (vs & ~(Mstatus.SPIE | Mstatus.SIE | Mstatus.SPP)) |
      (vs & Mstatus.SIE ? Mstatus.SPIE : 0) |
      (priv === Priv.S ? Mstatus.SPP : 0);
    S[I_VSSTATUS] = vs;
    S[HS.PRIV] = Priv.S;
    S[HS.VIRT] = 1;
    const vstvec = csrIndex(CsrSlot.VSTVEC);
    const tvecLo = S[vstvec]!;
    let targetLo = tvecLo & ~3;
    if (interrupt && (tvecLo & 3) === 1) targetLo = (targetLo + 4 * code) | 0;
    S[HS.PC_LO] = targetLo;
    S[HS.PC_HI] = S[vstvec + 1]!;
    S[HS.RES_VALID] = 0;
    this.updateModes();
    this.irqCheck = true;
  }

  /** Raises an exception whose tval is a 64-bit address (and, for guest-page faults, htval/htinst). */
  exception(cause: Cause, tvalLo = 0, tvalHi = 0, htval = 0, htinst = 0): void {
    this.trap(cause, false, tvalLo, tvalHi, htval, htinst);
  }

  /**
   * Checks for a pending, enabled interrupt and takes it. Returns true if one was taken.
   * Three levels, highest first: M (not delegated), HS (delegated by mideleg, not by
   * hideleg), VS (delegated by hideleg; only while V=1). Priority within a level: MEI, MSI,
   * MTI, SEI, SSI, STI, SGEI, VSEI, VSSI, VSTI (privileged spec 3.1.9 and the H chapter).
   */
  takeInterrupt(): boolean {
    const S = this.S;
    const pending = this.mip() & S[I_MIE]!;
    if (pending === 0) return false;
    const priv = S[HS.PRIV]! as Priv;
    const virt = S[HS.VIRT] === 1;
    const mstatus = S[I_MSTATUS]!;
    const mideleg = S[I_MIDELEG]! | Irq.VS_ALL;
    const hideleg = S[I_HIDELEG]!;
    const mEnabled = priv < Priv.M || (mstatus & Mstatus.MIE) !== 0;
    const hsEnabled = virt || priv < Priv.S || (priv === Priv.S && (mstatus & Mstatus.SIE) !== 0);
    const vsEnabled = virt && (priv === Priv.U || (S[I_VSSTATUS]! & Mstatus.SIE) !== 0);
    let m = mEnabled ? pending & ~mideleg : 0;
    let level = Level.M;
    if (m === 0 && hsEnabled && priv !== Priv.M) {
      m = pending & mideleg & ~hideleg;
      level = Level.HS;
    }
    if (m === 0 && vsEnabled) {
      m = pending & mideleg & hideleg & Irq.VS_ALL;
      level = Level.VS;
    }
    if (m === 0) return false;
    let cause: number;
    if (m & Irq.MEIP) cause = 11;
    else if (m & Irq.MSIP) cause = 3;
    else if (m & Irq.MTIP) cause = 7;
    else if (m & Irq.SEIP) cause = 9;
    else if (m & Irq.SSIP) cause = 1;
    else if (m & Irq.STIP) cause = 5;
    else if (m & Irq.SGEIP) cause = 12;
    else if (m & Irq.VSEIP) cause = 10;
    else if (m & Irq.VSSIP) cause = 2;
    else cause = 6;
    S[HS.WFI] = 0;
    this.trap(cause, true, 0, 0, 0, 0, level);
    return !this.hostTraps || level === Level.VS;
  }

  /** True when WFI should wake: some interrupt is pending and enabled in mie (any priv). */
  wakeable(): boolean {
    return (this.mip() & this.S[I_MIE]!) !== 0;
  }

  /**
   * MRET / SRET. Returns false (after raising the right exception) when not allowed:
   * SRET needs S privilege (U: illegal; VU: virtual instruction), TSR traps it in HS-mode
   * (illegal) and VTSR in VS-mode (virtual instruction).
   */
  xret(fromM: boolean): boolean {
    const S = this.S;
    const priv = S[HS.PRIV]! as Priv;
    const virt = S[HS.VIRT] === 1;
    let mstatus = S[I_MSTATUS]!;
    if (fromM) {
      if (priv !== Priv.M) return this.illegal(); // not HS-qualified: illegal even in V mode
      const mpp = ((mstatus >>> Mstatus.MPP_SHIFT) & 3) as Priv;
      const mpv = mpp !== Priv.M && (S[I_MSTATUS + 1]! & Mstatus.HI_MPV) !== 0;
      mstatus =
        (mstatus & ~(Mstatus.MIE | Mstatus.MPP)) | Mstatus.MPIE | (mstatus & Mstatus.MPIE ? Mstatus.MIE : 0);
      if (mpp !== Priv.M) mstatus &= ~Mstatus.MPRV;
      S[I_MSTATUS + 1] = S[I_MSTATUS + 1]! & ~Mstatus.HI_MPV;
      S[HS.PRIV] = mpp;
      S[HS.VIRT] = mpv ? 1 : 0;
      const mepc = csrIndex(CsrSlot.MEPC);
      S[HS.PC_LO] = S[mepc]!;
      S[HS.PC_HI] = S[mepc + 1]!;
    } else if (virt) {
      if (priv === Priv.U || S[I_HSTATUS]! & Hstatus.VTSR) return this.virtualInsn();
      let vs = S[I_VSSTATUS]!;
      const spp = vs & Mstatus.SPP ? Priv.S : Priv.U;
      vs = (vs & ~(Mstatus.SIE | Mstatus.SPP)) | Mstatus.SPIE | (vs & Mstatus.SPIE ? Mstatus.SIE : 0);
      S[I_VSSTATUS] = vs;
      S[HS.PRIV] = spp;
      const vsepc = csrIndex(CsrSlot.VSEPC);
      S[HS.PC_LO] = S[vsepc]!;
      S[HS.PC_HI] = S[vsepc + 1]!;
    } else {
      if (priv === Priv.U || (priv === Priv.S && mstatus & Mstatus.TSR)) return this.illegal();
      const spp = mstatus & Mstatus.SPP ? Priv.S : Priv.U;
      const hs = S[I_HSTATUS]!;
      const spv = (hs & Hstatus.SPV) !== 0;
      mstatus =
        (mstatus & ~(Mstatus.SIE | Mstatus.SPP)) | Mstatus.SPIE | (mstatus & Mstatus.SPIE ? Mstatus.SIE : 0);
      mstatus &= ~Mstatus.MPRV; // SRET always returns below M
      S[I_HSTATUS] = hs & ~Hstatus.SPV;
      S[HS.PRIV] = spp;
      S[HS.VIRT] = spv ? 1 : 0;
      const sepc = csrIndex(CsrSlot.SEPC);
      S[HS.PC_LO] = S[sepc]!;
      S[HS.PC_HI] = S[sepc + 1]!;
    }
    S[I_MSTATUS] = mstatus;
    S[HS.RES_VALID] = 0;
    this.updateModes();
    this.irqCheck = true;
    return true;
  }

  /**
   * Raises a virtual-instruction exception (cause 22) for the instruction at pc; tval gets the
   * instruction bits, as for illegal instruction. Returns false, for `return h.virtualInsn()`.
   */
  virtualInsn(): false {
    this.exception(Cause.VIRTUAL_INSN, rawInsnAtPc(this), 0);
    return false;
  }

  /**
   * Raises an illegal-instruction exception for the instruction at pc; mtval gets the
   * instruction bits (read back from memory). Always returns false, for `return h.illegal()`.
   */
  illegal(): false {
    this.exception(Cause.ILLEGAL_INSN, rawInsnAtPc(this), 0);
    return false;
  }

  /** Decoded PMP regions (derived from the pmp CSRs by `pmpRecompute`). */
  pmp: PmpRegion[] = [];
  /** The PMP allows every access at every privilege (one region over everything, RWX). */
  pmpOpen = false;
}

/**
 * Is the FP unit off? mstatus.FS = Off, or (V=1) vsstatus.FS = Off: both are in effect for a
 * guest (H extension). Either one raises illegal instruction, never virtual instruction.
 */
export function fpOff(S: Int32Array): boolean {
  return (S[I_MSTATUS]! & Mstatus.FS) === 0 || (S[HS.VIRT] === 1 && (S[I_VSSTATUS]! & Mstatus.FS) === 0);
}

/** Marks the FP state Dirty (in vsstatus too while V=1). */
export function fpDirty(S: Int32Array): void {
  S[I_MSTATUS] = S[I_MSTATUS]! | Mstatus.FS;
  if (S[HS.VIRT] === 1) S[I_VSSTATUS] = S[I_VSSTATUS]! | Mstatus.FS;
}

/** Trap target levels. */
export const enum Level {
  VS = 0,
  HS = 1,
  M = 3,
}

/** The TLB mode of an access at privilege `priv`, virtualization `virt`, with SUM in effect. */
export function tlbMode(priv: Priv, virt: boolean, sum: boolean): TlbMode {
  if (priv === Priv.M) return TlbMode.M;
  if (virt) return priv === Priv.S ? (sum ? TlbMode.VS_SUM : TlbMode.VS) : TlbMode.VU;
  return priv === Priv.S ? (sum ? TlbMode.S_SUM : TlbMode.S) : TlbMode.U;
}

export interface PmpRegion {
  /** Physical byte range [lo, hi). */
  lo: number;
  hi: number;
  /** Permission bits R=1 W=2 X=4, and L=0x80. */
  cfg: number;
}
