/**
 * Live migration between two Domus hosts (`domus migrate`), the host's half, over TCP.
 *
 * The channel. The destination hostd listens (`--migrate-listen`, DOMUS_MIGRATE_LISTEN). Both
 * ends prove they hold the same migration key (DOMUS_MIGRATION_KEY, else `migration.key` in the
 * state directory — copy it to the other host) by HMAC-SHA256 over each other's random nonce:
 *
 *   dest → src   DOMUS-MIGRATE 1 <nonce-d>
 *   src  → dest  AUTH <hmac("dest" nonce-d)> <nonce-s>
 *   dest → src   OK <hmac("src" nonce-s)>            (or ERR <sentence>, then close)
 *   src  → dest  MIGRATE                             (REMUS for a Remus pair: remus.ts)
 *   src  → dest  the migration stream: header, DOMAIN_INFO, PAGE_DATA rounds, state, END
 *   dest → src   APPLIED <offset>, as page batches are in place (many; the source waits for
 *                the destination to catch up with the pre-copy before it pauses the domain)
 *   dest → src   READY                               (the domain is built, paused)
 *   src  → dest  DISKS                               (the source has closed its disk images)
 *   dest → src   OPENED                              (the destination has opened them)
 *   src  → dest  GO                                  ← the point of no return
 *   dest → src   DONE                                (the domain runs there)
 *
 * Pre-copy. The source turns on log-dirty mode (hypervisor/log_dirty.ts: RAM write-protected in
 * the P2M, device and hypervisor writes marked), sends all RAM while the guest runs, then the
 * pages dirtied meanwhile, round after round, until few remain (or the rounds stop shrinking
 * the set, or MAX_ROUNDS). Then it pauses the domain, sends the last dirty pages and the
 * vCPU, hypervisor and device state, and waits for READY. Until it sends GO any failure —
 * the destination dying, the network, a refusal — resumes the source domain as it was; after
 * GO the source destroys its copy and the destination owns the domain.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { UserError } from '../common/errors.ts';
import type { MachineResources } from '../hypervisor/resources.ts';
import { writeFileAtomic } from '../platform/node/files.ts';
import type { DomainHandle } from './host.ts';
import { sinkFromWritable, StreamWriter, type ByteSource } from './migration/stream.ts';
import type { SaveSnapshot } from './pcpu_protocol.ts';
import { domainInfoOf, writeRam, writeStateRecords } from './save_restore.ts';

/** xend's relocation port. */
export const DEFAULT_MIGRATE_PORT = 8002;
/** Stop pre-copy when no more pages than this are dirty (1 MiB: a few ms on the wire). */
const CONVERGED_PAGES = 256;
const MAX_ROUNDS = 30;
const PROTOCOL = 'DOMUS-MIGRATE 1';

/** The shared secret of the hosts that may migrate to each other. */
export function migrationKey(stateDir: string): Buffer {
  const env = process.env['DOMUS_MIGRATION_KEY'];
  if (env !== undefined && env !== '') return Buffer.from(env, 'utf8');
  const path = join(stateDir, 'migration.key');
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileAtomic(path, randomBytes(32).toString('hex') + '\n', 0o600);
  }
  return Buffer.from(readFileSync(path, 'utf8').trim(), 'utf8');
}

function proof(key: Buffer, role: string, nonce: string): string {
  return createHmac('sha256', key).update(`${role} ${nonce}`).digest('hex');
}

