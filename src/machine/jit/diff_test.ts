/**
 * The JIT differential tester (see diff_gen.ts): random programs run interpreted and with the
 * JIT from identical states must agree after every slice, on one hart or on two harts taking
 * turns on the thread. CI runs a fixed seed; set
 * JIT_DIFF_RUNS=N for a longer run and JIT_DIFF_SEED=S for another seed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generate, listing, Rng, runDiff, type Regime } from './diff_gen.ts';
import type { JitOptions } from './jit.ts';

const RUNS = Number(process.env['JIT_DIFF_RUNS'] ?? 150);
const SEED = Number(process.env['JIT_DIFF_SEED'] ?? 0x5eed);

for (const fp of [false, true]) {
  test(`interpreter and JIT agree on ${RUNS} random ${fp ? 'F/D' : 'integer'} programs (seed ${SEED})`, () => {
    let translated = 0;
    let instructions = 0;
    for (let i = 0; i < RUNS; i++) {
      const seed = (SEED + Math.imul(i, 0x9e3779b9)) >>> 0;
      const rng = new Rng(seed);
      const prog = generate(rng, 20 + rng.int(120), fp);
      const regime: Regime = rng.pick(['M', 'S', 'VS'] as const);
      const jit: JitOptions = rng.chance(0.7) ? { mode: 'force' } : { mode: 'on', threshold: 1 + rng.int(3) };
      // Accesses through the memory helpers or inline (every program ends in a loop).
      jit.inlineAccess = rng.pick(['loops', 'none'] as const);
      // Half the programs also run on a second hart, interleaved with the first (diff_gen.ts).
      const second: Regime | undefined = rng.chance(0.5) ? rng.pick(['M', 'S', 'VS'] as const) : undefined;
      const r = runDiff(rng, prog, regime, jit, second);
      translated += r.translated;
      instructions += r.instructions;
      if (r.mismatch !== undefined) {
        assert.fail(
          `program ${i} (seed ${seed}, ${regime}-mode${second ? `, second hart ${second}-mode` : ''}, JIT ${JSON.stringify(jit)}): ${r.mismatch}\n${listing(prog)}`,
        );
      }
    }
    // The tester is only worth something if the JIT actually ran code.
    assert.ok(translated > RUNS, `only ${translated} regions were translated in ${RUNS} programs`);
    assert.ok(instructions > 0);
  });
}
