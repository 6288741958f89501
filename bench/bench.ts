/**
 * `npm run bench`: the default guest under Domus and under the QEMU reference runner,
 * alternately, N runs each (default 3), in one process so that both see the same machine.
 *
 * Measured per run: time from launch to DOMUS-GUEST-READY, and the guest's own benchmark
 * lines (domus-bench: int, fp, mem — loop time in ns as the guest's clock measures it).
 * Guest instructions per second come from the known loop sizes (int: 10 instructions per
 * iteration, fp: 14, mem: 10; see guests/bench/domus-bench.c), the same for both emulators.
 * The table shows medians and the Domus/QEMU ratio (below 1 means Domus is faster).
 * Results must be identical between the two (the loops' `result=` values); a mismatch is a
 * failure, not a slow run. With --write, the table and the command go to docs/benchmarks.md.
 *
 *   npm run bench [-- --runs 5] [--write] [--scale 100]
 *   npm run bench -- --suite workloads [--runs N] [--only name,group,…] [--bare] [--write]
 *
 * `--suite workloads` runs the real programs of the workloads image instead (workloads.ts);
 * `--suite hosting` measures hosted against bare (hosting.ts); `--suite ha` live migration and
 * Remus between two hosts (ha.ts); `--suite io` virtio-blk and guest-to-guest TCP throughput
 * against QEMU (io.ts).
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GuestProcess } from './guest_process.ts';
import { runHaSuite } from './ha.ts';
import { fmt, measuredWith, median, writeSection } from './report.ts';
import { runHostingSuite } from './hosting.ts';
import { runIoSuite } from './io.ts';
import { ensureQemu, QEMU_BINARY, qemuArgs } from './qemu.ts';
import { runWorkloadsSuite } from './workloads.ts';

const DOMUS = fileURLToPath(new URL('../bin/domus.mjs', import.meta.url));
const TIMEOUT_MS = 600_000;
/** Instructions per loop iteration of domus-bench's loops (guests/bench/domus-bench.c). */
const INSNS_PER_ITER: Record<string, number> = { int: 10, fp: 14, mem: 10 };

interface RunResult {
  readyMs: number;
  bench: Map<string, { iters: number; ns: number; result: string }>;
}

