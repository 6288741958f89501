/**
 * JIT warm-up: the interpreter's warm-up program (hart/warmup.ts) once more with a Jit
 * attached, first translating every entry at once ('force': the emitter meets every kind of
 * instruction, V8 compiles and runs wasm for the first time), then counting as a guest does
 * ('on' with a low threshold: the interpreter's countdown, a loop translated mid-way).
 *
 * Why: like the interpreter, the JIT's own JavaScript (region discovery, the emitter, `enter`)
 * is compiled by V8 from the feedback it has seen, and bails out on paths it has not. Without
 * this, a boot's first translations ran through unoptimized code and each new path cost a
 * recompilation.
 */
import { runWarmUp } from '../hart/warmup.ts';
import { attachJitToHart } from './jit.ts';

let done = false;

/** Runs the JIT warm-up once per process (later calls return at once). */
export function warmUpJit(): void {
  if (done) return;
  done = true;
  // In VS- and VU-mode only, where hosted guests run (about 20 ms instead of 75 on a cold
  // start; the interpreter's own warm-up covers the other modes).
  runWarmUp(1, (h) => attachJitToHart(h, 'force'), true);
  runWarmUp(1, (h) => attachJitToHart(h, 'on', { threshold: 4 }), true);
}
