/**
 * The pCPU's half of save and restore (the host's half, which writes and reads the stream, is
 * save_restore.ts). A save pauses the domain, flushes the disks in its virtio slots and hands
 * the host everything but RAM — vCPU contexts, the hypervisor's state for it, the board's and
 * the virtio slots' device states, the slot layout — plus the map of its RAM frames, which the
 * host reads from the shared machine memory while the domain stays paused. A restore builds
 * the domain from the saved layout without loading anything (domain_builder.ts), takes its RAM
 * in batches, then its vCPUs, hypervisor state and devices.
 *
 * Device states are named: `plic`, `uart`, `rtc` for the board, `virtio0`… for the slots.
 */
import { UserError } from '../common/errors.ts';
import type { Domain } from '../hypervisor/domain.ts';
import {
  captureBoardDevices,
  captureHypervisorState,
  captureVcpu,
  checkSavable,
  dropUnpopulated,
  ramMap,
  restoreBoardDevice,
  restoreHypervisorState,
  restoreVcpu,
} from '../hypervisor/domain_state.ts';
import type { Hypervisor } from '../hypervisor/hypervisor.ts';
import type { DomainDisk } from './domain_disk.ts';
import type { BuiltDomain } from './domain_builder.ts';
import type { DiskSpec, SaveSnapshot } from './pcpu_protocol.ts';

/** What a save needs of a resident domain (pcpu.ts's record of it). */
export interface SavableDomain {
  domain: Domain;
  built: BuiltDomain;
  disks: DomainDisk[];
  diskSpecs: DiskSpec[];
  macs: string[];
}

/** Pauses `r`'s domain and takes its state; throws (leaving it as it was) if it cannot be saved. */
export function beginSave(hv: Hypervisor, r: SavableDomain): SaveSnapshot {
  const d = r.domain;
  if (d.state === 'shutdown' || d.state === 'dying') {
    throw new UserError(`domain ${d.name} has shut down; there is nothing to save`);
  }
  checkSavable(d, hv);
  const wasPaused = d.state === 'paused';
  hv.pause(d);
  try {
    // The guest's completed writes reach the disk before the memory that knows about them is saved.
    for (const spec of r.built.layout) if (spec.kind === 'blk') r.disks[spec.disk]?.flush();
    d.flushConsole();
    const ram = ramMap(d);
    return {
      wasPaused,
      baseGfn: ram.baseGfn,
      mfns: ram.mfns,
      vcpus: d.vcpus.map(captureVcpu),
      hypervisor: captureHypervisorState(d, hv.mtime()),
      devices: [
        ...captureBoardDevices(d),
        ...r.built.slots.map((s) => ({ name: s.name, state: s.current.saveState() })),
      ],
      layout: r.built.layout.map((s) => ({ ...s })),
      disks: r.diskSpecs.map((s) => ({ ...s })),
      macs: [...r.macs],
      ...(d.dirtyLog && { dirty: d.dirtyLog.collect() }),
      diskWrites: r.disks.flatMap((f, disk) => f.take().map((w) => ({ disk, ...w }))),
    };
  } catch (e) {
    if (!wasPaused) hv.unpause(d);
    throw e;
  }
}

/** Writes a batch of saved pages into a domain being restored. */
export function restorePages(
  d: Domain,
  gfns: number[],
  data: Uint8Array,
  zero: number[],
  absent: number[],
): void {
  if (data.length !== gfns.length * 4096) {
    throw new RangeError(`a page batch of ${gfns.length} pages carries ${data.length} bytes`);
  }
  const blank = new Uint8Array(4096);
  const put = (gfn: number, page: Uint8Array) => {
    if (d.pageKind(gfn) !== 'ram' || !d.memory.write(gfn * 4096, page)) {
      throw new UserError(
        `the save file has a page at 0x${(gfn * 4096).toString(16)}, outside domain ${d.name}'s ${d.memoryBytes >> 20} MiB of RAM`,
      );
    }
  };
  gfns.forEach((gfn, i) => put(gfn, data.subarray(i * 4096, (i + 1) * 4096)));
  for (const gfn of zero) put(gfn, blank);
  dropUnpopulated(d, absent);
}

/** Loads vCPU, hypervisor and device states into a domain being restored (it stays paused). */
export function finishRestore(
  hv: Hypervisor,
  d: Domain,
  built: BuiltDomain,
  vcpus: Uint8Array[],
  hypervisor: unknown,
  devices: { name: string; state: unknown }[],
): void {
  if (vcpus.length !== d.vcpus.length) {
    throw new UserError(
      `the save file has ${vcpus.length} vCPU states for a domain with ${d.vcpus.length} vCPUs`,
    );
  }
  vcpus.forEach((ctx, i) => restoreVcpu(d.vcpus[i]!, ctx));
  restoreHypervisorState(d, hypervisor, hv.mtime());
  const seen = new Set<string>();
  for (const { name, state } of devices) {
    if (seen.has(name)) throw new UserError(`the save file has the state of device ${name} twice`);
    seen.add(name);
    if (restoreBoardDevice(d, name, state)) continue;
    const slot = built.slots.find((s) => s.name === name);
    if (!slot)
      throw new UserError(`the save file has the state of a device ${name} this domain does not have`);
    slot.current.restoreState(state);
  }
  for (const name of ['plic', 'uart', 'rtc', ...built.slots.map((s) => s.name)]) {
    if (!seen.has(name)) throw new UserError(`the save file lacks the state of device ${name}`);
  }
}
