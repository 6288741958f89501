/**
 * The XenAPI's toolstack port inside domusd: domain state and lifecycle through a connection
 * to hostd (with its change events), VM definitions and users from domusd's state database.
 */
import type { ControlConn } from '../../toolstack/control/conn.ts';
import type { DomainConfig, DomainRecord, HostInfo } from '../../toolstack/control/protocol.ts';
import type { Domusd } from '../../toolstack/domusd.ts';
import type { ToolstackPort, VmDefinition } from './toolstack_port.ts';

export class DomusdPort implements ToolstackPort {
  private conn: Promise<ControlConn> | undefined;
  private readonly listeners: ((r: DomainRecord) => void)[] = [];

  constructor(private readonly d: Domusd) {}

  /** The hostd connection, (re)opened on demand and subscribed to domain changes. */
  private hostd(): Promise<ControlConn> {
    this.conn ??= this.d.openHostd().then(async (c) => {
      c.onEvent = (e) => {
        if (e.ev === 'domain') for (const f of this.listeners) f(e.record);
      };
      c.onClose(() => {
        this.conn = undefined;
      });
      await c.call('events.subscribe');
      return c;
    });
    return this.conn;
  }

  async hostInfo(): Promise<HostInfo> {
    return (await (await this.hostd()).call('info')) as HostInfo;
  }

  async listDomains(): Promise<DomainRecord[]> {
    return (await (await this.hostd()).call('domain.list')) as DomainRecord[];
  }

  async createDomain(config: DomainConfig): Promise<DomainRecord> {
    const defined = this.d.define(config);
    return (await (await this.hostd()).call('domain.create', { config: defined })) as DomainRecord;
  }

  async domainOp(op: 'pause' | 'unpause' | 'destroy' | 'shutdown' | 'reboot', domid: number): Promise<void> {
    await (await this.hostd()).call(`domain.${op}`, { dom: String(domid), wait: op === 'shutdown' });
  }

  async migrate(domid: number, to: string): Promise<void> {
    await (await this.hostd()).call('domain.migrate', { dom: String(domid), to });
  }

  onDomainChange(f: (r: DomainRecord) => void): void {
    this.listeners.push(f);
    void this.hostd();
  }

  definitions(): Promise<VmDefinition[]> {
    return Promise.resolve(this.d.definitions());
  }

  saveDefinition(def: VmDefinition): Promise<void> {
    this.d.saveDefinition(def);
    return Promise.resolve();
  }

  authenticate(user: string, password: string): Promise<boolean> {
    return this.d.store.checkPassword(user, password);
  }
}
