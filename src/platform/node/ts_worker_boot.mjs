// Development only: lets a worker thread run a TypeScript entry module from source (tests run
// src/ through tsx; the bundle's workers are plain .mjs files and never come here). Started by
// spawnWorker (worker.ts) with workerData = { entry, data }.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
