/**
 * `domus save` and `domus restore`, the host's half: the domain's state in the migration stream
 * (migration/, docs/migration-stream.md) written to a file atomically, and read back.
 *
 * Save: the pCPU pauses the domain and hands over its state (domain_save.ts); RAM is read here
 * straight from the shared machine memory while the domain stays paused — a populated page of
 * zeros goes as XALLOC (no data), an unpopulated one as XTAB — then the vCPU, hypervisor and
 * device records and END; the file appears under its name only once all of it is on disk. After
 * that the domain is destroyed (or, with `keep`, carries on). If anything fails before the file
 * is in place the domain carries on untouched and no file is left.
 *
 * Restore: the stream is checked record by record (checksums, order, sizes) while it is read. A
 * domain is built from its DOMAIN_INFO with the saved slot layout, takes the pages as they
 * come, and is started only after END; a damaged or truncated file destroys the half-built
 * domain and is reported with the offset of the damage.
 */
import { createReadStream } from 'node:fs';
import { isErrnoError, UserError } from '../common/errors.ts';
import type { MachineResources } from '../hypervisor/resources.ts';
import { writeFileAtomically } from '../platform/node/atomic_file.ts';
import type { SlotSpec } from './domain_builder.ts';
import type { DomainHandle } from './host.ts';
import {
  MAX_BATCH_PAGES,
  PAGE_TYPE_NORMAL,
  PAGE_TYPE_XALLOC,
  PAGE_TYPE_XTAB,
  SaveStreamError,
  sourceFromAsyncIterable,
  StreamReader,
  StreamWriter,
  VCPU_CONTEXT_BYTES,
  type ByteSource,
  type DomainInfo as StreamDomainInfo,
  type StreamRecord,
} from './migration/stream.ts';
import type { DiskSpec, SaveSnapshot } from './pcpu_protocol.ts';

/** Version of the `config` object in a save file's DOMAIN_INFO. */
const SAVED_CONFIG_VERSION = 1;

/** What a save file's DOMAIN_INFO `config` holds besides the domain's own configuration. */
export interface SavedConfig<C> {
  version: number;
  /** The domain's configuration as the toolstack keeps it (hostd's DomainConfig). */
  domain: C;
  /** The virtio slots, indexing `disks` and network interfaces by devid. */
  layout: SlotSpec[];
  disks: DiskSpec[];
  /** Sizes of `disks` in bytes (streams that replicate disks: Remus). */
  diskBytes?: number[];
}

export interface SaveResult {
  bytes: number;
  /** Pages written with data, as zero pages (no data), and absent. */
  pages: number;
  zeroPages: number;
  ms: number;
}

/**
 * Saves the domain behind `handle` to `path`. `configOf` turns the snapshot into the domain's
 * configuration to record (it learns the disks and MACs from it).
 */
export async function saveDomain<C>(o: {
  handle: DomainHandle;
  resources: MachineResources;
  uuid: string;
  path: string;
  keep: boolean;
  configOf: (snap: SaveSnapshot) => C;
}): Promise<SaveResult> {
  const t0 = performance.now();
  const snap = await o.handle.saveBegin();
  let pages = 0;
  let zeroPages = 0;
  let bytes = 0;
  try {
    const info = domainInfoOf(o.handle, o.uuid, snap, o.configOf(snap));
    await writeFileAtomically(o.path, async (sink) => {
      const w = new StreamWriter(sink);
      await w.writeHeader();
      await w.writeDomainInfo(info);
      const n = await writeRam(w, o.resources, snap.baseGfn, snap.mfns);
      pages = n.pages;
      zeroPages = n.zeroPages;
      await writeStateRecords(w, snap);
      bytes = w.bytesWritten;
    });
  } catch (e) {
    await o.handle.saveEnd('resume').catch(() => {});
    if (isErrnoError(e)) {
      const why =
        e.code === 'ENOENT'
          ? 'its directory does not exist'
          : e.code === 'ENOSPC'
            ? 'the disk is full'
            : e.code === 'EACCES'
              ? 'permission denied'
              : e.code;
      throw new UserError(
        `save file ${o.path} cannot be written (${why}); the domain carries on — pick a writable place with room for its memory`,
      );
    }
    throw e;
  }
  await o.handle.saveEnd(o.keep ? 'resume' : 'destroy');
  return { bytes, pages, zeroPages, ms: performance.now() - t0 };
}

/**
 * PAGE_DATA records for guest RAM read from the shared machine memory: every GFN of the span
 * (`only` absent) — unpopulated ones as XTAB — or just the GFNs in `only`. Zero pages go as
 * XALLOC, without data.
 */
