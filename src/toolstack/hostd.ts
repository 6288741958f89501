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
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { UserError } from '../common/errors.ts';
import { hostCores } from '../platform/node/worker.ts';
import { ControlConn } from './control/conn.ts';
import type { DomainConfig, DomainRecord, HostInfo } from './control/protocol.ts';
import { DOMAIN_OVERHEAD_BYTES, Host, type DomainHandle, type DomainInfo } from './host.ts';
import type { RestoreSource } from './save_restore.ts';
import { listenForMigrations } from './migrate.ts';
import { keyOf, migrate, receiveMigration, remus, restore, save } from './hostd_mobility.ts';
import { formatMac, randomXenMac } from './net/ethernet.ts';
import { UserNet } from './net/usernet.ts';
import { VSwitch } from './net/vswitch.ts';
import { DriverDomains, type ServedDisk } from './driver_domains.ts';
import { deviceRequest, DEVICE_REQUESTS } from './hostd_devices.ts';
import { checkName, DEFAULT_BRIDGE, Entry, type Args, type HostdOptions } from './hostd_entry.ts';

export { DEFAULT_BRIDGE, type HostdOptions } from './hostd_entry.ts';
import { XsClient } from './xenstore/client.ts';
import { XsSocketServer } from './xenstore/socket.ts';
import type { Xenstored } from './xenstore/xenstored.ts';

const MiB = 1 << 20;
const VERSION = '0.1.0';

export class Hostd {
  private readonly entries: Entry[] = [];
  /** Driver domains by name (xl.cfg disk `backend=NAME`), started on first use. */
  readonly driverDomains = new DriverDomains((line) => this.logLine(line));
  private readonly conns = new Set<ControlConn>();
  private readonly watchers = new Set<ControlConn>();
  private readonly startedAtMs = Date.now();
  private closing: Promise<void> | undefined;
  /** Resolves when hostd has shut down (a `host.shutdown` request or `close()`). */
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;

  /** xenstored of this host (the Host's): guests' rings, and the toolstack's view of every domain. */
  get xenstored(): Xenstored {
    return this.host.xenstored;
  }
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
    // xenstored's diagnostics go to hostd's log, which exists once hostd does.
    const sink: { log?: (line: string) => void } = {};
    const host = await Host.start({
      memoryBytes: opts.memoryMiB * MiB,
      ...(opts.pcpus !== undefined && { pcpus: opts.pcpus }),
      xenstoreLog: (line) => sink.log?.(`xenstored: ${line}`),
    });
    const server = createServer();
    const d = new Hostd(opts, host, server);
    sink.log = (line) => d.logLine(line);
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
        d.migrateServer = await listenForMigrations(opts.migrateListen, keyOf(d), (w, peer, mode) =>
          receiveMigration(d, w, peer, mode),
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
      await this.driverDomains.close();
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
    if (DEVICE_REQUESTS.has(op)) return deviceRequest(this, op, a);
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
        return save(this, this.find(a.dom), String(a.path ?? ''), a.keep === true);
      case 'domain.restore':
        return restore(this, String(a.path ?? ''), a.paused === true);
      case 'domain.remus':
        return remus(this, this.servedHere(this.find(a.dom), 'remus'), String(a.to ?? ''), a.intervalMs);
      case 'domain.migrate': {
        const e = this.servedHere(this.find(a.dom), 'migrate');
        return migrate(this, e, String(a.to ?? ''), (p) => c.emit({ ev: 'migrate', domid: e.id, ...p }));
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
        // As xl rename does: the name in xenstore follows.
        await this.xs.write(`/local/domain/${e.id}/name`, name);
        await this.xs.write(`/vm/${e.uuid}/name`, name);
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
  agentReply(e: Entry, ms: number): Promise<string> {
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
  find(dom: unknown): Entry {
    const live = this.entries.filter((e) => !e.gone);
    const s = String(dom ?? '');
    const e = /^\d+$/.test(s) ? live.find((x) => x.id === Number(s)) : live.find((x) => x.name === s);
    if (!e) throw new UserError(`domain ${s} does not exist; domus list shows the running domains`);
    return e;
  }

  async create(cfg: DomainConfig, restore?: RestoreSource<DomainConfig>): Promise<DomainRecord> {
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
    const served: (ServedDisk | undefined)[] = [];
    const unserve = async (): Promise<void> => {
      for (const x of served) if (x) await x.dd.detach(x.id);
    };
    try {
      for (const d of disks)
        served.push(d.backend !== undefined ? await this.driverDomains.serve(d.backend, d) : undefined);
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
    for (const x of served) if (x) e.driverDisks.push(x);
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
        for (const slot of e.plugged.keys()) void this.driverDomains.unserve(e.driverDisks, slot);
        e.plugged.clear();
      }
      this.broadcast(this.record(e, info));
    });
    void handle.gone.then((info) => {
      e.gone = true;
      this.logLine(`domain ${info.id} (${e.name}) destroyed`);
      for (const p of e.ports) p.detach();
      void this.driverDomains.unserve(e.driverDisks);
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

  /**
   * The domain's xenstore entries, as libxl writes them, beyond the ones the Host writes when it
   * introduces the domain (/local/domain/<id> readable by it, name, domid, store): vm, memory
   * and cpu availability and the control node the toolstack writes shutdown requests to;
   * /vm/<uuid> for the VM.
   */
  private async writeXenstore(e: Entry): Promise<void> {
    const id = e.id;
    const dom = `/local/domain/${id}`;
    const vm = `/vm/${e.uuid}`;
    const tx = async (t: number) => {
      await this.xs.write(`${vm}/uuid`, e.uuid, t);
      await this.xs.write(`${vm}/name`, e.name, t);
      // /local/domain/<id> itself, with name and domid, is the Host's (guest_xenstore.ts).
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

  async changed(e: Entry): Promise<DomainRecord> {
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
