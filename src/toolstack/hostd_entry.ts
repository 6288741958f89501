/**
 * hostd's options, and what it keeps per domain (`Entry`: its handle, console scrollback, hot-plugged devices,
 * driver-domain disks, Remus state) and the arguments its requests carry (`Args`), shared by
 * hostd.ts and the device requests in hostd_devices.ts.
 */
import { UserError } from '../common/errors.ts';
import type { ControlConn } from './control/conn.ts';
import type { DomainConfig, DomainRecord } from './control/protocol.ts';
import type { ServedDisk } from './driver_domains.ts';
import type { DomainHandle } from './host.ts';
import type { PortForward } from './net/usernet.ts';
import type { SwitchPort } from './net/vswitch.ts';
import type { NetHold, RemusPrimary } from './remus.ts';

export interface HostdOptions {
  runDir: string;
  /** Machine memory for all domains together, MiB. */
  memoryMiB: number;
  pcpus?: number;
  /**
   * User-mode networking on bridge xenbr0 (NAT to the host's network, DHCP from 10.0.2.15);
   * default on. `forwards` are host ports forwarded to guests (hostfwd, as QEMU's user net).
   */
  usernet?: boolean;
  forwards?: PortForward[];
  /** Translate guests' hot code to WebAssembly (default off). */
  jit?: boolean;
  /** Accept live migrations on this "host:port" (migrate.ts). */
  migrateListen?: string;
  /** Where `migration.key` lives when DOMUS_MIGRATION_KEY is not set. */
  stateDir?: string;
}

/** The bridge user-mode networking sits on, and xl's default bridge. */
export const DEFAULT_BRIDGE = 'xenbr0';

/** Console output kept per domain for consoles that attach later (bytes). */
const SCROLLBACK_BYTES = 256 * 1024;

/** Arguments of hostd's requests (control/protocol.ts); each request uses some. */
export interface Args {
  dom?: unknown;
  config?: DomainConfig;
  weight?: unknown;
  cap?: unknown;
  name?: unknown;
  data?: unknown;
  scrollback?: unknown;
  gpa?: unknown;
  length?: unknown;
  wait?: unknown;
  disk?: unknown;
  device?: unknown;
  vif?: unknown;
  memoryMiB?: unknown;
  count?: unknown;
  clear?: unknown;
  path?: unknown;
  keep?: unknown;
  to?: unknown;
  intervalMs?: unknown;
  paused?: unknown;
}

/** A domain hostd keeps, across restarts (on_reboot = restart gives it a new id). */
export class Entry {
  readonly subscribers = new Set<ControlConn>();
  private scrollback: Buffer[] = [];
  private scrollbackBytes = 0;
  shutdown: DomainRecord['shutdown'];
  gone = false;
  /** The domain id its xenstore entries are under (it changes when on_reboot restarts it). */
  xsId: number | undefined;
  /** Disks attached while running (block-attach), by virtio slot. */
  readonly plugged = new Map<
    number,
    { path: string; readOnly: boolean; format?: 'raw' | 'qcow2'; vdev: string }
  >();
  /** Its network interfaces' switch ports, by devid. */
  ports: SwitchPort[] = [];
  /** mem-set target and mem-max, MiB; vCPUs online (vcpu-set). */
  targetMiB: number;
  maxMemMiB: number;
  onlineVcpus: number;
  /** Network interfaces attached while running: devid → the vif. */
  readonly hotVifs = new Map<number, { mac: string; bridge: string; slot: number }>();
  /** Waiters for the guest agent's next reply line. */
  readonly agentWaiters: ((line: string) => void)[] = [];
  /** Its disks that driver domains serve (slot: hot-plugged ones), detached when it goes. */
  readonly driverDisks: ServedDisk[] = [];
  /** Remus protection, while on, and the network output it holds back (remus.ts). */
  remus: RemusPrimary | undefined;
  hold: NetHold | undefined;

  constructor(
    readonly handle: DomainHandle,
    public name: string,
    readonly uuid: string,
    readonly config: DomainConfig,
    public createdAtMs: number,
  ) {
    this.targetMiB = config.memoryMiB;
    this.maxMemMiB = config.memoryMiB;
    this.onlineVcpus = config.vcpus;
  }

  get id(): number {
    return this.handle.id;
  }

  appendConsole(bytes: Uint8Array): void {
    const b = Buffer.from(bytes);
    this.scrollback.push(b);
    this.scrollbackBytes += b.length;
    while (this.scrollbackBytes > SCROLLBACK_BYTES && this.scrollback.length > 1) {
      this.scrollbackBytes -= this.scrollback.shift()!.length;
    }
    const data = b.toString('base64');
    for (const c of this.subscribers) c.emit({ ev: 'console', domid: this.id, data });
  }

  scrollbackText(): string {
    return Buffer.concat(this.scrollback).toString('base64');
  }
}

/** Checks a domain's (or driver domain's) name as xl would take it. */
export function checkName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name) || name === 'Domain-0') {
    throw new UserError(
      `domain name '${name}' is not valid; use 1-64 letters, digits, '.', '_' or '-', not Domain-0`,
    );
  }
}
