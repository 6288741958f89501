/**
 * A pCPU thread: one Hypervisor over the shared machine, running the domains the host placed
 * here, and the toolstack's agent for them — it builds them (domain_builder.ts) with their
 * device models (virtio backends on files opened here), forwards their consoles, applies their
 * shutdown actions, and answers the host's requests (pcpu_protocol.ts).
 *
 * A domain lives on one pCPU with all its vCPUs and devices: its vCPUs take turns on this
 * thread under the local scheduler, so guest memory accesses of one domain (atomics, LR/SC)
 * never race across threads, and device emulation needs no cross-thread round trip.
 */
import { UserError } from '../common/errors.ts';
import { HostClock, seededRandom, VirtualClock } from '../machine/board.ts';
import type { Clock } from '../machine/device.ts';
import type { Domain, ShutdownReason } from '../hypervisor/domain.ts';
import { Hypervisor } from '../hypervisor/hypervisor.ts';
import { MachineResources } from '../hypervisor/resources.ts';
import type { BlockFile } from '../platform/node/block_file.ts';
import { openDiskImage } from '../platform/node/disk_image.ts';
import { attachJitToHart } from '../machine/jit/jit.ts';
import { VirtioBlk } from '../machine/virtio/blk.ts';
import { VirtioNet } from '../machine/virtio/net.ts';
import { parseMac } from './net/ethernet.ts';
import { FrameBatcher, isNetFrames } from './net/frame_batch.ts';
import type { WorkerLink } from '../platform/node/worker.ts';
import { buildDomain, CONTROL_PORT_NAME, type BuiltDomain } from './domain_builder.ts';
import { DomainDisk } from './domain_disk.ts';
import { DriverDisk } from './driver_channel.ts';
import { beginSave, finishRestore, restorePages } from './domain_save.ts';
import { checkSavable, ramMap } from '../hypervisor/domain_state.ts';
import { DirtyLog } from '../hypervisor/log_dirty.ts';
import type {
  CreatedDomain,
  DiskSpec,
  DomainInfo,
  DomainSpec,
  FromPcpu,
  PcpuInit,
  ShutdownAction,
  ToPcpu,
} from './pcpu_protocol.ts';

interface Resident {
  domain: Domain;
  spec: DomainSpec;
  /** Open disk files: the configured ones, then each hot-plugged one, in `diskSpecs` order (closed ones stay). */
  disks: DomainDisk[];
  diskSpecs: DiskSpec[];
  built: BuiltDomain;
  /** Disks hot-plugged by block-attach, by virtio slot. */
  plugged: Map<number, DomainDisk>;
  /** Network interfaces hot-plugged by network-attach: devid → virtio slot. */
  netSlots: Map<number, number>;
  /** MACs of its network interfaces, by devid. */
  macs: string[];
  /** Held still for a save: no network frames or console input reach it. */
  frozen: boolean;
  /** Whether it was paused when the save began. */
  wasPaused: boolean;
}

export class PcpuServer {
  readonly hv: Hypervisor;
  private readonly resident = new Map<number, Resident>();
  private readonly done: Promise<void>;
  /** Frames the domains here transmitted, on their way to the host's switches. */
  private readonly netTx: FrameBatcher;

  constructor(
    private readonly link: WorkerLink,
    readonly init: PcpuInit,
  ) {
    const clock: Clock =
      init.clock.kind === 'virtual' ? new VirtualClock() : new HostClock(init.clock.origin);
    this.hv = new Hypervisor({ resources: MachineResources.attach(init.machine), clock, pcpu: init.pcpu });
    this.netTx = new FrameBatcher((m) => link.post(m));
    link.onMessage((m) => {
      if (isNetFrames(m)) this.receiveFrames(m.domids, m.devids, m.frames);
      else this.handle(m as ToPcpu);
    });
    this.done = this.hv.run();
    this.post({ t: 'ready' });
  }

  /** Resolves when the pCPU loop has stopped (after a `stop` request). */
  get finished(): Promise<void> {
    return this.done;
  }

  /**
   * Everything leaves this thread by copy, never with a transfer list: the first ArrayBuffer
   * detached on a thread turns off V8's detach protector there for good, and then every typed
   * array access in the interpreter carries a detach check (hosted guests ran 5–20% slower).
   */
  private post(m: FromPcpu): void {
    this.link.post(m);
  }

  /** Frames from the host's switches for the domains' network interfaces. */
  private receiveFrames(domids: number[], devids: number[], frames: Uint8Array[]): void {
    for (let i = 0; i < frames.length; i++) {
      const r = this.resident.get(domids[i]!);
      if (r && !r.frozen) r.built.nets[devids[i]!]?.receive(frames[i]!);
    }
    this.hv.kick();
  }

