/**
 * hostd, the hypervisor host process: the machine, its pCPU threads and the domains on them
 * (host.ts), served to the management daemon and tools over `<runDir>/hostd.sock`
 * (control/protocol.ts). It is the part that must not die with the toolstack: when domusd or a
 * CLI goes away, the domains keep running here, and a new connection finds them — their
 * records, and their consoles with the scrollback kept since they started.
 *
 * One hostd per run directory: `start` refuses when another live hostd answers on the socket,
 * and takes over a stale socket file left by a dead one.
 */
import { randomUUID } from 'node:crypto';
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { hostname } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { UserError } from '../common/errors.ts';
import { hostCores } from '../platform/node/worker.ts';
import { ControlConn } from './control/conn.ts';
import type { DomainConfig, DomainRecord, HostInfo } from './control/protocol.ts';
import { DOMAIN_OVERHEAD_BYTES, Host, type DomainHandle, type DomainInfo } from './host.ts';
import { slotDeviceName } from './domain_builder.ts';
import { openSaveFile, openStream, saveDomain, type RestoreSource, type SaveResult } from './save_restore.ts';
import { listenForMigrations, migrateDomain, migrationKey, type Wire } from './migrate.ts';
import { DEFAULT_REMUS_INTERVAL_MS, NetHold, RemusPrimary, remusBackup } from './remus.ts';
import type { DiskSpec, SaveSnapshot } from './pcpu_protocol.ts';
import { formatMac, randomXenMac } from './net/ethernet.ts';
import { UserNet, type PortForward } from './net/usernet.ts';
import { VSwitch, type SwitchPort } from './net/vswitch.ts';
import type { DriverDiskSpec } from './driver_channel.ts';
import { DriverDomain } from './driver_domain.ts';
import { XsClient } from './xenstore/client.ts';
import { XsSocketServer } from './xenstore/socket.ts';
import { Xenstored } from './xenstore/xenstored.ts';

const MiB = 1 << 20;
/** Console output kept per domain for consoles that attach later (bytes). */
const SCROLLBACK_BYTES = 256 * 1024;
const VERSION = '0.1.0';

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

/** Arguments of hostd's requests (control/protocol.ts); each request uses some. */
interface Args {
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
class Entry {
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
  readonly driverDisks: { dd: DriverDomain; id: number; slot?: number }[] = [];
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

export class Hostd {
  private readonly entries: Entry[] = [];
  /** Driver domains by name (xl.cfg disk `backend=NAME`), started on first use. */
  private readonly driverDomains = new Map<string, DriverDomain>();
  /** Detaches under way (a gone domain's disks): a new attach waits for them to free the images. */
  private readonly detaching = new Set<Promise<void>>();
  private readonly conns = new Set<ControlConn>();
  private readonly watchers = new Set<ControlConn>();
  private readonly startedAtMs = Date.now();
  private closing: Promise<void> | undefined;
  /** Resolves when hostd has shut down (a `host.shutdown` request or `close()`). */
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;

  /** xenstored of this host: the toolstack's view of every domain, as libxl keeps it. */
  readonly xenstored = new Xenstored();
  /** hostd's own (dom0, privileged) xenstore connection. */
  readonly xs: XsClient;
  private xsServer: XsSocketServer | undefined;
  /** Virtual switches by bridge name, created on first use. */
  readonly switches = new Map<string, VSwitch>();
  private usernet: UserNet | undefined;
  private migrateServer: Server | undefined;

  private constructor(
    readonly opts: HostdOptions,
    readonly host: Host,
    private readonly server: Server,
  ) {
    this.closed = new Promise((r) => (this.resolveClosed = r));
    const xs: XsClient = new XsClient((b) => conn.receive(b));
    const conn = this.xenstored.connect({ domid: 0, privileged: true, send: (b) => xs.receive(b) });
    this.xs = xs;
  }

  static xenstoreSocketPath(runDir: string): string {
    return join(runDir, 'xenstored.sock');
  }

  static socketPath(runDir: string): string {
    return join(runDir, 'hostd.sock');
  }

  /** Starts the machine and listens on the run directory's socket. */
  static async start(opts: HostdOptions): Promise<Hostd> {
    const path = Hostd.socketPath(opts.runDir);
    await takeSocketPath(path, 'hostd');
    const host = await Host.start({
      memoryBytes: opts.memoryMiB * MiB,
      ...(opts.pcpus !== undefined && { pcpus: opts.pcpus }),
    });
    const server = createServer();
    const d = new Hostd(opts, host, server);
    server.on('connection', (s) => d.accept(new ControlConn(s)));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      await host.close();
      throw e;
    }
    d.xsServer = await XsSocketServer.listen(d.xenstored, Hostd.xenstoreSocketPath(opts.runDir));
    if (opts.usernet !== false) {
      d.usernet = new UserNet({ switch: d.bridge(DEFAULT_BRIDGE), portForwards: opts.forwards ?? [] });
      try {
        await d.usernet.start();
      } catch (e) {
        await d.close();
        throw e;
      }
    }
    if (opts.migrateListen !== undefined) {
      try {
        d.migrateServer = await listenForMigrations(opts.migrateListen, d.migrationKey(), (w, peer, mode) =>
          d.receiveMigration(w, peer, mode),
        );
      } catch (e) {
        await d.close();
        throw e;
      }
    }
    await d.xs.write('/tool/domus/hostd', String(process.pid));
    writeFileSync(join(opts.runDir, 'hostd.pid'), `${process.pid}\n`);
    return d;
  }

