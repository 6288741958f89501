/**
 * The domain builder: turns a plain config into a running domain — creates it in the
 * hypervisor, loads the kernel and initrd into its memory where the `virt` board's boot
 * protocol puts them (kernel at 0x8020_0000, initrd at kernel + min(RAM/2, 128 MiB), DTB below
 * the end of RAM), writes the device tree, attaches virtio devices (disks, entropy, a console)
 * as IOREQ servers on the virtio-mmio slots, and starts vCPU 0 at the kernel entry with
 * a0 = 0, a1 = the DTB. No firmware runs in the guest: the hypervisor is its SBI.
 *
 * Every domain also gets a control channel: a virtio-serial port named `org.domus.control`
 * on which the guest agent (guests/rootfs/init) takes clean shutdown, reboot and device-bind
 * requests, as a PV guest takes them from xenstore's control/ nodes. Network interfaces are
 * virtio-net devices whose frames the caller carries to a virtual switch.
 *
 * Every domain also gets a xenstore ring, as Xen's toolstack gives one: its magic page is the
 * last page of its RAM (pinned in the hypervisor, reserved in the device tree; the device tree
 * itself goes below it) and its port an unbound port whose remote is dom0; both are given to the
 * guest as HVM_PARAM_STORE_PFN and HVM_PARAM_STORE_EVTCHN before it runs. The host introduces
 * the domain to its xenstored (guest_xenstore.ts).
 *
 * Slots. Devices fill the 8 virtio-mmio slots in order: disks, entropy, control, the memory
 * balloon (mem-set), the optional virtio console, network interfaces. Each slot is a `VirtioSlot` whose device can be swapped
 * while the domain runs (block-attach/detach).
 */
import { UserError } from '../common/errors.ts';
import { checkKernel, isElf } from '../machine/loader.ts';
import type { BlockBackend } from '../machine/virtio/blk.ts';
import { VirtioBalloon } from '../machine/virtio/balloon.ts';
import { VirtioBlk } from '../machine/virtio/blk.ts';
import { VirtioConsole } from '../machine/virtio/console.ts';
import type { VirtioDeviceModel } from '../machine/virtio/device.ts';
import { VIRTIO_MMIO_DEVICE_ID, VirtioMmio } from '../machine/virtio/mmio.ts';
import { VirtioNet } from '../machine/virtio/net.ts';
import { VirtioRng } from '../machine/virtio/rng.ts';
import type { MmioDevice } from '../machine/device.ts';
import { GUEST_RAM_BASE, GUEST_VIRTIO_BASE, GUEST_VIRTIO_SLOTS, type Domain } from '../hypervisor/domain.ts';
import type { Gfn } from '../hypervisor/p2m.ts';
import type { Hypervisor } from '../hypervisor/hypervisor.ts';
import { HVM_PARAM_STORE_EVTCHN, HVM_PARAM_STORE_PFN } from '../hypervisor/abi/xen.ts';
import { magic_page_pin } from '../hypervisor/magic_page.ts';
import { DOMID_CONTROL } from '../hypervisor/xsm.ts';
import { buildGuestFdt } from './guest_fdt.ts';

export const KERNEL_OFFSET = 0x20_0000;

/** The guest frame of a domain's xenstore page: the last page of its RAM (docs/abi.md). */
export function storePageGfn(memoryBytes: number): number {
  return (GUEST_RAM_BASE + memoryBytes) / 4096 - 1;
}

/** A domain's xenstore ring: its page (guest frame) and its port, whose remote end is dom0. */
export interface StoreRing {
  gfn: number;
  port: number;
}

