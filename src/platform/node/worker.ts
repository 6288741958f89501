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

/** In a thread started by spawnWorker: its start-up data and the link to its parent. */
export function parentLink(): { data: unknown; link: WorkerLink } | undefined {
  if (isMainThread || !parentPort) return undefined;
  const port = parentPort;
  return {
    data: (workerData as { data: unknown }).data,
    link: {
      post: (m, transfer) => port.postMessage(m, transfer ?? []),
      onMessage: (f) => port.on('message', f),
      onError: () => {},
      onExit: () => {},
      terminate: () => {
        port.close();
        return Promise.resolve();
      },
    },
  };
}
