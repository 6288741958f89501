// Runs every test file (`*_test.ts` under src/, tests/ and bench/) with Node's test runner
// through tsx. Node 20's runner does not glob, so the files are found here.
//   node scripts/test.mjs                 all tests
//   node scripts/test.mjs machine qemu    only files whose path contains one of the words
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { availableParallelism } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

function find(dir) {
  let out = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(find(p));
    else if (name.endsWith('_test.ts')) out.push(relative(root, p));
  }
  return out;
}

const files = ['src', 'tests', 'bench']
  .flatMap((d) => find(join(root, d)))
  .filter((f) => filters.length === 0 || filters.some((w) => f.includes(w)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(2);
}
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${Math.max(1, availableParallelism())}`, ...files],
  { cwd: root, stdio: 'inherit' },
);
process.exit(r.status ?? 1);
