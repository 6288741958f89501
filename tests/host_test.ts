/**
 * The toolstack library's Host: several Linux domains at once from one process, on pCPU
 * threads, each with its own console; lifecycle operations; shutdown actions.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { defaultGuest } from '../src/platform/node/guest_image.ts';
import { DOMAIN_OVERHEAD_BYTES, Host, type DomainHandle } from '../src/toolstack/host.ts';

const guest = defaultGuest();
const kernel = readFileSync(guest.kernel);
const initrd = readFileSync(guest.initrd);
const MiB = 1 << 20;

/**
 * domus-bench -s 2 results as computed by QEMU 7.2 (qemu-system-riscv64 -M virt) on the same
 * guest image: the loops are deterministic, so every correct RV64GC machine prints these.
 */
const BENCH_S2 = {
  int: '0x1f43bb15fe02fb5a',
  fp: '0x40f137078c456006',
  mem: '0x4e8b6124b8769dc0',
};

function collect(d: DomainHandle): { text: () => string } {
  const chunks: Buffer[] = [];
  d.onConsole((b) => chunks.push(Buffer.from(b)));
  return { text: () => Buffer.concat(chunks).toString('latin1') };
}

test('four Linux domains run at once, each with its own console, and each runs the benchmark correctly', async () => {
  const n = 4;
  const ram = 96 * MiB;
  const host = await Host.start({ memoryBytes: n * (ram + DOMAIN_OVERHEAD_BYTES), pcpus: 2 });
  try {
    const doms = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        host.createDomain({
          name: `guest${i}`,
          memoryBytes: ram,
          vcpus: 1,
          kernel,
          initrd,
          cmdline: `console=ttyS0 domus.run=echo I am guest${i}; domus-bench -s 2`,
        }),
      ),
    );
    assert.deepEqual(new Set(doms.map((d) => d.pcpu)), new Set([0, 1]), 'domains are spread over both pCPUs');
    const consoles = doms.map(collect);
    const listed = await host.list();
    assert.deepEqual(listed.map((d) => d.name).sort(), doms.map((d) => d.name).sort());
    assert.deepEqual(
      listed.map((d) => d.id),
      [...new Set(doms.map((d) => d.id))].sort((x, y) => x - y),
      'ids are unique across pCPUs',
    );
    const finals = await Promise.all(doms.map((d) => d.gone));
    for (let i = 0; i < n; i++) {
      const out = consoles[i]!.text();
      assert.match(out, new RegExp(`I am guest${i}\\b`), `guest${i}'s console`);
      for (let j = 0; j < n; j++) if (j !== i) assert.doesNotMatch(out, new RegExp(`I am guest${j}\\b`));
      for (const [name, result] of Object.entries(BENCH_S2)) {
        assert.match(out, new RegExp(`DOMUS-BENCH name=${name} .* result=${result}`), `guest${i} ${name}`);
      }
      assert.match(out, /DOMUS-RUN-EXIT 0/);
      assert.deepEqual(doms[i]!.lastShutdown, { kind: 'poweroff', code: 0 });
      assert.ok(finals[i]!.instructions > 50_000_000, `guest${i} retired ${finals[i]!.instructions}`);
    }
    assert.deepEqual(await host.list(), [], 'powered-off domains are destroyed (on_poweroff = destroy)');
    assert.equal(host.resources.frames.free, host.resources.frames.total, 'all their memory is back');
  } finally {
    await host.close();
  }
});

test('pause stops a domain from running, unpause resumes it, destroy removes it; input reaches its console; idle costs no CPU', async (t) => {
  const host = await Host.start({ memoryBytes: 64 * MiB + DOMAIN_OVERHEAD_BYTES, pcpus: 1 });
  try {
    const d = await host.createDomain({
      name: 'interactive',
      memoryBytes: 64 * MiB,
      vcpus: 1,
      kernel,
      initrd,
      cmdline: 'console=ttyS0',
    });
    const con = collect(d);
    await waitFor(
      () => /# $/.test(con.text()),
      60_000,
      () => con.text(),
    );
    d.sendInput(new TextEncoder().encode('echo $((6*7))-answer\n'));
    await waitFor(
      () => con.text().includes('42-answer'),
      20_000,
      () => con.text(),
    );
    // A guest idling at its shell prompt (WFI) costs the host almost nothing.
    await sleep(500);
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    await sleep(2000);
    const cpu = process.cpuUsage(cpu0);
    const busy = (cpu.user + cpu.system) / 1000 / (performance.now() - wall0);
    t.diagnostic(`idle guest: host CPU ${(busy * 100).toFixed(1)}%`);
    assert.ok(busy < 0.1, `an idle guest kept the host ${(busy * 100).toFixed(1)}% busy`);
    await d.pause();
    const a = await d.info();
    assert.equal(a.state, 'paused');
    await sleep(300);
    const b = await d.info();
    assert.equal(b.instructions, a.instructions, 'a paused domain retires no instructions');
    await d.unpause();
    d.sendInput(new TextEncoder().encode('echo resumed-$((1+1))\n'));
    await waitFor(
      () => con.text().includes('resumed-2'),
      20_000,
      () => con.text(),
    );
    const final = await d.destroy();
    assert.equal(final.name, 'interactive');
    assert.deepEqual(await host.list(), []);
    await assert.rejects(d.info(), /no longer exists/);
  } finally {
    await host.close();
  }
});

test('on_reboot = restart rebuilds the domain with a new id; a bad config is refused with one sentence', async () => {
  const host = await Host.start({ memoryBytes: 64 * MiB + DOMAIN_OVERHEAD_BYTES, pcpus: 1 });
  try {
    await assert.rejects(
      host.createDomain({ name: 'big', memoryBytes: 512 * MiB, vcpus: 1, kernel, initrd, cmdline: '' }),
      /domain big needs 512 MiB but machine memory has \d+ MiB free/,
    );
    await assert.rejects(
      host.createDomain({
        name: 'nodisk',
        memoryBytes: 64 * MiB,
        vcpus: 1,
        kernel,
        initrd,
        cmdline: '',
        disks: [{ path: '/nonexistent/disk.img', readOnly: false }],
      }),
      /disk image \/nonexistent\/disk\.img does not exist/,
    );
    assert.equal(host.resources.frames.free, host.resources.frames.total, 'a failed create leaks nothing');
    // Reboots once (the marker file lives in the initramfs, which a reboot brings back fresh,
    // so use the kernel command line's boot count instead: the first boot reboots, the
    // rebuilt domain powers off because we switch its action to destroy on the first reboot).
    const d = await host.createDomain({
      name: 'rebooter',
      memoryBytes: 64 * MiB,
      vcpus: 1,
      kernel,
      initrd,
      cmdline: 'console=ttyS0 domus.run=reboot -f',
      onReboot: 'restart',
    });
    const firstId = d.id;
    const con = collect(d);
    const seen: string[] = [];
    d.onShutdown((reason, _info, action) => {
      seen.push(`${reason.kind}:${action}`);
      if (seen.length === 2) void d.destroy();
    });
    await waitFor(
      () => seen.length >= 2,
      120_000,
      () => con.text(),
    );
    await d.gone;
    assert.deepEqual(seen.slice(0, 2), ['reboot:restart', 'reboot:restart']);
    assert.notEqual(d.id, firstId, 'the restarted domain has a new id');
    assert.equal((con.text().match(/DOMUS-GUEST-READY/g) ?? []).length >= 2, true, 'it booted twice');
  } finally {
    await host.close();
  }
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitFor(cond: () => boolean, ms: number, detail: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out; console tail:\n${detail().slice(-1500)}`);
    await sleep(50);
  }
}
