/**
 * Where a hart's state lives: one block of `HART_BLOCK_BYTES` in the machine's shared
 * `WebAssembly.Memory`, at fixed offsets given here and nowhere else. The interpreter, the
 * JIT, save/restore and (later) other pCPU threads all reach the state through these offsets.
 *
 * 64-bit values are stored little-endian; the interpreter reads them as two int32 halves
 * (`lo` at the even int32 index, `hi` at the odd one). Indices below are int32 indices
 * (byte offset / 4) relative to the block start, except where named `..._F64` (float64 index).
 *
 *   0x0000  x0..x31, then x32: the write sink for rd = x0          (33 × 8 bytes)
 *   0x0110  f0..f31 raw bits                                       (32 × 8 bytes)
 *   0x0210  pc                                                     (8)
 *   0x0218  scalar int32 fields (priv, fflags, frm, flags …)
 *   0x0300  CSR slots, 8 bytes each, numbered by `CsrSlot`
 *   0x0600  counters as float64 (exact integers below 2^53)
 *   0x1000   soft TLBs: 3 kinds × 7 modes × TLB_ENTRIES × 16 bytes
 *   0x151000 the JIT's jump cache: JC_ENTRIES × 8 bytes (host offset of an entry pc, region id)
 *   0x191000 the JIT's scratch word (8 bytes: the value of a slow-path load made by translated code)
 */

export const HART_BLOCK_BYTES = 0x192000;

export const X_BYTE_OFFSET = 0x0000;
export const F_BYTE_OFFSET = 0x0110;

/** int32 indices of scalar fields. */
export const enum HS {
  PC_LO = 0x210 / 4,
  PC_HI = PC_LO + 1,
  /** Current privilege: 0 U, 1 S, 3 M. */
  PRIV = 0x218 / 4,
  FFLAGS,
  FRM,
  /** 1 while stopped in WFI. */
  WFI,
  /** 1 while an LR reservation is held. */
  RES_VALID,
  /** Physical address of the reservation (low/high 32 bits). */
  RES_ADDR_LO,
  RES_ADDR_HI,
  HARTID,
  /** Device-driven interrupt-pending bits (MSIP, MTIP, MEIP, and the PLIC's SEIP line). */
  MIP_HW,
  /** The virtualization mode V (H extension): 1 in VS/VU mode. */
  VIRT,
  /**
   * A trap the host hypervisor must handle (hosted mode, see Hart.hostTraps): the cause
   * (with bit 31 set for an interrupt), or -1 when there is none. The trap's tval, the guest
   * physical address >> 2 (htval) and the transformed instruction (htinst) come with it.
   */
  EXIT_CAUSE,
  EXIT_TVAL_LO,
  EXIT_TVAL_HI,
  EXIT_HTVAL_LO,
  EXIT_HTVAL_HI,
  EXIT_HTINST,
}

/** CSR storage slots (8 bytes each from 0x300): int32 index of slot n is 0x300/4 + 2n. */
export const enum CsrSlot {
  MSTATUS,
  MEDELEG,
  MIDELEG,
  MIE,
  /** Software-written pending bits (SSIP, STIP, SEIP); mip = MIP_SW | MIP_HW. */
  MIP_SW,
  MTVEC,
  MSCRATCH,
  MEPC,
  MCAUSE,
  MTVAL,
  MCOUNTEREN,
  MENVCFG,
  STVEC,
  SSCRATCH,
  SEPC,
  SCAUSE,
  STVAL,
  SATP,
  SCOUNTEREN,
  SENVCFG,
  PMPCFG0,
  PMPCFG2,
  PMPADDR0,
  PMPADDR15 = PMPADDR0 + 15,
  // H extension
  HSTATUS,
  HEDELEG,
  HIDELEG,
  /** hvip: VSSIP, VSTIP, VSEIP written by the hypervisor. */
  HVIP,
  HCOUNTEREN,
  HTVAL,
  HTINST,
  HGATP,
  HENVCFG,
  HTIMEDELTA,
  VSSTATUS,
  VSTVEC,
  VSSCRATCH,
  VSEPC,
  VSCAUSE,
  VSTVAL,
  VSATP,
  MTVAL2,
  MTINST,
  COUNT,
}

export const CSR_BASE_I32 = 0x300 / 4;

/** int32 index (lo half) of a CSR slot. */
export function csrIndex(slot: CsrSlot): number {
  return CSR_BASE_I32 + slot * 2;
}

/** float64 indices of the counters. */
export const enum HC {
  /** Instructions retired since reset (minstret = this + offset). */
  INSTRET = 0x600 / 8,
  /** Offsets written by software to minstret / mcycle. */
  MINSTRET_OFFSET,
  MCYCLE_OFFSET,
}

// ---- soft TLB ---------------------------------------------------------------------------------