  private handle(m: ToPcpu): void {
    if (m.t === 'input') {
      const r = this.resident.get(m.domid);
      if (r && !r.frozen) r.domain.sendConsoleInput(m.bytes);
      this.hv.kick();
      return;
    }
    try {
      const value = this.request(m);
      this.post({ t: 'reply', req: m.req, value });
    } catch (e) {
      const user = e instanceof UserError || e instanceof RangeError;
      const message = e instanceof Error ? (user ? e.message : (e.stack ?? e.message)) : String(e);
      this.post({ t: 'fail', req: m.req, message, user });
    }
    this.hv.kick();
  }

  private request(m: Exclude<ToPcpu, { t: 'input' }>): unknown {
    switch (m.t) {
      case 'control': {
        const r = this.get(m.domid);
        const sent = r.built.control.send(CONTROL_PORT_NAME, new TextEncoder().encode(m.line + '\n'));
        if (sent === 0) {
          throw new UserError(
            `domain ${r.domain.name} has no guest agent listening on its control channel; use destroy, or start the agent in the guest`,
          );
        }
        return undefined;
      }
      case 'disk-attach': {
        const r = this.get(m.domid);
        const file = DomainDisk.open(() => openDisk(m.disk));
        try {
          const slot = r.built.plug(new VirtioBlk(file), { kind: 'blk', disk: r.diskSpecs.length });
          r.plugged.set(slot, file);
          r.disks.push(file);
          r.diskSpecs.push(withoutChannel(m.disk));
          return slot;
        } catch (e) {
          file.close();
          throw e;
        }
      }
      case 'net-attach': {
        const r = this.get(m.domid);
        const devid = r.built.nets.length;
        const dom = r.domain;
        const net = new VirtioNet({
          mac: parseMac(m.mac),
          onTransmit: (frame: Uint8Array) => this.netTx.push(dom.id, devid, frame),
        });
        const slot = r.built.plug(net, { kind: 'net', devid });
        r.built.nets.push(net);
        r.macs.push(m.mac);
        r.netSlots.set(devid, slot);
        return { devid, slot };
      }
      case 'net-detach': {
        const r = this.get(m.domid);
        const slot = r.netSlots.get(m.devid);
        if (slot === undefined) {
          throw new UserError(`domain ${r.domain.name} has no hot-plugged network interface ${m.devid}`);
        }
        r.built.unplug(slot);
        r.netSlots.delete(m.devid);
        return undefined;
      }
      case 'disk-detach': {
        const r = this.get(m.domid);
        const file = r.plugged.get(m.slot);
        if (!file)
          throw new UserError(`domain ${r.domain.name} has no hot-plugged disk in virtio slot ${m.slot}`);
        r.built.unplug(m.slot);
        r.plugged.delete(m.slot);
        file.close();
        return undefined;
      }
      case 'create': {
        const d = this.create(m.spec);
        return { id: d.id, store: { ...this.get(d.id).built.store } } satisfies CreatedDomain;
      }
      case 'pause':
        this.hv.pause(this.get(m.domid).domain);
        return undefined;
      case 'unpause':
        this.hv.unpause(this.get(m.domid).domain);
        return undefined;
      case 'destroy':
        return this.destroy(this.get(m.domid));
      case 'sched': {
        const d = this.get(m.domid).domain;
        if (m.weight !== undefined) d.weight = m.weight;
        if (m.cap !== undefined) d.cap = m.cap;
        return undefined;
      }
      case 'list':
        return [...this.resident.values()].map((r) => this.info(r.domain));
      case 'peek': {
        const d = this.get(m.domid).domain;
        const buf = new Uint8Array(m.length);
        if (!d.memory.read(m.gpa, buf)) {
          throw new UserError(
            `domain ${d.name} has no memory at 0x${m.gpa.toString(16)}..0x${(m.gpa + m.length).toString(16)}; read inside its RAM`,
          );
        }
        return buf;
      }
      case 'save-begin': {
        const r = this.get(m.domid);
        if (r.frozen)
          throw new UserError(`domain ${r.domain.name} is being saved already; wait for that to end`);
        const snap = beginSave(this.hv, r);
        // The toolstack writes the xenstore page from its own thread, unseen by log-dirty mode:
        // the last round of a migration always carries it.
        if (snap.dirty && !snap.dirty.includes(r.built.store.gfn)) snap.dirty.push(r.built.store.gfn);
        r.frozen = true;
        r.wasPaused = snap.wasPaused;
        return snap;
      }
      case 'log-dirty': {
        const r = this.get(m.domid);
        const d = r.domain;
        if (m.op === 'start') {
          if (d.dirtyLog)
            throw new UserError(`domain ${d.name} is being migrated already; wait for that to end`);
          checkSavable(d, this.hv);
          new DirtyLog(d).start();
          if (m.disks === true) for (const f of r.disks) f.setJournaling(true);
          const ram = ramMap(d);
          return {
            baseGfn: ram.baseGfn,
            mfns: ram.mfns,
            layout: r.built.layout.map((x) => ({ ...x })),
            disks: r.diskSpecs.map((x) => ({ ...x })),
            macs: [...r.macs],
            diskBytes: r.disks.map((f) => f.sizeBytes),
          };
        }
        if (m.op === 'collect') {
          if (!d.dirtyLog) throw new UserError(`domain ${d.name} is not in log-dirty mode`);
          return d.dirtyLog.collect();
        }
        d.dirtyLog?.stop();
        for (const f of r.disks) f.setJournaling(false);
        return undefined;
      }
      case 'disks': {
        const r = this.get(m.domid);
        if (m.op === 'release') {
          for (const f of r.disks) f.release();
          return undefined;
        }
        try {
          for (const [i, f] of r.disks.entries()) {
            if (r.built.layout.some((x) => x.kind === 'blk' && x.disk === i)) f.reopen();
          }
        } catch (e) {
          for (const f of r.disks) f.release();
          throw new UserError(
            `domain ${r.domain.name}'s disks cannot be opened here (${e instanceof Error ? e.message : String(e)})`,
          );
        }
        return undefined;
      }
      case 'mem-target': {
        const r = this.get(m.domid);
        const pages = Math.max(0, Math.floor((r.domain.memoryBytes - m.bytes) / 4096));
        r.built.balloon.setTarget(pages);
        return undefined;
      }
      case 'disk-read': {
        const f = this.get(m.domid).disks[m.disk];
        if (!f) throw new UserError(`domain ${m.domid} has no disk ${m.disk}`);
        const buf = new Uint8Array(Math.min(m.length, Math.max(0, f.sizeBytes - m.offset)));
        f.read(m.offset, buf);
        return buf;
      }
      case 'save-end': {
        const r = this.get(m.domid);
        if (m.outcome !== 'continue') {
          r.domain.dirtyLog?.stop();
          for (const f of r.disks) f.setJournaling(false);
        }
        r.frozen = false;
        if (m.outcome === 'destroy') return this.destroy(r);
        if (!r.wasPaused) this.hv.unpause(r.domain);
        return undefined;
      }
      case 'restore-pages':
        restorePages(this.get(m.domid).domain, m.gfns, m.data, m.zero, m.absent);
        return undefined;
      case 'restore-finish': {
        const r = this.get(m.domid);
        finishRestore(this.hv, r.domain, r.built, m.vcpus, m.hypervisor, m.devices);
        if (r.spec.jit === 'on') for (const v of r.domain.vcpus) attachJitToHart(v.hart, 'on');
        if (!m.paused) this.hv.unpause(r.domain);
        return undefined;
      }
      case 'stop':
        for (const r of [...this.resident.values()]) this.destroy(r);
        this.hv.stopRunning();
        void this.done.then(() => this.link.terminate());
        return undefined;
    }
  }

