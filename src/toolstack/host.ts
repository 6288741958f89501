/**
 * The host: the machine (shared memory, frames, hart blocks) and its pCPUs, each a host thread
 * running one Hypervisor (toolstack/pcpu.ts). This is the toolstack library's entry point:
 * `Host.start()` brings the pCPUs up, `createDomain()` builds a domain from a plain config on a
 * pCPU and returns a handle with its console, its lifecycle operations and its counters.
 *
 * Placement. A domain runs on one pCPU with all its vCPUs and device models (the pCPU with the
 * fewest vCPUs placed, unless the config pins one), so a domain's memory is only ever touched
 * by one thread and its devices need no cross-thread calls; domains on different pCPUs run in
 * parallel. Within a pCPU the credit scheduler shares the thread between the vCPUs there by
 * weight and cap. The departure from Xen (where any vCPU may run on any pCPU) is deliberate: a
 * guest's LR/SC and AMOs and its emulated devices stay single-threaded and fast.
 *
 * xenstore. The host owns the machine's xenstored (`host.xenstored`), which runs on the host's
 * thread, the toolstack's dom0. Every domain gets a xenstore ring when it is built and is
 * introduced to xenstored as soon as it exists (after its state is loaded, for a restore), with
 * its basic nodes; it is released when it goes (guest_xenstore.ts). While a save reads a
 * domain's memory, its ring is held still.
 */
import { UserError } from '../common/errors.ts';
import type { ShutdownReason } from '../hypervisor/domain.ts';
import { MachineResources } from '../hypervisor/resources.ts';
import { hostCores, spawnWorker, takePrestarted, type WorkerLink } from '../platform/node/worker.ts';
import type { StoreRing } from './domain_builder.ts';
import { GuestXenstore } from './guest_xenstore.ts';
import { FrameBatcher, isNetFrames } from './net/frame_batch.ts';
import { Xenstored } from './xenstore/xenstored.ts';
import type {
  ClockSpec,
  CreatedDomain,
  DomainInfo,
  DomainSpec,
  FromPcpu,
  PcpuInit,
  SaveSnapshot,
  ShutdownAction,
  ToPcpu,
} from './pcpu_protocol.ts';

export type { DomainInfo, DomainSpec, ShutdownAction } from './pcpu_protocol.ts';

/** Page tables and slack the machine needs per domain beyond its RAM. */
export const DOMAIN_OVERHEAD_BYTES = 16 << 20;

export interface HostOptions {
  /** Machine memory for all domains together: their RAM plus DOMAIN_OVERHEAD_BYTES each. */
  memoryBytes: number;
  /** pCPU threads (default: the host's cores). */
  pcpus?: number;
  /** vCPU state blocks (default 32): the most vCPUs all domains together can have. */
  maxVcpus?: number;
  /** Virtual time from retired instructions on every pCPU (see VirtualClock). */
  deterministic?: boolean;
  /** Where xenstored's diagnostics go (closed connections, broken guest rings). */
  xenstoreLog?: (line: string) => void;
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

class Pcpu {
  readonly pending = new Map<number, Pending>();
  /** vCPUs of the domains placed here. */
  vcpus = 0;
  alive = true;
  /** Frames from the switches for the domains here, sent in batches (net/frame_batch.ts). */
  readonly netRx: FrameBatcher;
  constructor(
    readonly index: number,
    readonly link: WorkerLink,
  ) {
    this.netRx = new FrameBatcher((m, transfer) => {
      if (this.alive) link.post(m, transfer);
    });
  }
}

export class Host {
  private readonly handles = new Map<number, DomainHandle>();
  private nextReq = 1;
  private closed = false;
  /** The machine's xenstored: guests reach it over their rings, the toolstack in process. */
  readonly xenstored: Xenstored;
  /** @internal Guests' rings and their basic nodes. */
  readonly guestXs: GuestXenstore;

  private constructor(
    readonly resources: MachineResources,
    private readonly cpus: Pcpu[],
    xenstoreLog?: (line: string) => void,
  ) {
    // connectDomain runs on introduce, never before guestXs exists.
    this.xenstored = new Xenstored({
      connectDomain: (domid, gfn, evtchn) => this.guestXs.connect(domid, gfn, evtchn),
      ...(xenstoreLog && { log: xenstoreLog }),
    });
    this.guestXs = new GuestXenstore(resources, this.xenstored, xenstoreLog);
  }

