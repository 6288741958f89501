/**
 * Entry module of a pCPU thread (started by toolstack/host.ts, or ahead of need by
 * bin/domus.mjs): warms up the interpreter, then runs a PcpuServer over the link to the host.
 * The bundle builds it as dist/pcpu_worker.mjs next to dist/domus.mjs.
 */
import { warmUpInterpreter } from '../machine/hart/warmup.ts';
import { startThread } from '../platform/node/worker.ts';
import { PcpuServer } from './pcpu.ts';
import type { PcpuInit } from './pcpu_protocol.ts';

startThread(warmUpInterpreter, (data, link) => new PcpuServer(link, data as PcpuInit));
