/**
 * JIT warm-up: the interpreter's warm-up program (hart/warmup.ts) once more with a Jit
 * attached, counting as a guest's does ('on' with a low threshold), in VS- and VU-mode where
 * hosted guests run: the interpreter's countdowns at taken backward branches, `enter`, a few
 * loops translated mid-way and run through the dispatcher.
 *
 * Why: the interpreter's JIT paths are part of `run()`, which V8 compiles from the feedback it
 * has seen; without them, a boot's first translated loop made the optimized interpreter bail
 * out (and recompile, about 0.1 s). Translating the whole program at once ('force') warmed the
 * emitter too, but cost about 50 ms on the way to the guest's first instruction and measured
 * slower to DOMUS-GUEST-READY (medians of 10 alternating boots, 1.49 s against 1.41 s): the
 * emitter's own bail-outs are small functions, recompiled in a few milliseconds.
 */
import { runWarmUp } from '../hart/warmup.ts';
import { attachJitToHart } from './jit.ts';

let done = false;

/** Runs the JIT warm-up once per process (later calls return at once). */
export function warmUpJit(): void {
  if (done) return;
  done = true;
  runWarmUp(1, (h) => attachJitToHart(h, 'on', { threshold: 4 }), true);
}
