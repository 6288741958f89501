// Micro-benchmark of the soft FPU's hot operations (a measurement, not a test):
//   npx tsx src/machine/fpu/oracle/bench.ts
// Reports ns/op on random normal operands in RNE (the guest's usual mode), plus RDN for fma64
// and the bare host operation for scale. Best of several runs after warm-up.
import { Rm, add64, div64, fexc, fma64, mul64 } from '../fpu.ts';

const N = 4096;
const ROUNDS = 2000; // N × ROUNDS = 8.2 M operations per run
const a = new Float64Array(N);
const b = new Float64Array(N);
const c = new Float64Array(N);
let seed = 12345;
function rand(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) | 0;
  return (seed >>> 8) / 16777216;
}
for (let i = 0; i < N; i++) {
  a[i] = (rand() + 0.5) * (rand() < 0.5 ? -1 : 1) * 2 ** Math.floor(rand() * 40 - 20);
  b[i] = (rand() + 0.5) * 2 ** Math.floor(rand() * 40 - 20);
  c[i] = a[i]! * b[i]! * (rand() * 4 - 2); // comparable to the product, sometimes cancelling
}

function measure(name: string, run: () => number): void {
  let best = Infinity;
  let sink = 0;
  for (let k = 0; k < 7; k++) {
    const t0 = performance.now();
    sink += run();
    const dt = performance.now() - t0;
    if (k >= 2) best = Math.min(best, dt);
  }
  const ns = (best * 1e6) / (N * ROUNDS);
  console.log(`${name.padEnd(16)} ${ns.toFixed(2).padStart(6)} ns/op${sink === 0.5 ? ' ' : ''}`);
}

measure('host a*b+c', () => {
  let s = 0;
  for (let r = 0; r < ROUNDS; r++) for (let i = 0; i < N; i++) s += a[i]! * b[i]! + c[i]!;
  return s;
});
measure('add64 RNE', () => {
  let s = 0;
  for (let r = 0; r < ROUNDS; r++) for (let i = 0; i < N; i++) s += add64(a[i]!, c[i]!, Rm.RNE);
  return s;
});
measure('mul64 RNE', () => {
  let s = 0;
  for (let r = 0; r < ROUNDS; r++) for (let i = 0; i < N; i++) s += mul64(a[i]!, b[i]!, Rm.RNE);
  return s;
});
measure('fma64 RNE', () => {
  let s = 0;
  for (let r = 0; r < ROUNDS; r++) for (let i = 0; i < N; i++) s += fma64(a[i]!, b[i]!, c[i]!, Rm.RNE);
  return s;
});
measure('div64 RNE', () => {
  let s = 0;
  for (let r = 0; r < ROUNDS; r++) for (let i = 0; i < N; i++) s += div64(a[i]!, b[i]!, Rm.RNE);
  return s;
});
measure('fma64 RDN', () => {
  let s = 0;
  for (let r = 0; r < ROUNDS; r++) for (let i = 0; i < N; i++) s += fma64(a[i]!, b[i]!, c[i]!, Rm.RDN);
  return s;
});
console.log(`(accrued flags ${fexc.flags.toString(16)})`);