  /** Starts the pCPU threads; resolves when all of them are ready to take domains. */
  static async start(o: HostOptions): Promise<Host> {
    const n = o.pcpus ?? hostCores();
    if (!Number.isInteger(n) || n < 1 || n > 64) {
      throw new UserError(`--pcpus ${n} is not a number from 1 to 64`);
    }
    const resources = MachineResources.create({ memoryBytes: o.memoryBytes, harts: o.maxVcpus ?? 32 });
    const clock: ClockSpec = o.deterministic
      ? { kind: 'virtual' }
      : { kind: 'host', origin: performance.timeOrigin + performance.now() };
    const entry = new URL(
      import.meta.url.endsWith('.ts') ? './pcpu_worker.ts' : './pcpu_worker.mjs',
      import.meta.url,
    );
    const cpus: Pcpu[] = [];
    const ready: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const init: PcpuInit = { pcpu: i, machine: resources.handle(), clock };
      const cpu = new Pcpu(i, (i === 0 && takePrestarted(entry, init)) || spawnWorker(entry, init));
      cpus.push(cpu);
      ready.push(
        new Promise<void>((resolve, reject) => {
          cpu.link.onMessage((m) => {
            if ((m as FromPcpu).t === 'ready') resolve();
          });
          cpu.link.onError(reject);
        }),
      );
    }
    const host = new Host(resources, cpus, o.xenstoreLog);
    for (const cpu of cpus) host.wire(cpu);
    try {
      await Promise.all(ready);
    } catch (e) {
      await Promise.all(cpus.map((c) => c.link.terminate()));
      await host.guestXs.stop();
      throw e;
    }
    return host;
  }

  get pcpus(): number {
    return this.cpus.length;
  }

  /** Builds a domain and (unless spec.paused) starts it; `pcpu` pins it to one pCPU. */
  async createDomain(spec: DomainSpec & { pcpu?: number }): Promise<DomainHandle> {
    if (this.closed) throw new Error('the host is closed');
    let cpu: Pcpu | undefined;
    if (spec.pcpu !== undefined) {
      cpu = this.cpus[spec.pcpu];
      if (!cpu)
        throw new UserError(
          `pCPU ${spec.pcpu} does not exist; this host has pCPUs 0..${this.cpus.length - 1}`,
        );
    } else {
      for (const c of this.cpus) if (c.alive && (!cpu || c.vcpus < cpu.vcpus)) cpu = c;
    }
    if (!cpu?.alive) throw new Error('no pCPU is running');
    const data: DomainSpec = { ...spec };
    delete (data as { pcpu?: number }).pcpu;
    cpu.vcpus += spec.vcpus;
    let made: CreatedDomain;
    try {
      made = (await this.request(cpu, { t: 'create', req: 0, spec: data })) as CreatedDomain;
    } catch (e) {
      cpu.vcpus -= spec.vcpus;
      throw e;
    }
    const h = new DomainHandle(this, cpu.index, made.id, spec.name, spec.vcpus, made.store);
    this.handles.set(made.id, h);
    // A restored domain's page holds the saved ring: it is introduced once that is loaded.
    if (!spec.restore) this.guestXs.introduce(made.id, spec.name, made.store);
    return h;
  }

  /** Every domain on every pCPU, by id. */
  async list(): Promise<DomainInfo[]> {
    const all = await Promise.all(
      this.cpus
        .filter((c) => c.alive)
        .map((c) => this.request(c, { t: 'list', req: 0 }) as Promise<DomainInfo[]>),
    );
    return all.flat().sort((a, b) => a.id - b.id);
  }

  /** Destroys every domain and stops the pCPU threads. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.cpus.map(async (c) => {
        if (c.alive) await this.request(c, { t: 'stop', req: 0 }).catch(() => {});
        await c.link.terminate();
      }),
    );
    for (const id of [...this.handles.keys()]) this.guestXs.release(id);
    await this.guestXs.stop();
  }

  /** @internal */
  request(
    cpu: Pcpu | number,
    m: Exclude<ToPcpu, { t: 'input' }>,
    transfer?: ArrayBuffer[],
  ): Promise<unknown> {
    const c = typeof cpu === 'number' ? this.cpus[cpu]! : cpu;
    if (!c.alive) return Promise.reject(new Error(`pCPU ${c.index} has stopped`));
    const req = this.nextReq++;
    return new Promise((resolve, reject) => {
      c.pending.set(req, { resolve, reject });
      c.link.post({ ...m, req }, transfer);
    });
  }

