/**
 * Entry module of a pCPU thread (started by toolstack/host.ts, or ahead of need by
 * bin/domus.mjs): warms up the interpreter and the JIT, then runs a PcpuServer over the link
 * to the host. The bundle builds it as dist/pcpu_worker.mjs next to dist/domus.mjs.
 */
import { warmUpInterpreter } from '../machine/hart/warmup.ts';
import { warmUpJit } from '../machine/jit/warmup.ts';
import { startThread } from '../platform/node/worker.ts';
import { PcpuServer } from './pcpu.ts';
import type { PcpuInit } from './pcpu_protocol.ts';

/**
 * The JIT's warm-up first: it runs the interpreter too, with a Jit attached. Then the host's
 * random source, whose first use loads Node's Web Crypto (about 8 ms, else spent building the
 * first domain: its rng-seed).
 */
function warmUp(): void {
  warmUpJit();
  warmUpInterpreter();
  globalThis.crypto.getRandomValues(new Uint8Array(8));
}

startThread(warmUp, (data, link) => new PcpuServer(link, data as PcpuInit));
