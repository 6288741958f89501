/**
 * Messages between the host (toolstack/host.ts, on the thread that owns the host) and its pCPU
 * threads (toolstack/pcpu.ts). Each pCPU runs one Hypervisor over the shared machine and owns
 * the domains placed on it; everything else about those domains goes through these messages.
 * All of them are structured-cloneable plain data.
 */
import type { MachineHandle } from '../hypervisor/resources.ts';
import type { ShutdownReason } from '../hypervisor/domain.ts';
import type { SlotSpec, StoreRing } from './domain_builder.ts';
import type { DriverDiskSpec } from './driver_channel.ts';

/** A disk image of a domain: raw or qcow2 (probed when `format` is absent). */
export interface DiskSpec {
  path: string;
  readOnly: boolean;
  format?: 'raw' | 'qcow2';
  /** The driver domain that serves the disk (xl.cfg disk `backend=`); the toolstack fills `driver`. */
  backend?: string;
  /** The channel to that driver domain: the pCPU then never opens the image itself. */
  driver?: DriverDiskSpec;
}

/** What to do when a guest powers off, reboots or crashes (xl.cfg on_poweroff/on_reboot/on_crash). */
export type ShutdownAction = 'destroy' | 'restart' | 'preserve';

/** A domain to build: DomainConfig (domain_builder.ts) as data. */
export interface DomainSpec {
  name: string;
  memoryBytes: number;
  vcpus: number;
  kernel: Uint8Array;
  kernelName?: string;
  initrd?: Uint8Array;
  cmdline: string;
  /** Disk images (raw or qcow2; probed when `format` is absent), opened by the pCPU that runs the domain. */
  disks?: DiskSpec[];
  /** Network interfaces; their frames travel to and from the host's virtual switches in batches (net/frame_batch.ts). */
  vifs?: { mac: string }[];
  /** Translate the guest's hot code to WebAssembly (default off). */
  jit?: 'off' | 'on';
  virtioConsole?: boolean;
  weight?: number;
  cap?: number;
  /** Seed for the domain's randomness (DTB rng-seed, virtio-rng); default: the host's entropy. */
  seed?: number;
  paused?: boolean;
  onPoweroff?: ShutdownAction;
  onReboot?: ShutdownAction;
  onCrash?: ShutdownAction;
  /**
   * Restore: build these virtio slots (blk slots index `disks`, net slots index `vifs`), load
   * nothing and leave the domain paused for `restore-pages` and `restore-finish`.
   */
  restore?: {
    layout: SlotSpec[];
    /** Live migration: build the disks with these sizes but open their images only on `disks` open. */
    deferDisks?: number[];
  };
}

/**
 * A paused domain's state for `domus save` (the reply to `save-begin`): the pCPU stopped it and
 * holds its devices still; the host reads RAM from the shared machine memory through `mfns`.
 */
export interface SaveSnapshot {
  /** Whether the domain was paused before the save (it is left so on resume). */
  wasPaused: boolean;
  baseGfn: number;
  /** For each GFN from baseGfn: the machine frame holding its RAM, or -1 (not populated). */
  mfns: Int32Array;
  /** Each vCPU's context (VCPU_CONTEXT_BYTES). */
  vcpus: Uint8Array[];
  hypervisor: unknown;
  devices: { name: string; state: unknown }[];
  /** The virtio slots, indexing `disks` and the network interfaces by devid. */
  layout: SlotSpec[];
  /** Every disk the domain has had (configured, then hot-plugged), in index order. */
  disks: DiskSpec[];
  /** MACs of its network interfaces, by devid. */
  macs: string[];
  /** In log-dirty mode: the GFNs written since the last collect (live migration's last round). */
  dirty?: number[];
  /** With disk journaling on (Remus): what the guest wrote to its disks since the last checkpoint. */
  diskWrites?: { disk: number; offset: number; data: Uint8Array }[];
  /** Sizes of the disks in `disks`, bytes. */
  diskBytes?: number[];
}
export type DomainRunState = 'running' | 'paused' | 'shutdown' | 'dying';

/** A domain as `xl list` sees it, plus scheduling and execution counters. */
export interface DomainInfo {
  id: number;
  name: string;
  pcpu: number;
  state: DomainRunState;
  memoryBytes: number;
  vcpus: number;
  weight: number;
  cap: number;
  /** Milliseconds its vCPUs ran, and waited runnable while another vCPU had the pCPU. */
  cpuMs: number;
  stealMs: number;
  /** Guest instructions retired by all its vCPUs. */
  instructions: number;
  /** Every vCPU is blocked (WFI, stopped): xl's `b` state. */
  blocked: boolean;
  shutdownReason?: ShutdownReason;
}

export type ClockSpec = { kind: 'host'; origin: number } | { kind: 'virtual' };