  private get(domid: number): Resident {
    const r = this.resident.get(domid);
    if (!r)
      throw new UserError(`domain ${domid} is not on pCPU ${this.init.pcpu}; list domains to see their ids`);
    return r;
  }

  private create(spec: DomainSpec): Domain {
    const disks: DomainDisk[] = [];
    let d: Domain;
    let built: BuiltDomain;
    try {
      const sizes = spec.restore?.deferDisks;
      for (const [i, disk] of (spec.disks ?? []).entries()) {
        const open = () => openDisk(disk);
        // A migrating domain's disks open only once the source has let go of them.
        disks.push(sizes ? DomainDisk.deferred(open, sizes[i] ?? 0, disk.readOnly) : DomainDisk.open(open));
      }
      const random =
        spec.seed !== undefined ? seededRandom(spec.seed) : (dst: Uint8Array) => crypto.getRandomValues(dst);
      const domid = (): number => built.domain.id;
      built = buildDomain(this.hv, {
        name: spec.name,
        memoryBytes: spec.memoryBytes,
        vcpus: spec.vcpus,
        kernel: spec.kernel,
        ...(spec.kernelName !== undefined && { kernelName: spec.kernelName }),
        ...(spec.initrd && { initrd: spec.initrd }),
        cmdline: spec.cmdline,
        disks,
        ...(spec.virtioConsole !== undefined && { virtioConsole: spec.virtioConsole }),
        ...(spec.weight !== undefined && { weight: spec.weight }),
        ...(spec.cap !== undefined && { cap: spec.cap }),
        ...(spec.paused !== undefined && { paused: spec.paused }),
        random,
        vifs: (spec.vifs ?? []).map((v, devid) => ({
          mac: parseMac(v.mac),
          onTransmit: (frame: Uint8Array) => this.netTx.push(domid(), devid, frame),
        })),
        onControlLine: (line) => this.post({ t: 'control-out', domid: domid(), line }),
        ...(spec.restore && { layout: spec.restore.layout }),
      });
      d = built.domain;
      if (spec.jit === 'on' && !spec.restore) for (const v of d.vcpus) attachJitToHart(v.hart, 'on');
    } catch (e) {
      for (const f of disks) f.close();
      throw e;
    }
    const r: Resident = {
      domain: d,
      spec,
      disks,
      diskSpecs: (spec.disks ?? []).map(withoutChannel),
      built,
      plugged: new Map(),
      netSlots: new Map(),
      macs: (spec.vifs ?? []).map((v) => v.mac),
      frozen: false,
      wasPaused: false,
    };
    this.resident.set(d.id, r);
    d.onConsole = (bytes) => this.post({ t: 'console', domid: d.id, bytes });
    // The shutdown action runs after the current vCPU slice, outside the guest's SBI call.
    d.onShutdown = (reason) => queueMicrotask(() => this.shutdown(r, reason));
    return d;
  }

