/**
 * Steal time: with three busy domains on one pCPU, each guest's /proc/stat shows steal (the
 * time its vCPU was runnable but another domain had the pCPU), written by the hypervisor's
 * SBI STA into the guest's shared memory. Linux reads STA from 6.8 on, so this runs the
 * prebuilt Linux 6.12 guest kernel (docs/guest.md).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { prebuiltGuest } from '../src/platform/node/guest_image.ts';
import { DOMAIN_OVERHEAD_BYTES, Host } from '../src/toolstack/host.ts';

const MiB = 1 << 20;
const RAM = 48 * MiB;

/** Fields of /proc/stat's `cpu` line: user nice system idle iowait irq softirq steal …. */
function cpuLine(line: string): number[] {
  return line.trim().split(/\s+/).slice(1).map(Number);
}

test('three busy domains on one pCPU: each guest’s /proc/stat shows steal time', async (t) => {
  const guest = prebuiltGuest('linux-6.12');
  const kernel = readFileSync(guest.kernel);
  const initrd = readFileSync(guest.initrd);
  const host = await Host.start({ memoryBytes: 3 * (RAM + DOMAIN_OVERHEAD_BYTES), pcpus: 1 });
  try {
    const script =
      'head -1 /proc/stat; (while :; do :; done) & sleep 4; head -1 /proc/stat; kill $!; dmesg | grep riscv-pv';
    const doms = await Promise.all(
      [0, 1, 2].map((i) =>
        host.createDomain({
          name: `busy${i}`,
          memoryBytes: RAM,
          vcpus: 1,
          kernel,
          initrd,
          cmdline: `console=ttyS0 quiet domus.run=${script}`,
        }),
      ),
    );
    const outs = doms.map((d) => {
      const chunks: Buffer[] = [];
      d.onConsole((b) => chunks.push(Buffer.from(b)));
      return () => Buffer.concat(chunks).toString('latin1');
    });
    await Promise.all(doms.map((d) => d.gone));
    for (let i = 0; i < 3; i++) {
      const out = outs[i]!();
      assert.match(out, /riscv-pv: SBI STA extension detected/, out);
      const lines = out.split(/\r?\n/).filter((l) => /^cpu\s/.test(l));
      assert.equal(lines.length, 2, out);
      const [a, b] = lines.map(cpuLine) as [number[], number[]];
      const delta = b.map((x, k) => x - a[k]!);
      const total = delta.reduce((x, y) => x + y, 0);
      const steal = delta[7]!;
      t.diagnostic(
        `busy${i}: steal ${steal} of ${total} ticks while busy (${((100 * steal) / total).toFixed(0)}%)`,
      );
      // Three CPU-bound vCPUs share one pCPU: each waits about two thirds of the time.
      assert.ok(steal > 0.3 * total, `busy${i}: steal ${steal} of ${total} ticks`);
      assert.match(out, /DOMUS-RUN-EXIT 0/);
    }
  } finally {
    await host.close();
  }
});