function sameProof(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** One migration connection: lines of text and raw stream bytes, in order, from one socket. */
export class Wire {
  private readonly chunks: Buffer[] = [];
  private waiter: (() => void) | null = null;
  private ended = false;
  error: Error | null = null;

  constructor(readonly socket: Socket) {
    socket.on('data', (b: Buffer) => {
      this.chunks.push(b);
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', (e) => {
      this.error = e;
      this.ended = true;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private async more(): Promise<boolean> {
    if (this.ended) return false;
    await new Promise<void>((r) => (this.waiter = r));
    return true;
  }

  /** The next line (without its newline), or null when the peer closed first. */
  async readLine(): Promise<string | null> {
    for (;;) {
      const all = Buffer.concat(this.chunks);
      const nl = all.indexOf(10);
      if (nl >= 0) {
        this.chunks.length = 0;
        if (nl + 1 < all.length) this.chunks.push(all.subarray(nl + 1));
        return all.subarray(0, nl).toString('utf8');
      }
      if (all.length > 4096) throw new Error('the migration peer sent a line longer than 4096 bytes');
      if (!(await this.more())) return null;
    }
  }

  /** The stream bytes that follow, as a ByteSource for StreamReader. */
  source(): ByteSource {
    return {
      read: async () => {
        for (;;) {
          const c = this.chunks.shift();
          if (c) return c;
          if (!(await this.more())) return null;
        }
      },
    };
  }

  send(line: string): void {
    this.socket.write(line + '\n');
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A progress report during a migration. */
export interface MigrateProgress {
  round: number;
  pages: number;
  mibPerSec: number;
  /** Pages found dirty at the end of the round. */
  dirty: number;
}

export interface MigrateResult {
  rounds: number;
  pages: number;
  bytes: number;
  totalMs: number;
  /** From pausing the source domain to the destination's DONE. */
  downtimeMs: number;
  /** The downtime's parts, ms: pausing and taking the state, sending the rest, until READY, until DONE. */
  phases: { pause: number; send: number; ready: number; done: number };
}

/** Parses `host[:port]`. */
export function parseMigrateTarget(to: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(to);
  const port = m?.[2] === undefined ? DEFAULT_MIGRATE_PORT : Number(m[2]);
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UserError(
      `migration target ${to} is not HOST or HOST:PORT; e.g. 192.0.2.7:${DEFAULT_MIGRATE_PORT}`,
    );
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/** Connects to the migration listener at `to` and authenticates both ends; `mode` says what follows. */
export async function openWire(to: string, key: Buffer, mode: 'MIGRATE' | 'REMUS'): Promise<Wire> {
  const { host, port } = parseMigrateTarget(to);
  const socket = connect({ host, port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new UserError(
          `cannot reach a Domus host at ${host}:${port} (${e.code ?? e.message}); start its hostd with --migrate-listen`,
        ),
      ),
    );
  });
  socket.setNoDelay(true);
  const wire = new Wire(socket);
  const hello = await wire.readLine();
  const m = /^DOMUS-MIGRATE 1 ([0-9a-f]{64})$/.exec(hello ?? '');
  if (!m) {
    wire.close();
    throw new UserError(
      `${host}:${port} is not a Domus migration listener (it said ${JSON.stringify(hello)})`,
    );
  }
  const nonce = randomBytes(32).toString('hex');
  wire.send(`AUTH ${proof(key, 'dest', m[1]!)} ${nonce}`);
  const ok = await wire.readLine();
  const o = /^OK ([0-9a-f]{64})$/.exec(ok ?? '');
  if (!o || !sameProof(o[1]!, proof(key, 'src', nonce))) {
    wire.close();
    throw new UserError(
      ok?.startsWith('ERR ')
        ? `${host}:${port} refused the migration: ${ok.slice(4)}`
        : `${host}:${port} could not prove it holds the migration key; give both hosts the same DOMUS_MIGRATION_KEY or migration.key`,
    );
  }
  wire.send(mode);
  return wire;
}

/** Migrates the domain behind `handle` to the host at `to`; see the module comment. */
export async function migrateDomain<C>(o: {
  handle: DomainHandle;
  resources: MachineResources;
  uuid: string;
  to: string;
  key: Buffer;
  configOf: (snap: Pick<SaveSnapshot, 'disks' | 'macs'>) => C;
  progress: (p: MigrateProgress) => void;
}): Promise<MigrateResult> {
  const t0 = performance.now();
  const wire = await openWire(o.to, o.key, 'MIGRATE');
  let paused = false;
  let logging = false;
  let committed = false;
  let released = false;
  let pages = 0;
  let rounds = 0;
  let tPause = 0;
  try {
    const ram = await o.handle.logDirtyStart();
    logging = true;
    const w = new StreamWriter(sinkFromWritable(wire.socket));
    await w.writeHeader();
    await w.writeDomainInfo(domainInfoOf(o.handle, o.uuid, ram, o.configOf(ram)));
    let dirty: number[] | undefined;
    let last = Infinity;
    for (;;) {
      const tr = performance.now();
      const n = await writeRam(w, o.resources, ram.baseGfn, ram.mfns, dirty);
      rounds++;
      const sent = n.pages + n.zeroPages;
      pages += sent;
      dirty = await o.handle.logDirtyCollect();
      const ms = Math.max(1, performance.now() - tr);
      o.progress({
        round: rounds,
        pages: sent,
        mibPerSec: (n.pages * 4096) / (1 << 20) / (ms / 1000),
        dirty: dirty.length,
      });
      if (wire.error || wire.socket.destroyed)
        throw wire.error ?? new Error('the destination closed the connection');
      if (dirty.length <= CONVERGED_PAGES || rounds >= MAX_ROUNDS || dirty.length >= last) break;
      last = dirty.length;
    }
    // The destination applies pages more slowly than they arrive; pausing before it has caught
    // up would count its backlog as downtime.
    let applied = 0;
    const target = w.bytesWritten;
    const catchUp = performance.now() + 10_000;
    while (applied < target && performance.now() < catchUp) {
      const line = await wire.readLine();
      if (line === null) throw new Error('the destination closed the connection');
      const m = /^APPLIED (\d+)$/.exec(line);
      if (m) applied = Number(m[1]);
      else
        throw new UserError(
          `the destination stopped the migration (${line.replace(/^ERR /, '')}); the domain carries on here`,
        );
    }
    tPause = performance.now();
    const snap = await o.handle.saveBegin();
    paused = true;
    const final = new Set(dirty);
    for (const g of snap.dirty ?? []) final.add(g);
    const tSend = performance.now();
    const n = await writeRam(
      w,
      o.resources,
      ram.baseGfn,
      ram.mfns,
      [...final].sort((a, b) => a - b),
    );
    pages += n.pages + n.zeroPages;
    rounds++;
    o.progress({ round: rounds, pages: n.pages + n.zeroPages, mibPerSec: 0, dirty: 0 });
    await writeStateRecords(w, snap);
    const tSent = performance.now();
    let ready = await wire.readLine();
    while (ready?.startsWith('APPLIED ')) ready = await wire.readLine();
    const tReady = performance.now();
    if (ready !== 'READY') {
      throw new UserError(
        ready === null
          ? 'the destination went away before it had the domain; the domain carries on here'
          : `the destination could not take the domain (${ready.replace(/^ERR /, '')}); the domain carries on here`,
      );
    }
    // Shared disk images change hands: closed here, opened there; if they cannot be, we take them back.
    await o.handle.disks('release');
    released = true;
    wire.send('DISKS');
    let opened = await wire.readLine();
    while (opened?.startsWith('APPLIED ')) opened = await wire.readLine();
    if (opened !== 'OPENED') {
      throw new UserError(
        `the destination could not open the domain's disks (${(opened ?? 'it went away').replace(/^ERR /, '')}); the domain carries on here`,
      );
    }
    // The point of no return: from GO on, the destination owns the domain.
    wire.send('GO');
    committed = true;
    let end = 0;
    const [done] = await Promise.all([
      wire.readLine().then((line) => ((end = performance.now()), line)),
      o.handle.saveEnd('destroy'),
    ]);
    wire.close();
    if (done !== 'DONE') {
      throw new UserError(
        `the destination did not confirm it started the domain (${done ?? 'connection closed'}); look for it there with domus list`,
      );
    }
    return {
      rounds,
      pages,
      bytes: w.bytesWritten,
      totalMs: end - t0,
      downtimeMs: end - tPause,
      phases: { pause: tSend - tPause, send: tSent - tSend, ready: tReady - tSent, done: end - tReady },
    };
  } catch (e) {
    wire.close();
    if (!committed) {
      if (released) await o.handle.disks('open').catch(() => {});
      if (paused) await o.handle.saveEnd('resume').catch(() => {});
      else if (logging) await o.handle.logDirtyStop().catch(() => {});
      if (!(e instanceof UserError)) {
        const why = e instanceof Error ? e.message : String(e);
        throw new UserError(`the migration failed (${why}); the domain carries on here`);
      }
    }
    throw e;
  }
}

/** What the destination does with an authenticated connection (hostd: build the domain, wait for GO). */
export type Receiver = (wire: Wire, peer: string, mode: 'MIGRATE' | 'REMUS') => Promise<void>;

/** Listens for migrations at `listen` ("host:port"); each connection is authenticated, then handed to `receive`. */
export async function listenForMigrations(listen: string, key: Buffer, receive: Receiver): Promise<Server> {
  const { host, port } = parseMigrateTarget(listen);
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    const wire = new Wire(socket);
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    void (async () => {
      const nonce = randomBytes(32).toString('hex');
      wire.send(`${PROTOCOL} ${nonce}`);
      const auth = /^AUTH ([0-9a-f]{64}) ([0-9a-f]{64})$/.exec((await wire.readLine()) ?? '');
      if (!auth || !sameProof(auth[1]!, proof(key, 'dest', nonce))) {
        wire.send(
          'ERR the migration key does not match; give both hosts the same DOMUS_MIGRATION_KEY or migration.key',
        );
        wire.socket.end();
        return;
      }
      wire.send(`OK ${proof(key, 'src', auth[2]!)}`);
      const mode = await wire.readLine();
      if (mode !== 'MIGRATE' && mode !== 'REMUS') {
        wire.close();
        return;
      }
      await receive(wire, peer, mode);
    })().catch(() => wire.close());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new UserError(`cannot listen for migrations on ${listen} (${e.code ?? e.message}); pick a free port`),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  return server;
}
