/**
 * `npm run bench -- --suite io`: the split drivers' throughput against QEMU, same guest, same
 * workload, alternately (issue 5).
 *
 * - Disk: `dd` writes 64 MiB of zeros to the guest's virtio-blk disk (`conv=fsync`), the page
 *   cache is dropped, and `dd` reads them back; the rates are dd's own (guest clock). Domus:
 *   `domus run --disk` (a domain, its virtio-blk backend on the pCPU); QEMU: the reference
 *   runner with the same raw image as a virtio-blk device. The same dd runs once more on a
 *   hostd domain whose disk a driver domain serves (`backend=dd0`, docs/toolstack.md), to show
 *   what the driver domain's block channel costs.
 * - Network: 64 MiB from one guest to another over TCP with busybox `nc`, timed in the
 *   receiving guest from its first byte to its last (/proc/uptime). Domus: two domains on the
 *   virtual switch xenbr0 (hostd); QEMU: two QEMU processes joined by a socket netdev.
 *
 * Ratios are Domus/QEMU in time (above 1: Domus is slower).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, GuestShell, TestHost } from '../tests/toolstack_host.ts';
import { GuestProcess } from './guest_process.ts';
import { ensureQemu, startQemu } from './qemu.ts';
import { median, publishSuite, table } from './report.ts';

const DOMUS = fileURLToPath(new URL('../bin/domus.mjs', import.meta.url));
const TIMEOUT_MS = 600_000;
const MIB = 64;

// ---- disk ------------------------------------------------------------------------------------

const DD_SCRIPT =
  `dd if=/dev/zero of=/dev/vda bs=1M count=${MIB} conv=fsync 2>&1; echo 3 >/proc/sys/vm/drop_caches; ` +
  `dd if=/dev/vda of=/dev/null bs=1M count=${MIB} 2>&1`;

/** dd's "N bytes (…) copied, S seconds, …" lines: write seconds, then read seconds. */
function ddSeconds(out: string, tail: () => string): { write: number; read: number } {
  const secs = [...out.matchAll(/bytes \([^)]*\) copied, ([\d.]+) seconds/g)].map((m) => Number(m[1]));
  if (secs.length !== 2) throw new Error(`no dd results; console tail:\n${tail()}`);
  return { write: secs[0]!, read: secs[1]! };
}

async function ddRun(g: GuestProcess): Promise<{ write: number; read: number }> {
  try {
    await g.waitForLine(/DOMUS-GUEST-READY/, TIMEOUT_MS);
    await g.wait(TIMEOUT_MS);
    return ddSeconds(g.output, () => g.tail());
  } finally {
    g.kill();
  }
}

/** The dd workload on a hostd domain whose disk driver domain dd0 serves. */
async function driverDomainDd(img: string): Promise<{ write: number; read: number }> {
  const host = new TestHost();
  try {
    host.createGuest('dd', {
      more: [`disk = [ 'format=raw, vdev=xvda, access=rw, backend=dd0, target=${img}' ]`],
    });
    const sh = new GuestShell(host, 'dd');
    await sh.waitFor(/DOMUS-GUEST-READY/, TIMEOUT_MS, 'the ready marker');
    const out = await sh.run(DD_SCRIPT, TIMEOUT_MS);
    return ddSeconds(out, () => out);
  } finally {
    await host.stop();
  }
}

// ---- network ---------------------------------------------------------------------------------

/** A shell on a guest: Domus's through hostd, QEMU's on its serial console. */
interface Shell {
  run(cmd: string, ms?: number): Promise<string>;
}

class QemuShell implements Shell {
  private n = 0;
  constructor(readonly g: GuestProcess) {}
  async run(cmd: string, ms = 120_000): Promise<string> {
    const k = ++this.n;
    const from = this.g.lines.length;
    this.g.type(`echo Q-B$((${k}+0)); ${cmd}; echo Q-E$((${k}+0))\n`);
    const b = await this.g.waitForLine(new RegExp(`^Q-B${k}$`), ms, from);
    const e = await this.g.waitForLine(new RegExp(`^Q-E${k}$`), ms, b.index);
    return this.g.lines
      .slice(b.index + 1, e.index)
      .map((l) => l.text)
      .join('\n');
  }
}

/** Sends MIB MiB from `tx` to `rx` (at 10.0.2.15); returns the receiver's seconds from first to last byte. */
async function tcpRun(rx: Shell, tx: Shell): Promise<number> {
  const bytes = MIB << 20;
  const receiving = rx.run(
    `nc -l -p 5000 </dev/null | { dd bs=1 count=1 of=/dev/null 2>/dev/null; a=$(cut -d' ' -f1 /proc/uptime); ` +
      `head -c ${bytes - 1} >/dev/null; b=$(cut -d' ' -f1 /proc/uptime); echo "RX-TIME $a $b"; }`,
    TIMEOUT_MS,
  );
  await new Promise((r) => setTimeout(r, 1500));
  await tx.run(`dd if=/dev/zero bs=64k count=${bytes >> 16} 2>/dev/null | nc 10.0.2.15 5000 & true`);
  const out = await receiving;
  const m = /RX-TIME ([\d.]+) ([\d.]+)/.exec(out);
  if (!m) throw new Error(`no receive time in:\n${out}`);
  await tx.run('kill %1 2>/dev/null; true');
  return Number(m[2]) - Number(m[1]);
}

