/**
 * hostd's requests that move a domain's state (docs/migration.md): `save` to a file and
 * `restore` from one (save_restore.ts), `migrate` to another host and the destination's side of
 * it (`receiveMigration`, migrate.ts), and Remus protection with its backup side (remus.ts).
 * The configuration recorded with the state is `savedConfig`: the domain's xl configuration
 * with its disks, vdevs and MACs as they are now.
 */
import { closeSync, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { UserError } from '../common/errors.ts';
import type { DomainConfig, DomainRecord } from './control/protocol.ts';
import type { Host } from './host.ts';
import { DEFAULT_BRIDGE, type Entry, type HostdOptions } from './hostd_entry.ts';
import { migrateDomain, migrationKey, type Wire } from './migrate.ts';
import type { SaveSnapshot } from './pcpu_protocol.ts';
import { DEFAULT_REMUS_INTERVAL_MS, NetHold, RemusPrimary, remusBackup } from './remus.ts';
import { openSaveFile, openStream, saveDomain, type RestoreSource, type SaveResult } from './save_restore.ts';

const MiB = 1 << 20;

/** What these requests need of hostd. */
export interface MobilityHost {
  readonly host: Host;
  readonly opts: HostdOptions;
  logLine(msg: string): void;
  create(cfg: DomainConfig, restore?: RestoreSource<DomainConfig>): Promise<DomainRecord>;
}

/** `domus migrate`: `e` live to the host at `to` (migrate.ts), with progress events. */
export async function migrate(
  h: MobilityHost,
  e: Entry,
  to: string,
  progress: NonNullable<Parameters<typeof migrateDomain>[0]['progress']>,
): Promise<Awaited<ReturnType<typeof migrateDomain>>> {
  h.logLine(`domain ${e.id} (${e.name}) migrating to ${to}`);
  const r = await migrateDomain({
    handle: e.handle,
    resources: h.host.resources,
    uuid: e.uuid,
    to,
    key: keyOf(h),
    configOf: (snap) => savedConfig(e, snap),
    progress,
  });
  h.logLine(
    `domain ${e.name} migrated to ${to}: ${r.rounds} rounds, ${r.pages} pages, ${Math.round(r.totalMs)} ms, downtime ${Math.round(r.downtimeMs)} ms`,
  );
  return r;
}

/** `domus save`: the domain's state to `path` (save_restore.ts); destroys it unless `keep`. */
export async function save(h: MobilityHost, e: Entry, path: string, keep: boolean): Promise<SaveResult> {
  if (!isAbsolute(path)) throw new UserError(`save file ${path} is not an absolute path; give a full path`);
  h.logLine(`domain ${e.id} (${e.name}) saving to ${path}`);
  const r = await saveDomain({
    handle: e.handle,
    resources: h.host.resources,
    uuid: e.uuid,
    path,
    keep,
    configOf: (snap) => savedConfig(e, snap),
  });
  h.logLine(
    `domain ${e.id} (${e.name}) saved: ${r.pages} pages with data, ${r.zeroPages} zero, ${r.bytes} bytes in ${Math.round(r.ms)} ms`,
  );
  return r;
}

/** The configuration a save file or migration stream records for `e`, with its disks and MACs now. */
export function savedConfig(e: Entry, snap: Pick<SaveSnapshot, 'disks' | 'macs'>): DomainConfig {
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
export async function remus(
  h: MobilityHost,
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
    resources: h.host.resources,
    uuid: e.uuid,
    to,
    key: keyOf(h),
    intervalMs,
    hold,
    configOf: (snap) => savedConfig(e, snap),
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
  h.logLine(`domain ${e.id} (${e.name}) protected by Remus: backup ${to}, every ${intervalMs} ms`);
  void rp.ended.then((why) => {
    e.remus = undefined;
    e.hold = undefined;
    const s = rp.status;
    h.logLine(
      `domain ${e.name}: Remus protection ended (${why}) after ${s.checkpoints} checkpoints, mean pause ${s.meanPauseMs.toFixed(1)} ms`,
    );
  });
  e.handle.onShutdown(() => void rp.stop('the domain shut down'));
  return { intervalMs, setupMs: performance.now() - t0 };
}

/** Fresh raw replicas of a Remus domain's disks, under the state directory, open for writing. */
function remusReplicas(
  h: MobilityHost,
  uuid: string,
  disks: { path: string }[],
  sizes: number[],
): { path: string; fd: number }[] {
  const dir = join(h.opts.stateDir ?? join(h.opts.runDir, 'state'), 'remus', uuid);
  mkdirSync(dir, { recursive: true });
  return disks.map((_, i) => {
    const path = join(dir, `disk${i}.img`);
    const fd = openSync(path, 'w+', 0o600);
    ftruncateSync(fd, sizes[i] ?? 0);
    return { path, fd };
  });
}

export function keyOf(h: Pick<MobilityHost, 'opts'>): Buffer {
  return migrationKey(h.opts.stateDir ?? join(h.opts.runDir, 'state'));
}

/**
 * The destination of a live migration: builds the domain from the stream (paused), says READY,
 * and starts it on GO; without GO (the source failed or went away) it destroys it again.
 * DOMUS_TEST_MIGRATE_DIE=stream|ready|disks makes this process die there (fault-injection tests).
 */
export async function receiveMigration(
  h: MobilityHost,
  wire: Wire,
  peer: string,
  mode: 'MIGRATE' | 'REMUS',
): Promise<void> {
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
    const src = await openStream<DomainConfig>(source, `the migration stream from ${peer}`, () => {}, false);
    const cfg: DomainConfig = { ...src.saved.domain, name: src.name, uuid: src.uuid };
    h.logLine(`domain ${cfg.name} arriving from ${peer}`);
    // The domain is built paused from the stream; READY, then it starts on GO — before the
    // toolstack's bookkeeping (xenstore), which need not count as downtime.
    const load = src.load.bind(src);
    if (mode === 'REMUS') {
      // The backup's disks are raw replicas in its state directory, kept in step by the stream.
      const replicas = remusReplicas(h, src.uuid, src.saved.disks, src.saved.diskBytes ?? []);
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
        h.logLine(`domain ${cfg.name}: Remus backup for ${peer}`);
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
        h.logLine(`domain ${cfg.name}: the primary ${peer} went away; took over from the last checkpoint`);
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
    const rec = await h.create(cfg, src);
    h.logLine(`domain ${rec.id} (${rec.name}) migrated in from ${peer}`);
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
    h.logLine(`a migration from ${peer} failed: ${why}`);
    if (!wire.socket.destroyed) wire.send(`ERR ${why}`);
    wire.socket.end();
  }
}

/** `domus restore`: a domain from a save file, started unless `paused`. */
export async function restore(h: MobilityHost, path: string, paused: boolean): Promise<DomainRecord> {
  if (!isAbsolute(path)) throw new UserError(`save file ${path} is not an absolute path; give a full path`);
  const src = await openSaveFile<DomainConfig>(path);
  try {
    const cfg: DomainConfig = { ...src.saved.domain, name: src.name, uuid: src.uuid, paused };
    if (cfg.memoryMiB * MiB !== src.memoryBytes || cfg.vcpus !== src.vcpus) {
      throw new UserError(
        `save file ${path} disagrees with itself about memory or vCPUs; it cannot be restored`,
      );
    }
    const rec = await h.create(cfg, src);
    h.logLine(`domain ${rec.id} (${rec.name}) restored from ${path}`);
    return rec;
  } finally {
    src.close();
  }
}
