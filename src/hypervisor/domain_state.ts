/**
 * A domain's state as save/restore and migration carry it (toolstack/migration/ frames it):
 * the vCPUs' architectural state, what the hypervisor keeps beside it (SBI HSM state, timer
 * deadlines, steal-time records), the board devices (PLIC, UART, RTC), and which guest frames
 * hold RAM. Device models the toolstack attached (virtio) save themselves.
 *
 * Time. A guest reads `time` + htimedelta. A restored domain continues from the guest time at
 * which it was saved, whatever the new host's clock says: the domain's `timeOffsetTicks` (guest
 * time minus host time) becomes htimedelta of every vCPU, and deadlines travel in guest time.
 * So the guest sees no jump backwards and no gap (the time it spent saved does not pass for it,
 * as for a Xen HVM guest); its RTC, a wall clock, moves on with the host.
 *
 * What is refused. Paravirtual state that points outside the domain cannot be carried: a save
 * of a domain with open event channels, mapped grants, or hypervisor pages in its physmap
 * (shared_info, grant frames) fails with one sentence instead of writing a file that would not
 * restore faithfully. The one exception is the xenstore channel (HVM_PARAM_STORE_EVTCHN, its
 * remote dom0): the toolstack that restores the domain gives it a new one, sets the store params
 * itself, and introduces the domain to its xenstored again, as Xen's toolstack does; so the saved
 * STORE_PFN / STORE_EVTCHN are not applied on restore.
 */
import { UserError } from '../common/errors.ts';
import { Csr } from '../machine/hart/csr_defs.ts';
import { hostCsrWrite } from '../machine/hart/csr.ts';
import { csrIndex, CsrSlot, HS } from '../machine/hart/layout.ts';
import { HartState } from './abi/sbi.ts';
import {
  EVTCHNSTAT_interdomain,
  EVTCHNSTAT_unbound,
  HVM_NR_PARAMS,
  HVM_PARAM_STORE_EVTCHN,
  HVM_PARAM_STORE_PFN,
} from './abi/xen.ts';
import { GUEST_RAM_BASE, type Domain } from './domain.ts';
import { evtchn_ports_in_use, evtchn_status } from './evtchn.ts';
import { DOMID_CONTROL } from './xsm.ts';
import type { EvtchnHost } from './evtchn.ts';
import type { Gfn } from './p2m.ts';
import type { Vcpu } from './vcpu.ts';

/** Bytes of a hart block that hold architectural state (registers, scalars, CSRs, counters). */
export const VCPU_CONTEXT_BYTES = 0x1000;

const TWO32 = 4294967296;

/** What the hypervisor keeps for a domain beyond memory and hart blocks (JSON). */
export interface HypervisorState {
  version: 1;
  /** Guest time (ticks of the 10 MHz timebase) when the state was taken. */
  guestTime: number;
  vcpus: {
    hsm: number;
    blocked: boolean;
    /** Guest-time deadlines; null when not armed. */
    timer: number | null;
    poll: number | null;
    pvBlock: 'none' | 'block' | 'poll';
    pollPorts: number[];
    staGpa: number;
    /** Steal time the guest's STA record has counted so far, ms. */
    staStealMs: number;
  }[];
  hvmParams: number[];
}

/** Which guest frames hold RAM: for each GFN of the span from `baseGfn`, its machine frame (MFN), or -1. */
export interface RamMap {
  baseGfn: number;
  mfns: Int32Array;
}

/** Sets the domain's guest-time offset and writes it to every vCPU's htimedelta. */
export function setTimeOffset(d: Domain, ticks: number): void {
  d.timeOffsetTicks = ticks;
  for (const v of d.vcpus) writeTimeDelta(v);
}

/** Writes the domain's guest-time offset to `v`'s htimedelta (after a reset cleared it). */
export function writeTimeDelta(v: Vcpu): void {
  const t = v.domain.timeOffsetTicks;
  const hi = Math.floor(t / TWO32);
  const i = csrIndex(CsrSlot.HTIMEDELTA);
  v.hart.S[i] = (t - hi * TWO32) | 0;
  v.hart.S[i + 1] = hi | 0;
}

/** The guest's time now, for a host clock reading `hostNow`. */
export function guestTime(d: Domain, hostNow: number): number {
  return hostNow + d.timeOffsetTicks;
}

