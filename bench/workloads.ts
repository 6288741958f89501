/**
 * `npm run bench -- --suite workloads [--runs N] [--only name,group,…] [--bare] [--write]`:
 * the workloads image's programs under QEMU and under Domus, alternately, N runs each.
 * Domus runs as `domus run` does by default (the hypervisor), or as the bare board (--bare).
 *
 * Every run of every workload boots a fresh guest (see workloads_run.ts), one workload per
 * boot, in the order run 1 of all workloads (QEMU then Domus for each), run 2, … so that a
 * drift of the host's speed spreads over all of them. The table shows the median seconds
 * per emulator, the Domus/QEMU ratio (below 1 means Domus is faster) and the geometric mean
 * of the ratios; results that must be deterministic are compared (workloads_report.ts) and
 * a difference fails the suite. With --write the table and the command replace the marked
 * section of docs/benchmarks.md.
 *
 * Progress goes to stderr, the table to stdout; the exit status is 1 on any failure.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { UserError } from '../src/common/errors.ts';
import { aptInstall, canInstallPackages, hasCommand } from '../src/platform/node/apt.ts';
import { ensureQemu } from './qemu.ts';
import { PROGRAM_SOURCE, selectWorkloads, type Workload } from './workloads_catalog.ts';
import { ensureWorkloadsImage, imageHasProgram, imageNotBuilt } from './workloads_image.ts';
import {
  failures,
  fmt,
  renderTable,
  replaceSection,
  skippedNotes,
  summarize,
  type WorkloadRuns,
} from './workloads_report.ts';
import { GUEST_MEMORY_MIB, runWorkload, type Emulator, type RunOutcome } from './workloads_run.ts';

const DOCS = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));
const TIMEOUT_MS: Record<Emulator, number> = { qemu: 300_000, domus: 1_800_000 };

export interface WorkloadsSuiteOptions {
  runs: number;
  only?: string | undefined;
  /** Domus as the bare board (`domus run --bare`) instead of under its hypervisor. */
  bare: boolean;
  write: boolean;
}

function log(msg: string): void {
  process.stderr.write(msg + '\n');
}

/**
 * The host's side of the network workloads that will run, from Debian: iperf3 for an
 * iperf3 server, OpenSSH's client for ssh logins.
 */
export function ensureHostNetworkTools(workloads: readonly Workload[]): void {
  const need: Record<string, string> = {};
  for (const w of workloads) {
    if (w.host === 'iperf3-server') need['iperf3'] = 'iperf3';
    if (w.host === 'ssh-client') {
      need['ssh'] = 'openssh-client';
      need['ssh-keygen'] = 'openssh-client';
    }
  }
  const pkgs = [
    ...new Set(
      Object.keys(need)
        .filter((c) => !hasCommand(c))
        .map((c) => need[c]!),
    ),
  ];
  if (pkgs.length === 0) return;
  if (!canInstallPackages()) {
    throw new UserError(
      `the network workloads need ${pkgs.join(' and ')} on the host; install with: sudo apt-get install ${pkgs.join(' ')}`,
    );
  }
  log(`workloads: installing ${pkgs.join(' ')} from Debian (once)…`);
  if (!aptInstall(pkgs))
    throw new UserError(`installing ${pkgs.join(' ')} failed; run apt-get install ${pkgs.join(' ')}`);
}

function describe(o: RunOutcome): string {
  if (o.kind === 'ok') return `${fmt(o.result.seconds)} s`;
  if (o.kind === 'skipped') return `skipped: ${o.reason}`;
  return `FAILED (${o.reason})`;
}

