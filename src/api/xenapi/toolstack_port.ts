/**
 * What the XenAPI server needs from the toolstack, as one interface so the server does not
 * care whether it talks to hostd over a socket (the daemon) or to something in-process. The
 * daemon's implementation is in port_hostd.ts.
 */
import type { DomainConfig, DomainRecord, HostInfo } from '../../toolstack/control/protocol.ts';

/** A VM the toolstack knows even when it is not running (XenAPI VMs persist; xl domains do not). */
export interface VmDefinition {
  uuid: string;
  name: string;
  description: string;
  config: DomainConfig;
  otherConfig: Record<string, string>;
}

export interface ToolstackPort {
  hostInfo(): Promise<HostInfo>;
  listDomains(): Promise<DomainRecord[]>;
  createDomain(config: DomainConfig): Promise<DomainRecord>;
  /** pause, unpause, destroy, shutdown, reboot of a running domain by id. */
  domainOp(op: 'pause' | 'unpause' | 'destroy' | 'shutdown' | 'reboot', domid: number): Promise<void>;
  /** Live-migrates a domain to the Domus host listening at `to` ("host:port"). */
  migrate(domid: number, to: string): Promise<void>;
  /** Called with every change hostd reports (state 'gone' when a domain went away). */
  onDomainChange(f: (r: DomainRecord) => void): void;
  /** Durable VM definitions. */
  definitions(): Promise<VmDefinition[]>;
  saveDefinition(def: VmDefinition): Promise<void>;
  /** Checks a user's password; false for an unknown user or a wrong password. */
  authenticate(user: string, password: string): Promise<boolean>;
}
