/**
 * The pCPU thread's warm-up (hart/warmup.ts, jit/warmup.ts) gives V8 the type feedback a real
 * boot needs: booting the default guest under `domus run` must not make V8 throw away the
 * optimized code of the interpreter's hot functions. Each such bailout cost a boot a
 * recompilation of the interpreter (about 0.1 s, run in unoptimized code meanwhile): before
 * the warm-up covered VS-mode, the JIT's countdowns, interrupts, PAUSE and the code cache's
 * map, a boot had four to six of them; until it wrote the hart's yield request, V8 took that field
 * for a constant, and the guest's first trap invalidated the compiled loop; and when V8
 * optimized the loop before takeInterrupt had run past its early return, one boot in five
 * bailed out at the guest's first interrupt.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const DOMUS = fileURLToPath(new URL('../bin/domus.mjs', import.meta.url));

/**
 * The interpreter's loop, its cold half and the MMU's walk: big, and hot for the whole boot.
 * (The hypervisor's own loop, runVcpu, still bails out on its first WFI and timer: it is
 * small, recompiled in about 15 ms, and the warm-up runs no hypervisor.)
 */
const HOT = ['run', 'execCold', 'translate'];

test('a boot of the default guest deoptimizes none of the interpreter hot functions', () => {
  const r = spawnSync(process.execPath, ['--trace-deopt', DOMUS, 'run', '--append', 'domus.run=poweroff'], {
    encoding: 'latin1',
    timeout: 120_000,
  });
  const out = r.stdout + r.stderr;
  assert.equal(r.status, 0, `domus run exited ${r.status}: ${out.slice(-2000)}`);
  assert.match(out, /DOMUS-GUEST-READY/);
  const bailouts = [
    ...out.matchAll(
      /\[bailout \(kind: [^,]+, reason: ([^)]*)\): begin\. deoptimizing \S+ <JSFunction (\w+)/g,
    ),
  ]
    .filter((m) => HOT.includes(m[2]!))
    .map((m) => `${m[2]}: ${m[1]}`);
  // Optimized code is also thrown away when an assumption it was compiled under stops
  // holding (a field V8 saw as constant is written, a field's type widens).
  const invalidated = [
    ...out.matchAll(
      /\[marking dependent code \S+ <Code TURBOFAN> \(\S+ <SharedFunctionInfo (\w+)>\) \(opt id \d+\) for deoptimization, reason: ([^\]]*)\]/g,
    ),
  ]
    .filter((m) => HOT.includes(m[1]!))
    .map((m) => `${m[1]}: ${m[2]}`);
  assert.deepEqual([...bailouts, ...invalidated], []);
});
