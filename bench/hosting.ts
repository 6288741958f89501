/**
 * `npm run bench -- --suite hosting`: what the hypervisor costs and what pCPUs buy.
 *
 * - Overhead: the default guest booted by `domus run --bare` (board + OpenSBI, kernel in
 *   S-mode) and by `domus run` (a domain: kernel in VS-mode, two-stage translation, the
 *   hypervisor as SBI), alternately, N runs each: launch to DOMUS-GUEST-READY and the guest's
 *   domus-bench int/fp/mem loop times. Ratios are hosted / bare (above 1 = hosted is slower).
 * - Parallelism: two single-vCPU domains each boot and run domus-bench's CPU loops (int, fp),
 *   on a host with 2 pCPU threads — first one after the other, then both at once. The ratio is
 *   parallel / serial wall time (0.5 is perfect scaling; the bar is 0.6).
 *
 * Loop results must agree between all runs (a mismatch fails the suite).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defaultGuest } from '../src/platform/node/guest_image.ts';
import { DOMAIN_OVERHEAD_BYTES, Host, type DomainHandle } from '../src/toolstack/host.ts';
import { GuestProcess } from './guest_process.ts';
import { fmt, measuredWith, median, table, writeSection } from './report.ts';

const DOMUS = fileURLToPath(new URL('../bin/domus.mjs', import.meta.url));
const TIMEOUT_MS = 600_000;
const BENCH_LINE = /^DOMUS-BENCH name=(\w+) iters=(\d+) ns=(\d+) insns=\S+ result=(0x[0-9a-f]+)/;

interface BootRun {
  readyMs: number;
  loops: Map<string, { ns: number; result: string }>;
}

async function bootRun(args: string[]): Promise<BootRun> {
  const g = new GuestProcess(process.execPath, [DOMUS, 'run', '--no-reboot', ...args]);
  try {
    const ready = await g.waitForLine(/DOMUS-GUEST-READY/, TIMEOUT_MS);
    const exit = await g.wait(TIMEOUT_MS);
    if (exit.code !== 0) throw new Error(`guest exited with ${exit.code}; console tail:\n${g.tail()}`);
    const loops = new Map<string, { ns: number; result: string }>();
    for (const l of g.lines) {
      const m = BENCH_LINE.exec(l.text);
      if (m) loops.set(m[1]!, { ns: Number(m[3]), result: m[4]! });
    }
    return { readyMs: ready.ms, loops };
  } finally {
    g.kill();
  }
}

/** Runs one domain to completion on `host`; returns its console. */
async function runDomain(host: Host, name: string, cmd: string, kernel: Uint8Array, initrd: Uint8Array) {
  const d: DomainHandle = await host.createDomain({
    name,
    memoryBytes: 128 << 20,
    vcpus: 1,
    kernel,
    initrd,
    cmdline: `console=ttyS0 domus.run=${cmd}`,
  });
  const chunks: Buffer[] = [];
  d.onConsole((b) => chunks.push(Buffer.from(b)));
  await d.gone;
  const text = Buffer.concat(chunks).toString('latin1');
  if (!/DOMUS-RUN-EXIT 0/.test(text)) throw new Error(`${name} failed:\n${text.slice(-1500)}`);
  return text;
}

