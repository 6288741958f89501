/**
 * What the hypervisor does when a vCPU exits (a trap the guest does not handle itself):
 *
 * - ecall from VS-mode (10): a hypercall when a7 is the Domus extension (hypercall.ts), else an
 *   SBI call (vsbi.ts);
 * - load/store guest-page fault (21, 23) on an address the domain's bus claims: MMIO emulation
 *   of the trapping load or store (described by the hart's transformed instruction, htinst) on
 *   the emulated device or IOREQ server; on an address nothing claims: an access fault for the
 *   guest (5 or 7), as on hardware with nothing there;
 * - instruction guest-page fault (20): an instruction access fault for the guest;
 * - virtual instruction (22): an illegal instruction for the guest (Domus emulates no
 *   privileged instruction for its guests);
 * - anything else: the same exception, handed to the guest.
 */
import { Cause } from '../machine/hart/csr_defs.ts';
import { HS } from '../machine/hart/layout.ts';
import { DOMUS_HYPERCALL_EID } from './abi/xen.ts';
import { handleHypercall, type HypercallHost } from './hypercall.ts';
import { handleSbiCall, type SbiHost } from './vsbi.ts';
import type { Vcpu } from './vcpu.ts';

const TWO32 = 4294967296;

export function handleExit(host: SbiHost & HypercallHost, v: Vcpu): void {
  const S = v.hart.S;
  const raw = S[HS.EXIT_CAUSE]!;
  S[HS.EXIT_CAUSE] = -1;
  v.hart.yieldRequest = false;
  const cause = raw & 0x7fffffff;
  if (raw < 0) {
    // An interrupt for HS/M level: nothing in a hosted vCPU raises one. Ignore it.
    return;
  }
  const tvalLo = S[HS.EXIT_TVAL_LO]!;
  const tvalHi = S[HS.EXIT_TVAL_HI]!;
  switch (cause) {
    case Cause.ECALL_VS:
      if (v.hart.X[2 * 17]! >>> 0 === DOMUS_HYPERCALL_EID) handleHypercall(host, v);
      else handleSbiCall(host, v);
      return;
    case Cause.LOAD_GUEST_PAGE_FAULT:
    case Cause.STORE_GUEST_PAGE_FAULT:
      if (logDirtyFault(v)) return;
      if (!emulateMmio(v, cause === Cause.STORE_GUEST_PAGE_FAULT)) {
        v.hart.enterVs(
          cause === Cause.STORE_GUEST_PAGE_FAULT ? Cause.STORE_ACCESS : Cause.LOAD_ACCESS,
          false,
          tvalLo,
          tvalHi,
        );
      }
      return;
    case Cause.INSN_GUEST_PAGE_FAULT:
      if (logDirtyFault(v)) return;
      v.hart.enterVs(Cause.INSN_ACCESS, false, tvalLo, tvalHi);
      return;
    case Cause.VIRTUAL_INSN:
      v.hart.enterVs(Cause.ILLEGAL_INSN, false, tvalLo, tvalHi);
      return;
    default:
      v.hart.enterVs(cause, false, tvalLo, tvalHi);
  }
}

/**
 * A guest-page fault on RAM that log-dirty mode write-protected (the access itself, or the
 * VS-stage walk updating a PTE's A/D bits): the page is marked and made writable, and the
 * access is retried (pc still points at it).
 */
function logDirtyFault(v: Vcpu): boolean {
  const log = v.domain.dirtyLog;
  if (log === null) return false;
  const S = v.hart.S;
  const gfn = Math.floor(((S[HS.EXIT_HTVAL_HI]! >>> 0) * TWO32 + (S[HS.EXIT_HTVAL_LO]! >>> 0)) / 1024);
  return log.fault(gfn);
}

/**
 * Emulates the load or store that took a guest-page fault. The guest physical address is
 * htval << 2 plus the low bits of the guest virtual address; the access is decoded from htinst.
 * Returns false when no device claims the address (or the access is not a plain load/store).
 */
function emulateMmio(v: Vcpu, isStore: boolean): boolean {
  const h = v.hart;
  const S = h.S;
  const htinst = S[HS.EXIT_HTINST]!;
  if (htinst === 0 || (htinst & 1) === 0) return false;
  const gpa =
    ((S[HS.EXIT_HTVAL_HI]! >>> 0) * TWO32 + (S[HS.EXIT_HTVAL_LO]! >>> 0)) * 4 + (S[HS.EXIT_TVAL_LO]! & 3);
  const insn = htinst | 2; // a compressed instruction's transformation has bit 1 clear
  const len = htinst & 2 ? 4 : 2;
  const opcode = insn & 0x7f;
  const funct3 = (insn >>> 12) & 7;
  const width = 1 << (funct3 & 3);
  const bus = v.domain.bus;
  if (isStore) {
    if (opcode !== 0x23) return false;
    const rs2 = (insn >>> 20) & 31;
    const lo = h.X[2 * rs2]!;
    const hi = h.X[2 * rs2 + 1]!;
    if (!bus.write(gpa, width as 1 | 2 | 4 | 8, lo, hi)) return false;
  } else {
    if (opcode !== 0x03) return false;
    if (!bus.read(gpa, width as 1 | 2 | 4 | 8)) return false;
    const rd = (insn >>> 7) & 31;
    let lo = bus.value | 0;
    let hi = bus.valueHi | 0;
    const unsigned = (funct3 & 4) !== 0;
    if (width === 1) lo = unsigned ? lo & 0xff : (lo << 24) >> 24;
    else if (width === 2) lo = unsigned ? lo & 0xffff : (lo << 16) >> 16;
    if (width < 8) hi = unsigned ? 0 : lo >> 31;
    h.setX(rd, lo, hi);
  }
  const pcLo = (S[HS.PC_LO]! + len) | 0;
  if (pcLo >>> 0 < len) S[HS.PC_HI] = (S[HS.PC_HI]! + 1) | 0;
  S[HS.PC_LO] = pcLo;
  h.irqCheck = true;
  return true;
}