export interface DomainConfig {
  name: string;
  memoryBytes: number;
  vcpus: number;
  kernel: Uint8Array;
  kernelName?: string;
  initrd?: Uint8Array;
  cmdline: string;
  disks?: BlockBackend[];
  /** Also give the guest a virtio console (hvc0). */
  virtioConsole?: boolean;
  weight?: number;
  cap?: number;
  /** Random bytes for the DTB rng-seed and virtio-rng. */
  random: (dst: Uint8Array) => void;
  /** Leave it paused (xl create -p) instead of starting it. */
  paused?: boolean;
  /** Network interfaces: a MAC and where transmitted frames go. */
  vifs?: { mac: Uint8Array; onTransmit(frame: Uint8Array): void }[];
  /** Lines the guest agent writes on the control channel. */
  onControlLine?: (line: string) => void;
  /**
   * Restore: rebuild exactly these slots (a saved domain's `layout`) and load nothing — the
   * saved memory, vCPUs and device states come afterwards; the domain stays paused.
   */
  layout?: SlotSpec[];
}

/**
 * What a virtio slot holds, as save files record it: a disk (an index into the domain's disk
 * list), the entropy device, the control channel, the virtio console, a network interface (by
 * devid), or nothing.
 */
export type SlotSpec =
  | { kind: 'empty' }
  | { kind: 'blk'; disk: number }
  | { kind: 'rng' }
  | { kind: 'control' }
  | { kind: 'balloon' }
  | { kind: 'console' }
  | { kind: 'net'; devid: number };

/** The name of the control channel's virtio-serial port, which the guest agent looks for. */
export const CONTROL_PORT_NAME = 'org.domus.control';

/** One virtio-mmio slot whose device can be replaced while the domain runs. */
export class VirtioSlot implements MmioDevice {
  readonly sizeBytes = 0x1000;
  constructor(
    readonly name: string,
    public current: VirtioMmio,
  ) {}
  read(offset: number, width: 1 | 2 | 4): number {
    return this.current.read(offset, width);
  }
  write(offset: number, width: 1 | 2 | 4, value: number): void {
    this.current.write(offset, width, value);
  }
  get empty(): boolean {
    return this.current.read(VIRTIO_MMIO_DEVICE_ID, 4) === 0;
  }
}

/** What buildDomain made: the domain and the device models the toolstack talks to. */
export interface BuiltDomain {
  domain: Domain;
  /** Its xenstore ring, for the host to introduce to xenstored. */
  store: StoreRing;
  control: VirtioConsole;
  /** The memory balloon (mem-set): its target moves the guest's memory down and back up. */
  balloon: VirtioBalloon;
  nets: VirtioNet[];
  slots: VirtioSlot[];
  /** What each slot holds now. */
  layout: SlotSpec[];
  /** Puts a new device model (described by `spec`) into an empty slot; returns the slot index. */
  plug(model: VirtioDeviceModel, spec: SlotSpec): number;
  /** Empties slot `index`. */
  unplug(index: number): void;
}

/** The platform device name Linux gives virtio-mmio slot `index` (for the agent's bind/unbind). */
export function slotDeviceName(index: number): string {
  return `${(GUEST_VIRTIO_BASE + index * 0x1000).toString(16)}.virtio_mmio`;
}