  /** @internal */
  send(pcpu: number, m: ToPcpu, transfer?: ArrayBuffer[]): void {
    this.cpus[pcpu]!.link.post(m, transfer);
  }

  /** @internal Queues a frame (handed over) for interface `devid` of domain `domid` on `pcpu`. */
  sendFrame(pcpu: number, domid: number, devid: number, frame: Uint8Array): void {
    this.cpus[pcpu]!.netRx.push(domid, devid, frame);
  }

  private wire(cpu: Pcpu): void {
    cpu.link.onMessage((raw) => {
      if (isNetFrames(raw)) {
        for (let i = 0; i < raw.frames.length; i++) {
          this.handles.get(raw.domids[i]!)?.onNetTx(raw.devids[i]!, raw.frames[i]!);
        }
        return;
      }
      const m = raw as FromPcpu;
      switch (m.t) {
        case 'ready':
          return;
        case 'reply':
        case 'fail': {
          const p = cpu.pending.get(m.req);
          if (!p) return;
          cpu.pending.delete(m.req);
          if (m.t === 'reply') p.resolve(m.value);
          else p.reject(m.user ? new UserError(m.message) : new Error(m.message));
          return;
        }
        case 'console':
          this.handles.get(m.domid)?.deliverConsole(m.bytes);
          return;
        case 'control-out':
          this.handles.get(m.domid)?.onControlLine(m.line);
          return;
        case 'shutdown':
          this.handles.get(m.domid)?.deliverShutdown(m.reason, m.info, m.action);
          return;
        case 'restarted': {
          this.guestXs.release(m.domid);
          const h = this.handles.get(m.domid);
          if (!h) return;
          this.handles.delete(m.domid);
          this.handles.set(m.newId, h);
          h.deliverRestart(m.newId, m.store);
          this.guestXs.introduce(m.newId, h.name, m.store);
          return;
        }
        case 'gone': {
          this.guestXs.release(m.domid);
          const h = this.handles.get(m.domid);
          cpu.vcpus -= m.info.vcpus;
          if (h && h.id === m.domid) {
            this.handles.delete(m.domid);
            h.deliverGone(m.info);
          }
          return;
        }
      }
    });
    const die = (why: string) => {
      if (!cpu.alive) return;
      cpu.alive = false;
      for (const p of cpu.pending.values()) p.reject(new Error(`pCPU ${cpu.index} ${why}`));
      cpu.pending.clear();
      for (const h of [...this.handles.values()]) {
        if (h.pcpu !== cpu.index) continue;
        this.handles.delete(h.id);
        this.guestXs.release(h.id);
        h.deliverCrash(`pCPU ${cpu.index} ${why}`);
      }
    };
    cpu.link.onError((e) => die(`failed: ${e.stack ?? e.message}`));
    cpu.link.onExit((code) => die(`exited (${code})`));
  }
}

/**
 * One domain of a Host, followed across restarts (on_reboot = restart gives it a new id, as
 * Xen does). Console output is kept until a listener is attached with `onConsole`.
 */
export class DomainHandle {
  /** How the domain last shut down, once it has. */
  lastShutdown: ShutdownReason | undefined;
  /** Resolves with the domain's final counters when it is gone for good. */
  readonly gone: Promise<DomainInfo>;
  private consoleListener: ((bytes: Uint8Array) => void) | undefined;
  private consoleBacklog: Uint8Array[] = [];
  private shutdownListeners: ((reason: ShutdownReason, info: DomainInfo, action: ShutdownAction) => void)[] =
    [];
  private resolveGone!: (info: DomainInfo) => void;

  constructor(
    private readonly host: Host,
    readonly pcpu: number,
    public id: number,
    readonly name: string,
    readonly vcpus: number,
    /** Its xenstore ring (HVM_PARAM_STORE_PFN / STORE_EVTCHN); a restart gives it a new one. */
    public store: StoreRing,
  ) {
    this.gone = new Promise((resolve) => (this.resolveGone = resolve));
  }

  /** Receives the guest's console output (including what came before this call). */
  onConsole(f: (bytes: Uint8Array) => void): void {
    this.consoleListener = f;
    for (const b of this.consoleBacklog) f(b);
    this.consoleBacklog = [];
  }

  /** Called each time the guest powers off, reboots or crashes, with the action taken. */
  onShutdown(f: (reason: ShutdownReason, info: DomainInfo, action: ShutdownAction) => void): void {
    this.shutdownListeners.push(f);
  }

