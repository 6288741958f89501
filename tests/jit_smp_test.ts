/**
 * The JIT under the hypervisor with an SMP domain: the default guest boots as a hosted domain
 * with two vCPUs taking turns on this thread, with the JIT attached to both (as a pCPU does
 * for a domain created with jit on), and runs four busy user processes at once. Every process
 * must compute the same digest and the guest must exit cleanly.
 *
 * This caught translated code of vCPU 1 looking loads and stores up in vCPU 0's soft TLB (the
 * TLB sets went into translated code relative to a state block, and were used as absolute
 * addresses): user processes on one vCPU then read and wrote the pages of the process on the
 * other (busybox "stack smashing detected", SIGSEGV, a lost `agent` function in /init).
 *
 * Virtual time makes the run repeatable; a low translation threshold puts most of the boot
 * and the workload in translated code.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { seededRandom, VirtualClock } from '../src/machine/board.ts';
import { attachJitToHart, type Jit } from '../src/machine/jit/jit.ts';
import { Hypervisor } from '../src/hypervisor/hypervisor.ts';
import { defaultGuest } from '../src/platform/node/guest_image.ts';
import { buildDomain } from '../src/toolstack/domain_builder.ts';

const VCPUS = 2;
const PROCESSES = 4;
const COMMAND = `for i in $(seq ${PROCESSES}); do (find / -xdev | sha256sum) & done; wait`;
const TIMEOUT_MS = 120_000;

interface Outcome {
  console: string;
  finished: boolean;
  instructions: number[];
  jit: ReturnType<Jit['stats']>;
}

async function bootWithJit(): Promise<Outcome> {
  // As `domus run` does with the JIT on: only truly hot wasm gets V8's optimizing tier.
  setFlagsFromString('--wasm-tiering-budget=50000000');
  const guest = defaultGuest();
  const memoryBytes = 128 << 20;
  const hv = new Hypervisor({
    memoryBytes: memoryBytes + (16 << 20),
    maxVcpus: VCPUS,
    clock: new VirtualClock(),
  });
  const { domain } = buildDomain(hv, {
    name: 'jit-smp',
    memoryBytes,
    vcpus: VCPUS,
    kernel: readFileSync(guest.kernel),
    initrd: readFileSync(guest.initrd),
    cmdline: `earlycon=sbi console=ttyS0 domus.run="${COMMAND}"`,
    random: seededRandom(7),
  });
  let jit: Jit | null = null;
  for (const v of domain.vcpus) jit = attachJitToHart(v.hart, 'on', { threshold: 50 });
  let out = '';
  let finished = false;
  const decoder = new TextDecoder('latin1');
  domain.onConsole = (bytes) => {
    out += decoder.decode(bytes, { stream: true });
    if (/DOMUS-RUN-EXIT \d+/.test(out)) {
      finished = true;
      hv.stopRunning();
    } else if (/Kernel panic/.test(out)) hv.stopRunning();
  };
  domain.onShutdown = () => hv.stopRunning();
  const timer = setTimeout(() => hv.stopRunning(), TIMEOUT_MS);
  try {
    await hv.run();
  } finally {
    clearTimeout(timer);
  }
  return { console: out, finished, instructions: domain.vcpus.map((v) => v.hart.instret), jit: jit!.stats() };
}

test(`a ${VCPUS}-vCPU hosted guest runs ${PROCESSES} processes correctly with the JIT on every vCPU`, async () => {
  const r = await bootWithJit();
  const tail = `\n--- console tail ---\n${r.console.slice(-3000)}`;
  assert.ok(r.finished, `the guest did not finish its command${tail}`);
  assert.match(r.console, /DOMUS-GUEST-READY/, tail);
  assert.doesNotMatch(
    r.console,
    /stack smashing|Segmentation fault|Illegal instruction|: not found|Oops|BUG:/,
    tail,
  );
  assert.match(r.console, /DOMUS-RUN-EXIT 0/, tail);
  const digests = [...r.console.matchAll(/^([0-9a-f]{64}) {2}-\r?$/gm)].map((m) => m[1]);
  assert.equal(digests.length, PROCESSES, `expected ${PROCESSES} digests${tail}`);
  assert.equal(new Set(digests).size, 1, `the processes disagree: ${digests.join(' ')}${tail}`);
  // Both vCPUs ran, and most of the work was translated code.
  for (const [i, n] of r.instructions.entries()) assert.ok(n > 1_000_000, `vCPU ${i} retired only ${n}`);
  const total = r.instructions.reduce((a, b) => a + b, 0);
  assert.ok(
    r.jit.instructions > total / 2,
    `translated code ran ${r.jit.instructions} of ${total} instructions`,
  );
});
