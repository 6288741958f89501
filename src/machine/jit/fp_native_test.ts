/**
 * The JIT's native double add, subtract, multiply, divide and square root (translate_fp.ts,
 * fpNative) once fflags.NX is set: a normal result is then taken as is, and anything near a
 * boundary must go to the soft-float helper so that the other flags come out as the
 * interpreter's. Results and fflags must agree bit for bit on operands whose results fall on
 * every side of those boundaries: subnormal, the smallest normal, zero, the top binade,
 * overflow, NaN and division by zero.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Csr } from '../hart/csr_defs.ts';
import { hostCsrWrite } from '../hart/csr.ts';
import type { Hart } from '../hart/hart.ts';
import { run } from '../hart/interp.ts';
import { HS } from '../hart/layout.ts';
import { encode } from '../isa/encode.ts';
import { Op } from '../isa/op.ts';
import { CODE, machine, type Machine } from './diff_gen.ts';

const OPS = [Op.FADD_D, Op.FSUB_D, Op.FMUL_D, Op.FDIV_D, Op.FSQRT_D] as const;

/** f3..f7 = f0 op f1 for each op (RNE; sqrt of f0), then a spin. */
function load(m: Machine): void {
  const words = [
    ...OPS.map((op, i) => encode(op, { rd: 3 + i, rs1: 0, rs2: op === Op.FSQRT_D ? 0 : 1, imm: 0 })),
    encode(Op.JAL, { rd: 0, imm: 0 }),
  ];
  m.mem.loadBytes(CODE, new Uint8Array(new Int32Array(words).buffer));
  hostCsrWrite(m.h, Csr.pmpaddr0, (1n << 54n) - 1n);
  hostCsrWrite(m.h, Csr.pmpcfg0, 0x1fn);
  hostCsrWrite(m.h, Csr.mstatus, 1n << 13n); // FS = Initial
}

function ops(h: Hart, a: number, b: number): { bits: bigint[]; fflags: number } {
  h.F64[0] = a;
  h.F64[1] = b;
  hostCsrWrite(h, Csr.fflags, 1n); // NX already set
  hostCsrWrite(h, Csr.frm, 0n);
  h.setPcNumber(CODE);
  // The ops and the JAL after them: one block, run by the JIT only when it fits the budget.
  assert.equal(run(h, OPS.length + 1), OPS.length + 1);
  const view = new BigUint64Array(h.F64.buffer, h.F64.byteOffset, 32);
  return { bits: [3, 4, 5, 6, 7].map((r) => view[r]!), fflags: h.S[HS.FFLAGS]! };
}

test('native double arithmetic with NX set matches soft-float at the edges of the normal range', () => {
  const interp = machine(null);
  const jit = machine({ mode: 'force' });
  load(interp);
  load(jit);
  const MIN = 2 ** -1022;
  const MAX = Number.MAX_VALUE;
  const values = [
    // MIN · (1 - 2^-53) is tiny and rounds up to MIN: underflow with a normal result.
    1,
    -1,
    3,
    0.1,
    1 / 3,
    1 - 2 ** -53,
    MIN,
    2 * MIN,
    MIN * (1 + 2 ** -52),
    1.5 * MIN,
    MIN / 2,
    5e-324,
    0,
    -0,
    MAX,
    MAX / 2,
    2 ** 1023,
    2 ** 1022,
    1e300,
    1e-300,
    2 ** -511,
    2 ** 512,
    Infinity,
    -Infinity,
    NaN,
  ];
  const scaled = values.flatMap((v) => [v, v * (1 + 2 ** -40), -v / 3]);
  let compared = 0;
  for (const a of scaled) {
    for (const b of scaled) {
      const i = ops(interp.h, a, b);
      const j = ops(jit.h, a, b);
      assert.deepEqual(j.bits, i.bits, `results on ${a}, ${b}`);
      assert.equal(j.fflags, i.fflags, `fflags on ${a}, ${b}`);
      compared++;
    }
  }
  assert.ok(compared > 5000);
  assert.ok(jit.jit!.stats().translated > 0, 'the JIT translated the instructions');
});
