/**
 * What every bench suite reports with: medians, number formatting, Markdown tables, and the
 * section of docs/benchmarks.md a suite owns (between `<!-- bench:NAME:start -->` and
 * `<!-- bench:NAME:end -->`, replaced on `--write`, appended when missing).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

export const DOCS = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Three significant digits, or a whole number from 100 up. */
export function fmt(n: number, digits = 3): string {
  return n >= 100 ? n.toFixed(0) : n.toPrecision(digits);
}

export function table(header: string[], rows: string[][]): string {
  return [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** "Measured DATE on N × CPU, Node V, with `command`." */
export function measuredWith(command: string): string {
  return (
    `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ` +
    `Node ${process.versions.node}, with \`${command}\`.`
  );
}

/**
 * Prints suite `name`'s tables and, with `write`, records them in docs/benchmarks.md under the
 * command that reproduces them (`npm run bench -- --suite NAME --runs N --write`).
 */
export function publishSuite(name: string, runs: number, report: string, write: boolean): void {
  process.stdout.write(`${report}\n`);
  if (write) {
    writeSection(
      name,
      `${measuredWith(`npm run bench -- --suite ${name} --runs ${runs} --write`)}\n\n${report}`,
    );
  }
}

/** Puts `body` into docs/benchmarks.md as the section of suite `name`. */
export function writeSection(name: string, body: string): void {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const section = `${start}\n${body}\n${end}`;
  const doc = readFileSync(DOCS, 'utf8');
  const re = new RegExp(`${start}[\\s\\S]*${end}`);
  writeFileSync(DOCS, re.test(doc) ? doc.replace(re, () => section) : `${doc.trimEnd()}\n\n${section}\n`);
  process.stderr.write(`bench: wrote ${DOCS}\n`);
}