export const TLB_BYTE_OFFSET = 0x1000;
/** Entries per permission kind of a hart's G-stage cache (gfn → machine page). */
export const GCACHE_ENTRIES = 4096;
/** Number of TLB modes (TlbMode). */
export const TLB_MODES = 7;
/**
 * Entries per TLB set (direct-mapped by virtual page number). 4096 (16 MiB of 4 KiB pages per
 * set): domus-bench's memory loop, read-modify-writes over 16 MiB, went from a page walk on
 * most accesses (1.5–1.7 s at 1024 entries) to 0.08–0.11 s; a boot measured the same (its 177
 * full flushes cost 16 ms instead of 4 before Hart.tlbUsed, 10 ms after; it walks less). A hart
 * block is then 1.57 MiB.
 */
export const TLB_ENTRIES = 4096;
export const TLB_MASK = TLB_ENTRIES - 1;
/** int32 words per TLB entry: tag lo (VA & ~0xfff, or 1 = invalid), tag hi, host byte offset, spare. */
export const TLB_ENTRY_I32 = 4;

/** TLB kinds. */
export const enum TlbKind {
  FETCH = 0,
  LOAD = 1,
  STORE = 2,
}

/**
 * TLB modes: the translation regime an access is made in. S-mode data accesses with
 * sstatus.SUM=1 use their own set, so that Linux toggling SUM around user copies costs nothing.
 * VU/VS/VS_SUM hold guest virtual → machine physical translations (both stages combined).
 */
export const enum TlbMode {
  U = 0,
  S = 1,
  S_SUM = 2,
  M = 3,
  VU = 4,
  VS = 5,
  VS_SUM = 6,
}

/** int32 index (relative to the hart block) of the first entry of a TLB set. */
export function tlbSetIndex(kind: TlbKind, mode: TlbMode): number {
  return TLB_BYTE_OFFSET / 4 + (kind * TLB_MODES + mode) * TLB_ENTRIES * TLB_ENTRY_I32;
}

export const TLB_END_BYTE = TLB_BYTE_OFFSET + 3 * TLB_MODES * TLB_ENTRIES * TLB_ENTRY_I32 * 4;

/** log2 of a TLB set's length in int32 words: a set index's number is (index - first) >> this. */
export const TLB_SET_I32_SHIFT = 14;
/** Every set's bit (Hart.tlbUsed): set number = kind × TLB_MODES + mode. */
export const TLB_ALL_SETS = (1 << (3 * TLB_MODES)) - 1;
if (1 << TLB_SET_I32_SHIFT !== TLB_ENTRIES * TLB_ENTRY_I32)
  throw new Error('hart layout: TLB_SET_I32_SHIFT does not match the set length');

// ---- the JIT's jump cache ----------------------------------------------------------------------

/**
 * Byte offset of the jump cache: a direct-mapped table from the host byte offset of an
 * instruction in RAM to the JIT's id of the region entered there (jit/dispatch.ts). An entry
 * is two int32: the host offset (0 = empty) and the id. It is owned by the JIT, not part of
 * the architectural state (save/restore and the differential tester ignore it).
 */
export const JC_BYTE_OFFSET = 0x151000;
/**
 * 32768 entries (256 KiB): with 4096, entries of different pages 8 KiB apart in machine memory
 * shared slots, and translated code returned to JavaScript at 100 k jumps into translated code
 * per boot (threshold 100; 16 k at 1000) whose entry another page had evicted; with 32768,
 * 12 k and 0.5 k.
 */
export const JC_ENTRIES = 32768;
export const JC_MASK = JC_ENTRIES - 1;
export const JC_END_BYTE = JC_BYTE_OFFSET + JC_ENTRIES * 8;

/**
 * Byte offset of the JIT's scratch word: a slow-path load called from translated code leaves
 * its (zero-extended) value here (jit/translate_mem.ts). Not architectural state.
 */
export const JIT_SCRATCH_BYTE = JC_END_BYTE;
/**
 * The virtual page (pc & ~0xfff) of the region running (an int64 that translated code stores on
 * entry, for the slow-path helpers to rebuild an access's pc from its page offset), and the
 * instructions of its block not yet run when a slow-path access left the region (int32;
 * jit/dispatch.ts, memory helpers). Not architectural state.
 */
export const JIT_VPAGE_BYTE = JIT_SCRATCH_BYTE + 8;
export const JIT_LEFT_BYTE = JIT_SCRATCH_BYTE + 16;

if (JC_BYTE_OFFSET < TLB_END_BYTE || JIT_LEFT_BYTE + 4 > HART_BLOCK_BYTES)
  throw new Error('hart layout: the jump cache does not fit between the TLBs and the block end');
if (TLB_END_BYTE > HART_BLOCK_BYTES) throw new Error('hart layout: the TLBs overflow the hart block');
// memory.ts keeps 64 MiB of the 4 GiB below RAM for hart blocks (MAX_RAM_BYTES); a host's
// default of 32 vCPU blocks must fit there.
if (32 * HART_BLOCK_BYTES > 64 << 20) throw new Error('hart layout: 32 hart blocks exceed 64 MiB');
if (CSR_BASE_I32 * 4 + CsrSlot.COUNT * 8 > 0x600)
  throw new Error('hart layout: the CSR slots overflow into the counters');