/** Refuses (UserError) to save a domain whose state reaches outside it. */
export function checkSavable(d: Domain, x: EvtchnHost): void {
  const ports = Math.max(0, evtchn_ports_in_use(x, d.id)) - (hasStorePort(d, x) ? 1 : 0);
  const pv = d.pv;
  const mapped = pv !== undefined && (pv.maptrack.some((m) => m !== undefined) || pv.sharedInfoGfn >= 0);
  const grants = pv !== undefined && pv.grantGfns.some((g) => g >= 0);
  if (ports > 0 || mapped || grants) {
    throw new UserError(
      `domain ${d.name} uses paravirtual state (${ports} event channel(s)${mapped ? ', mapped grants or shared_info' : ''}${grants ? ', grant frames' : ''}) that Domus cannot save yet; shut it down instead`,
    );
  }
  const base = GUEST_RAM_BASE / 4096;
  for (let gfn = base; gfn < base + d.maxPages; gfn++) {
    if (d.pageKind(gfn) === 'shared') {
      throw new UserError(
        `domain ${d.name} has a foreign page mapped at 0x${(gfn * 4096).toString(16)}, which Domus cannot save; unmap it or shut the domain down`,
      );
    }
  }
}

/** Whether the domain's HVM_PARAM_STORE_EVTCHN names a port of its whose remote end is dom0. */
function hasStorePort(d: Domain, x: EvtchnHost): boolean {
  const port = d.pv?.getParam(HVM_PARAM_STORE_EVTCHN) ?? 0;
  if (port <= 0) return false;
  const st = evtchn_status(x, DOMID_CONTROL, d.id, port);
  if (typeof st === 'number' || st.dom !== DOMID_CONTROL) return false;
  return st.status === EVTCHNSTAT_unbound || st.status === EVTCHNSTAT_interdomain;
}

/** The RAM frames of the domain's physmap (call with the domain paused). */
export function ramMap(d: Domain): RamMap {
  const base = GUEST_RAM_BASE / 4096;
  const mfns = new Int32Array(d.maxPages).fill(-1);
  for (let i = 0; i < d.maxPages; i++) {
    const mfn = d.p2m.mfnOf(base + i);
    if (mfn >= 0 && d.pageKind(base + i) === 'ram') mfns[i] = mfn;
  }
  return { baseGfn: base, mfns };
}

/** Removes RAM from the GFNs a saved domain did not have populated (ballooned out). */
export function dropUnpopulated(d: Domain, gfns: Iterable<number>): void {
  for (const gfn of gfns) d.depopulate(gfn as Gfn);
}

/** A copy of vCPU `v`'s architectural state. */
export function captureVcpu(v: Vcpu): Uint8Array {
  return new Uint8Array(v.hart.S.buffer, v.hart.base, VCPU_CONTEXT_BYTES).slice();
}

/**
 * Loads a saved context into `v`: the saved registers and CSRs, except what belongs to this
 * host (hgatp names this domain's P2M here, htimedelta the domain's time offset), with no
 * exit pending, no LR reservation and empty translation caches.
 */
export function restoreVcpu(v: Vcpu, context: Uint8Array): void {
  if (context.length !== VCPU_CONTEXT_BYTES) {
    throw new RangeError(`a vCPU context is ${VCPU_CONTEXT_BYTES} bytes, not ${context.length}`);
  }
  const h = v.hart;
  v.resetArch();
  const hg = csrIndex(CsrSlot.HGATP);
  const keep = [h.S[hg]!, h.S[hg + 1]!];
  new Uint8Array(h.S.buffer, h.base, VCPU_CONTEXT_BYTES).set(context);
  h.S[hg] = keep[0]!;
  h.S[hg + 1] = keep[1]!;
  h.S[HS.HARTID] = v.vcpuId;
  h.S[HS.EXIT_CAUSE] = -1;
  h.S[HS.RES_VALID] = 0;
  writeTimeDelta(v);
  // Re-derive what the hart caches from its PMP CSRs, then forget every translation.
  const pmp = csrIndex(CsrSlot.PMPCFG0);
  hostCsrWrite(h, Csr.pmpcfg0, BigInt(h.S[pmp]! >>> 0) | (BigInt(h.S[pmp + 1]! >>> 0) << 32n));
  h.flushGStage();
  h.flushTlb(true);
  h.updateModes();
  h.irqCheck = true;
}

/** The hypervisor's state for `d` at host time `hostNow` (domain paused). */
export function captureHypervisorState(d: Domain, hostNow: number): HypervisorState {
  const g = (t: number): number | null => (t === Infinity ? null : t + d.timeOffsetTicks);
  const params: number[] = [];
  for (let i = 0; i < HVM_NR_PARAMS; i++) params.push(d.pv?.getParam(i) ?? 0);
  return {
    version: 1,
    guestTime: guestTime(d, hostNow),
    vcpus: d.vcpus.map((v) => ({
      hsm: v.hsm,
      blocked: v.blocked,
      timer: g(v.timerDeadline),
      poll: g(v.pollDeadline),
      pvBlock: v.pvBlock,
      pollPorts: [...v.pollPorts],
      staGpa: v.staGpa,
      staStealMs: v.stealMs - v.staBaseMs,
    })),
    hvmParams: params,
  };
}

