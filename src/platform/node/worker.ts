/**
 * Host threads for pCPUs on Node.js: `worker_threads` behind a small message-link interface
 * that a browser adapter can give with Web Workers. Messages are structured clones; a
 * WebAssembly.Memory or SharedArrayBuffer in a message is shared, not copied.
 */
import { availableParallelism } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

export interface WorkerLink {
  post(message: unknown, transfer?: ArrayBuffer[]): void;
  onMessage(f: (message: unknown) => void): void;
  /** The thread died of an uncaught error. */
  onError(f: (e: Error) => void): void;
  /** The thread ended (after an error too). */
  onExit(f: (code: number) => void): void;
  terminate(): Promise<void>;
}

/** How many threads the host can run at once. */
export function hostCores(): number {
  return availableParallelism();
}

/**
 * Starts `entry` (a module URL) in a new thread with `data` as its start-up data. A `.ts` entry
 * (tests and development, running from source) starts through ts_worker_boot.mjs, which loads
 * tsx first; the bundle's entries are plain JavaScript.
 */
export function spawnWorker(entry: URL, data: unknown): WorkerLink {
  const w = entry.pathname.endsWith('.ts')
    ? new Worker(new URL('./ts_worker_boot.mjs', import.meta.url), {
        workerData: { entry: entry.href, data },
      })
    : new Worker(entry, { workerData: { entry: entry.href, data } });
  return linkOf(w);
}

function linkOf(w: Worker): WorkerLink {
  return {
    post: (m, transfer) => w.postMessage(m, transfer ?? []),
    onMessage: (f) => w.on('message', f),
    onError: (f) => w.on('error', f),
    onExit: (f) => w.on('exit', f),
    terminate: async () => {
      await w.terminate();
    },
  };
}

/**
 * Threads started ahead of need: bin/domus.mjs starts the pCPU thread of `domus run` before the
 * CLI has even loaded, so that the thread's own start-up (Node's bootstrap, compiling its bundle,
 * warming up the interpreter; about 0.1 s) overlaps the CLI's. Such a thread was started with
 * workerData `{ entry, data: undefined, prestarted: true }` and gets its start-up data as its
 * first message (startThread). bin/domus.mjs keeps it, unref'd, in this map by entry URL.
 */
const PRESTARTED = Symbol.for('domus.prestartedWorkers');

/**
 * A prestarted thread of `entry`, started now by handing it `data` as its first message, or
 * undefined when there is none.
 */
export function takePrestarted(entry: URL, data: unknown): WorkerLink | undefined {
  const map = (globalThis as { [PRESTARTED]?: Map<string, Worker> })[PRESTARTED];
  const w = map?.get(entry.href);
  if (!w) return undefined;
  map!.delete(entry.href);
  w.ref();
  const link = linkOf(w);
  w.postMessage({ prestartData: data });
  return link;
}

/** In a thread started by spawnWorker: its start-up data and the link to its parent. */
export function parentLink(): { data: unknown; link: WorkerLink } | undefined {
  if (isMainThread || !parentPort) return undefined;
  return { data: (workerData as { data: unknown }).data, link: portLink(parentPort) };
}

/**
 * In a thread started by spawnWorker or ahead of need (bin/domus.mjs): `prepare` runs at once (work that needs
 * no start-up data), then `start` gets the data and the link to the parent, as soon as the
 * data is there (at once for spawnWorker, with the first message for a prestarted thread).
 */
export function startThread(prepare: () => void, start: (data: unknown, link: WorkerLink) => void): void {
  if (isMainThread || !parentPort) throw new Error('startThread runs only in a thread started by the host');
  const port = parentPort;
  const wd = workerData as { data: unknown; prestarted?: boolean };
  prepare();
  if (!wd.prestarted) {
    start(wd.data, portLink(port));
    return;
  }
  port.once('message', (m: { prestartData: unknown }) => start(m.prestartData, portLink(port)));
}

function portLink(port: NonNullable<typeof parentPort>): WorkerLink {
  return {
    post: (m, transfer) => port.postMessage(m, transfer ?? []),
    onMessage: (f) => port.on('message', f),
    onError: () => {},
    onExit: () => {},
    terminate: () => {
      port.close();
      return Promise.resolve();
    },
  };
}
