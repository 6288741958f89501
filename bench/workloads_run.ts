/**
 * Runs one workload of the workloads image once, under QEMU or under Domus, and returns
 * its result line (or why there is none).
 *
 * Both emulators get the same machine: the prebuilt default guest, 512 MiB, one hart, the
 * workloads image read-only and, for fio, a fresh sparse 256 MiB scratch disk, plus a
 * virtio-rng (Domus's board always has one; without it QEMU's guest stalls for seconds the
 * first time something reads /dev/urandom). The network workloads use QEMU's user
 * networking: the guest is 10.0.2.15/24 behind 10.0.2.2, which QEMU maps to the host's
 * loopback, so the host's iperf3 server and the forwarded ssh port listen on 127.0.0.1 only.
 * Domus has no virtio-net yet: those workloads come back as `skipped`, never silently.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GuestProcess } from './guest_process.ts';
import { QEMU_BINARY, qemuArgs } from './qemu.ts';
import {
  parseFailLine,
  parseResultLine,
  SSH_COMMAND,
  SSH_EXPECTED_OUTPUT,
  SSH_LOGINS,
  type Workload,
  type WorkloadResult,
} from './workloads_catalog.ts';
import { createScratchDisk } from './workloads_image.ts';

export type Emulator = 'qemu' | 'domus';

/** Domus's board has no virtio-net yet (a later issue); flip this when `domus run` gets one. */
export const DOMUS_HAS_VIRTIO_NET = false;
export const NEEDS_VIRTIO_NET = 'needs virtio-net (not yet on Domus)';

export const GUEST_MEMORY_MIB = 512;
export const SCRATCH_MIB = 256;
const DOMUS = fileURLToPath(new URL('../bin/domus.mjs', import.meta.url));

export type RunOutcome =
  | { kind: 'ok'; result: WorkloadResult }
  | { kind: 'failed'; reason: string; tail: string }
  | { kind: 'skipped'; reason: string };

export interface RunRequest {
  workload: Workload;
  emulator: Emulator;
  image: string;
  /** Limit for the whole run, boot to power-off. */
  timeoutMs: number;
  /** More `domus run` options, e.g. ['--bare'] for the board without the hypervisor. */
  domusArgs?: readonly string[];
}