  /** Sends bytes to the guest's console. */
  sendInput(bytes: Uint8Array): void {
    this.host.send(this.pcpu, { t: 'input', domid: this.id, bytes });
  }

  /** Frames network interface `devid` transmitted (set by whoever connects it to a switch). */
  onNetTx: (devid: number, frame: Uint8Array) => void = () => {};
  /** Lines the guest agent wrote on the control channel. */
  onControlLine: (line: string) => void = () => {};

  /** Delivers a copy of `frame` to network interface `devid` (batched with others; see net/frame_batch.ts). */
  sendFrame(devid: number, frame: Uint8Array): void {
    this.host.sendFrame(this.pcpu, this.id, devid, frame.slice());
  }

  /** Sends a line to the guest agent; fails when none listens on the control channel. */
  async control(line: string): Promise<void> {
    await this.host.request(this.pcpu, { t: 'control', req: 0, domid: this.id, line });
  }

  /** Hot-plugs a disk (block-attach); resolves with its virtio slot. */
  async attachDisk(disk: { path: string; readOnly: boolean; format?: 'raw' | 'qcow2' }): Promise<number> {
    return (await this.host.request(this.pcpu, { t: 'disk-attach', req: 0, domid: this.id, disk })) as number;
  }

  /** Hot-plugs a network interface (network-attach). */
  async attachNet(mac: string): Promise<{ devid: number; slot: number }> {
    return (await this.host.request(this.pcpu, { t: 'net-attach', req: 0, domid: this.id, mac })) as {
      devid: number;
      slot: number;
    };
  }

  /** Unplugs hot-plugged network interface `devid`. */
  async detachNet(devid: number): Promise<void> {
    await this.host.request(this.pcpu, { t: 'net-detach', req: 0, domid: this.id, devid });
  }

  /** Unplugs the hot-plugged disk in virtio slot `slot` (block-detach). */
  async detachDisk(slot: number): Promise<void> {
    await this.host.request(this.pcpu, { t: 'disk-detach', req: 0, domid: this.id, slot });
  }

  async pause(): Promise<void> {
    await this.host.request(this.pcpu, { t: 'pause', req: 0, domid: this.id });
  }

  async unpause(): Promise<void> {
    await this.host.request(this.pcpu, { t: 'unpause', req: 0, domid: this.id });
  }

  /** Sets the credit scheduler's weight and/or cap (xl sched-credit -w/-c). */
  async setSchedParams(p: { weight?: number; cap?: number }): Promise<void> {
    await this.host.request(this.pcpu, { t: 'sched', req: 0, domid: this.id, ...p });
  }

  /** The domain's state and counters now. */
  async info(): Promise<DomainInfo> {
    const all = (await this.host.request(this.pcpu, { t: 'list', req: 0 })) as DomainInfo[];
    const me = all.find((d) => d.id === this.id);
    if (!me) throw new UserError(`domain ${this.name} (id ${this.id}) no longer exists`);
    return me;
  }

  /** A copy of `length` bytes of the domain's memory at guest-physical address `gpa`. */
  async readMemory(gpa: number, length: number): Promise<Uint8Array> {
    return (await this.host.request(this.pcpu, {
      t: 'peek',
      req: 0,
      domid: this.id,
      gpa,
      length,
    })) as Uint8Array;
  }

  /**
   * Pauses the domain for a save and returns its state (save_restore.ts reads its RAM); its
   * xenstore ring is held still until `saveEnd`.
   */
  async saveBegin(): Promise<SaveSnapshot> {
    const id = this.id;
    this.host.guestXs.hold(id, true);
    try {
      return (await this.host.request(this.pcpu, { t: 'save-begin', req: 0, domid: id })) as SaveSnapshot;
    } catch (e) {
      this.host.guestXs.hold(id, false);
      throw e;
    }
  }

  /** Starts log-dirty mode (live migration); resolves with the domain's RAM frames. */
  async logDirtyStart(
    journalDisks = false,
  ): Promise<Pick<SaveSnapshot, 'baseGfn' | 'mfns' | 'layout' | 'disks' | 'macs' | 'diskBytes'>> {
    return (await this.host.request(this.pcpu, {
      t: 'log-dirty',
      req: 0,
      domid: this.id,
      op: 'start',
      disks: journalDisks,
    })) as Pick<SaveSnapshot, 'baseGfn' | 'mfns' | 'layout' | 'disks' | 'macs' | 'diskBytes'>;
  }

