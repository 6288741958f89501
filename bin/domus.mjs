#!/usr/bin/env node
// The `domus` command: runs the bundled CLI (built by `npm ci` / `npm run build`).
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

const bundle = new URL('../dist/domus.mjs', import.meta.url);
if (!existsSync(bundle)) {
  process.stderr.write('domus: the CLI is not built yet; run npm run build in the Domus checkout\n');
  process.exit(2);
}
// `domus run` (hosted) needs one pCPU thread. Starting it here, before the CLI's bundle loads,
// lets the thread's own start-up run alongside the CLI's (see "Threads started ahead of need" in
// src/platform/node/worker.ts; the host takes it over with takePrestarted, or it is dropped).
const args = process.argv.slice(2);
if (args[0] === 'run' && !args.includes('--bare') && !args.includes('--help') && !args.includes('-h')) {
  const entry = new URL('../dist/pcpu_worker.mjs', import.meta.url);
  const workers = (globalThis[Symbol.for('domus.prestartedWorkers')] ??= new Map());
  const w = new Worker(entry, { workerData: { entry: entry.href, data: undefined, prestarted: true } });
  w.unref();
  workers.set(entry.href, w);
}
await import(bundle.href);