/** Start-up data of a pCPU thread. */
export interface PcpuInit {
  pcpu: number;
  machine: MachineHandle;
  clock: ClockSpec;
}

/** The reply to `create`: the new domain's id and its xenstore ring (domain_builder.ts). */
export interface CreatedDomain {
  id: number;
  store: StoreRing;
}

export type ToPcpu =
  /** Builds a domain; the reply is a CreatedDomain. */
  | { t: 'create'; req: number; spec: DomainSpec }
  | { t: 'input'; domid: number; bytes: Uint8Array }
  /** A line for the guest agent on the domain's control channel; fails when no agent listens. */
  | { t: 'control'; req: number; domid: number; line: string }
  /** Hot-plugs a disk into a free virtio slot (block-attach); the reply is the slot index. */
  | {
      t: 'disk-attach';
      req: number;
      domid: number;
      disk: { path: string; readOnly: boolean; format?: 'raw' | 'qcow2' };
    }
  /** Unplugs the disk in virtio slot `slot` (block-detach). */
  | { t: 'disk-detach'; req: number; domid: number; slot: number }
  /** Hot-plugs a network interface (network-attach); the reply is { devid, slot }. */
  | { t: 'net-attach'; req: number; domid: number; mac: string }
  /** Unplugs network interface `devid` (network-detach). */
  | { t: 'net-detach'; req: number; domid: number; devid: number }
  | { t: 'pause' | 'unpause' | 'destroy'; req: number; domid: number }
  | { t: 'sched'; req: number; domid: number; weight?: number; cap?: number }
  | { t: 'list'; req: number }
  /** Reads guest memory (the toolstack's foreign mapping, for tests and introspection). */
  | { t: 'peek'; req: number; domid: number; gpa: number; length: number }
  | { t: 'stop'; req: number }
  /** Pauses the domain, holds its devices still, flushes its disks; the reply is a SaveSnapshot. */
  | { t: 'save-begin'; req: number; domid: number }
  /**
   * Log-dirty mode for live migration: `start` write-protects the domain's RAM and replies
   * { baseGfn, mfns, layout, disks, macs, diskBytes } (as a SaveSnapshot's) and, with `disks`,
   * journals disk writes for Remus; `collect` replies the GFNs written since the last
   * collect; `stop` ends it.
   */
  | { t: 'log-dirty'; req: number; domid: number; op: 'start' | 'collect' | 'stop'; disks?: boolean }
  /** Live migration: closes the domain's disk images (source) or opens them (destination, or the source taking them back). */
  | { t: 'disks'; req: number; domid: number; op: 'release' | 'open' }
  /** Sets the domain's memory target (mem-set): its balloon takes or gives back the difference. */
  | { t: 'mem-target'; req: number; domid: number; bytes: number }
  /** Reads `length` bytes of the domain's disk `disk` (Remus's first copy of it). */
  | { t: 'disk-read'; req: number; domid: number; disk: number; offset: number; length: number }
  /**
   * Ends a save: `resume` lets the domain carry on as before (log-dirty mode off), `continue`
   * too but keeps log-dirty mode on (a Remus checkpoint), `destroy` destroys it.
   */
  | { t: 'save-end'; req: number; domid: number; outcome: 'resume' | 'continue' | 'destroy' }
  /** Fills RAM of a domain created with `spec.restore`: `data` holds a page for each of `gfns`; `zero` pages are zero-filled and `absent` ones unpopulated. */
  | {
      t: 'restore-pages';
      req: number;
      domid: number;
      gfns: number[];
      data: Uint8Array;
      zero: number[];
      absent: number[];
    }
  /** Loads the vCPUs, hypervisor and device states and (unless `paused`) starts the domain. */
  | {
      t: 'restore-finish';
      req: number;
      domid: number;
      vcpus: Uint8Array[];
      hypervisor: unknown;
      devices: { name: string; state: unknown }[];
      paused: boolean;
    };

export type FromPcpu =
  | { t: 'ready' }
  | { t: 'reply'; req: number; value?: unknown }
  | { t: 'fail'; req: number; message: string; user: boolean }
  | { t: 'console'; domid: number; bytes: Uint8Array }
  /** A line the guest agent wrote on the control channel. */
  | { t: 'control-out'; domid: number; line: string }
  | { t: 'shutdown'; domid: number; reason: ShutdownReason; info: DomainInfo; action: ShutdownAction }
  /** The domain `domid` rebooted and was rebuilt as `newId` (on_reboot = restart), with a new xenstore ring. */
  | { t: 'restarted'; domid: number; newId: number; store: StoreRing }
  /** The domain is gone (destroyed by its shutdown action or a destroy request). */
  | { t: 'gone'; domid: number; info: DomainInfo };