  /** Destroys every domain, stops the pCPUs and removes the socket. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.server.close();
      this.migrateServer?.close();
      for (const c of this.conns) c.close();
      await this.xsServer?.close();
      await this.usernet?.close();
      await this.host.close();
      for (const dd of this.driverDomains.values()) await dd.close();
      for (const f of [Hostd.socketPath(this.opts.runDir), join(this.opts.runDir, 'hostd.pid')]) {
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

  private accept(c: ControlConn): void {
    this.conns.add(c);
    c.onClose(() => {
      this.conns.delete(c);
      this.watchers.delete(c);
      for (const e of this.entries) e.subscribers.delete(c);
    });
    c.onRequest = (r) => this.handle(c, r.op, r.args as Args);
  }

  private async handle(c: ControlConn, op: string, a: Args): Promise<unknown> {
    switch (op) {
      case 'hello':
        return { role: 'hostd', pid: process.pid, version: VERSION };
      case 'info':
        return this.info();
      case 'events.subscribe':
        this.watchers.add(c);
        return null;
      case 'domain.create':
        return this.create(a.config as DomainConfig);
      case 'domain.save':
        return this.save(this.find(a.dom), String(a.path ?? ''), a.keep === true);
      case 'domain.restore':
        return this.restore(String(a.path ?? ''), a.paused === true);
      case 'domain.remus':
        return this.remus(this.servedHere(this.find(a.dom), 'remus'), String(a.to ?? ''), a.intervalMs);
      case 'domain.migrate': {
        const e = this.servedHere(this.find(a.dom), 'migrate');
        const to = String(a.to ?? '');
        this.logLine(`domain ${e.id} (${e.name}) migrating to ${to}`);
        const r = await migrateDomain({
          handle: e.handle,
          resources: this.host.resources,
          uuid: e.uuid,
          to,
          key: this.migrationKey(),
          configOf: (snap) => this.savedConfig(e, snap),
          progress: (p) => c.emit({ ev: 'migrate', domid: e.id, ...p }),
        });
        this.logLine(
          `domain ${e.name} migrated to ${to}: ${r.rounds} rounds, ${r.pages} pages, ${Math.round(r.totalMs)} ms, downtime ${Math.round(r.downtimeMs)} ms`,
        );
        return r;
      }
      case 'domain.list':
        return this.list();
      case 'domain.get':
        return this.record(this.find(a.dom), await this.infoOf(this.find(a.dom)));
      case 'domain.pause':
        await this.find(a.dom).handle.pause();
        return this.changed(this.find(a.dom));
      case 'domain.unpause':
        await this.find(a.dom).handle.unpause();
        return this.changed(this.find(a.dom));
      case 'domain.destroy': {
        const e = this.find(a.dom);
        await e.handle.destroy();
        return null;
      }
      case 'domain.sched': {
        const e = this.find(a.dom);
        const p: { weight?: number; cap?: number } = {};
        if (typeof a.weight === 'number') p.weight = a.weight;
        if (typeof a.cap === 'number') p.cap = a.cap;
        if (p.weight !== undefined || p.cap !== undefined) await e.handle.setSchedParams(p);
        return this.changed(e);
      }
      case 'domain.shutdown':
      case 'domain.reboot': {
        const e = this.find(a.dom);
        const kind = op === 'domain.shutdown' ? 'poweroff' : 'reboot';
        // As xl does, the request is written to xenstore's control/shutdown; Domus's guest agent
        // takes it on the control channel.
        await this.xs.write(`/local/domain/${e.id}/control/shutdown`, kind).catch(() => {});
        const id = e.id;
        const reply = this.agentReply(e, 5000);
        await e.handle.control(kind);
        const line = await reply;
        if (line !== `ok ${kind}`) {
          throw new UserError(
            `domain ${e.name}'s guest agent did not take the ${kind} request (${line}); use destroy`,
          );
        }
        if (a.wait === true) {
          if (kind === 'poweroff') await e.handle.gone;
          else await waitFor(() => e.gone || e.id !== id, 120_000);
        }
        return null;
      }
      case 'domain.block-attach': {
        const e = this.find(a.dom);
        const disk = a.disk as {
          path: string;
          readOnly: boolean;
          format?: 'raw' | 'qcow2';
          vdev?: string;
          backend?: string;
        };
        const served = disk.backend !== undefined ? await this.serveDisk(disk.backend, disk) : undefined;
        let slot: number;
        try {
          const spec: DiskSpec = served ? { ...disk, driver: served.spec } : disk;
          slot = await e.handle.attachDisk(spec);
        } catch (err) {
          if (served) await served.dd.detach(served.id);
          throw err;
        }
        if (served) e.driverDisks.push({ dd: served.dd, id: served.id, slot });
        const vdev =
          disk.vdev ?? `xvd${String.fromCharCode(98 + e.plugged.size + (e.config.disks?.length ?? 0) - 1)}`;
        e.plugged.set(slot, { ...disk, vdev });
        const undo = async (): Promise<void> => {
          await e.handle.detachDisk(slot);
          e.plugged.delete(slot);
          await this.unserveDisks(e, slot);
        };
        const reply = this.agentReply(e, 5000);
        await e.handle.control(`bind ${slotDeviceName(slot)}`).catch(async (err: unknown) => {
          await undo();
          throw err;
        });
        const line = await reply;
        if (!line.startsWith('ok ')) {
          await undo();
          throw new UserError(`domain ${e.name} could not bind the new disk (${line})`);
        }
        return { slot, vdev };
      }
      case 'domain.block-detach': {
        const e = this.find(a.dom);
        const key = String(a.device ?? '');
        const found = [...e.plugged.entries()].find(([slot, d]) => d.vdev === key || String(slot) === key);
        if (!found)
          throw new UserError(`domain ${e.name} has no attached disk ${key}; domus block-list shows them`);
        const [slot] = found;
        const reply = this.agentReply(e, 5000);
        await e.handle.control(`unbind ${slotDeviceName(slot)}`);
        await reply;
        await e.handle.detachDisk(slot);
        e.plugged.delete(slot);
        await this.unserveDisks(e, slot);
        return null;
      }
      case 'domain.block-list': {
        const e = this.find(a.dom);
        const boot = (e.config.disks ?? []).map((d, i) => ({
          vdev: d.vdev ?? `xvd${String.fromCharCode(97 + i)}`,
          path: d.path,
          readOnly: d.readOnly,
          slot: i,
        }));
        const hot = [...e.plugged.entries()].map(([slot, d]) => ({
          vdev: d.vdev,
          path: d.path,
          readOnly: d.readOnly,
          slot,
        }));
        return [...boot, ...hot];
      }
      case 'domain.network-list': {
        const e = this.find(a.dom);
        return [
          ...(e.config.vifs ?? []).map((v, devid) => ({ devid, mac: v.mac, bridge: v.bridge })),
          ...[...e.hotVifs.entries()].map(([devid, v]) => ({ devid, mac: v.mac, bridge: v.bridge })),
        ];
      }
      case 'domain.network-attach': {
        const e = this.find(a.dom);
        const want = a.vif as { mac?: string; bridge: string };
        const vif = { mac: want.mac ?? formatMac(randomXenMac()), bridge: want.bridge };
        const { devid, slot } = await e.handle.attachNet(vif.mac);
        e.ports[devid] = this.bridge(vif.bridge).attach(`vif${e.id}.${devid}`, (f) =>
          e.handle.sendFrame(devid, f),
        );
        e.hotVifs.set(devid, { ...vif, slot });
        const reply = this.agentReply(e, 5000);
        await e.handle.control(`bind ${slotDeviceName(slot)}`);
        const line = await reply;
        if (!line.startsWith('ok '))
          throw new UserError(`domain ${e.name} could not bind the new interface (${line})`);
        this.logLine(`vif${e.id}.${devid} (${vif.mac}) attached to ${e.name} on ${vif.bridge}`);
        return { devid, mac: vif.mac };
      }
      case 'domain.network-detach': {
        const e = this.find(a.dom);
        const key = String(a.device ?? '');
        const found = [...e.hotVifs.entries()].find(
          ([devid, v]) => String(devid) === key || v.mac === key.toLowerCase(),
        );
        if (!found)
          throw new UserError(
            `domain ${e.name} has no hot-plugged interface ${key}; domus network-list shows them`,
          );
        const [devid, hot] = found;
        const reply = this.agentReply(e, 5000);
        await e.handle.control(`unbind ${slotDeviceName(hot.slot)}`);
        await reply;
        await e.handle.detachNet(devid);
        e.ports[devid]?.detach();
        e.hotVifs.delete(devid);
        this.logLine(`vif${e.id}.${devid} detached from ${e.name}`);
        return null;
      }
      case 'domain.mem-max': {
        const e = this.find(a.dom);
        const mib = Number(a.memoryMiB);
        if (mib < e.targetMiB) {
          throw new UserError(
            `mem-max ${mib} MiB is below ${e.name}'s target of ${e.targetMiB} MiB; lower the target with mem-set first`,
          );
        }
        e.maxMemMiB = mib;
        await this.xs.write(`/local/domain/${e.id}/memory/static-max`, String(mib * 1024));
        return this.changed(e);
      }
      case 'domain.mem-set': {
        const e = this.find(a.dom);
        const mib = Number(a.memoryMiB);
        if (mib > e.maxMemMiB) {
          throw new UserError(
            `mem-set ${mib} MiB is above ${e.name}'s mem-max of ${e.maxMemMiB} MiB; raise it with mem-max first`,
          );
        }
        e.targetMiB = mib;
        await this.xs.write(`/local/domain/${e.id}/memory/target`, String(mib * 1024));
        // The guest's virtio-balloon driver takes the difference (Linux: CONFIG_VIRTIO_BALLOON).
        await e.handle.setMemoryTarget(mib * MiB);
        this.logLine(`${e.name}: memory target ${mib} MiB`);
        await this.changed(e);
        return {};
      }
      case 'domain.vcpu-set': {
        const e = this.find(a.dom);
        const n = Number(a.count);
        if (!Number.isInteger(n) || n < 1 || n > e.config.vcpus) {
          throw new UserError(
            `${e.name} was created with ${e.config.vcpus} vCPUs; vcpu-set takes 1 to ${e.config.vcpus}`,
          );
        }
        for (let i = 0; i < e.config.vcpus; i++) {
          await this.xs.write(`/local/domain/${e.id}/cpu/${i}/availability`, i < n ? 'online' : 'offline');
        }
        for (let i = 1; i < e.config.vcpus; i++) {
          const reply = this.agentReply(e, 5000);
          await e.handle.control(`cpu ${i} ${i < n ? 'online' : 'offline'}`);
          const line = await reply;
          if (!line.startsWith('ok ')) {
            throw new UserError(
              `${e.name}'s guest agent could not set cpu ${i} ${i < n ? 'online' : 'offline'} (${line})`,
            );
          }
        }
        e.onlineVcpus = n;
        this.logLine(`${e.name}: ${n} vCPUs online`);
        return this.changed(e);
      }
      case 'dmesg': {
        const lines = [...this.log];
        if (a.clear === true) this.log.length = 0;
        return lines;
      }
      case 'domain.rename': {
        const e = this.find(a.dom);
        const name = String(a.name ?? '');
        checkName(name);
        if (this.entries.some((x) => !x.gone && x !== e && x.name === name)) {
          throw new UserError(`a domain named ${name} already exists; pick another name`);
        }
        e.name = name;
        return this.changed(e);
      }
      case 'console.attach': {
        const e = this.find(a.dom);
        e.subscribers.add(c);
        return { domid: e.id, name: e.name, scrollback: a.scrollback === false ? '' : e.scrollbackText() };
      }
      case 'console.detach':
        this.find(a.dom).subscribers.delete(c);
        return null;
      case 'console.input': {
        const e = this.find(a.dom);
        e.handle.sendInput(Buffer.from(String(a.data ?? ''), 'base64'));
        return null;
      }
      case 'domain.peek': {
        const e = this.find(a.dom);
        const bytes = await e.handle.readMemory(Number(a.gpa), Number(a.length));
        return Buffer.from(bytes).toString('base64');
      }
      case 'driver-domain.list':
        return [...this.driverDomains.values()].map((dd) => dd.info());
      case 'driver-domain.start': {
        const name = String(a.name ?? '');
        const dd = this.driverDomains.get(name);
        if (dd?.running)
          throw new UserError(`driver domain ${name} is already running; use restart to replace it`);
        if (dd) await dd.restart();
        else await this.driverDomain(name);
        return null;
      }
      case 'driver-domain.destroy':
        await this.knownDriverDomain(a.name).destroy();
        return null;
      case 'driver-domain.restart':
        await this.knownDriverDomain(a.name).restart();
        return null;
      case 'host.shutdown':
        setImmediate(() => void this.close());
        return null;
      default:
        throw new UserError(
          `hostd does not know the request '${op}'; the CLI and hostd may be from different versions`,
        );
    }
  }

  /** hostd's message log (domus dmesg), newest last, bounded. */
  private readonly log: string[] = [];

