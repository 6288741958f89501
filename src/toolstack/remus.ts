/**
 * Remus high availability (`domus remus`), as in the Remus paper and Xen's implementation: the
 * primary host checkpoints a running domain to a backup host every interval, and the backup
 * takes over from the last complete checkpoint when the primary goes away.
 *
 * Primary. After the same authenticated channel as a migration (migrate.ts; mode line REMUS)
 * and a first copy of all RAM while the domain runs (log-dirty mode on), every `intervalMs`:
 * pause the domain, encode the pages dirtied since the last checkpoint and the vCPU,
 * hypervisor and device state into memory, end them with a CHECKPOINT record, let the domain
 * run again, then send. The backup answers `ACK <n>` once checkpoint n is in place. Network
 * output is buffered (NetHold): frames the domain sent during epoch n leave the host only when
 * checkpoint n, which contains their effects, is acknowledged — so no one outside ever sees a
 * state the backup could not reproduce. When the domain ends, END tells the backup to drop its
 * copy; when the backup goes away, protection stops and held frames are released.
 *
 * Backup. The domain is built paused from the first checkpoint; later checkpoints are buffered
 * whole and applied only at their CHECKPOINT record, so a primary that dies half way through
 * one leaves the backup at the previous one. When the channel breaks (the primary's host died),
 * the backup loads the last checkpoint's vCPU, hypervisor and device state and starts the
 * domain.
 *
 * Disks are replicated too: the primary journals every write the guest makes to its disks
 * (domain_disk.ts), sends each disk once at the start (DOMUS_DISK_WRITE records, zero chunks
 * left out), then each checkpoint's journal; the backup keeps a raw replica of each disk in its
 * state directory, applies a checkpoint's writes together with its memory, and its domain runs on
 * the replicas after a failover. So the backup's disks always match its memory.
 */
import type { MachineResources } from '../hypervisor/resources.ts';
import type { DomainHandle } from './host.ts';
import { openWire, type Wire } from './migrate.ts';
import { MAX_DISK_WRITE_BYTES } from './migration/stream_format.ts';
import { StreamWriter, type ByteSink } from './migration/stream.ts';
import type { SaveSnapshot } from './pcpu_protocol.ts';
import { domainInfoOf, writeRam, writeStateRecords, type RestoreSource } from './save_restore.ts';

export const DEFAULT_REMUS_INTERVAL_MS = 50;

/** Network frames held back per epoch until the checkpoint that ends the epoch is acknowledged. */
export class NetHold {
  private readonly sealed = new Map<number, [number, Uint8Array][]>();
  private current: [number, Uint8Array][] = [];
  private next = 1;
  /** After releaseAll: frames pass straight through. */
  private open = false;

  constructor(private readonly send: (devid: number, frame: Uint8Array) => void) {}

  push(devid: number, frame: Uint8Array): void {
    if (this.open) this.send(devid, frame);
    else this.current.push([devid, frame]);
  }

  /** Ends the current epoch (at a checkpoint); returns its number. */
  seal(): number {
    const n = this.next++;
    this.sealed.set(n, this.current);
    this.current = [];
    return n;
  }

  /** Lets the frames of epochs up to `n` out, in order. */
  release(n: number): void {
    for (const [k, frames] of [...this.sealed].sort((a, b) => a[0] - b[0])) {
      if (k > n) break;
      this.sealed.delete(k);
      for (const [devid, frame] of frames) this.send(devid, frame);
    }
  }

  /** Lets everything out (protection has ended). */
  releaseAll(): void {
    this.open = true;
    this.release(Infinity);
    for (const [devid, frame] of this.current) this.send(devid, frame);
    this.current = [];
  }
}

/**
 * The primary's sink: straight to the socket, except while capturing — during a checkpoint,
 * with the domain paused — when it keeps copies to send once the domain runs again.
 */
class SwitchSink implements ByteSink {
  capturing = false;
  private chunks: Uint8Array[] = [];
  constructor(private readonly send: (b: Uint8Array) => Promise<void>) {}
  write(bytes: Uint8Array): Promise<void> {
    if (!this.capturing) return this.send(bytes);
    this.chunks.push(bytes.slice());
    return Promise.resolve();
  }
  /** Ends a capture and returns what was captured. */
  take(): Uint8Array[] {
    this.capturing = false;
    const c = this.chunks;
    this.chunks = [];
    return c;
  }
}

export interface RemusStatus {
  checkpoints: number;
  acked: number;
  /** Mean time the domain was paused per checkpoint, ms. */
  meanPauseMs: number;
}

