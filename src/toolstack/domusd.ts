/**
 * domusd, the management daemon: what the CLI (and, later, XenAPI clients) talk to. It keeps
 * no domain alive itself — hostd does — so it can be stopped, killed or upgraded while domains
 * run; when it starts again it finds them through hostd and every console is still there.
 *
 * Each client connection on `<runDir>/domusd.sock` gets its own connection to hostd: requests
 * domusd does not answer itself pass through to hostd unchanged and hostd's events (console
 * output, domain changes) come back the same way, so a client's console subscription lives
 * exactly as long as the client.
 */
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { UserError } from '../common/errors.ts';
import { ControlConn } from './control/conn.ts';
import { Hostd, takeSocketPath } from './hostd.ts';
import { connectOrStart } from './launcher.ts';
import { randomUUID } from 'node:crypto';
import { writeFileSync, unlinkSync } from 'node:fs';
import type { DomainConfig } from './control/protocol.ts';
import { Store, type VmRecord } from './db/store.ts';
import { ensureDir } from './paths.ts';

const VERSION = '0.1.0';

export interface DomusdOptions {
  runDir: string;
  /** Where the state database lives (`<stateDir>/domus.db`). */
  stateDir: string;
  /** Arguments for `domus hostd` when domusd has to start it (e.g. `--memory 2048`). */
  hostdArgs?: string[];
}

export class Domusd {
  private readonly clients = new Set<ControlConn>();
  private closing: Promise<void> | undefined;
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;

  private constructor(
    readonly opts: DomusdOptions,
    private readonly server: Server,
    /** domusd's own connection to hostd (kept open: it is how domusd notices hostd dying). */
    private hostd: ControlConn,
    /** VM definitions, users, host and pool records: what must survive a crash. */
    readonly store: Store,
  ) {
    this.closed = new Promise((r) => (this.resolveClosed = r));
  }

  static socketPath(runDir: string): string {
    return join(runDir, 'domusd.sock');
  }

  static async start(opts: DomusdOptions): Promise<Domusd> {
    const path = Domusd.socketPath(opts.runDir);
    await takeSocketPath(path, 'domusd');
    const store = Store.open(join(ensureDir(opts.stateDir), 'domus.db'));
    let hostd: ControlConn;
    try {
      hostd = await connectHostd(opts);
    } catch (e) {
      store.close();
      throw e;
    }
    const server = createServer();
    const d = new Domusd(opts, server, hostd, store);
    server.on('connection', (s) => d.accept(new ControlConn(s)));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    writeFileSync(join(opts.runDir, 'domusd.pid'), `${process.pid}\n`);
    return d;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.server.close();
      for (const c of this.clients) c.close();
      this.hostd.close();
      this.store.close();
      for (const f of [Domusd.socketPath(this.opts.runDir), join(this.opts.runDir, 'domusd.pid')]) {
        try {
          unlinkSync(f);
        } catch {
          // already gone
        }
      }
      this.resolveClosed();
    })();
    return this.closing;
  }

  /**
   * Records a domain's configuration as a VM definition before it is built: a definition of
   * the same name keeps its uuid (so a VM keeps its identity across xl create/destroy), a new
   * one gets the config's uuid or a fresh one. Returns the config with the uuid set.
   */
  define(config: DomainConfig): DomainConfig {
    const existing = this.store.getVmByName(config.name);
    const uuid = config.uuid ?? existing?.uuid ?? randomUUID();
    const old = existing ? storedVm(existing) : undefined;
    const data: StoredVmData = {
      config: { ...config, uuid, paused: false },
      description: old?.description ?? '',
      otherConfig: old?.otherConfig ?? {},
    };
    this.store.putVm({ uuid, name: config.name, config: data });
    return { ...config, uuid };
  }

  definitions(): StoredVm[] {
    return this.store.listVms().map(storedVm);
  }

  saveDefinition(v: StoredVm): void {
    const data: StoredVmData = {
      config: { ...v.config, name: v.name, uuid: v.uuid },
      description: v.description,
      otherConfig: v.otherConfig,
    };
    this.store.putVm({ uuid: v.uuid, name: v.name, config: data });
  }

  /** A new connection to hostd (starting it if needed), for a client inside this process. */
  openHostd(): Promise<ControlConn> {
    return connectHostd(this.opts);
  }

  private accept(c: ControlConn): void {
    this.clients.add(c);
    let upstream: Promise<ControlConn> | undefined;
    const link = (): Promise<ControlConn> => {
      upstream ??= connectHostd(this.opts).then((u) => {
        u.onEvent = (e) => c.emit(e);
        u.onClose(() => {
          upstream = undefined;
        });
        return u;
      });
      return upstream;
    };
    c.onClose(() => {
      this.clients.delete(c);
      void upstream?.then(
        (u) => u.close(),
        () => {},
      );
    });
    c.onRequest = async (r) => {
      switch (r.op) {
        case 'hello': {
          const h = (await (await link()).call('hello')) as { pid: number };
          return { role: 'domusd', pid: process.pid, version: VERSION, hostdPid: h.pid };
        }
        case 'daemon.shutdown':
          setImmediate(() => void this.close());
          return null;
        case 'domain.create':
          return (await link()).call('domain.create', {
            config: this.define(r.args['config'] as DomainConfig),
          });
        case 'vm.list':
          return this.definitions();
        case 'user.add': {
          const { name, password } = r.args as { name?: unknown; password?: unknown };
          if (typeof name !== 'string' || typeof password !== 'string' || password.length === 0) {
            throw new UserError('user.add needs a name and a non-empty password');
          }
          await this.store.createUser(name, password);
          return null;
        }
        default:
          return (await link()).call(r.op, r.args);
      }
    };
  }
}

/** A stored VM definition (XenAPI VMs persist while xl's domains come and go). */
export interface StoredVm {
  uuid: string;
  name: string;
  description: string;
  config: DomainConfig;
  otherConfig: Record<string, string>;
}

interface StoredVmData {
  config: DomainConfig;
  description?: string;
  otherConfig?: Record<string, string>;
}

export function storedVm(v: VmRecord): StoredVm {
  const data = v.config as StoredVmData;
  return {
    uuid: v.uuid,
    name: v.name,
    description: data.description ?? '',
    config: data.config,
    otherConfig: data.otherConfig ?? {},
  };
}

async function connectHostd(opts: DomusdOptions): Promise<ControlConn> {
  const c = await connectOrStart(Hostd.socketPath(opts.runDir), 'hostd', opts.runDir, 'domus', [
    'hostd',
    ...(opts.hostdArgs ?? []),
  ]);
  const hello = (await c.call('hello')) as { role?: string };
  if (hello.role !== 'hostd') {
    c.close();
    throw new UserError(`the socket ${Hostd.socketPath(opts.runDir)} is not hostd's; remove it and retry`);
  }
  return c;
}