/** Creates, loads and starts (unless `cfg.paused`) a domain from `cfg`. */
export function buildDomain(hv: Hypervisor, cfg: DomainConfig): BuiltDomain {
  const kernelBase = GUEST_RAM_BASE + KERNEL_OFFSET;
  const initrdStart = kernelBase + Math.min(cfg.memoryBytes / 2, 128 * 1024 * 1024);
  if (!cfg.layout) checkFits(cfg, kernelBase, initrdStart);
  const d = hv.createDomain({
    name: cfg.name,
    memoryBytes: cfg.memoryBytes,
    vcpus: cfg.vcpus,
    ...(cfg.weight !== undefined && { weight: cfg.weight }),
    ...(cfg.cap !== undefined && { cap: cfg.cap }),
  });
  try {
    const store = giveStoreRing(hv, d);
    const hvc = /(^|\s)console=hvc0(\s|,|$)/.test(cfg.cmdline) && !cfg.virtioConsole;
    d.consoleKind = hvc ? 'sbi' : 'uart';
    let dtbAddr = 0;
    if (!cfg.layout) {
      load(d, kernelBase, cfg.kernel, 'kernel');
      let initrd: { start: number; end: number } | undefined;
      if (cfg.initrd) {
        load(d, initrdStart, cfg.initrd, 'initrd');
        initrd = { start: initrdStart, end: initrdStart + cfg.initrd.length };
      }
      const seed = new Uint8Array(32);
      cfg.random(seed);
      const dtb = buildGuestFdt({
        vcpus: cfg.vcpus,
        memoryBytes: cfg.memoryBytes,
        cmdline: cfg.cmdline,
        ...(initrd && { initrd }),
        stdout: hvc ? 'sbi' : 'uart',
        rngSeed: seed,
        reserved: [{ name: 'xenstore', base: store.gfn * 4096, size: 4096 }],
      });
      const end = store.gfn * 4096; // the xenstore page stays clear
      dtbAddr = Math.floor((end - dtb.length) / (2 << 20)) * (2 << 20);
      load(d, dtbAddr, dtb, 'device tree');
    }

    let partial = '';
    const control = new VirtioConsole({
      console: false,
      ports: [
        {
          name: CONTROL_PORT_NAME,
          onOutput: (bytes) => {
            partial += new TextDecoder().decode(bytes);
            let nl: number;
            while ((nl = partial.indexOf('\n')) >= 0) {
              cfg.onControlLine?.(partial.slice(0, nl));
              partial = partial.slice(nl + 1);
            }
            if (partial.length > 4096) partial = '';
          },
        },
      ],
    });
    // Inflated pages' frames go back to the machine; deflated pages get fresh (zeroed) frames.
    const balloon = new VirtioBalloon({
      inflate: (pfns) => {
        for (const gfn of pfns) if (d.inSpan(gfn)) d.depopulate(gfn as Gfn);
      },
      deflate: (pfns) => {
        for (const gfn of pfns) if (d.inSpan(gfn) && d.pageKind(gfn) === 'none') d.populate(gfn as Gfn);
      },
    });
    const con = cfg.virtioConsole ? new VirtioConsole((bytes) => d.consoleWrite(bytes)) : undefined;
    if (con) d.virtioConsole = con;
    const nets = (cfg.vifs ?? []).map((v) => new VirtioNet({ mac: v.mac, onTransmit: v.onTransmit }));
    const disks = cfg.disks ?? [];
    const layout: SlotSpec[] = cfg.layout ? [...cfg.layout] : defaultLayout(disks.length, !!con, nets.length);
    if (layout.length > GUEST_VIRTIO_SLOTS) {
      throw new UserError(
        `domain ${cfg.name} asks for ${layout.length} virtio devices; a domain has ${GUEST_VIRTIO_SLOTS} slots`,
      );
    }
    while (layout.length < GUEST_VIRTIO_SLOTS) layout.push({ kind: 'empty' });
    const modelOf = (spec: SlotSpec): VirtioDeviceModel | null => {
      switch (spec.kind) {
        case 'empty':
          return null;
        case 'blk': {
          const disk = disks[spec.disk];
          if (!disk)
            throw new UserError(
              `domain ${cfg.name}: a virtio slot names disk ${spec.disk}, which it does not have`,
            );
          return new VirtioBlk(disk);
        }
        case 'rng':
          return new VirtioRng(cfg.random);
        case 'control':
          return control;
        case 'balloon':
          return balloon;
        case 'console':
          if (!con) throw new UserError(`domain ${cfg.name}: a virtio slot holds a console it was not given`);
          return con;
        case 'net': {
          const net = nets[spec.devid];
          if (!net)
            throw new UserError(
              `domain ${cfg.name}: a virtio slot names network interface ${spec.devid}, which it does not have`,
            );
          return net;
        }
      }
    };
    const mmio = (i: number, model: VirtioDeviceModel | null) =>
      new VirtioMmio(model, d.memory, d.irqLine(1 + i));
    const slots: VirtioSlot[] = [];
    for (let i = 0; i < GUEST_VIRTIO_SLOTS; i++) {
      const slot = new VirtioSlot(`virtio${i}`, mmio(i, modelOf(layout[i]!)));
      slots.push(slot);
      d.registerIoreq(GUEST_VIRTIO_BASE + i * 0x1000, slot);
    }
    if (!cfg.layout) {
      d.vcpus[0]!.start(kernelBase >>> 0, 0, dtbAddr);
      if (!cfg.paused) hv.unpause(d);
    }
    return {
      domain: d,
      store,
      control,
      balloon,
      nets,
      slots,
      layout,
      plug(model, spec) {
        const i = slots.findIndex((s) => s.empty);
        if (i < 0) throw new UserError(`domain ${cfg.name} has no free virtio slot; detach a device first`);
        slots[i]!.current = mmio(i, model);
        layout[i] = spec;
        return i;
      },
      unplug(index) {
        const slot = slots[index];
        if (!slot || slot.empty)
          throw new UserError(`domain ${cfg.name} has no device in virtio slot ${index}`);
        slot.current = mmio(index, null);
        layout[index] = { kind: 'empty' };
      },
    };
  } catch (e) {
    hv.destroyDomain(d);
    throw e;
  }
}