/** The primary's side of a Remus pair; see the module comment. */
export class RemusPrimary {
  private wire: Wire | undefined;
  private writer: StreamWriter | undefined;
  /** The checkpoint being taken or sent, which END must not interleave with. */
  private inflight: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private checkpoints = 0;
  private acked = 0;
  private pausedMs = 0;
  private readonly ackWaiters = new Map<number, () => void>();
  /** Resolves with why protection ended. */
  readonly ended: Promise<string>;
  private end!: (why: string) => void;

  constructor(
    private readonly o: {
      handle: DomainHandle;
      resources: MachineResources;
      uuid: string;
      to: string;
      key: Buffer;
      intervalMs: number;
      hold: NetHold;
      configOf: (snap: Pick<SaveSnapshot, 'disks' | 'macs'>) => unknown;
    },
  ) {
    this.ended = new Promise((r) => (this.end = r));
  }

  get status(): RemusStatus {
    return {
      checkpoints: this.checkpoints,
      acked: this.acked,
      meanPauseMs: this.checkpoints ? this.pausedMs / this.checkpoints : 0,
    };
  }

  /** Connects, copies the domain and takes the first checkpoint; resolves once the backup has it. */
  async start(): Promise<void> {
    const o = this.o;
    const wire = await openWire(o.to, o.key, 'REMUS');
    this.wire = wire;
    const sink = new SwitchSink((b) => this.send(b));
    const w = new StreamWriter(sink);
    this.writer = w;
    let logging = false;
    try {
      const ram = await o.handle.logDirtyStart(true);
      logging = true;
      await w.writeHeader();
      await w.writeDomainInfo(domainInfoOf(o.handle, o.uuid, ram, o.configOf(ram)));
      await writeRam(w, o.resources, ram.baseGfn, ram.mfns);
      // The disks' first copy, read while the guest runs: what it writes meanwhile is in the
      // journal, which the first checkpoint carries. Zero chunks are left out (replicas start empty).
      for (let disk = 0; disk < (ram.diskBytes ?? []).length; disk++) {
        const size = ram.diskBytes![disk]!;
        for (let at = 0; at < size; at += MAX_DISK_WRITE_BYTES) {
          const data = await o.handle.diskRead(disk, at, Math.min(MAX_DISK_WRITE_BYTES, size - at));
          if (data.some((b) => b !== 0)) await w.writeDiskWrite(disk, at, data);
        }
      }
      void this.readAcks(wire);
      const first = await this.checkpoint(w, sink, ram);
      await this.waitAck(first);
      if (this.stopped) throw new Error('the backup went away before it acknowledged the first checkpoint');
      void this.loop(w, sink, ram);
    } catch (e) {
      wire.close();
      if (logging) await o.handle.logDirtyStop().catch(() => {});
      o.hold.releaseAll();
      throw e;
    }
  }

  /**
   * Stops protection. The backup is told (END, after any checkpoint in flight) to drop its copy,
   * so that a domain shutting down, rebooting or destroyed here never starts there too; only a
   * broken channel — this host gone — makes the backup take over.
   */
  async stop(why: string): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.inflight.catch(() => {});
    if (this.wire && !this.wire.socket.destroyed) await this.writer?.end().catch(() => {});
    this.wire?.socket.end();
    this.o.hold.releaseAll();
    await this.o.handle.logDirtyStop().catch(() => {});
    this.end(why);
  }

  private async send(bytes: Uint8Array): Promise<void> {
    const wire = this.wire!;
    await new Promise<void>((resolve, reject) =>
      wire.socket.write(bytes, (e) => (e ? reject(e) : resolve())),
    );
  }

  private async readAcks(wire: Wire): Promise<void> {
    for (;;) {
      const line = await wire.readLine().catch(() => null);
      if (line === null) {
        await this.stop('the backup went away');
        for (const w of this.ackWaiters.values()) w();
        return;
      }
      const m = /^ACK (\d+)$/.exec(line);
      if (!m) continue;
      const n = Number(m[1]);
      this.acked = n;
      this.o.hold.release(n);
      for (const [k, w] of this.ackWaiters) {
        if (k <= n) {
          this.ackWaiters.delete(k);
          w();
        }
      }
    }
  }

  private waitAck(n: number): Promise<void> {
    if (this.acked >= n) return Promise.resolve();
    return new Promise((r) => this.ackWaiters.set(n, r));
  }

  /** One checkpoint: pause, capture, resume, send. Returns its number. */
  private async checkpoint(
    w: StreamWriter,
    sink: SwitchSink,
    ram: { baseGfn: number; mfns: Int32Array },
  ): Promise<number> {
    const t0 = performance.now();
    const snap = await this.o.handle.saveBegin();
    let sealed: number;
    sink.capturing = true;
    // A checkpoint cut short (the domain destroyed under it) is dropped unsent, so that what
    // follows — END — reaches the backup right after its last whole checkpoint.
    try {
      const dirty = (snap.dirty ?? []).sort((a, b) => a - b);
      if (dirty.length > 0) await writeRam(w, this.o.resources, ram.baseGfn, ram.mfns, dirty);
      for (const d of snap.diskWrites ?? []) {
        for (let i = 0; i < d.data.length; i += MAX_DISK_WRITE_BYTES) {
          await w.writeDiskWrite(d.disk, d.offset + i, d.data.subarray(i, i + MAX_DISK_WRITE_BYTES));
        }
      }
      await writeStateRecords(w, snap, 'checkpoint');
      sealed = this.o.hold.seal();
    } catch (e) {
      sink.take();
      await this.o.handle.saveEnd('continue').catch(() => {});
      throw e;
    }
    try {
      await this.o.handle.saveEnd('continue');
    } catch (e) {
      sink.take();
      throw e;
    }
    this.pausedMs += performance.now() - t0;
    this.checkpoints++;
    for (const chunk of sink.take()) await this.send(chunk);
    return sealed;
  }

  private async loop(w: StreamWriter, sink: SwitchSink, ram: { baseGfn: number; mfns: Int32Array }) {
    const gone = this.o.handle.gone.then(() => 'gone' as const);
    let next = performance.now() + this.o.intervalMs;
    while (!this.stopped) {
      const wait = Math.max(0, next - performance.now());
      const r = await Promise.race([gone, new Promise((res) => setTimeout(() => res('tick'), wait))]);
      if (this.stopped) return;
      if (r === 'gone') {
        await this.stop('the domain ended');
        return;
      }
      next = performance.now() + this.o.intervalMs;
      try {
        this.inflight = this.checkpoint(w, sink, ram);
        await this.inflight;
      } catch (e) {
        await this.stop(`a checkpoint failed: ${e instanceof Error ? e.message : String(e)}`);
        return;
      }
    }
  }
}