export async function writeRam(
  w: StreamWriter,
  resources: MachineResources,
  baseGfn: number,
  mfns: Int32Array,
  only?: readonly number[],
): Promise<{ pages: number; zeroPages: number }> {
  const mem = resources.mem;
  const i32 = new Int32Array(mem.buffer);
  let pages = 0;
  let zeroPages = 0;
  const total = only ? only.length : mfns.length;
  for (let start = 0; start < total; start += MAX_BATCH_PAGES) {
    const n = Math.min(MAX_BATCH_PAGES, total - start);
    const gfns: number[] = [];
    const types: number[] = [];
    const data: Uint8Array[] = [];
    for (let k = start; k < start + n; k++) {
      const gfn = only ? only[k]! : baseGfn + k;
      const mfn = mfns[gfn - baseGfn] ?? -1;
      gfns.push(gfn);
      if (mfn < 0) {
        types.push(PAGE_TYPE_XTAB);
        continue;
      }
      const off = mem.ramOffset + mfn * 4096;
      if (isZeroPage(i32, off >>> 2)) {
        types.push(PAGE_TYPE_XALLOC);
        zeroPages++;
      } else {
        types.push(PAGE_TYPE_NORMAL);
        data.push(mem.u8.subarray(off, off + 4096));
        pages++;
      }
    }
    await w.writePageBatch(gfns, data, types);
  }
  return { pages, zeroPages };
}

/** The records after RAM: each vCPU, the hypervisor's state, each device, then END (or, for Remus, CHECKPOINT). */
export async function writeStateRecords(
  w: StreamWriter,
  snap: SaveSnapshot,
  last: 'end' | 'checkpoint' = 'end',
): Promise<void> {
  for (let v = 0; v < snap.vcpus.length; v++) await w.writeVcpuState(v, snap.vcpus[v]!);
  await w.writeHypervisorState(snap.hypervisor as Record<string, unknown>);
  for (const d of snap.devices) await w.writeDeviceState(d.name, d.state);
  if (last === 'end') await w.end();
  else await w.writeCheckpoint();
}

/** The DOMAIN_INFO of a domain about to be saved or migrated. */
export function domainInfoOf<C>(
  domain: { name: string; vcpus: number },
  uuid: string,
  snap: Pick<SaveSnapshot, 'mfns' | 'layout' | 'disks' | 'diskBytes'>,
  config: C,
): StreamDomainInfo {
  const { layout, disks, diskBytes } = snap;
  return {
    name: domain.name,
    uuid,
    memoryBytes: snap.mfns.length * 4096,
    vcpus: domain.vcpus,
    config: {
      version: SAVED_CONFIG_VERSION,
      domain: config,
      layout,
      disks,
      ...(diskBytes && { diskBytes }),
    } satisfies SavedConfig<C> as unknown as Record<string, unknown>,
  };
}

function isZeroPage(i32: Int32Array, at: number): boolean {
  for (let i = at, end = at + 1024; i < end; i++) if (i32[i] !== 0) return false;
  return true;
}

/** A save file being restored: what its DOMAIN_INFO says, and how to load the rest. */
export interface RestoreSource<C> {
  name: string;
  uuid: string;
  memoryBytes: number;
  vcpus: number;
  saved: SavedConfig<C>;
  /** Streams the rest of the file into the domain (created paused from `saved`), then starts it unless `paused`. */
  load(handle: DomainHandle, paused: boolean, onApplied?: (offset: number) => void): Promise<void>;
  /** Closes the file (after load, or instead of it). */
  close(): void;
  /** Live migration: build the domain's disks unopened (the source still holds the images). */
  deferDisks?: boolean;
  /** The next record after DOMAIN_INFO, or null at the end of the source (for readers other than `load`: remus.ts). */
  next(): Promise<StreamRecord | null>;
}

/** Opens a save file and reads up to its DOMAIN_INFO; errors name the file and the fix. */
export async function openSaveFile<C>(path: string): Promise<RestoreSource<C>> {
  const file = createReadStream(path);
  const opened = new Promise<void>((resolve, reject) => {
    file.once('open', () => resolve());
    file.once('error', reject);
  });
  try {
    await opened;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(
      code === 'ENOENT'
        ? `save file ${path} does not exist; give the path domus save wrote`
        : `save file ${path} cannot be read (${code ?? String(e)}); check its permissions`,
    );
  }
  return openStream<C>(sourceFromAsyncIterable(file), `save file ${path}`, () => file.destroy());
}

/**
 * Reads a stream up to its DOMAIN_INFO (from a file or a migration socket); `what` names it in
 * errors. `close` is called by the returned source's `close`, or here when the start is bad.
 */