async function measure(g: GuestProcess): Promise<RunResult> {
  try {
    const ready = await g.waitForLine(/DOMUS-GUEST-READY/, TIMEOUT_MS);
    const exit = await g.wait(TIMEOUT_MS);
    if (exit.code !== 0) throw new Error(`guest exited with ${exit.code}; console tail:\n${g.tail()}`);
    const bench = new Map<string, { iters: number; ns: number; result: string }>();
    for (const l of g.lines) {
      const m = /^DOMUS-BENCH name=(\w+) iters=(\d+) ns=(\d+) insns=\S+ result=(0x[0-9a-f]+)/.exec(l.text);
      if (m) bench.set(m[1]!, { iters: Number(m[2]), ns: Number(m[3]), result: m[4]! });
    }
    return { readyMs: ready.ms, bench };
  } finally {
    g.kill();
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      runs: { type: 'string', default: '3' },
      scale: { type: 'string', default: '100' },
      write: { type: 'boolean', default: false },
      suite: { type: 'string', default: 'default' },
      only: { type: 'string' },
      bare: { type: 'boolean', default: false },
    },
  });
  const runs = Number(values.runs);
  const scale = Number(values.scale);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`--runs ${values.runs} is not a positive whole number`);
  if (values.suite === 'workloads') {
    return runWorkloadsSuite({ runs, only: values.only, bare: values.bare, write: values.write });
  }
  if (values.suite === 'hosting') {
    if (values.only !== undefined || values.bare)
      throw new Error('--only and --bare apply to --suite workloads');
    return runHostingSuite({ runs, scale, write: values.write });
  }
  if (values.suite === 'io') {
    if (values.only !== undefined || values.bare)
      throw new Error('--only and --bare apply to --suite workloads');
    return runIoSuite({ runs, write: values.write });
  }
  if (values.suite === 'ha') {
    if (values.only !== undefined || values.bare)
      throw new Error('--only and --bare apply to --suite workloads');
    return runHaSuite({ runs, scale, write: values.write });
  }
  if (values.suite !== 'default')
    throw new Error(`--suite ${values.suite} is not a suite (default, workloads, hosting, ha, io)`);
  if (values.only !== undefined || values.bare)
    throw new Error('--only and --bare apply to --suite workloads');
  ensureQemu();
  const append = `domus.run=domus-bench -s ${scale}`;
  const results: { domus: RunResult[]; qemu: RunResult[] } = { domus: [], qemu: [] };
  for (let i = 0; i < runs; i++) {
    process.stderr.write(`bench: run ${i + 1}/${runs}: QEMU… `);
    results.qemu.push(await measure(new GuestProcess(QEMU_BINARY, qemuArgs({ append }))));
    process.stderr.write('Domus… ');
    results.domus.push(
      await measure(new GuestProcess(process.execPath, [DOMUS, 'run', '--no-reboot', '--append', append])),
    );
    process.stderr.write('done\n');
  }

  // Outputs that must agree.
  const failures: string[] = [];
  for (const name of ['int', 'fp', 'mem']) {
    const all = [...results.qemu, ...results.domus].map((r) => r.bench.get(name)?.result);
    if (all.some((r) => r === undefined)) failures.push(`${name}: a run printed no result line`);
    else if (new Set(all).size !== 1)
      failures.push(`${name}: results differ between runs or emulators: ${[...new Set(all)].join(' ')}`);
  }

  const rows: string[][] = [];
  const q = (f: (r: RunResult) => number) => median(results.qemu.map(f));
  const d = (f: (r: RunResult) => number) => median(results.domus.map(f));
  const readyQ = q((r) => r.readyMs / 1000);
  const readyD = d((r) => r.readyMs / 1000);
  rows.push(['launch to DOMUS-GUEST-READY (s)', fmt(readyQ), fmt(readyD), fmt(readyD / readyQ)]);
  for (const name of ['int', 'fp', 'mem']) {
    const sec = (r: RunResult) => (r.bench.get(name)?.ns ?? NaN) / 1e9;
    rows.push([`${name} loop (s)`, fmt(q(sec)), fmt(d(sec)), fmt(d(sec) / q(sec))]);
  }
  for (const name of ['int', 'fp', 'mem']) {
    const mips = (r: RunResult) => {
      const b = r.bench.get(name);
      return b ? ((b.iters * (INSNS_PER_ITER[name] ?? 0)) / b.ns) * 1000 : NaN;
    };
    rows.push([`${name} guest MIPS`, fmt(q(mips)), fmt(d(mips)), fmt(q(mips) / d(mips))]);
  }
  const header = ['workload (median of ' + runs + ')', 'QEMU 7.2 TCG', 'Domus', 'Domus/QEMU (time)'];
  const table = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
  process.stdout.write(table + '\n');
  if (failures.length) process.stdout.write('\nMISMATCH:\n' + failures.map((f) => `  ${f}\n`).join(''));

  if (values.write) {
    const cmd = `npm run bench -- --runs ${runs}${scale !== 100 ? ` --scale ${scale}` : ''} --write`;
    writeSection(
      'default',
      `${measuredWith(cmd).slice(0, -1)}. Both run the prebuilt default guest (256 MiB, 1 hart): ` +
        `QEMU with Debian's OpenSBI fw_jump.bin, Domus as a domain of its hypervisor (\`domus run\`); ` +
        `MIPS rows compare instruction rates, so their ratio is QEMU/Domus.\n\n` +
        table +
        (failures.length ? `\n\n**Mismatch:** ${failures.join('; ')}` : ''),
    );
  }
  return failures.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