/**
 * Pins the domain's xenstore page, allocates its xenstore port (unbound, remote dom0) and sets
 * HVM_PARAM_STORE_PFN / STORE_EVTCHN, before the guest runs.
 */
function giveStoreRing(hv: Hypervisor, d: Domain): StoreRing {
  const gfn = storePageGfn(d.memoryBytes);
  if (!magic_page_pin(hv.shared, d, gfn)) {
    throw new Error(`domain ${d.name}: its xenstore page 0x${(gfn * 4096).toString(16)} is not its RAM`);
  }
  const port = hv.control.allocUnboundFor(d.id, DOMID_CONTROL);
  if (port <= 0) throw new Error(`domain ${d.name}: no event channel for its xenstore ring (${port})`);
  hv.setHvmParam(d, HVM_PARAM_STORE_PFN, gfn);
  hv.setHvmParam(d, HVM_PARAM_STORE_EVTCHN, port);
  return { gfn, port };
}

/** The slots of a new domain, in order: disks, entropy, control, balloon, the optional console, network interfaces. */
function defaultLayout(disks: number, console: boolean, nets: number): SlotSpec[] {
  const layout: SlotSpec[] = [];
  for (let i = 0; i < disks; i++) layout.push({ kind: 'blk', disk: i });
  layout.push({ kind: 'rng' }, { kind: 'control' }, { kind: 'balloon' });
  if (console) layout.push({ kind: 'console' });
  for (let i = 0; i < nets; i++) layout.push({ kind: 'net', devid: i });
  return layout;
}

function checkFits(cfg: DomainConfig, kernelBase: number, initrdStart: number): void {
  checkKernel(cfg.kernel, cfg.kernelName ?? 'image');
  if (isElf(cfg.kernel)) {
    throw new UserError(
      `kernel ${cfg.kernelName ?? ''} is an ELF file; a hosted domain boots a Linux Image (arch/riscv/boot/Image)`,
    );
  }
  const needed =
    (cfg.initrd ? initrdStart + cfg.initrd.length : kernelBase + cfg.kernel.length) - GUEST_RAM_BASE;
  if (needed + (4 << 20) > cfg.memoryBytes) {
    throw new UserError(
      `domain ${cfg.name}: kernel and initrd do not fit in ${cfg.memoryBytes >> 20} MiB; give it at least ${Math.ceil(needed / (1 << 20)) + 8} MiB`,
    );
  }
}

function load(d: Domain, gpa: number, bytes: Uint8Array, what: string): void {
  if (!d.memory.write(gpa, bytes)) {
    throw new UserError(
      `domain ${d.name}: the ${what} (${bytes.length} bytes) does not fit in its memory at 0x${gpa.toString(16)}`,
    );
  }
}