export async function runWorkloadsSuite(opts: WorkloadsSuiteOptions): Promise<number> {
  const selected = selectWorkloads(opts.only);
  ensureQemu();
  const image = ensureWorkloadsImage(log);
  // A program the build left out for want of Debian's source is a row that says so; one
  // that is absent for no stated reason means a broken image, and fails the suite.
  const notBuilt = imageNotBuilt();
  const all: WorkloadRuns[] = [];
  const missing: string[] = [];
  for (const workload of selected) {
    const why = notBuilt.get(PROGRAM_SOURCE[workload.program] ?? '');
    if (imageHasProgram(workload.program)) all.push({ workload, qemu: [], domus: [] });
    else if (why !== undefined) all.push({ workload, qemu: [], domus: [], notBuilt: why });
    else
      missing.push(
        `${workload.name}: the image has no ${workload.program}, and its VERSIONS does not say why ` +
          `(rebuild it with guests/workloads/build.sh)`,
      );
  }
  const runnable = all.filter((r) => r.notBuilt === undefined);
  ensureHostNetworkTools(runnable.map((r) => r.workload));

  const started = performance.now();
  for (let i = 0; i < opts.runs; i++) {
    for (const r of runnable) {
      process.stderr.write(`workloads: run ${i + 1}/${opts.runs} ${r.workload.name}: QEMU… `);
      const q = await runWorkload({
        workload: r.workload,
        emulator: 'qemu',
        image,
        timeoutMs: TIMEOUT_MS.qemu,
      });
      r.qemu.push(q);
      process.stderr.write(`${describe(q)}; Domus… `);
      const d = await runWorkload({
        workload: r.workload,
        emulator: 'domus',
        image,
        timeoutMs: TIMEOUT_MS.domus,
        domusArgs: opts.bare ? ['--bare'] : [],
      });
      r.domus.push(d);
      process.stderr.write(`${describe(d)}\n`);
      for (const o of [q, d]) if (o.kind === 'failed' && o.tail) log(`  console tail:\n${indent(o.tail)}`);
    }
  }
  const minutes = (performance.now() - started) / 60_000;

  const summaries = all.map(summarize);
  const table = renderTable(summaries, opts.runs);
  const problems = [...missing, ...failures(summaries)];
  const notes = skippedNotes(summaries);
  process.stdout.write(table + '\n');
  for (const n of notes) process.stdout.write(`\nNOTE: ${n}\n`);
  if (problems.length) process.stdout.write('\nFAILURES:\n' + problems.map((f) => `  ${f}\n`).join(''));
  log(`workloads: ${opts.runs} run(s) of ${runnable.length} workload(s) took ${minutes.toFixed(1)} min`);

  if (opts.write) {
    const cmd =
      `npm run bench -- --suite workloads --runs ${opts.runs}` +
      (opts.only ? ` --only ${opts.only}` : '') +
      (opts.bare ? ' --bare' : '') +
      ' --write';
    const domusMode = opts.bare
      ? "Domus as the bare board with Debian's OpenSBI fw_jump.bin, like QEMU"
      : "Domus as a domain of its hypervisor, QEMU with Debian's OpenSBI fw_jump.bin";
    const body =
      `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ` +
      `Node ${process.versions.node}, with \`${cmd}\` (${minutes.toFixed(0)} min). Both run the prebuilt default ` +
      `guest (${GUEST_MEMORY_MIB} MiB, 1 hart) with the workloads image read-only on virtio-blk; ${domusMode}. ` +
      `Times are the guest's own clock around the measured part (ssh-login: the host's clock around the ` +
      `logins); parameters in [workloads.md](workloads.md).\n\n` +
      table +
      notes.map((n) => `\n\n**Note:** ${n}.`).join('') +
      (problems.length ? `\n\n**Failures:** ${problems.join('; ')}` : '');
    const heading =
      '## Real workloads (`npm run bench -- --suite workloads`)\n\n' +
      'Programs built from Debian sources (SQLite, Lua, fio, dropbear) and busybox, each run in a fresh ' +
      'guest under both emulators. Results that must be deterministic (checksums, integrity checks) must ' +
      'be identical under both, and equal to the known values; a difference fails the suite. stress-ng ' +
      "and iperf3 are not built: Debian's archive here does not serve their source " +
      '(see [workloads.md](workloads.md#stress-ng-and-iperf3-are-not-built)).';
    writeFileSync(DOCS, replaceSection(readFileSync(DOCS, 'utf8'), body, heading));
    log(`workloads: wrote ${DOCS}`);
  }
  return problems.length ? 1 : 0;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