  /** Live migration: closes the domain's disk images (`release`) or opens them (`open`). */
  async disks(op: 'release' | 'open'): Promise<void> {
    await this.host.request(this.pcpu, { t: 'disks', req: 0, domid: this.id, op });
  }

  /** Asks the guest's balloon to bring the domain to `bytes` of memory (mem-set). */
  async setMemoryTarget(bytes: number): Promise<void> {
    await this.host.request(this.pcpu, { t: 'mem-target', req: 0, domid: this.id, bytes });
  }

  /** Reads from the domain's disk `disk` (index into its disk list). */
  async diskRead(disk: number, offset: number, length: number): Promise<Uint8Array> {
    return (await this.host.request(this.pcpu, {
      t: 'disk-read',
      req: 0,
      domid: this.id,
      disk,
      offset,
      length,
    })) as Uint8Array;
  }

  /** The GFNs written since the last call (log-dirty mode). */
  async logDirtyCollect(): Promise<number[]> {
    return (await this.host.request(this.pcpu, {
      t: 'log-dirty',
      req: 0,
      domid: this.id,
      op: 'collect',
    })) as number[];
  }

  async logDirtyStop(): Promise<void> {
    await this.host.request(this.pcpu, { t: 'log-dirty', req: 0, domid: this.id, op: 'stop' });
  }

  /** Ends a save: the domain carries on (`resume`) or is destroyed. */
  async saveEnd(outcome: 'resume' | 'continue' | 'destroy'): Promise<void> {
    const id = this.id;
    try {
      await this.host.request(this.pcpu, { t: 'save-end', req: 0, domid: id, outcome });
    } finally {
      if (outcome !== 'destroy') this.host.guestXs.hold(id, false);
    }
  }

  /** Loads saved pages into a domain created for a restore (`data` is handed over). */
  async restorePages(gfns: number[], data: Uint8Array, zero: number[], absent: number[]): Promise<void> {
    await this.host.request(
      this.pcpu,
      { t: 'restore-pages', req: 0, domid: this.id, gfns, data, zero, absent },
      [data.buffer as ArrayBuffer],
    );
  }

  /** Loads the saved vCPU, hypervisor and device states and starts the domain unless `paused`. */
  async restoreFinish(
    vcpus: Uint8Array[],
    hypervisor: unknown,
    devices: { name: string; state: unknown }[],
    paused: boolean,
  ): Promise<void> {
    await this.host.request(this.pcpu, {
      t: 'restore-finish',
      req: 0,
      domid: this.id,
      vcpus,
      hypervisor,
      devices,
      paused,
    });
    // The saved ring is in place: this host's xenstored takes it over from here (the guest's
    // watches stayed with the old connection, as after a Xen migration).
    this.host.guestXs.introduce(this.id, this.name, this.store);
  }

  /** Destroys the domain (whatever it is doing) and returns its final counters. */
  async destroy(): Promise<DomainInfo> {
    for (;;) {
      const id = this.id;
      try {
        await this.host.request(this.pcpu, { t: 'destroy', req: 0, domid: id });
        break;
      } catch {
        // Gone already, or restarted under a new id meanwhile: then destroy that one.
        if (this.id === id) break;
      }
    }
    return this.gone;
  }

  /** @internal */
  deliverConsole(bytes: Uint8Array): void {
    if (this.consoleListener) this.consoleListener(bytes);
    else this.consoleBacklog.push(bytes);
  }

  /** @internal */
  deliverShutdown(reason: ShutdownReason, info: DomainInfo, action: ShutdownAction): void {
    this.lastShutdown = reason;
    for (const f of this.shutdownListeners) f(reason, info, action);
  }

  /** @internal */
  deliverRestart(newId: number, store: StoreRing): void {
    this.id = newId;
    this.store = store;
  }

  /** @internal */
  deliverGone(info: DomainInfo): void {
    this.resolveGone(info);
  }

  /** @internal The pCPU running this domain died. */
  deliverCrash(detail: string): void {
    const reason: ShutdownReason = { kind: 'crash', detail };
    this.lastShutdown = reason;
    const info: DomainInfo = {
      id: this.id,
      name: this.name,
      pcpu: this.pcpu,
      state: 'dying',
      memoryBytes: 0,
      vcpus: this.vcpus,
      weight: 0,
      cap: 0,
      cpuMs: 0,
      stealMs: 0,
      instructions: 0,
      blocked: false,
      shutdownReason: reason,
    };
    for (const f of this.shutdownListeners) f(reason, info, 'destroy');
    this.resolveGone(info);
  }
}
