/**
 * Isolation: a guest that touches guest-physical addresses outside its memory gets access
 * faults, and the other domains' memory is unchanged, checked from the host side byte for byte.
 *
 * The attacker is tests/guests/isolation.S (assembled here with Debian's riscv64 binutils): it
 * fills its own RAM, then loads from and stores to addresses outside it and reports the trap
 * causes. The victims are two Linux domains, paused while the attacker runs, one on each pCPU
 * (so one shares the attacker's pCPU thread and one runs on another).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { defaultGuest } from '../src/platform/node/guest_image.ts';
import { DOMAIN_OVERHEAD_BYTES, Host, type DomainHandle } from '../src/toolstack/host.ts';
import { assembleGuest } from './guests/assemble.ts';

const MiB = 1 << 20;
const RAM_BASE = 0x8000_0000;

function consoleOf(d: DomainHandle): () => string {
  const chunks: Buffer[] = [];
  d.onConsole((b) => chunks.push(Buffer.from(b)));
  return () => Buffer.concat(chunks).toString('latin1');
}

async function waitFor(cond: () => boolean, ms: number, detail: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out; console tail:\n${detail().slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a guest touching addresses outside its memory gets access faults; other domains’ memory is unchanged', async () => {
  const attackerImage = assembleGuest('isolation');
  const guest = defaultGuest();
  const kernel = readFileSync(guest.kernel);
  const initrd = readFileSync(guest.initrd);
  const victimRam = 64 * MiB;
  const attackerRam = 16 * MiB; // RAM_BYTES in isolation.S
  const host = await Host.start({
    memoryBytes: 2 * (victimRam + DOMAIN_OVERHEAD_BYTES) + attackerRam + DOMAIN_OVERHEAD_BYTES,
    pcpus: 2,
  });
  try {
    const victims = await Promise.all(
      [0, 1].map((pcpu) =>
        host.createDomain({
          name: `victim${pcpu}`,
          pcpu,
          memoryBytes: victimRam,
          vcpus: 1,
          kernel,
          initrd,
          cmdline: 'console=ttyS0',
        }),
      ),
    );
    const victimConsoles = victims.map(consoleOf);
    for (let i = 0; i < 2; i++) {
      await waitFor(() => /DOMUS-GUEST-READY/.test(victimConsoles[i]!()), 120_000, victimConsoles[i]!);
    }
    for (const v of victims) await v.pause();
    const before = await Promise.all(victims.map((v) => v.readMemory(RAM_BASE, victimRam)));

    const attacker = await host.createDomain({
      name: 'attacker',
      pcpu: 0,
      memoryBytes: attackerRam,
      vcpus: 1,
      kernel: attackerImage,
      cmdline: '',
      onPoweroff: 'preserve',
    });
    const out = consoleOf(attacker);
    const shutdown = new Promise((resolve) => attacker.onShutdown(resolve));
    await shutdown;
    const lines = out()
      .split('\n')
      .filter((l) => l.startsWith('probe '));
    assert.equal(lines.length, 18, out());
    for (const l of lines) {
      assert.match(l, /load-cause=0x0{15}5 store-cause=0x0{15}7$/, `expected access faults: ${l}`);
    }
    assert.match(out(), /isolation failures=0x0{16}/);
    assert.deepEqual(attacker.lastShutdown, { kind: 'poweroff', code: 0 });
    // Its writes landed in its own memory.
    const own = await attacker.readMemory(RAM_BASE, 2 * MiB);
    assert.ok(
      own.every((b) => b === 0xa5),
      'the attacker filled its own RAM below its image',
    );
    await attacker.destroy();

    const after = await Promise.all(victims.map((v) => v.readMemory(RAM_BASE, victimRam)));
    for (let i = 0; i < 2; i++) {
      assert.equal(
        Buffer.compare(Buffer.from(before[i]!), Buffer.from(after[i]!)),
        0,
        `victim${i} memory changed`,
      );
      assert.ok(!before[i]!.every((b) => b === 0), 'the snapshot holds the victim’s data');
    }
    // And the victims still run.
    for (let i = 0; i < 2; i++) {
      await victims[i]!.unpause();
      victims[i]!.sendInput(new TextEncoder().encode(`echo alive-$((${i}+40))\n`));
      await waitFor(() => victimConsoles[i]!().includes(`alive-${i + 40}`), 30_000, victimConsoles[i]!);
    }
  } finally {
    await host.close();
  }
});