/** The kernel command line that mounts the image and runs one workload. */
export function workloadAppend(runnerName: string, args: readonly string[] = []): string {
  const cmd = ['/mnt/run', runnerName, ...args].join(' ');
  return `quiet domus.run=mount -r LABEL=domus-wl /mnt&&${cmd}`;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('could not get a free port'))));
    });
  });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`. */
async function waitForListener(port: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (performance.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Captured {
  code: number | null;
  stdout: string;
  stderr: string;
}

function capture(cmd: string, args: readonly string[], timeoutMs: number): Promise<Captured> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

function sshArgs(key: string, port: number, command: string): string[] {
  return [
    '-p',
    String(port),
    '-i',
    key,
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'LogLevel=ERROR',
    '-o',
    'ConnectTimeout=60',
    'root@127.0.0.1',
    command,
  ];
}

/** Times SSH_LOGINS logins, then ends the guest's wait with one more (untimed) login. */
async function sshLogins(key: string, port: number, perLoginMs: number): Promise<WorkloadResult> {
  let ms = 0;
  let check = `${SSH_LOGINS}x:Linux:42`;
  for (let i = 0; i < SSH_LOGINS; i++) {
    const t0 = performance.now();
    const r = await capture('ssh', sshArgs(key, port, SSH_COMMAND), perLoginMs);
    ms += performance.now() - t0;
    if (r.code !== 0) throw new Error(`ssh login ${i + 1} exited with ${r.code}: ${r.stderr.trim()}`);
    if (r.stdout !== SSH_EXPECTED_OUTPUT) {
      check = `login-${i + 1}-printed:${JSON.stringify(r.stdout)}`;
      break;
    }
  }
  const done = await capture('ssh', sshArgs(key, port, 'touch /tmp/ssh-done'), perLoginMs);
  if (done.code !== 0) throw new Error(`the final ssh login exited with ${done.code}: ${done.stderr.trim()}`);
  return { name: 'ssh-login', seconds: Math.round(ms) / 1000, check, extra: {} };
}

/** Runs `req.workload` once; never throws for guest behaviour (that is a `failed` outcome). */
export async function runWorkload(req: RunRequest): Promise<RunOutcome> {
  const { workload, emulator } = req;
  if (workload.needsNet && emulator === 'domus' && !DOMUS_HAS_VIRTIO_NET) {
    return { kind: 'skipped', reason: NEEDS_VIRTIO_NET };
  }
  const tmp = mkdtempSync(join(tmpdir(), 'domus-wl-'));
  const cleanups: Array<() => void> = [() => rmSync(tmp, { recursive: true, force: true })];
  let guest: GuestProcess | undefined;
  try {
    const runnerArgs: string[] = [];
    const qemuNet: string[] = [];
    let sshKey: string | undefined;
    let sshPort = 0;
    if (workload.host === 'iperf3-server') {
      const port = await freePort();
      const server = spawn('iperf3', ['-s', '-B', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
      cleanups.push(() => server.kill('SIGKILL'));
      await waitForListener(port, 10_000);
      runnerArgs.push(String(port));
      qemuNet.push('-netdev', 'user,id=n0', '-device', 'virtio-net-device,netdev=n0');
    } else if (workload.host === 'ssh-client') {
      sshKey = join(tmp, 'id_ed25519');
      const kg = await capture('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', sshKey], 30_000);
      if (kg.code !== 0) throw new Error(`ssh-keygen failed: ${kg.stderr.trim()}`);
      // The key type and base64 blob only: the comment could hold characters the cmdline mangles.
      runnerArgs.push(...readFileSync(`${sshKey}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2));
      sshPort = await freePort();
      qemuNet.push(
        '-netdev',
        `user,id=n0,hostfwd=tcp:127.0.0.1:${sshPort}-:22`,
        '-device',
        'virtio-net-device,netdev=n0',
      );
    }
    const append = workloadAppend(workload.runnerName, runnerArgs);
    const scratch = join(tmp, 'scratch.img');
    if (workload.needsScratch) createScratchDisk(scratch, SCRATCH_MIB);

    if (emulator === 'qemu') {
      const extra = [
        '-drive',
        `file=${req.image},format=raw,if=none,id=wl,readonly=on`,
        '-device',
        'virtio-blk-device,drive=wl',
      ];
      if (workload.needsScratch) {
        extra.push(
          '-drive',
          `file=${scratch},format=raw,if=none,id=sc`,
          '-device',
          'virtio-blk-device,drive=sc',
        );
      }
      extra.push('-device', 'virtio-rng-device', ...qemuNet);
      guest = new GuestProcess(
        QEMU_BINARY,
        qemuArgs({ append, memoryMiB: GUEST_MEMORY_MIB, extraArgs: extra }),
      );
    } else {
      const args = [
        DOMUS,
        'run',
        ...(req.domusArgs ?? []),
        '--no-reboot',
        '--memory',
        String(GUEST_MEMORY_MIB),
      ];
      args.push('--disk', `${req.image},ro`);
      if (workload.needsScratch) args.push('--disk', scratch);
      args.push('--append', append);
      guest = new GuestProcess(process.execPath, args);
    }
    const g = guest;

    let hostResult: WorkloadResult | undefined;
    if (workload.host === 'ssh-client' && sshKey) {
      const line = await g.waitForLine(
        /^DOMUS-WORKLOAD-(WAIT name=ssh-server sshd=ready|FAIL )/,
        req.timeoutMs,
      );
      if (line.text.startsWith('DOMUS-WORKLOAD-FAIL')) {
        return { kind: 'failed', reason: `the guest could not serve ssh (${line.text})`, tail: g.tail() };
      }
      hostResult = await sshLogins(sshKey, sshPort, Math.max(60_000, req.timeoutMs / (SSH_LOGINS + 1)));
    }
    const exit = await g.wait(req.timeoutMs);
    if (hostResult) {
      if (exit.code !== 0)
        return { kind: 'failed', reason: `the guest exited with ${exit.code}`, tail: g.tail() };
      return { kind: 'ok', result: hostResult };
    }
    return outcomeFromConsole(
      g.lines.map((l) => l.text),
      exit.code,
      workload,
      g.tail(),
    );
  } catch (e) {
    return { kind: 'failed', reason: e instanceof Error ? e.message : String(e), tail: guest?.tail() ?? '' };
  } finally {
    guest?.kill();
    for (const c of cleanups.reverse()) c();
  }
}

/**
 * Judges a finished run from its console: exactly one result line for the workload and a
 * clean exit, or a failure that says what went wrong.
 */
export function outcomeFromConsole(
  lines: readonly string[],
  exitCode: number | null,
  workload: Workload,
  tail: string,
): RunOutcome {
  const results = lines.map(parseResultLine).filter((r): r is WorkloadResult => r !== undefined);
  const fail = lines.map(parseFailLine).find((f) => f !== undefined);
  if (fail) return { kind: 'failed', reason: `the runner reports ${fail.reason}`, tail };
  if (exitCode !== 0) return { kind: 'failed', reason: `the guest exited with ${exitCode}`, tail };
  const mine = results.filter((r) => r.name === workload.runnerName);
  if (mine.length !== 1) {
    return {
      kind: 'failed',
      reason: `expected one result line for ${workload.runnerName}, got ${mine.length}`,
      tail,
    };
  }
  const r = mine[0]!;
  return { kind: 'ok', result: { ...r, name: workload.name } };
}
