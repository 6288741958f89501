/**
 * The JIT's native fused multiply-adds (translate_fp.ts, fmaNative) against the interpreter's
 * soft-float on the cases that separate a correct emulation from a naive one: a·b just short of
 * half an ulp of an odd c, where rounding tl + ul to nearest (instead of to odd) lands on a tie
 * and rounds the wrong way; and random operands. All four forms, RNE, with NX already set (the
 * condition for the native path), so the results must agree bit for bit.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Xorshift32 as Rng } from '../../common/rng.ts';
import { fma64 } from '../fpu/f64.ts';
import { Csr } from '../hart/csr_defs.ts';
import { hostCsrWrite } from '../hart/csr.ts';
import type { Hart } from '../hart/hart.ts';
import { run } from '../hart/interp.ts';
import { HS } from '../hart/layout.ts';
import { encode } from '../isa/encode.ts';
import { Op } from '../isa/op.ts';
import { CODE, machine, type Machine } from './diff_gen.ts';

const FORMS = [Op.FMADD_D, Op.FMSUB_D, Op.FNMSUB_D, Op.FNMADD_D] as const;

/** f3..f6 = the four forms of f0·f1 ± f2 (RNE), then a spin. */
function load(m: Machine): void {
  const words = [
    ...FORMS.map((op, i) => encode(op, { rd: 3 + i, rs1: 0, rs2: 1, rs3: 2, imm: 0 })),
    encode(Op.JAL, { rd: 0, imm: 0 }),
  ];
  m.mem.loadBytes(CODE, new Uint8Array(new Int32Array(words).buffer));
  hostCsrWrite(m.h, Csr.pmpaddr0, (1n << 54n) - 1n);
  hostCsrWrite(m.h, Csr.pmpcfg0, 0x1fn);
  hostCsrWrite(m.h, Csr.mstatus, 1n << 13n); // FS = Initial
}

/** Runs the four instructions on `h` from f0, f1, f2; returns f3..f6 and fflags. */
function fmas(h: Hart, a: number, b: number, c: number): { f: number[]; fflags: number } {
  h.F64[0] = a;
  h.F64[1] = b;
  h.F64[2] = c;
  hostCsrWrite(h, Csr.fflags, 1n); // NX
  hostCsrWrite(h, Csr.frm, 0n);
  h.setPcNumber(CODE);
  assert.equal(run(h, FORMS.length), FORMS.length);
  return { f: [3, 4, 5, 6].map((r) => h.F64[r]!), fflags: h.S[HS.FFLAGS]! };
}

test('native fmadd/fmsub/fnmsub/fnmadd.d agree with soft-float, on ties a naive emulation gets wrong and on random operands', () => {
  const interp = machine(null);
  const jit = machine({ mode: 'force' });
  load(interp);
  load(jit);
  const rng = new Rng(0xf3a);
  const unit = (): number => rng.next() / 2 ** 32;
  const cases: [number, number, number][] = [];
  for (let i = 0; i < 400; i++) {
    // c has an odd mantissa; a·b = 2^-53·(1 - 2^-60)·2^s, just below half of c's ulp.
    const s = Math.floor(unit() * 40) - 20;
    const j = 1 + Math.floor(unit() * 2 ** 20);
    const c = (1 + (2 * j + 1) * 2 ** -52) * 2 ** s * (unit() < 0.5 ? 1 : -1);
    const a = (1 + 2 ** -30) * 2 ** s;
    const b = 2 ** -53 * (1 - 2 ** -30) * (unit() < 0.5 ? 1 : -1);
    cases.push([a, b, c]);
  }
  const any = (): number => (1 + unit()) * 2 ** (Math.floor(unit() * 60) - 30) * (unit() < 0.5 ? 1 : -1);
  for (let i = 0; i < 400; i++) {
    const a = any();
    const b = any();
    cases.push([a, b, i % 2 ? any() : -(a * b) * (1 + (unit() - 0.5) * 2 ** -40)]);
  }
  for (const [a, b, c] of cases) {
    const want = [fma64(a, b, c, 0), fma64(a, b, -c, 0), fma64(-a, b, c, 0), fma64(-a, b, -c, 0)];
    const i = fmas(interp.h, a, b, c);
    const j = fmas(jit.h, a, b, c);
    assert.deepEqual(i.f, want, `interpreter on ${a}, ${b}, ${c}`);
    assert.deepEqual(j.f, want, `JIT on ${a}, ${b}, ${c}`);
    assert.equal(j.fflags, i.fflags);
  }
  assert.ok(jit.jit!.stats().translated > 0, 'the JIT translated the instructions');
});
