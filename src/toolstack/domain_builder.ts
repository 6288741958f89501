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
 * Slots. Devices fill the 8 virtio-mmio slots in order: disks, entropy, control, the optional
 * virtio console, network interfaces. Each slot is a `VirtioSlot` whose device can be swapped
 * while the domain runs (block-attach/detach).
 */
import { UserError } from '../common/errors.ts';
import { checkKernel, isElf } from '../machine/loader.ts';
import type { BlockBackend } from '../machine/virtio/blk.ts';
import { VirtioBlk } from '../machine/virtio/blk.ts';
import { VirtioConsole } from '../machine/virtio/console.ts';
import type { VirtioDeviceModel } from '../machine/virtio/device.ts';
import { VIRTIO_MMIO_DEVICE_ID, VirtioMmio } from '../machine/virtio/mmio.ts';
import { VirtioNet } from '../machine/virtio/net.ts';
import { VirtioRng } from '../machine/virtio/rng.ts';
import type { MmioDevice } from '../machine/device.ts';
import { GUEST_RAM_BASE, GUEST_VIRTIO_BASE, GUEST_VIRTIO_SLOTS, type Domain } from '../hypervisor/domain.ts';
import type { Hypervisor } from '../hypervisor/hypervisor.ts';
import { buildGuestFdt } from './guest_fdt.ts';

export const KERNEL_OFFSET = 0x20_0000;

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
}

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
  control: VirtioConsole;
  nets: VirtioNet[];
  slots: VirtioSlot[];
  /** Puts a new device model into an empty slot; returns the slot index. */
  plug(model: VirtioDeviceModel): number;
  /** Empties slot `index`. */
  unplug(index: number): void;
}

/** The platform device name Linux gives virtio-mmio slot `index` (for the agent's bind/unbind). */
export function slotDeviceName(index: number): string {
  return `${(GUEST_VIRTIO_BASE + index * 0x1000).toString(16)}.virtio_mmio`;
}

/** Creates, loads and starts (unless `cfg.paused`) a domain from `cfg`. */
export function buildDomain(hv: Hypervisor, cfg: DomainConfig): BuiltDomain {
  checkKernel(cfg.kernel, cfg.kernelName ?? 'image');
  if (isElf(cfg.kernel)) {
    throw new UserError(
      `kernel ${cfg.kernelName ?? ''} is an ELF file; a hosted domain boots a Linux Image (arch/riscv/boot/Image)`,
    );
  }
  const kernelBase = GUEST_RAM_BASE + KERNEL_OFFSET;
  const initrdStart = kernelBase + Math.min(cfg.memoryBytes / 2, 128 * 1024 * 1024);
  const needed =
    (cfg.initrd ? initrdStart + cfg.initrd.length : kernelBase + cfg.kernel.length) - GUEST_RAM_BASE;
  if (needed + (4 << 20) > cfg.memoryBytes) {
    throw new UserError(
      `domain ${cfg.name}: kernel and initrd do not fit in ${cfg.memoryBytes >> 20} MiB; give it at least ${Math.ceil(needed / (1 << 20)) + 8} MiB`,
    );
  }
  const d = hv.createDomain({
    name: cfg.name,
    memoryBytes: cfg.memoryBytes,
    vcpus: cfg.vcpus,
    ...(cfg.weight !== undefined && { weight: cfg.weight }),
    ...(cfg.cap !== undefined && { cap: cfg.cap }),
  });
  try {
    const hvc = /(^|\s)console=hvc0(\s|,|$)/.test(cfg.cmdline) && !cfg.virtioConsole;
    d.consoleKind = hvc ? 'sbi' : 'uart';
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
    });
    const end = GUEST_RAM_BASE + cfg.memoryBytes;
    const dtbAddr = Math.floor((end - dtb.length) / (2 << 20)) * (2 << 20);
    load(d, dtbAddr, dtb, 'device tree');

    const models: VirtioDeviceModel[] = [];
    for (const disk of cfg.disks ?? []) models.push(new VirtioBlk(disk));
    models.push(new VirtioRng(cfg.random));
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
    models.push(control);
    if (cfg.virtioConsole) {
      const con = new VirtioConsole((bytes) => d.consoleWrite(bytes));
      models.push(con);
      d.virtioConsole = con;
    }
    const nets = (cfg.vifs ?? []).map((v) => new VirtioNet({ mac: v.mac, onTransmit: v.onTransmit }));
    models.push(...nets);
    if (models.length > GUEST_VIRTIO_SLOTS) {
      throw new UserError(
        `domain ${cfg.name} asks for ${models.length} virtio devices; a domain has ${GUEST_VIRTIO_SLOTS} slots`,
      );
    }
    const mmio = (i: number, model: VirtioDeviceModel | null) =>
      new VirtioMmio(model, d.memory, d.irqLine(1 + i));
    const slots: VirtioSlot[] = [];
    for (let i = 0; i < GUEST_VIRTIO_SLOTS; i++) {
      const slot = new VirtioSlot(`virtio${i}`, mmio(i, models[i] ?? null));
      slots.push(slot);
      d.registerIoreq(GUEST_VIRTIO_BASE + i * 0x1000, slot);
    }
    d.vcpus[0]!.start(kernelBase >>> 0, 0, dtbAddr);
    if (!cfg.paused) hv.unpause(d);
    return {
      domain: d,
      control,
      nets,
      slots,
      plug(model) {
        const i = slots.findIndex((s) => s.empty);
        if (i < 0) throw new UserError(`domain ${cfg.name} has no free virtio slot; detach a device first`);
        slots[i]!.current = mmio(i, model);
        return i;
      },
      unplug(index) {
        const slot = slots[index];
        if (!slot || slot.empty)
          throw new UserError(`domain ${cfg.name} has no device in virtio slot ${index}`);
        slot.current = mmio(index, null);
      },
    };
  } catch (e) {
    hv.destroyDomain(d);
    throw e;
  }
}

function load(d: Domain, gpa: number, bytes: Uint8Array, what: string): void {
  if (!d.memory.write(gpa, bytes)) {
    throw new UserError(
      `domain ${d.name}: the ${what} (${bytes.length} bytes) does not fit in its memory at 0x${gpa.toString(16)}`,
    );
  }
}
