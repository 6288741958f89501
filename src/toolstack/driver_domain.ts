/**
 * A driver domain: a thread of its own (driver_domain_worker.ts) that runs the disk backends of
 * the guests whose xl.cfg disks name it (`backend=NAME`), so that a backend that crashes takes
 * down neither the host nor the guests: their disks fail with I/O errors until it is restarted.
 *
 * The toolstack side here:
 * - `attach(disk)` takes the image lock (held here, on the toolstack's thread, so that a dead
 *   driver domain leaves no lock that looks alive), makes the disk's block channel
 *   (driver_channel.ts) and has the driver domain open the image. The `DriverDiskSpec` it
 *   returns goes to the guest's pCPU, whose virtio-blk then talks to the channel.
 * - `destroy()` kills the thread where it stands (as `xl destroy` does a domain); a thread that
 *   dies by itself is treated the same. Every channel goes down — a guest's request in flight
 *   and every later one get an I/O error — and the descriptors the thread held are closed.
 * - `restart()` starts a new thread and attaches every disk again on the same channels; the
 *   guests' next requests reach it, with nothing for them to do. A write the guest saw fail was
 *   never acknowledged, so a journaling file system knows which of its writes may be missing.
 */
import { closeSync } from 'node:fs';
import { UserError } from '../common/errors.ts';
import type { DiskFormat } from '../platform/node/disk_image.ts';
import { takeImageLock } from '../platform/node/image_lock.ts';
import { spawnWorker, type WorkerLink } from '../platform/node/worker.ts';
import { BlockChannel, CH_GEN, type DriverDiskSpec } from './driver_channel.ts';

export type ToDriverDomain =
  | {
      t: 'attach';
      id: number;
      channel: SharedArrayBuffer;
      path: string;
      readOnly: boolean;
      format?: DiskFormat;
    }
  | { t: 'detach'; id: number };

export type FromDriverDomain =
  | { t: 'ready' }
  | { t: 'attached'; id: number; sizeBytes: number; fds: number[] }
  | { t: 'detached'; id: number }
  | { t: 'failed'; id: number; message: string; user: boolean }
  | { t: 'log'; line: string };

export interface DriverDiskConfig {
  path: string;
  readOnly: boolean;
  format?: DiskFormat;
}

interface Attachment {
  disk: DriverDiskConfig;
  ch: BlockChannel;
  lock: { release(): void } | null;
  sizeBytes: number;
  /** Descriptors the current thread holds for it, closed here if the thread dies. */
  fds: number[];
  /** The current thread serves it (false after a failed re-attach). */
  served: boolean;
}

export interface DriverDomainInfo {
  name: string;
  state: 'running' | 'dead';
  disks: { path: string; served: boolean }[];
  restarts: number;
  uptimeMs: number;
}

export class DriverDomain {
  private link: WorkerLink | null = null;
  private readonly doorbell = new SharedArrayBuffer(4);
  private readonly attached = new Map<number, Attachment>();
  private readonly pending = new Map<
    number,
    { resolve: (m: FromDriverDomain) => void; reject: (e: Error) => void }
  >();
  private nextId = 1;
  private restarts = 0;
  private startedAtMs = 0;
  /** Why the thread is ending, while the toolstack ends it. */
  private ending: 'destroyed' | 'stopped' | null = null;

  private constructor(
    readonly name: string,
    private readonly log: (line: string) => void,
  ) {}

  static async start(name: string, log: (line: string) => void): Promise<DriverDomain> {
    const d = new DriverDomain(name, log);
    await d.boot();
    return d;
  }

  get running(): boolean {
    return this.link !== null;
  }

  info(): DriverDomainInfo {
    return {
      name: this.name,
      state: this.running ? 'running' : 'dead',
      disks: [...this.attached.values()].map((a) => ({
        path: a.disk.path,
        served: this.running && a.served,
      })),
      restarts: this.restarts,
      uptimeMs: this.running ? Date.now() - this.startedAtMs : 0,
    };
  }

  /** Serves `disk` from this driver domain; returns the attachment's id and what the guest's pCPU needs. */
  async attach(disk: DriverDiskConfig): Promise<{ id: number; spec: DriverDiskSpec }> {
    if (!this.running) {
      throw new UserError(
        `driver domain ${this.name} is not running; start it with domus driver-domain restart ${this.name}`,
      );
    }
    const lock = takeImageLock(disk.path, disk.readOnly);
    const id = this.nextId++;
    const a: Attachment = { disk, ch: BlockChannel.create(), lock, sizeBytes: 0, fds: [], served: false };
    try {
      await this.open(id, a);
    } catch (e) {
      lock?.release();
      throw e;
    }
    this.attached.set(id, a);
    return {
      id,
      spec: { name: this.name, channel: a.ch.sab, doorbell: this.doorbell, sizeBytes: a.sizeBytes },
    };
  }

