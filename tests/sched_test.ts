/**
 * The credit scheduler with real guests on one pCPU: CPU-bound Linux domains share the pCPU by
 * weight, and a cap holds a domain to its percentage even when the pCPU is otherwise idle.
 * Shares are the hypervisor's own accounting of the time each domain's vCPU ran (cpuMs),
 * sampled over a window after the guests have booted and started spinning.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { defaultGuest } from '../src/platform/node/guest_image.ts';
import { DOMAIN_OVERHEAD_BYTES, Host, type DomainHandle, type DomainInfo } from '../src/toolstack/host.ts';

const MiB = 1 << 20;
const RAM = 48 * MiB;
const guest = defaultGuest();
const kernel = readFileSync(guest.kernel);
const initrd = readFileSync(guest.initrd);
/** A guest that spins in user space once booted, after saying so. */
const SPIN = 'console=ttyS0 domus.run=echo SPINNING; while :; do :; done';

async function spinner(
  host: Host,
  name: string,
  sched: { weight?: number; cap?: number },
): Promise<DomainHandle> {
  const d = await host.createDomain({
    name,
    memoryBytes: RAM,
    vcpus: 1,
    kernel,
    initrd,
    cmdline: SPIN,
    ...sched,
  });
  const chunks: Buffer[] = [];
  d.onConsole((b) => chunks.push(Buffer.from(b)));
  (d as DomainHandle & { text: () => string }).text = () => Buffer.concat(chunks).toString('latin1');
  return d;
}

async function waitSpinning(ds: DomainHandle[]): Promise<void> {
  const end = Date.now() + 180_000;
  for (const d of ds) {
    const text = (d as DomainHandle & { text: () => string }).text;
    while (!/^SPINNING/m.test(text())) {
      if (Date.now() > end) assert.fail(`${d.name} did not boot:\n${text().slice(-1500)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function sample(host: Host): Promise<Map<string, DomainInfo>> {
  return new Map((await host.list()).map((d) => [d.name, d]));
}

test('weights 256 and 512 on one pCPU give CPU shares 1:2 (within 10%)', async (t) => {
  const host = await Host.start({ memoryBytes: 2 * (RAM + DOMAIN_OVERHEAD_BYTES), pcpus: 1 });
  try {
    const a = await spinner(host, 'w256', { weight: 256 });
    const b = await spinner(host, 'w512', { weight: 512 });
    await waitSpinning([a, b]);
    const t0 = await sample(host);
    await new Promise((r) => setTimeout(r, 4000));
    const t1 = await sample(host);
    const ran = (n: string) => t1.get(n)!.cpuMs - t0.get(n)!.cpuMs;
    const ratio = ran('w512') / ran('w256');
    t.diagnostic(`w512:w256 = ${ran('w512').toFixed(0)}:${ran('w256').toFixed(0)} ms = ${ratio.toFixed(3)}`);
    assert.ok(
      ratio > 1.8 && ratio < 2.2,
      `w512:w256 ran ${ran('w512').toFixed(0)}:${ran('w256').toFixed(0)} ms = ${ratio.toFixed(3)}`,
    );
    // Together they kept the pCPU busy.
    assert.ok(ran('w256') + ran('w512') > 3000, `ran ${ran('w256') + ran('w512')} ms of 4000`);
  } finally {
    await host.close();
  }
});

test('a cap of 50 holds a CPU-bound domain to 50% ± 5% of an otherwise idle pCPU; changing it takes effect', async (t) => {
  const host = await Host.start({ memoryBytes: RAM + DOMAIN_OVERHEAD_BYTES, pcpus: 1 });
  try {
    const d = await spinner(host, 'capped', {});
    await waitSpinning([d]);
    await d.setSchedParams({ cap: 50 });
    await new Promise((r) => setTimeout(r, 500));
    const share = async (ms: number) => {
      const a = await d.info();
      const w0 = performance.now();
      await new Promise((r) => setTimeout(r, ms));
      const b = await d.info();
      return (b.cpuMs - a.cpuMs) / (performance.now() - w0);
    };
    const capped = await share(4000);
    t.diagnostic(`cap 50: share ${capped.toFixed(3)}`);
    assert.ok(capped > 0.45 && capped < 0.55, `cap 50: share ${capped.toFixed(3)}`);
    await d.setSchedParams({ cap: 0 });
    await new Promise((r) => setTimeout(r, 300));
    const free = await share(2000);
    assert.ok(free > 0.9, `uncapped: share ${free.toFixed(3)}`);
  } finally {
    await host.close();
  }
});