function results(text: string): string[] {
  return text
    .split('\n')
    .map((l) => BENCH_LINE.exec(l.replace(/\r$/, '')))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]}=${m[4]}`);
}

export async function runHostingSuite(o: { runs: number; scale: number; write: boolean }): Promise<number> {
  const failures: string[] = [];
  const append = `domus.run=domus-bench -s ${o.scale}`;

  // ---- overhead: hosted vs bare ----
  const bare: BootRun[] = [];
  const hosted: BootRun[] = [];
  for (let i = 0; i < o.runs; i++) {
    process.stderr.write(`bench hosting: run ${i + 1}/${o.runs}: bare… `);
    bare.push(await bootRun(['--bare', '--append', append]));
    process.stderr.write('hosted… ');
    hosted.push(await bootRun(['--append', append]));
    process.stderr.write('done\n');
  }
  for (const name of ['int', 'fp', 'mem']) {
    const all = [...bare, ...hosted].map((r) => r.loops.get(name)?.result);
    if (all.some((r) => r === undefined) || new Set(all).size !== 1) {
      failures.push(`${name}: results differ or are missing: ${[...new Set(all)].join(' ')}`);
    }
  }
  const b = (f: (r: BootRun) => number) => median(bare.map(f));
  const h = (f: (r: BootRun) => number) => median(hosted.map(f));
  const overheadRows: string[][] = [];
  const ready = (r: BootRun) => r.readyMs / 1000;
  overheadRows.push([
    'launch to DOMUS-GUEST-READY (s)',
    fmt(b(ready)),
    fmt(h(ready)),
    fmt(h(ready) / b(ready)),
  ]);
  for (const name of ['int', 'fp', 'mem']) {
    const sec = (r: BootRun) => (r.loops.get(name)?.ns ?? NaN) / 1e9;
    overheadRows.push([`${name} loop (s)`, fmt(b(sec)), fmt(h(sec)), fmt(h(sec) / b(sec))]);
  }
  const overhead = table(
    [`workload (median of ${o.runs})`, 'bare (board + OpenSBI)', 'hosted (domain)', 'hosted/bare'],
    overheadRows,
  );
  process.stdout.write(overhead + '\n\n');

  // ---- parallelism: 2 domains on 2 pCPUs ----
  const guest = defaultGuest();
  const kernel = readFileSync(guest.kernel);
  const initrd = readFileSync(guest.initrd);
  const cmd = `domus-bench -s ${o.scale} int fp`;
  const serialMs: number[] = [];
  const parallelMs: number[] = [];
  const seen = new Set<string>();
  const host = await Host.start({ memoryBytes: 2 * ((128 << 20) + DOMAIN_OVERHEAD_BYTES), pcpus: 2 });
  try {
    for (let i = 0; i < o.runs; i++) {
      process.stderr.write(`bench hosting: parallel run ${i + 1}/${o.runs}: serial… `);
      let t = performance.now();
      for (const name of ['a', 'b'])
        results(await runDomain(host, name, cmd, kernel, initrd)).forEach((r) => seen.add(r));
      serialMs.push(performance.now() - t);
      process.stderr.write('parallel… ');
      t = performance.now();
      const both = await Promise.all(['a', 'b'].map((name) => runDomain(host, name, cmd, kernel, initrd)));
      parallelMs.push(performance.now() - t);
      both.flatMap(results).forEach((r) => seen.add(r));
      process.stderr.write('done\n');
    }
  } finally {
    await host.close();
  }
  if (seen.size !== 2) failures.push(`parallel runs: results differ or are missing: ${[...seen].join(' ')}`);
  const ser = median(serialMs) / 1000;
  const par = median(parallelMs) / 1000;
  const parallel = table(
    [
      `2 domains × (boot + int + fp), median of ${o.runs}`,
      'one after the other (s)',
      'both at once (s)',
      'parallel/serial',
    ],
    [[`domus-bench -s ${o.scale} on 2 pCPUs`, fmt(ser), fmt(par), fmt(par / ser)]],
  );
  process.stdout.write(parallel + '\n');
  if (failures.length) process.stdout.write('\nMISMATCH:\n' + failures.map((f) => `  ${f}\n`).join(''));

  if (o.write) {
    const command = `npm run bench -- --suite hosting --runs ${o.runs}${o.scale !== 100 ? ` --scale ${o.scale}` : ''} --write`;
    writeSection(
      'hosting',
      `${measuredWith(command)}\n\n${overhead}\n\n${parallel}` +
        (failures.length ? `\n\n**Mismatch:** ${failures.join('; ')}` : ''),
    );
  }
  return failures.length ? 1 : 0;
}