  private shutdown(r: Resident, reason: ShutdownReason): void {
    const spec = r.spec;
    const action: ShutdownAction =
      (reason.kind === 'poweroff'
        ? spec.onPoweroff
        : reason.kind === 'reboot'
          ? spec.onReboot
          : spec.onCrash) ?? (reason.kind === 'reboot' ? 'restart' : 'destroy');
    const oldId = r.domain.id;
    this.post({ t: 'shutdown', domid: oldId, reason, info: this.info(r.domain), action });
    if (action === 'preserve') return;
    if (action === 'destroy') {
      this.destroy(r);
      return;
    }
    const info = this.destroy(r, false);
    try {
      const fresh: DomainSpec = { ...spec };
      delete fresh.restore;
      const d = this.create(fresh);
      this.post({ t: 'restarted', domid: oldId, newId: d.id, store: { ...this.get(d.id).built.store } });
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      this.post({
        t: 'console',
        domid: oldId,
        bytes: new TextEncoder().encode(`\r\ndomus: restart failed: ${why}\r\n`),
      });
      this.post({ t: 'gone', domid: oldId, info });
    }
  }

  /** Destroys a domain here; `announce` tells the host it is gone (not when it is restarted). */
  private destroy(r: Resident, announce = true): DomainInfo {
    const d = r.domain;
    d.flushConsole();
    this.hv.destroyDomain(d);
    for (const f of r.disks) f.close();
    this.resident.delete(d.id);
    const info = this.info(d);
    info.state = 'dying';
    if (announce) this.post({ t: 'gone', domid: d.id, info });
    return info;
  }

  private info(d: Domain): DomainInfo {
    let cpuMs = 0;
    let stealMs = 0;
    let instructions = 0;
    for (const v of d.vcpus) {
      cpuMs += v.runMs;
      stealMs += v.stealMs;
      instructions += v.instructions;
    }
    return {
      id: d.id,
      name: d.name,
      pcpu: this.init.pcpu,
      state: d.state,
      // What it has now (a balloon may hold some back), as xl list shows.
      memoryBytes: d.totPages * 4096,
      vcpus: d.vcpus.length,
      weight: d.weight,
      cap: d.cap,
      cpuMs,
      stealMs,
      instructions,
      blocked: d.vcpus.every((v) => v.blocked),
      ...(d.shutdownReason && { shutdownReason: d.shutdownReason }),
    };
  }
}

/** A disk's image: through its driver domain's channel when it has one, else opened here. */
function openDisk(disk: DiskSpec): BlockFile {
  if (disk.driver) return new DriverDisk(disk.driver, disk.readOnly);
  return openDiskImage(disk.path, {
    readOnly: disk.readOnly,
    ...(disk.format !== undefined && { format: disk.format }),
  });
}

/** A disk as a snapshot records it: the channel is this host's, not the configuration's. */
function withoutChannel(disk: DiskSpec): DiskSpec {
  const rest = { ...disk };
  delete rest.driver;
  return rest;
}