  logLine(msg: string): void {
    const t = ((Date.now() - this.startedAtMs) / 1000).toFixed(3).padStart(12);
    this.log.push(`(domus) [${t}] ${msg}`);
    if (this.log.length > 2000) this.log.splice(0, this.log.length - 2000);
  }

  /** The switch of bridge `name`, made on first use. */
  bridge(name: string): VSwitch {
    let sw = this.switches.get(name);
    if (!sw) {
      sw = new VSwitch({ name });
      this.switches.set(name, sw);
    }
    return sw;
  }

  /** The agent's next line on `e`'s control channel, or a timeout message. */
  private agentReply(e: Entry, ms: number): Promise<string> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        const i = e.agentWaiters.indexOf(got);
        if (i >= 0) e.agentWaiters.splice(i, 1);
        resolve(`no answer in ${ms / 1000} s`);
      }, ms);
      const got = (line: string) => {
        clearTimeout(t);
        resolve(line);
      };
      e.agentWaiters.push(got);
    });
  }

  private info(): HostInfo {
    const frames = this.host.resources.frames;
    return {
      hostname: hostname(),
      version: VERSION,
      pid: process.pid,
      pcpus: this.host.pcpus,
      hostCores: hostCores(),
      totalMemoryMiB: this.opts.memoryMiB,
      freeMemoryMiB: Math.floor((frames.free * 4096) / MiB),
      startedAtMs: this.startedAtMs,
      runDir: this.opts.runDir,
      dom0: {
        memoryMiB: Math.round(process.memoryUsage.rss() / MiB),
        cpuSeconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
      },
    };
  }

  /** The driver domain `name`, started now if it is not there yet. */
  private async driverDomain(name: string): Promise<DriverDomain> {
    checkName(name);
    let dd = this.driverDomains.get(name);
    if (!dd) {
      dd = await DriverDomain.start(name, (line) => this.logLine(line));
      this.driverDomains.set(name, dd);
      this.logLine(`driver domain ${name} started`);
    }
    return dd;
  }

  private knownDriverDomain(name: unknown): DriverDomain {
    const dd = this.driverDomains.get(String(name ?? ''));
    if (!dd) {
      throw new UserError(
        `driver domain ${String(name ?? '')} does not exist; domus driver-domain list shows them`,
      );
    }
    return dd;
  }

  /** Has driver domain `name` serve `disk`. */
  private async serveDisk(
    name: string,
    disk: { path: string; readOnly: boolean; format?: 'raw' | 'qcow2' },
  ): Promise<{ dd: DriverDomain; id: number; spec: DriverDiskSpec }> {
    await Promise.all(this.detaching);
    const dd = await this.driverDomain(name);
    const { id, spec } = await dd.attach({
      path: disk.path,
      readOnly: disk.readOnly,
      ...(disk.format !== undefined && { format: disk.format }),
    });
    return { dd, id, spec };
  }

  /** Stops serving `e`'s driver-domain disks: all of them, or the one hot-plugged at `slot`. */
  private async unserveDisks(e: Entry, slot?: number): Promise<void> {
    for (let i = e.driverDisks.length - 1; i >= 0; i--) {
      const x = e.driverDisks[i]!;
      if (slot !== undefined && x.slot !== slot) continue;
      e.driverDisks.splice(i, 1);
      const p = x.dd.detach(x.id);
      this.detaching.add(p);
      await p.finally(() => this.detaching.delete(p));
    }
  }

  /** Migration and Remus move a domain's disks with it; a driver domain's disks stay on this host. */
  private servedHere(e: Entry, what: 'migrate' | 'remus'): Entry {
    if (e.driverDisks.length > 0) {
      throw new UserError(
        `domain ${e.name} has disks served by a driver domain, which ${what} cannot move yet; ` +
          `save and restore it instead`,
      );
    }
    return e;
  }

  /** Finds a live domain by id (number or digits) or name. */
  private find(dom: unknown): Entry {
    const live = this.entries.filter((e) => !e.gone);
    const s = String(dom ?? '');
    const e = /^\d+$/.test(s) ? live.find((x) => x.id === Number(s)) : live.find((x) => x.name === s);
    if (!e) throw new UserError(`domain ${s} does not exist; domus list shows the running domains`);
    return e;
  }

  private async create(cfg: DomainConfig, restore?: RestoreSource<DomainConfig>): Promise<DomainRecord> {
    checkName(cfg.name);
    if (this.entries.some((e) => !e.gone && e.name === cfg.name)) {
      throw new UserError(`a domain named ${cfg.name} already exists; pick another name or destroy it first`);
    }
    const read = (what: string, path: string): Uint8Array => {
      try {
        return readFileSync(path);
      } catch {
        throw new UserError(`${what} ${path} cannot be read; check the path in the domain's configuration`);
      }
    };
    // Every vif gets a MAC now (Xen's OUI, random), so it stays the same across restarts.
    cfg = { ...cfg, vifs: (cfg.vifs ?? []).map((v) => ({ ...v, mac: v.mac ?? formatMac(randomXenMac()) })) };
    const memoryBytes = cfg.memoryMiB * MiB;
    const needed = memoryBytes + DOMAIN_OVERHEAD_BYTES;
    const free = this.host.resources.frames.free * 4096;
    if (needed > free) {
      throw new UserError(
        `domain ${cfg.name} needs ${Math.ceil(needed / MiB)} MiB of machine memory but ${Math.floor(free / MiB)} MiB ` +
          `are free; lower memory or restart hostd with a larger --memory`,
      );
    }
    // A restored domain needs its kernel only to reboot (as xl re-reads it then); without it, a
    // reboot fails with the kernel's name.
    const kernel = (): Uint8Array => {
      if (!restore) return maybeGunzip(read('kernel', cfg.kernel));
      try {
        return maybeGunzip(readFileSync(cfg.kernel));
      } catch {
        return new Uint8Array(0);
      }
    };
    const ramdisk = (path: string): Uint8Array | undefined => {
      if (!restore) return read('ramdisk', path);
      try {
        return readFileSync(path);
      } catch {
        return undefined;
      }
    };
    const initrd = cfg.ramdisk !== undefined ? ramdisk(cfg.ramdisk) : undefined;
    const disks = restore ? restore.saved.disks : (cfg.disks ?? []);
    // Disks that name a driver domain are opened there first; the pCPU gets their channels.
    const served: ({ dd: DriverDomain; id: number; spec: DriverDiskSpec } | undefined)[] = [];
    const unserve = async (): Promise<void> => {
      for (const x of served) if (x) await x.dd.detach(x.id);
    };
    try {
      for (const d of disks)
        served.push(d.backend !== undefined ? await this.serveDisk(d.backend, d) : undefined);
    } catch (err) {
      await unserve();
      throw err;
    }
    let handle: DomainHandle;
    try {
      handle = await this.host.createDomain({
        name: cfg.name,
        memoryBytes,
        vcpus: cfg.vcpus,
        // A gzipped Image is unpacked here, as xl's domain builder does for compressed kernels.
        kernel: kernel(),
        kernelName: cfg.kernel,
        ...(initrd && { initrd }),
        cmdline: cfg.cmdline,
        disks: disks.map((d, i) => {
          const driver = served[i];
          return {
            path: d.path,
            readOnly: d.readOnly,
            ...(d.format !== undefined && { format: d.format }),
            ...(driver && { backend: driver.dd.name, driver: driver.spec }),
          };
        }),
        vifs: (cfg.vifs ?? []).map((v) => ({ mac: v.mac! })),
        jit: this.opts.jit ? 'on' : 'off',
        ...(cfg.weight !== undefined && { weight: cfg.weight }),
        ...(cfg.cap !== undefined && { cap: cfg.cap }),
        ...(cfg.pcpu !== undefined && { pcpu: cfg.pcpu }),
        ...(cfg.paused !== undefined && !restore && { paused: cfg.paused }),
        onPoweroff: cfg.onPoweroff ?? 'destroy',
        onReboot: cfg.onReboot ?? 'restart',
        onCrash: cfg.onCrash ?? 'destroy',
        ...(restore && {
          restore: {
            layout: restore.saved.layout,
            ...(restore.deferDisks === true && { deferDisks: restore.saved.diskBytes ?? [] }),
          },
        }),
      });
    } catch (err) {
      await unserve();
      throw err;
    }
    const e = new Entry(handle, cfg.name, cfg.uuid ?? randomUUID(), cfg, Date.now());
    for (const x of served) if (x) e.driverDisks.push({ dd: x.dd, id: x.id });
    this.entries.push(e);
    handle.onConsole((b) => e.appendConsole(b));
    handle.onControlLine = (line) => e.agentWaiters.shift()?.(line);
    e.ports = (cfg.vifs ?? []).map((v, devid) =>
      this.bridge(v.bridge).attach(`vif${handle.id}.${devid}`, (frame) => handle.sendFrame(devid, frame)),
    );
    handle.onNetTx = (devid, frame) => (e.hold ? e.hold.push(devid, frame) : e.ports[devid]?.send(frame));
    handle.onShutdown((reason, info, action) => {
      this.logLine(
        `domain ${info.id} (${e.name}) ${reason.kind}${reason.kind === 'poweroff' ? ` (code ${reason.code})` : ''}${reason.kind === 'crash' ? `: ${reason.detail}` : ''}; action ${action}`,
      );
      e.shutdown = { kind: reason.kind };
      if (reason.kind === 'poweroff') e.shutdown.code = reason.code;
      if (reason.kind === 'crash') e.shutdown.detail = reason.detail;
      if (action === 'restart') {
        e.createdAtMs = Date.now();
        for (const slot of e.plugged.keys()) void this.unserveDisks(e, slot);
        e.plugged.clear();
      }
      this.broadcast(this.record(e, info));
    });
    void handle.gone.then((info) => {
      e.gone = true;
      this.logLine(`domain ${info.id} (${e.name}) destroyed`);
      for (const p of e.ports) p.detach();
      void this.unserveDisks(e);
      void this.removeXenstore(e);
      const idx = this.entries.indexOf(e);
      if (idx >= 0) this.entries.splice(idx, 1);
      this.broadcast({ ...this.record(e, info), state: 'gone' });
      for (const c of e.subscribers)
        c.emit({ ev: 'domain', record: { ...this.record(e, info), state: 'gone' } });
    });
    if (restore) {
      try {
        await restore.load(handle, cfg.paused === true);
      } catch (err) {
        await handle.destroy();
        throw err;
      }
    }
    await this.writeXenstore(e);
    handle.onShutdown((_r, _info, action) => {
      if (action === 'restart') void this.writeXenstore(e);
    });
    const rec = this.record(e, await handle.info());
    this.logLine(
      `domain ${e.id} (${e.name}) created: ${cfg.memoryMiB} MiB, ${cfg.vcpus} vCPUs on pCPU ${rec.pcpu}`,
    );
    this.broadcast(rec);
    return rec;
  }

  /** `domus save`: the domain's state to `path` (save_restore.ts); destroys it unless `keep`. */
  private async save(e: Entry, path: string, keep: boolean): Promise<SaveResult> {
    if (!isAbsolute(path)) throw new UserError(`save file ${path} is not an absolute path; give a full path`);
    this.logLine(`domain ${e.id} (${e.name}) saving to ${path}`);
    const r = await saveDomain({
      handle: e.handle,
      resources: this.host.resources,
      uuid: e.uuid,
      path,
      keep,
      configOf: (snap) => this.savedConfig(e, snap),
    });
    this.logLine(
      `domain ${e.id} (${e.name}) saved: ${r.pages} pages with data, ${r.zeroPages} zero, ${r.bytes} bytes in ${Math.round(r.ms)} ms`,
    );
    return r;
  }

  /** The configuration a save file or migration stream records for `e`, with its disks and MACs now. */
  private savedConfig(e: Entry, snap: Pick<SaveSnapshot, 'disks' | 'macs'>): DomainConfig {
    const cfg: DomainConfig = { ...e.config, name: e.name, uuid: e.uuid };
    delete cfg.paused;
    delete cfg.pcpu;
    const vdevs = new Map<string, string>();
    for (const d of [...(e.config.disks ?? []), ...e.plugged.values()]) if (d.vdev) vdevs.set(d.path, d.vdev);
    cfg.disks = snap.disks.map((d) => ({ ...d, ...(vdevs.has(d.path) && { vdev: vdevs.get(d.path)! }) }));
    cfg.vifs = snap.macs.map((mac, devid) => ({
      mac,
      bridge: e.config.vifs?.[devid]?.bridge ?? e.hotVifs.get(devid)?.bridge ?? DEFAULT_BRIDGE,
    }));
    return cfg;
  }

  /** `domus remus`: protects `e` by checkpoints to the backup host `to`; resolves after the first one. */
  private async remus(
    e: Entry,
    to: string,
    interval: unknown,
  ): Promise<{ intervalMs: number; setupMs: number }> {
    const intervalMs = interval === undefined ? DEFAULT_REMUS_INTERVAL_MS : Number(interval);
    if (!Number.isInteger(intervalMs) || intervalMs < 5 || intervalMs > 60_000) {
      throw new UserError(
        `--interval ${String(interval)} is not a whole number of milliseconds from 5 to 60000`,
      );
    }
    if (e.remus) throw new UserError(`domain ${e.name} is protected by Remus already`);
    const t0 = performance.now();
    const hold = new NetHold((devid, frame) => e.ports[devid]?.send(frame));
    e.hold = hold;
    const rp = new RemusPrimary({
      handle: e.handle,
      resources: this.host.resources,
      uuid: e.uuid,
      to,
      key: this.migrationKey(),
      intervalMs,
      hold,
      configOf: (snap) => this.savedConfig(e, snap),
    });
    try {
      await rp.start();
    } catch (err) {
      e.hold = undefined;
      if (err instanceof UserError) throw err;
      throw new UserError(
        `Remus could not start (${err instanceof Error ? err.message : String(err)}); the domain carries on unprotected`,
      );
    }
    e.remus = rp;
    this.logLine(`domain ${e.id} (${e.name}) protected by Remus: backup ${to}, every ${intervalMs} ms`);
    void rp.ended.then((why) => {
      e.remus = undefined;
      e.hold = undefined;
      const s = rp.status;
      this.logLine(
        `domain ${e.name}: Remus protection ended (${why}) after ${s.checkpoints} checkpoints, mean pause ${s.meanPauseMs.toFixed(1)} ms`,
      );
    });
    e.handle.onShutdown(() => void rp.stop('the domain shut down'));
    return { intervalMs, setupMs: performance.now() - t0 };
  }

  /** Fresh raw replicas of a Remus domain's disks, under the state directory, open for writing. */
  private remusReplicas(
    uuid: string,
    disks: { path: string }[],
    sizes: number[],
  ): { path: string; fd: number }[] {
    const dir = join(this.opts.stateDir ?? join(this.opts.runDir, 'state'), 'remus', uuid);
    mkdirSync(dir, { recursive: true });
    return disks.map((_, i) => {
      const path = join(dir, `disk${i}.img`);
      const fd = openSync(path, 'w+', 0o600);
      ftruncateSync(fd, sizes[i] ?? 0);
      return { path, fd };
    });
  }

  private migrationKey(): Buffer {
    return migrationKey(this.opts.stateDir ?? join(this.opts.runDir, 'state'));
  }

  /**
   * The destination of a live migration: builds the domain from the stream (paused), says READY,
   * and starts it on GO; without GO (the source failed or went away) it destroys it again.
   * DOMUS_TEST_MIGRATE_DIE=stream|ready|disks makes this process die there (fault-injection tests).
   */
  private async receiveMigration(wire: Wire, peer: string, mode: 'MIGRATE' | 'REMUS'): Promise<void> {
    const die = process.env['DOMUS_TEST_MIGRATE_DIE'];
    let received = 0;
    const inner = wire.source();
    const source = {
      read: async () => {
        const b = await inner.read();
        received += b?.length ?? 0;
        if (die === 'stream' && received > 8 * MiB) process.kill(process.pid, 'SIGKILL');
        return b;
      },
    };
    try {
      const src = await openStream<DomainConfig>(
        source,
        `the migration stream from ${peer}`,
        () => {},
        false,
      );
      const cfg: DomainConfig = { ...src.saved.domain, name: src.name, uuid: src.uuid };
      this.logLine(`domain ${cfg.name} arriving from ${peer}`);
      // The domain is built paused from the stream; READY, then it starts on GO — before the
      // toolstack's bookkeeping (xenstore), which need not count as downtime.
      const load = src.load.bind(src);
      if (mode === 'REMUS') {
        // The backup's disks are raw replicas in its state directory, kept in step by the stream.
        const replicas = this.remusReplicas(src.uuid, src.saved.disks, src.saved.diskBytes ?? []);
        const vdevs = (cfg.disks ?? []).map((d) => d.vdev);
        src.saved.disks = replicas.map((r, i) => ({
          path: r.path,
          readOnly: src.saved.disks[i]!.readOnly,
          format: 'raw',
        }));
        cfg.disks = src.saved.disks.map((d, i) => ({
          ...d,
          ...(vdevs[i] !== undefined && { vdev: vdevs[i] }),
        }));
        src.load = async (handle) => {
          this.logLine(`domain ${cfg.name}: Remus backup for ${peer}`);
          const r = await remusBackup(src, handle, wire, (disk, offset, data) => {
            const fd = replicas[disk]?.fd;
            if (fd === undefined)
              throw new Error(`the stream writes to disk ${disk}, which the domain does not have`);
            for (let done = 0; done < data.length;)
              done += writeSync(fd, data, done, data.length - done, offset + done);
          }).finally(() => {
            for (const x of replicas) closeSync(x.fd);
          });
          if (r === 'ended') throw new Error('the domain ended on the primary');
          this.logLine(
            `domain ${cfg.name}: the primary ${peer} went away; took over from the last checkpoint`,
          );
        };
      } else {
        src.deferDisks = true;
      }
      if (mode === 'MIGRATE')
        src.load = async (handle) => {
          await load(handle, true, (offset) => wire.send(`APPLIED ${offset}`));
          if (die === 'ready') process.kill(process.pid, 'SIGKILL');
          wire.send('READY');
          // The source lets go of the disk images, then we open them (shared storage).
          if ((await wire.readLine().catch(() => null)) !== 'DISKS') throw new Error('the source went away');
          await handle.disks('open');
          if (die === 'disks') process.kill(process.pid, 'SIGKILL');
          wire.send('OPENED');
          const go = await wire.readLine().catch(() => null);
          if (go !== 'GO') throw new Error('the source did not commit (no GO)');
          await handle.unpause();
          wire.send('DONE');
          wire.socket.end();
        };
      const rec = await this.create(cfg, src);
      this.logLine(`domain ${rec.id} (${rec.name}) migrated in from ${peer}`);
    } catch (e) {
      const why = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
      this.logLine(`a migration from ${peer} failed: ${why}`);
      if (!wire.socket.destroyed) wire.send(`ERR ${why}`);
      wire.socket.end();
    }
  }

  /** `domus restore`: a domain from a save file, started unless `paused`. */
  private async restore(path: string, paused: boolean): Promise<DomainRecord> {
    if (!isAbsolute(path)) throw new UserError(`save file ${path} is not an absolute path; give a full path`);
    const src = await openSaveFile<DomainConfig>(path);
    try {
      const cfg: DomainConfig = { ...src.saved.domain, name: src.name, uuid: src.uuid, paused };
      if (cfg.memoryMiB * MiB !== src.memoryBytes || cfg.vcpus !== src.vcpus) {
        throw new UserError(
          `save file ${path} disagrees with itself about memory or vCPUs; it cannot be restored`,
        );
      }
      const rec = await this.create(cfg, src);
      this.logLine(`domain ${rec.id} (${rec.name}) restored from ${path}`);
      return rec;
    } finally {
      src.close();
    }
  }

  /**
   * The domain's xenstore entries, as libxl writes them: /local/domain/<id> (owned by the
   * domain, readable by it) with name, domid, vm, memory and cpu availability and the control
   * node the toolstack writes shutdown requests to; /vm/<uuid> for the VM.
   */
  private async writeXenstore(e: Entry): Promise<void> {
    const id = e.id;
    const dom = `/local/domain/${id}`;
    const vm = `/vm/${e.uuid}`;
    const tx = async (t: number) => {
      await this.xs.write(`${vm}/uuid`, e.uuid, t);
      await this.xs.write(`${vm}/name`, e.name, t);
      await this.xs.mkdir(dom, t);
      await this.xs.setPerms(dom, [`n0`, `r${id}`], t);
      await this.xs.write(`${dom}/name`, e.name, t);
      await this.xs.write(`${dom}/domid`, String(id), t);
      await this.xs.write(`${dom}/vm`, vm, t);
      await this.xs.write(`${dom}/memory/target`, String(e.config.memoryMiB * 1024), t);
      for (let c = 0; c < e.config.vcpus; c++)
        await this.xs.write(`${dom}/cpu/${c}/availability`, 'online', t);
      await this.xs.write(`${dom}/control/shutdown`, '', t);
      await this.xs.setPerms(`${dom}/control/shutdown`, [`n0`, `b${id}`], t);
    };
    await this.xs.transaction(tx);
    e.xsId = id;
  }

  private async removeXenstore(e: Entry): Promise<void> {
    if (e.xsId === undefined) return;
    await this.xs.rm(`/local/domain/${e.xsId}`).catch(() => {});
    await this.xs.rm(`/vm/${e.uuid}`).catch(() => {});
    e.xsId = undefined;
  }

  private async list(): Promise<DomainRecord[]> {
    const infos = await this.host.list();
    const out: DomainRecord[] = [];
    for (const e of this.entries) {
      if (e.gone) continue;
      const info = infos.find((i) => i.id === e.id);
      if (info) out.push(this.record(e, info));
    }
    return out.sort((x, y) => x.id - y.id);
  }

  private async infoOf(e: Entry): Promise<DomainInfo> {
    return e.handle.info();
  }

  private async changed(e: Entry): Promise<DomainRecord> {
    const rec = this.record(e, await e.handle.info());
    this.broadcast(rec);
    return rec;
  }

  private broadcast(record: DomainRecord): void {
    for (const c of this.watchers) c.emit({ ev: 'domain', record });
  }

  private record(e: Entry, info: DomainInfo): DomainRecord {
    const r: DomainRecord = {
      id: e.id,
      uuid: e.uuid,
      name: e.name,
      state: info.state,
      memoryMiB: Math.round(info.memoryBytes / MiB) || e.config.memoryMiB,
      vcpus: info.vcpus,
      pcpu: info.pcpu,
      weight: info.weight,
      cap: info.cap,
      cpuSeconds: info.cpuMs / 1000,
      stealSeconds: info.stealMs / 1000,
      instructions: info.instructions,
      blocked: info.blocked,
      targetMiB: e.targetMiB,
      maxMemMiB: e.maxMemMiB,
      onlineVcpus: e.onlineVcpus,
      createdAtMs: e.createdAtMs,
      config: e.config,
    };
    if (e.shutdown) r.shutdown = e.shutdown;
    return r;
  }
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
}

function maybeGunzip(b: Uint8Array): Uint8Array {
  return b[0] === 0x1f && b[1] === 0x8b ? new Uint8Array(gunzipSync(b)) : b;
}

function checkName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name) || name === 'Domain-0') {
    throw new UserError(
      `domain name '${name}' is not valid; use 1-64 letters, digits, '.', '_' or '-', not Domain-0`,
    );
  }
}

/**
 * Makes `path` free for a new listener: refuses when a live process answers there, removes a
 * stale socket file left by a dead one.
 */
export async function takeSocketPath(path: string, what: string): Promise<void> {
  if (!existsSync(path)) return;
  const alive = await new Promise<boolean>((resolve) => {
    ControlConn.connect(path, what).then(
      (c) => {
        c.close();
        resolve(true);
      },
      () => resolve(false),
    );
  });
  if (alive)
    throw new UserError(`${what} is already running on ${path}; stop it first or use another run directory`);
  unlinkSync(path);
}
