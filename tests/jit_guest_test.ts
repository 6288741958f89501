/**
 * The default guest under `domus run` with the JIT (the default) and with `--no-jit`: it boots
 * both ways and domus-bench's integer, floating-point and memory loops compute the same results
 * (issue 7: "identical results under both"). The loops run long enough to be translated.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const DOMUS = fileURLToPath(new URL('../bin/domus.mjs', import.meta.url));

function bench(extra: string[]): Map<string, string> {
  const r = spawnSync(
    process.execPath,
    [DOMUS, 'run', ...extra, '--no-reboot', '--append', 'domus.run=domus-bench -s 5'],
    { encoding: 'latin1', timeout: 120_000 },
  );
  assert.equal(r.status, 0, `domus run ${extra.join(' ')} exited ${r.status}: ${r.stderr}\n${r.stdout}`);
  const results = new Map<string, string>();
  for (const m of r.stdout.matchAll(/DOMUS-BENCH name=(\w+) .*result=(0x[0-9a-f]+)/g))
    results.set(m[1]!, m[2]!);
  return results;
}

test('domus-bench gives the same results with the JIT and with --no-jit', () => {
  const jit = bench([]);
  const interp = bench(['--no-jit']);
  assert.deepEqual([...jit.keys()].sort(), ['fp', 'int', 'mem']);
  assert.deepEqual(jit, interp);
});
