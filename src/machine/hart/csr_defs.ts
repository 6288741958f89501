/**
 * CSR numbers, field masks and trap causes of the privileged architecture (v1.12) that the
 * Domus hart implements. Names follow the spec verbatim.
 */

export const enum Csr {
  fflags = 0x001,
  frm = 0x002,
  fcsr = 0x003,
  cycle = 0xc00,
  time = 0xc01,
  instret = 0xc02,
  hpmcounter3 = 0xc03,
  hpmcounter31 = 0xc1f,

  sstatus = 0x100,
  sie = 0x104,
  stvec = 0x105,
  scounteren = 0x106,
  senvcfg = 0x10a,
  sscratch = 0x140,
  sepc = 0x141,
  scause = 0x142,
  stval = 0x143,
  sip = 0x144,
  satp = 0x180,

  vsstatus = 0x200,
  vsie = 0x204,
  vstvec = 0x205,
  vsscratch = 0x240,
  vsepc = 0x241,
  vscause = 0x242,
  vstval = 0x243,
  vsip = 0x244,
  vsatp = 0x280,

  hstatus = 0x600,
  hedeleg = 0x602,
  hideleg = 0x603,
  hie = 0x604,
  htimedelta = 0x605,
  hcounteren = 0x606,
  hgeie = 0x607,
  henvcfg = 0x60a,
  htval = 0x643,
  hip = 0x644,
  hvip = 0x645,
  htinst = 0x64a,
  hgatp = 0x680,
  hgeip = 0xe12,

  mvendorid = 0xf11,
  marchid = 0xf12,
  mimpid = 0xf13,
  mhartid = 0xf14,
  mconfigptr = 0xf15,
  mstatus = 0x300,
  misa = 0x301,
  medeleg = 0x302,
  mideleg = 0x303,
  mie = 0x304,
  mtvec = 0x305,
  mcounteren = 0x306,
  menvcfg = 0x30a,
  mcountinhibit = 0x320,
  mhpmevent3 = 0x323,
  mhpmevent31 = 0x33f,
  mscratch = 0x340,
  mepc = 0x341,
  mcause = 0x342,
  mtval = 0x343,
  mip = 0x344,
  mtinst = 0x34a,
  mtval2 = 0x34b,
  pmpcfg0 = 0x3a0,
  pmpcfg15 = 0x3af,
  pmpaddr0 = 0x3b0,
  pmpaddr63 = 0x3ef,
  mcycle = 0xb00,
  minstret = 0xb02,
  mhpmcounter3 = 0xb03,
  mhpmcounter31 = 0xb1f,
}

/** mstatus fields (all in the low 32 bits except UXL/SXL/SD, which are synthesized). */
export const enum Mstatus {
  SIE = 1 << 1,
  MIE = 1 << 3,
  SPIE = 1 << 5,
  MPIE = 1 << 7,
  SPP = 1 << 8,
  MPP_SHIFT = 11,
  MPP = 3 << 11,
  FS_SHIFT = 13,
  FS = 3 << 13,
  MPRV = 1 << 17,
  SUM = 1 << 18,
  MXR = 1 << 19,
  TVM = 1 << 20,
  TW = 1 << 21,
  TSR = 1 << 22,
  /** Bits software can write through mstatus. */
  WRITABLE = SIE | MIE | SPIE | MPIE | SPP | MPP | FS | MPRV | SUM | MXR | TVM | TW | TSR,
  /** Bits visible through sstatus (low word). */
  SSTATUS = SIE | SPIE | SPP | FS | SUM | MXR,
  /** mstatus high word: UXL = SXL = 2 (64-bit). SD (bit 63) is added when FS is Dirty. */
  HI_XL = 0x0000000a,
  /** mstatus high word (stored in the slot's high half): GVA (bit 38) and MPV (bit 39). */
  HI_GVA = 1 << 6,
  HI_MPV = 1 << 7,
}

/** hstatus fields (low word; VSXL = 2 in the high word is synthesized). */
export const enum Hstatus {
  GVA = 1 << 6,
  SPV = 1 << 7,
  SPVP = 1 << 8,
  HU = 1 << 9,
  VTVM = 1 << 20,
  VTW = 1 << 21,
  VTSR = 1 << 22,
  WRITABLE = GVA | SPV | SPVP | HU | VTVM | VTW | VTSR,
  HI_VSXL = 2,
}

/** Interrupt bits of mip/mie (and causes, as bit numbers). */
export const enum Irq {
  SSIP = 1 << 1,
  MSIP = 1 << 3,
  STIP = 1 << 5,
  MTIP = 1 << 7,
  SEIP = 1 << 9,
  MEIP = 1 << 11,
  /** Bits of mie that exist. */
  ALL = SSIP | MSIP | STIP | MTIP | SEIP | MEIP,
  /** Bits of mip that M-mode software may write; also the delegable ones (mideleg). */
  S_ALL = SSIP | STIP | SEIP,
  VSSIP = 1 << 2,
  VSTIP = 1 << 6,
  VSEIP = 1 << 10,
  SGEIP = 1 << 12,
  /** The VS-level interrupts: always delegated past M (mideleg read-only one). */
  VS_ALL = VSSIP | VSTIP | VSEIP,
}

/** Exception causes (mcause/scause with interrupt bit clear). */
export const enum Cause {
  INSN_MISALIGNED = 0,
  INSN_ACCESS = 1,
  ILLEGAL_INSN = 2,
  BREAKPOINT = 3,
  LOAD_MISALIGNED = 4,
  LOAD_ACCESS = 5,
  STORE_MISALIGNED = 6,
  STORE_ACCESS = 7,
  ECALL_U = 8,
  ECALL_S = 9,
  ECALL_VS = 10,
  ECALL_M = 11,
  INSN_PAGE_FAULT = 12,
  LOAD_PAGE_FAULT = 13,
  STORE_PAGE_FAULT = 15,
  INSN_GUEST_PAGE_FAULT = 20,
  LOAD_GUEST_PAGE_FAULT = 21,
  VIRTUAL_INSN = 22,
  STORE_GUEST_PAGE_FAULT = 23,
}

/** hedeleg bits that can be set (table "Bits of hedeleg that must be writable"). */
export const HEDELEG_WRITABLE = 0xb1ff;

/** medeleg bits that can be set: causes 0-10, 12, 13, 15 and (H) 20-23; ecall-from-M and reserved ones stay zero. */
export const MEDELEG_WRITABLE = 0xf0b7ff;

/** misa: MXL = 2 (RV64) in the high word; extensions A C D F H I M S U. */
export const MISA_LO =
  (1 << 0) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 7) | (1 << 8) | (1 << 12) | (1 << 18) | (1 << 20);
export const MISA_HI = 0x80000000 | 0;

/** Privilege levels. */
export const enum Priv {
  U = 0,
  S = 1,
  M = 3,
}