async function domusTcp(): Promise<number> {
  const host = new TestHost();
  try {
    const shells: GuestShell[] = [];
    for (const name of ['rx', 'tx']) {
      host.createGuest(name, { more: ["vif = [ 'bridge=xenbr0' ]"] });
      shells.push(new GuestShell(host, name));
    }
    for (const [i, sh] of shells.entries()) {
      await sh.waitFor(/DOMUS-GUEST-READY/, TIMEOUT_MS, 'the ready marker');
      await sh.run(`ip addr add 10.0.2.${15 + i}/24 dev eth0 && ip link set eth0 up`);
    }
    return await tcpRun(shells[0]!, shells[1]!);
  } finally {
    await host.stop();
  }
}

async function qemuTcp(): Promise<number> {
  const port = await freePort();
  const nic = (i: number, how: string) => [
    '-netdev',
    `socket,id=n0,${how}=127.0.0.1:${port}`,
    '-device',
    `virtio-net-device,netdev=n0,mac=52:54:00:12:34:${(0x56 + i).toString(16)}`,
  ];
  const rx = startQemu({ memoryMiB: 128, extraArgs: nic(0, 'listen') });
  await new Promise((r) => setTimeout(r, 500));
  const tx = startQemu({ memoryMiB: 128, extraArgs: nic(1, 'connect') });
  try {
    const shells = [new QemuShell(rx), new QemuShell(tx)];
    for (const [i, g] of [rx, tx].entries()) {
      await g.waitForLine(/DOMUS-GUEST-READY/, TIMEOUT_MS);
      await shells[i]!.run(`ip addr add 10.0.2.${15 + i}/24 dev eth0 && ip link set eth0 up`);
    }
    return await tcpRun(shells[0]!, shells[1]!);
  } finally {
    rx.kill();
    tx.kill();
  }
}

export async function runIoSuite(o: { runs: number; write: boolean }): Promise<number> {
  ensureQemu();
  const dir = mkdtempSync(join(tmpdir(), 'domus-io-'));
  const img = join(dir, 'disk.img');
  const r = {
    domus: { write: [], read: [], tcp: [] },
    qemu: { write: [], read: [], tcp: [] },
    dd: { write: [], read: [], tcp: [] },
  } as Record<'domus' | 'qemu' | 'dd', Record<'write' | 'read' | 'tcp', number[]>>;
  try {
    for (let i = 0; i < o.runs; i++) {
      for (const who of ['qemu', 'domus'] as const) {
        process.stderr.write(`bench io: run ${i + 1}/${o.runs}: ${who} disk… `);
        spawnSync('truncate', ['-s', '0', img]);
        spawnSync('truncate', ['-s', `${2 * MIB}M`, img]);
        const append = `domus.run="${DD_SCRIPT}"`;
        const g =
          who === 'qemu'
            ? startQemu({ disks: [img], append })
            : new GuestProcess(process.execPath, [
                DOMUS,
                'run',
                '--no-reboot',
                '--disk',
                img,
                '--append',
                append,
              ]);
        const dd = await ddRun(g);
        r[who].write.push(dd.write);
        r[who].read.push(dd.read);
        process.stderr.write('network… ');
        r[who].tcp.push(who === 'qemu' ? await qemuTcp() : await domusTcp());
        if (who === 'domus') {
          process.stderr.write('driver-domain disk… ');
          spawnSync('truncate', ['-s', '0', img]);
          spawnSync('truncate', ['-s', `${2 * MIB}M`, img]);
          const dd = await driverDomainDd(img);
          r.dd.write.push(dd.write);
          r.dd.read.push(dd.read);
        }
        process.stderr.write('done\n');
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const rate = (s: number) => (MIB / s).toFixed(1);
  const row = (what: string, k: 'write' | 'read' | 'tcp', who: 'domus' | 'dd' = 'domus') => {
    const q = median(r.qemu[k]);
    const d = median(r[who][k]);
    return [what, rate(q), rate(d), (d / q).toFixed(2)];
  };
  const report = table(
    [`median of ${o.runs}, MiB/s`, 'QEMU 7.2 TCG', 'Domus', 'Domus/QEMU (time)'],
    [
      row(`dd write ${MIB} MiB to virtio-blk (conv=fsync)`, 'write'),
      row(`dd read ${MIB} MiB from virtio-blk (cold cache)`, 'read'),
      row(`dd write ${MIB} MiB, disk served by a driver domain`, 'write', 'dd'),
      row(`dd read ${MIB} MiB, disk served by a driver domain`, 'read', 'dd'),
      row(`guest to guest TCP, ${MIB} MiB over busybox nc`, 'tcp'),
    ],
  );
  publishSuite('io', o.runs, report, o.write);
  return 0;
}