/**
 * The backup's side: keeps the domain (built paused by hostd from `src`) at the last complete
 * checkpoint, acknowledging each; returns 'failover' after starting it when the primary went
 * away, 'ended' when the primary said the domain ended (the caller destroys it).
 */
export async function remusBackup(
  src: RestoreSource<unknown>,
  handle: DomainHandle,
  wire: Wire,
  writeDisk: (disk: number, offset: number, data: Uint8Array) => void,
): Promise<'failover' | 'ended'> {
  type State = { vcpus: Uint8Array[]; hypervisor: unknown; devices: { name: string; state: unknown }[] };
  let last: State | null = null;
  let cur: State = { vcpus: [], hypervisor: undefined, devices: [] };
  let held: { gfns: number[]; data: Uint8Array; zero: number[]; absent: number[] }[] = [];
  let heldDisk: { disk: number; at: number; data: Uint8Array }[] = [];
  let n = 0;
  try {
    for (;;) {
      const rec = await src.next();
      if (rec === null) break;
      if (rec.type === 'END') return 'ended';
      if (rec.type === 'PAGE_DATA') {
        const gfns: number[] = [];
        const zero: number[] = [];
        const absent: number[] = [];
        rec.gfns.forEach((g, i) =>
          (rec.types[i] === 0 ? gfns : rec.types[i] === 0xe ? zero : absent).push(g),
        );
        const batch = { gfns, data: rec.pages.slice(), zero, absent };
        // The first copy goes straight into the domain; later ones wait for their checkpoint.
        if (last === null) await handle.restorePages(batch.gfns, batch.data, batch.zero, batch.absent);
        else held.push(batch);
      } else if (rec.type === 'DISK_WRITE') {
        if (last === null) writeDisk(rec.disk, rec.at, rec.data);
        else heldDisk.push({ disk: rec.disk, at: rec.at, data: rec.data.slice() });
      } else if (rec.type === 'VCPU_STATE') cur.vcpus[rec.vcpuId] = rec.context.slice();
      else if (rec.type === 'HYPERVISOR_STATE') cur.hypervisor = rec.state;
      else if (rec.type === 'DEVICE_STATE') cur.devices.push({ name: rec.name, state: rec.state });
      else if (rec.type === 'CHECKPOINT') {
        for (const b of held) await handle.restorePages(b.gfns, b.data, b.zero, b.absent);
        for (const d of heldDisk) writeDisk(d.disk, d.at, d.data);
        held = [];
        heldDisk = [];
        last = cur;
        cur = { vcpus: [], hypervisor: undefined, devices: [] };
        wire.send(`ACK ${++n}`);
      }
    }
  } catch {
    // The primary died mid-record: the checkpoint in progress is dropped.
  }
  if (last === null) throw new Error('the primary went away before the first checkpoint');
  await handle.restoreFinish(last.vcpus, last.hypervisor, last.devices, false);
  return 'failover';
}