export async function openStream<C>(
  source: ByteSource,
  what: string,
  close: () => void,
  expectEof = true,
): Promise<RestoreSource<C>> {
  const reader = new StreamReader(source, { what, expectEof });
  const records = reader[Symbol.asyncIterator]();
  let first;
  try {
    first = await records.next();
  } catch (e) {
    close();
    throw e;
  }
  if (first.done || first.value.type !== 'DOMAIN_INFO') {
    close();
    throw new UserError(`${what} does not start with a domain record; it cannot be restored`);
  }
  const info = first.value.info;
  const saved = checkSavedConfig<C>(info.config, what);
  return {
    name: info.name,
    uuid: info.uuid,
    memoryBytes: info.memoryBytes,
    vcpus: info.vcpus,
    saved,
    close,
    async next() {
      const r = await records.next();
      return r.done ? null : r.value;
    },
    async load(handle, paused, onApplied) {
      const vcpus: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(info.vcpus);
      let hypervisor: unknown;
      const devices: { name: string; state: unknown }[] = [];
      const inFlight: Promise<void>[] = [];
      for (;;) {
        const r = await records.next();
        if (r.done) throw new SaveStreamError(`${what} has no END record`, 'truncated', reader.offset);
        const rec = r.value;
        if (rec.type === 'END') break;
        switch (rec.type) {
          case 'PAGE_DATA': {
            const gfns: number[] = [];
            const zero: number[] = [];
            const absent: number[] = [];
            rec.gfns.forEach((g, i) => {
              const t = rec.types[i];
              if (t === PAGE_TYPE_NORMAL) gfns.push(g);
              else if (t === PAGE_TYPE_XALLOC) zero.push(g);
              else absent.push(g);
            });
            // Batches are pipelined (the pCPU takes them in order); a few in flight bound memory.
            const batch = handle.restorePages(gfns, rec.pages.slice(), zero, absent);
            batch.catch(() => {}); // awaited below; a stream error may come first
            inFlight.push(batch);
            // A live migration's source waits for the destination to catch up before it pauses.
            const offset = reader.offset;
            if (onApplied)
              void batch.then(
                () => onApplied(offset),
                () => {},
              );
            if (inFlight.length >= 8) await inFlight.shift();
            break;
          }
          case 'VCPU_STATE':
            if (rec.context.length !== VCPU_CONTEXT_BYTES || vcpus[rec.vcpuId] !== undefined) {
              throw new UserError(`${what} has vCPU ${rec.vcpuId}'s state twice; it cannot be restored`);
            }
            vcpus[rec.vcpuId] = rec.context.slice();
            break;
          case 'HYPERVISOR_STATE':
            hypervisor = rec.state;
            break;
          case 'DEVICE_STATE':
            devices.push({ name: rec.name, state: rec.state });
            break;
          case 'CHECKPOINT':
          case 'DOMAIN_INFO':
            break;
        }
      }
      for (const p of inFlight.splice(0)) await p;
      const missing = vcpus.findIndex((v) => v === undefined);
      if (missing >= 0 || vcpus.length === 0) {
        throw new UserError(`${what} lacks vCPU ${Math.max(missing, 0)}'s state; it cannot be restored`);
      }
      if (hypervisor === undefined) {
        throw new UserError(`${what} lacks the hypervisor's state; it cannot be restored`);
      }
      await handle.restoreFinish(vcpus as Uint8Array[], hypervisor, devices, paused);
    },
  };
}

function checkSavedConfig<C>(config: Record<string, unknown>, stream: string): SavedConfig<C> {
  const bad = (what: string) =>
    new UserError(`${stream} has ${what} in its domain record; it was not written by this Domus`);
  if (config['version'] !== SAVED_CONFIG_VERSION) throw bad(`config version ${String(config['version'])}`);
  const domain = config['domain'];
  if (typeof domain !== 'object' || domain === null) throw bad('no domain configuration');
  const layout = config['layout'];
  const kinds = ['empty', 'blk', 'rng', 'control', 'balloon', 'console', 'net'];
  if (!Array.isArray(layout) || !layout.every((s) => kinds.includes((s as { kind?: string })?.kind ?? ''))) {
    throw bad('no valid slot layout');
  }
  const disks = config['disks'];
  if (
    !Array.isArray(disks) ||
    !disks.every(
      (d) => typeof (d as DiskSpec)?.path === 'string' && typeof (d as DiskSpec).readOnly === 'boolean',
    )
  ) {
    throw bad('no valid disk list');
  }
  const diskBytes = config['diskBytes'];
  if (
    diskBytes !== undefined &&
    (!Array.isArray(diskBytes) ||
      diskBytes.length !== disks.length ||
      !diskBytes.every((n) => Number.isSafeInteger(n) && (n as number) >= 0))
  ) {
    throw bad('a disk size list that does not match its disks');
  }
  return {
    version: SAVED_CONFIG_VERSION,
    domain: domain as C,
    layout: layout as SlotSpec[],
    disks: disks as DiskSpec[],
    ...(diskBytes !== undefined && { diskBytes: diskBytes as number[] }),
  };
}
