/**
 * Turns the runs of the workloads suite into verdicts and a table: medians per emulator,
 * the Domus/QEMU time ratio per workload and their geometric mean, and the failures.
 *
 * A failure is any of: a run that failed; check values that differ between runs or between
 * QEMU and Domus; a check that differs from the catalog's known value. A workload that
 * Domus cannot run yet (no virtio-net) is not a failure, but the table says so in its
 * Domus column and `skippedNotes` lists it, so that it is never silently missing. Nor is a
 * workload whose program was not built for want of Debian's source (stress-ng, iperf3 here):
 * it gets a row that says NOT_BUILT, and a note naming the files the archive lacks.
 */
import { NOT_BUILT, type Workload } from './workloads_catalog.ts';
import type { RunOutcome } from './workloads_run.ts';
import { median } from './report.ts';

export { median };

export interface WorkloadRuns {
  workload: Workload;
  qemu: RunOutcome[];
  domus: RunOutcome[];
  /** Why the image has no program for this workload (its VERSIONS line), when so: not run. */
  notBuilt?: string;
}

export interface WorkloadSummary {
  workload: Workload;
  /** Median seconds of the successful runs, if any. */
  qemu?: number;
  domus?: number;
  /** domus / qemu, when both ran. */
  ratio?: number;
  /** Why Domus did not run it (e.g. no virtio-net), if it did not. */
  domusSkipped?: string;
  /** Why neither ran it: its program was not built (see WorkloadRuns.notBuilt). */
  notBuilt?: string;
  /** Runs that failed, one line each. */
  failedRuns: string[];
  /** Results that differ between runs, emulators, or from the known value. */
  mismatches: string[];
  /** The distinct check values seen. */
  checks: string[];
}

export function geometricMean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  return Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
}

const LABEL = { qemu: 'QEMU', domus: 'Domus' } as const;

export function summarize(runs: WorkloadRuns): WorkloadSummary {
  const { workload } = runs;
  const failedRuns: string[] = [];
  const mismatches: string[] = [];
  const checks = new Set<string>();
  const times = { qemu: [] as number[], domus: [] as number[] };
  let domusSkipped: string | undefined;
  for (const emu of ['qemu', 'domus'] as const) {
    runs[emu].forEach((o, i) => {
      if (o.kind === 'ok') {
        times[emu].push(o.result.seconds);
        checks.add(o.result.check);
      } else if (o.kind === 'failed') {
        failedRuns.push(`${workload.name}: ${LABEL[emu]} run ${i + 1} failed: ${o.reason}`);
      } else if (emu === 'domus') {
        domusSkipped = o.reason;
      } else {
        failedRuns.push(`${workload.name}: QEMU run ${i + 1} was skipped: ${o.reason}`);
      }
    });
  }
  if (checks.size > 1) {
    const per = (emu: 'qemu' | 'domus') =>
      [...new Set(runs[emu].flatMap((o) => (o.kind === 'ok' ? [o.result.check] : [])))].join(' / ') || '-';
    mismatches.push(`${workload.name}: results differ: QEMU ${per('qemu')}; Domus ${per('domus')}`);
  } else if (checks.size === 1 && !checks.has(workload.expect)) {
    mismatches.push(
      `${workload.name}: result ${[...checks][0]} differs from the known value ${workload.expect} ` +
        `(bench/workloads_catalog.ts; update it only if the image changed on purpose)`,
    );
  }
  const s: WorkloadSummary = { workload, failedRuns, mismatches, checks: [...checks] };
  if (times.qemu.length) s.qemu = median(times.qemu);
  if (times.domus.length) s.domus = median(times.domus);
  if (s.qemu !== undefined && s.domus !== undefined) s.ratio = s.domus / s.qemu;
  if (domusSkipped !== undefined) s.domusSkipped = domusSkipped;
  if (runs.notBuilt !== undefined) s.notBuilt = runs.notBuilt;
  return s;
}

export function fmt(n: number | undefined, digits = 3): string {
  if (n === undefined || Number.isNaN(n)) return '-';
  return n >= 100 ? n.toFixed(0) : n.toPrecision(digits);
}

/** The Markdown table of the suite, medians of `runs` runs. */
export function renderTable(summaries: readonly WorkloadSummary[], runs: number): string {
  const header = [`workload (median of ${runs})`, 'QEMU 7.2 TCG (s)', 'Domus (s)', 'Domus/QEMU', 'results'];
  const rows = summaries.map((s) => {
    if (s.notBuilt !== undefined) return [s.workload.name, '-', '-', '-', `**${NOT_BUILT}**`];
    const domus = s.domusSkipped ? `**${s.domusSkipped}**` : fmt(s.domus);
    let verdict = 'identical';
    if (s.mismatches.length) verdict = '**MISMATCH**';
    else if (s.failedRuns.length) verdict = '**FAILED**';
    else if (s.domusSkipped) verdict = 'QEMU only';
    return [s.workload.name, fmt(s.qemu), domus, fmt(s.ratio), verdict];
  });
  const ratios = summaries.flatMap((s) => (s.ratio !== undefined ? [s.ratio] : []));
  rows.push([`geometric mean (${ratios.length} workloads)`, '', '', fmt(geometricMean(ratios)), '']);
  return [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** Every failure and mismatch of the suite, one line each. */
export function failures(summaries: readonly WorkloadSummary[]): string[] {
  return summaries.flatMap((s) => [...s.failedRuns, ...s.mismatches]);
}

/** Lines naming the workloads that were not built, and those Domus did not run, and why. */
export function skippedNotes(summaries: readonly WorkloadSummary[]): string[] {
  const group = (why: (s: WorkloadSummary) => string | undefined): Map<string, string[]> => {
    const by = new Map<string, string[]>();
    for (const s of summaries) {
      const w = why(s);
      if (w !== undefined) by.set(w, [...(by.get(w) ?? []), s.workload.name]);
    }
    return by;
  };
  return [
    ...[...group((s) => s.notBuilt)].map(([why, names]) => `not built: ${names.join(', ')}: ${why}`),
    ...[...group((s) => s.domusSkipped)].map(
      ([why, names]) => `not run on Domus: ${names.join(', ')}: ${why}`,
    ),
  ];
}

export const SECTION_START = '<!-- bench:workloads:start -->';
export const SECTION_END = '<!-- bench:workloads:end -->';

/**
 * Replaces the marked section of `doc` with `body` (markers included); appends a heading
 * and the section when the markers are not there yet.
 */
export function replaceSection(doc: string, body: string, heading: string): string {
  const section = `${SECTION_START}\n${body}\n${SECTION_END}`;
  const start = doc.indexOf(SECTION_START);
  const end = doc.indexOf(SECTION_END);
  if (start >= 0 && end > start) return doc.slice(0, start) + section + doc.slice(end + SECTION_END.length);
  return `${doc.replace(/\n*$/, '\n')}\n${heading}\n\n${section}\n`;
}