/**
 * Applies a saved hypervisor state to a freshly created `d` whose vCPUs were restored: sets
 * the time offset so guest time continues from `state.guestTime` at host time `hostNow`.
 * Throws an Error naming the field when the state is malformed.
 */
export function restoreHypervisorState(d: Domain, state: unknown, hostNow: number): void {
  const s = checkState(state, d.vcpus.length);
  setTimeOffset(d, s.guestTime - hostNow);
  const h = (t: number | null): number => (t === null ? Infinity : t - d.timeOffsetTicks);
  s.vcpus.forEach((sv, i) => {
    const v = d.vcpus[i]!;
    v.hsm = sv.hsm as HartState;
    v.blocked = sv.blocked;
    v.timerDeadline = h(sv.timer);
    v.pollDeadline = h(sv.poll);
    v.pvBlock = sv.pvBlock;
    v.pollPorts = [...sv.pollPorts];
    v.staGpa = sv.staGpa;
    v.staBaseMs = v.stealMs - sv.staStealMs;
  });
  // The xenstore page and channel are this host's, set when the domain was built here.
  const ours = (i: number) => i === HVM_PARAM_STORE_PFN || i === HVM_PARAM_STORE_EVTCHN;
  if (d.pv) s.hvmParams.forEach((p, i) => ours(i) || d.pv!.setParam(i, p));
}

function checkState(state: unknown, vcpus: number): HypervisorState {
  const kind = 'HypervisorState';
  const o = state as Partial<HypervisorState> | null;
  if (typeof o !== 'object' || o === null) throw new Error(`${kind} must be an object`);
  if (o.version !== 1) throw new Error(`${kind}.version must be 1 (got ${String(o.version)})`);
  const int = (v: unknown, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
      throw new Error(`${kind}.${what} must be an integer in ${min}..${max} (got ${String(v)})`);
    return v;
  };
  const time = (v: unknown, what: string): void => {
    if (v !== null) int(v, what);
  };
  int(o.guestTime, 'guestTime');
  if (!Array.isArray(o.vcpus) || o.vcpus.length !== vcpus)
    throw new Error(`${kind}.vcpus must list ${vcpus} vCPUs`);
  o.vcpus.forEach((v, i) => {
    const at = `vcpus[${i}]`;
    if (typeof v !== 'object' || v === null) throw new Error(`${kind}.${at} must be an object`);
    int(v.hsm, `${at}.hsm`, HartState.STARTED, HartState.RESUME_PENDING);
    if (typeof v.blocked !== 'boolean') throw new Error(`${kind}.${at}.blocked must be true or false`);
    time(v.timer, `${at}.timer`);
    time(v.poll, `${at}.poll`);
    if (!['none', 'block', 'poll'].includes(v.pvBlock))
      throw new Error(`${kind}.${at}.pvBlock must be none, block or poll`);
    if (!Array.isArray(v.pollPorts)) throw new Error(`${kind}.${at}.pollPorts must be an array`);
    v.pollPorts.forEach((p, j) => int(p, `${at}.pollPorts[${j}]`));
    int(v.staGpa, `${at}.staGpa`, -1);
    if (typeof v.staStealMs !== 'number' || !(v.staStealMs >= 0))
      throw new Error(`${kind}.${at}.staStealMs must be a number of milliseconds`);
  });
  if (!Array.isArray(o.hvmParams) || o.hvmParams.length !== HVM_NR_PARAMS)
    throw new Error(`${kind}.hvmParams must list ${HVM_NR_PARAMS} values`);
  o.hvmParams.forEach((p, i) => int(p, `hvmParams[${i}]`));
  return o as HypervisorState;
}

/** The board devices' states, by name. */
export function captureBoardDevices(d: Domain): { name: string; state: unknown }[] {
  return [
    { name: 'plic', state: d.plic.saveState() },
    { name: 'uart', state: d.uart.saveState() },
    { name: 'rtc', state: d.rtc.saveState() },
  ];
}

/** Restores a board device by name; false when `name` is not a board device. */
export function restoreBoardDevice(d: Domain, name: string, state: unknown): boolean {
  if (name === 'plic') d.plic.restoreState(state);
  else if (name === 'uart') d.uart.restoreState(state);
  else if (name === 'rtc') d.rtc.restoreState(state);
  else return false;
  return true;
}
