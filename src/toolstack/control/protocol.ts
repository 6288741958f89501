/**
 * The control protocol spoken on Domus's local sockets (conn.ts frames it as JSON lines):
 *
 *   CLI ──► domusd (management daemon, `<runDir>/domusd.sock`) ──► hostd (hypervisor host
 *   process, `<runDir>/hostd.sock`)
 *
 * hostd owns the domains, their pCPU threads and device backends and keeps running when domusd
 * dies; domusd owns the durable records and the management APIs and reattaches to hostd when it
 * starts. Both sockets speak the same requests; domusd answers its own (`vm.*` on definitions)
 * and passes the rest to hostd, and relays hostd's events.
 *
 * Everything here is plain JSON. Console bytes travel base64-encoded.
 */

export interface ControlRequest {
  id: number;
  op: string;
  args: Record<string, unknown>;
}

export interface ControlError {
  message: string;
  /** A `UserError` (bad input, wrong state): printed as one line, not as an internal fault. */
  user: boolean;
  exitCode?: number;
}

export interface ControlReply {
  id: number;
  value?: unknown;
  error?: ControlError;
}

export type ControlEvent =
  | { ev: 'console'; domid: number; data: string }
  /** A domain appeared, changed state, or went away (`record.state === 'gone'`). */
  | { ev: 'domain'; record: DomainRecord }
  /** A live migration's progress: a pre-copy round done (migrate.ts). */
  | { ev: 'migrate'; domid: number; round: number; pages: number; mibPerSec: number; dirty: number };

/** What to do when a guest powers off, reboots or crashes (xl.cfg on_poweroff/on_reboot/on_crash). */
export type LifecycleAction = 'destroy' | 'restart' | 'preserve';

/** A domain to build, by file paths (hostd reads the files). Units as in xl.cfg. */
export interface DomainConfig {
  name: string;
  uuid?: string;
  memoryMiB: number;
  vcpus: number;
  kernel: string;
  ramdisk?: string;
  cmdline: string;
  /** `backend`: the driver domain that serves the disk (xl.cfg disk `backend=`). */
  disks?: { path: string; readOnly: boolean; format?: 'raw' | 'qcow2'; vdev?: string; backend?: string }[];
  /** Network interfaces on the host's virtual switches (xl.cfg vif). */
  vifs?: { mac?: string; bridge: string }[];
  weight?: number;
  cap?: number;
  /** pCPU to place the domain on (default: the least loaded). */
  pcpu?: number;
  paused?: boolean;
  onPoweroff?: LifecycleAction;
  onReboot?: LifecycleAction;
  onCrash?: LifecycleAction;
}

export type DomainRecordState = 'running' | 'paused' | 'shutdown' | 'dying' | 'gone';

/** A domain as hostd reports it: `xl list -l` material. */
export interface DomainRecord {
  id: number;
  uuid: string;
  name: string;
  state: DomainRecordState;
  memoryMiB: number;
  vcpus: number;
  pcpu: number;
  weight: number;
  cap: number;
  /** CPU time its vCPUs used, seconds. */
  cpuSeconds: number;
  stealSeconds: number;
  instructions: number;
  /** Every vCPU is blocked (xl's `b`). */
  blocked: boolean;
  /** Memory target (mem-set) and maximum (mem-max), MiB. */
  targetMiB: number;
  maxMemMiB: number;
  /** vCPUs online (vcpu-set). */
  onlineVcpus: number;
  /** When the domain (this incarnation) was created, ms since the epoch. */
  createdAtMs: number;
  config: DomainConfig;
  /** How it last shut down: poweroff (with code), reboot, crash. */
  shutdown?: { kind: string; code?: number; detail?: string };
}

/** `info` of hostd: `xl info` material. */
export interface HostInfo {
  hostname: string;
  version: string;
  pid: number;
  pcpus: number;
  hostCores: number;
  totalMemoryMiB: number;
  freeMemoryMiB: number;
  startedAtMs: number;
  runDir: string;
  /** The control domain's line in `domus list`: hostd's own memory (RSS) and CPU time. */
  dom0: { memoryMiB: number; cpuSeconds: number };
}

/** The Domain-0 line of `xl list`: the control domain is the toolstack itself. */
export const DOMAIN0_NAME = 'Domain-0';
