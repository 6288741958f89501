/**
 * Entry module of a pCPU thread (started by toolstack/host.ts): runs a PcpuServer over the link
 * to the host. The bundle builds it as dist/pcpu_worker.mjs next to dist/domus.mjs.
 */
import { parentLink } from '../platform/node/worker.ts';
import { PcpuServer } from './pcpu.ts';
import type { PcpuInit } from './pcpu_protocol.ts';

const p = parentLink();
if (!p) throw new Error('pcpu_worker.ts runs only as a pCPU thread started by the host');
new PcpuServer(p.link, p.data as PcpuInit);
