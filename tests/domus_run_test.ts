/**
 * Golden runs of `domus run`, each both hosted (the guest as a domain of the hypervisor, the
 * default) and on the bare board (`--bare`: OpenSBI + the guest in S-mode): the ready marker
 * with 1 and 2 harts, the interactive shell on the console, exit statuses from `domus.run`, an
 * ext4 disk made on the host that the guest writes through virtio-blk, virtio-rng and -console.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GuestProcess } from '../bench/guest_process.ts';

const DOMUS = fileURLToPath(new URL('../bin/domus.mjs', import.meta.url));
const BOOT_MS = 120_000;

function domus(args: string[]): GuestProcess {
  return new GuestProcess(process.execPath, [DOMUS, ...args]);
}

/** Registers `fn` as two tests: `domus run` hosted and `domus run --bare`. */
function both(name: string, fn: (run: string[]) => Promise<void>): void {
  test(`${name} (hosted)`, () => fn(['run']));
  test(`${name} (bare)`, () => fn(['run', '--bare']));
}

both('the default guest boots to its shell; cpuinfo lists the hart and rv64imafdc', async (run) => {
  const g = domus([...run]);
  try {
    await g.waitForLine(/DOMUS-GUEST-READY/, BOOT_MS);
    await g.waitForPrompt(/domus:.*# $/, BOOT_MS);
    const from = g.lines.length;
    g.type('cat /proc/cpuinfo; echo sum=$((6*7))\n');
    await g.waitForLine(/^sum=42$/, BOOT_MS, from);
    const text = g.lines
      .slice(from)
      .map((l) => l.text)
      .join('\n');
    assert.match(text, /^processor\s*: 0$/m);
    // A domain's vCPUs also offer Zihintpause (PAUSE yields the vCPU: pause-loop exiting).
    assert.match(
      text,
      run.includes('--bare') ? /^isa\s*: rv64imafdc$/m : /^isa\s*: rv64imafdc_zihintpause$/m,
    );
    g.type('exit\n');
    const exit = await g.wait(BOOT_MS);
    assert.equal(exit.code, 0, g.tail());
  } finally {
    g.kill();
  }
});

both('with --vcpus 2 Linux brings up both harts', async (run) => {
  const g = domus([
    ...run,
    '--vcpus',
    '2',
    '--no-reboot',
    '--append',
    'domus.run=grep -c ^processor /proc/cpuinfo; nproc',
  ]);
  try {
    await g.waitForLine(/DOMUS-GUEST-READY/, BOOT_MS);
    await g.waitForLine(/^2$/, BOOT_MS);
    const exit = await g.wait(BOOT_MS);
    assert.equal(exit.code, 0, g.tail());
    assert.match(g.output, /smp: Brought up 1 node, 2 CPUs/);
  } finally {
    g.kill();
  }
});

both('domus.run statuses pass through: exit 3 exits 3, true exits 0', async (run) => {
  for (const [cmd, status] of [
    ['exit 3', 3],
    ['true', 0],
  ] as const) {
    const g = domus([...run, '--no-reboot', '--append', `domus.run=${cmd}`]);
    try {
      const exit = await g.wait(BOOT_MS);
      assert.equal(exit.code, status, g.tail());
      assert.match(g.output, new RegExp(`DOMUS-RUN-EXIT ${status}`));
    } finally {
      g.kill();
    }
  }
});

both('the guest writes a file to a host-made ext4 image through virtio-blk', async (run) => {
  const dir = mkdtempSync(join(tmpdir(), 'domus-ext4-'));
  try {
    const img = join(dir, 'disk.img');
    execFileSync('truncate', ['-s', '32M', img]);
    execFileSync('mkfs.ext4', ['-q', '-F', '-L', 'domus', img]);
    const g = domus([
      ...run,
      '--no-reboot',
      '--disk',
      img,
      '--append',
      'domus.run=mount -t ext4 /dev/vda /mnt && echo written-by-domus > /mnt/greeting.txt && umount /mnt',
    ]);
    try {
      const exit = await g.wait(BOOT_MS);
      assert.equal(exit.code, 0, g.tail());
    } finally {
      g.kill();
    }
    const fsck = spawnSync('e2fsck', ['-fn', img], { encoding: 'utf8' });
    assert.equal(fsck.status, 0, fsck.stdout + fsck.stderr);
    const cat = spawnSync('debugfs', ['-R', 'cat /greeting.txt', img], { encoding: 'utf8' });
    assert.equal(cat.stdout, 'written-by-domus\n', cat.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

both('virtio-rng feeds /dev/hwrng and a virtio console appears as hvc0', async (run) => {
  const g = domus([
    ...run,
    '--virtio-console',
    '--no-reboot',
    '--append',
    'domus.run=cat /sys/class/misc/hw_random/rng_current; head -c 16 /dev/hwrng | od -An -tx1 | wc -w; echo via-hvc0 > /dev/hvc0',
  ]);
  try {
    const exit = await g.wait(BOOT_MS);
    assert.equal(exit.code, 0, g.tail());
    assert.match(g.output, /^virtio_rng\.0\r?$/m);
    assert.match(g.output, /^16\r?$/m);
    assert.match(g.output, /^via-hvc0\r?$/m);
  } finally {
    g.kill();
  }
});