  /** Stops serving an attachment (its guest is gone or unplugged it): flushed and closed, lock released. */
  async detach(id: number): Promise<void> {
    const a = this.attached.get(id);
    if (!a) return;
    this.attached.delete(id);
    a.ch.down();
    try {
      if (this.running && a.served) {
        const r = await this.request({ t: 'detach', id });
        if (r.t === 'failed') this.log(`driver domain ${this.name}: ${a.disk.path}: ${r.message}`);
      }
    } catch {
      // The thread died meanwhile; its descriptors were closed then.
    } finally {
      a.lock?.release();
    }
  }

  /** Kills the thread where it stands, as `xl destroy` does: every disk it serves goes down. */
  async destroy(): Promise<void> {
    const link = this.link;
    if (!link) return;
    this.ending = 'destroyed';
    try {
      await link.terminate();
      this.died(link);
    } finally {
      this.ending = null;
    }
  }

  /** A new thread for the same disks (after a crash or a destroy, or to replace a live one). */
  async restart(): Promise<void> {
    if (this.running) await this.destroy();
    await this.boot();
    this.restarts++;
    for (const [id, a] of this.attached) {
      try {
        await this.open(id, a);
      } catch (e) {
        this.log(
          `driver domain ${this.name}: ${a.disk.path} could not be opened again (${(e as Error).message}); ` +
            `its guest keeps getting I/O errors`,
        );
      }
    }
    this.log(`driver domain ${this.name} restarted, serving ${this.attached.size} disk(s)`);
  }

  /** Detaches every disk and ends the thread (the host is stopping). */
  async close(): Promise<void> {
    for (const id of [...this.attached.keys()]) await this.detach(id);
    const link = this.link;
    if (!link) return;
    this.ending = 'stopped';
    await link.terminate();
    this.died(link);
  }

  private async boot(): Promise<void> {
    const entry = new URL(
      import.meta.url.endsWith('.ts') ? './driver_domain_worker.ts' : './driver_domain_worker.mjs',
      import.meta.url,
    );
    const link = spawnWorker(entry, { doorbell: this.doorbell });
    await new Promise<void>((resolve, reject) => {
      link.onMessage((raw) => {
        const m = raw as FromDriverDomain;
        if (m.t === 'ready') resolve();
        else if (m.t === 'log') this.log(`driver domain ${this.name}: ${m.line}`);
        else this.reply(m);
      });
      link.onError((e) => {
        reject(e);
        this.died(link, e.message);
      });
      link.onExit(() => {
        reject(new Error(`driver domain ${this.name} exited while starting`));
        this.died(link);
      });
    });
    this.link = link;
    this.startedAtMs = Date.now();
  }

  /** The thread opens `a`'s image on its channel (a new generation, so no answer of the old one counts). */
  private async open(id: number, a: Attachment): Promise<void> {
    Atomics.add(a.ch.h, CH_GEN, 1);
    const r = await this.request({
      t: 'attach',
      id,
      channel: a.ch.sab,
      path: a.disk.path,
      readOnly: a.disk.readOnly,
      ...(a.disk.format !== undefined && { format: a.disk.format }),
    });
    if (r.t === 'failed') throw r.user ? new UserError(r.message) : new Error(r.message);
    if (r.t !== 'attached') throw new Error(`driver domain ${this.name} answered ${r.t} to attach`);
    if (a.sizeBytes !== 0 && r.sizeBytes !== a.sizeBytes) {
      await this.request({ t: 'detach', id });
      throw new Error(`the image is ${r.sizeBytes} bytes now, not ${a.sizeBytes}`);
    }
    a.sizeBytes = r.sizeBytes;
    a.fds = r.fds;
    a.served = true;
  }

  private request(m: ToDriverDomain): Promise<FromDriverDomain> {
    const link = this.link;
    if (!link) return Promise.reject(new Error(`driver domain ${this.name} is not running`));
    return new Promise((resolve, reject) => {
      this.pending.set(m.id, { resolve, reject });
      link.post(m);
    });
  }

  private reply(m: FromDriverDomain): void {
    if (!('id' in m)) return;
    const p = this.pending.get(m.id);
    this.pending.delete(m.id);
    p?.resolve(m);
  }

  /** The thread is gone: channels down, its descriptors closed, waiters failed. */
  private died(link: WorkerLink, error?: string): void {
    if (this.link !== link) return;
    const how = this.ending ?? (error !== undefined ? `crashed (${error})` : 'exited');
    this.link = null;
    for (const a of this.attached.values()) {
      a.ch.down();
      a.served = false;
      for (const fd of a.fds) {
        try {
          closeSync(fd);
        } catch {
          // Already closed by the thread.
        }
      }
      a.fds = [];
    }
    for (const p of this.pending.values()) p.reject(new Error(`driver domain ${this.name} ${how}`));
    this.pending.clear();
    if (this.ending !== 'stopped') {
      this.log(
        `driver domain ${this.name} ${how}; its ${this.attached.size} disk(s) fail with I/O errors ` +
          `until domus driver-domain restart ${this.name}`,
      );
    }
  }
}
