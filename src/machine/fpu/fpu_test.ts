// Checks the soft FPU bit for bit, flag for flag, against vectors recorded from real RISC-V
// instructions (QEMU's riscv64 softfloat; see oracle/gen.sh). Every line of the vector file is one
// operand tuple with the result and fflags for each of the five rounding modes.
// FPU_VECTORS=<file> checks another vector file (plain or gzipped), e.g. a large soak run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import * as fpu from './fpu.ts';

const f64 = new Float64Array(1);
const u64 = new Uint32Array(f64.buffer);
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function hex(v: number, digits: number): string {
  return (v >>> 0).toString(16).padStart(digits, '0');
}
function d(h: string): number {
  u64[1] = parseInt(h.slice(0, 8), 16);
  u64[0] = parseInt(h.slice(8, 16), 16);
  return f64[0]!;
}
function s(h: string): number {
  u32[0] = parseInt(h, 16);
  return f32[0]!;
}
function dBits(v: number): string {
  f64[0] = v;
  return hex(u64[1]!, 8) + hex(u64[0]!, 8);
}
function sBits(v: number): string {
  f32[0] = v;
  return hex(u32[0]!, 8);
}
/** [lo, hi] int32 halves of a 64-bit hex pattern */
function halves(h: string): [number, number] {
  return [parseInt(h.slice(8, 16), 16) | 0, parseInt(h.slice(0, 8), 16) | 0];
}

/** Runs one instruction on the operands in hex; returns the result in the vector's hex form. */
type Runner = (ops: string[], rm: number) => string;

/** A binary64 result; NaN prints as the canonical NaN, as the caller would write it. */
function rd(v: number): string {
  return v !== v ? '7ff8000000000000' : dBits(v);
}
/** A binary32 result, which must be a binary32 value. */
function rs(v: number): string {
  if (v !== v) return '7fc00000';
  return Math.fround(v) === v ? sBits(v) : `not-binary32(${v})`;
}
function r64(): string {
  return hex(fpu.fexc.hi, 8) + hex(fpu.fexc.lo, 8);
}

const o = (ops: string[], i: number): string => ops[i] ?? '';
const D = (ops: string[], i: number): number => d(o(ops, i));
const S = (ops: string[], i: number): number => s(o(ops, i));

const RUNNERS: Record<string, Runner> = {
  'fadd.d': (x, rm) => rd(fpu.add64(D(x, 0), D(x, 1), rm)),
  'fsub.d': (x, rm) => rd(fpu.sub64(D(x, 0), D(x, 1), rm)),
  'fmul.d': (x, rm) => rd(fpu.mul64(D(x, 0), D(x, 1), rm)),
  'fdiv.d': (x, rm) => rd(fpu.div64(D(x, 0), D(x, 1), rm)),
  'fsqrt.d': (x, rm) => rd(fpu.sqrt64(D(x, 0), rm)),
  'fmadd.d': (x, rm) => rd(fpu.fma64(D(x, 0), D(x, 1), D(x, 2), rm)),
  'fmsub.d': (x, rm) => rd(fpu.fma64(D(x, 0), D(x, 1), -D(x, 2), rm)),
  'fnmsub.d': (x, rm) => rd(fpu.fma64(-D(x, 0), D(x, 1), D(x, 2), rm)),
  'fnmadd.d': (x, rm) => rd(fpu.fma64(-D(x, 0), D(x, 1), -D(x, 2), rm)),
  'fadd.s': (x, rm) => rs(fpu.add32(S(x, 0), S(x, 1), rm)),
  'fsub.s': (x, rm) => rs(fpu.sub32(S(x, 0), S(x, 1), rm)),
  'fmul.s': (x, rm) => rs(fpu.mul32(S(x, 0), S(x, 1), rm)),
  'fdiv.s': (x, rm) => rs(fpu.div32(S(x, 0), S(x, 1), rm)),
  'fsqrt.s': (x, rm) => rs(fpu.sqrt32(S(x, 0), rm)),
  'fmadd.s': (x, rm) => rs(fpu.fma32(S(x, 0), S(x, 1), S(x, 2), rm)),
  'fmsub.s': (x, rm) => rs(fpu.fma32(S(x, 0), S(x, 1), -S(x, 2), rm)),
  'fnmsub.s': (x, rm) => rs(fpu.fma32(-S(x, 0), S(x, 1), S(x, 2), rm)),
  'fnmadd.s': (x, rm) => rs(fpu.fma32(-S(x, 0), S(x, 1), -S(x, 2), rm)),
  'fcvt.s.d': (x, rm) => rs(fpu.f64ToF32(D(x, 0), rm)),
  'fcvt.w.d': (x, rm) => hex(fpu.toI32(D(x, 0), rm), 8),
  'fcvt.wu.d': (x, rm) => hex(fpu.toU32(D(x, 0), rm), 8),
  'fcvt.l.d': (x, rm) => (fpu.toI64(D(x, 0), rm), r64()),
  'fcvt.lu.d': (x, rm) => (fpu.toU64(D(x, 0), rm), r64()),
  'fcvt.w.s': (x, rm) => hex(fpu.toI32(S(x, 0), rm), 8),
  'fcvt.wu.s': (x, rm) => hex(fpu.toU32(S(x, 0), rm), 8),
  'fcvt.l.s': (x, rm) => (fpu.toI64(S(x, 0), rm), r64()),
  'fcvt.lu.s': (x, rm) => (fpu.toU64(S(x, 0), rm), r64()),
  'fcvt.d.l': (x, rm) => rd(fpu.i64ToF64(...halves(o(x, 0)), rm)),
  'fcvt.d.lu': (x, rm) => rd(fpu.u64ToF64(...halves(o(x, 0)), rm)),
  'fcvt.s.l': (x, rm) => rs(fpu.i64ToF32(...halves(o(x, 0)), rm)),
  'fcvt.s.lu': (x, rm) => rs(fpu.u64ToF32(...halves(o(x, 0)), rm)),
  'fcvt.s.w': (x, rm) => rs(fpu.i32ToF32(parseInt(o(x, 0), 16) | 0, rm)),
  'fcvt.s.wu': (x, rm) => rs(fpu.u32ToF32(parseInt(o(x, 0), 16) | 0, rm)),
  'fclass.d': (x) => hex(fpu.classify64(...halves(o(x, 0))), 3),
  'fclass.s': (x) => hex(fpu.classify32(parseInt(o(x, 0), 16) | 0), 3),
};

const RM_NAMES = ['rne', 'rtz', 'rdn', 'rup', 'rmm'];

function loadVectors(): string[] {
  const path = process.env['FPU_VECTORS'] ?? new URL('./testdata/vectors.txt.gz', import.meta.url).pathname;
  const raw = readFileSync(path);
  const text =
    raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw).toString('latin1') : raw.toString('latin1');
  return text.split('\n').filter((l) => l !== '');
}

/** Checks one vector line; returns a description of each mismatch. */
function check(line: string): string[] {
  const words = line.split(' ');
  const name = words[0] ?? '';
  const run = RUNNERS[name];
  if (run === undefined) return [`unknown instruction in: ${line}`];
  const classify = name.startsWith('fclass');
  const results = classify ? words.slice(-1) : words.filter((w) => w.includes('/'));
  const ops = words.slice(1, words.length - results.length);
  const bad: string[] = [];
  results.forEach((want, rm) => {
    fpu.fexc.flags = 0;
    const got = run(ops, rm);
    const gotFull = classify ? got : `${got}/${hex(fpu.fexc.flags, 2)}`;
    if (gotFull !== want) bad.push(`${name} ${ops.join(' ')} ${RM_NAMES[rm]}: want ${want}, got ${gotFull}`);
  });
  return bad;
}

const lines = loadVectors();
const byOp = new Map<string, string[]>();
for (const line of lines) {
  const name = line.slice(0, line.indexOf(' '));
  const list = byOp.get(name) ?? [];
  list.push(line);
  byOp.set(name, list);
}

test('the vector file covers every instruction', () => {
  assert.deepEqual([...byOp.keys()].sort(), Object.keys(RUNNERS).sort());
});

for (const [name, list] of byOp) {
  test(`${name} matches RISC-V on ${list.length} operand tuples × rounding modes`, () => {
    const bad = list.flatMap(check);
    assert.equal(bad.length, 0, `${bad.length} mismatches, first ones:\n${bad.slice(0, 25).join('\n')}`);
  });
}

test('flags accrue: a later exact operation does not clear them', () => {
  fpu.fexc.flags = 0;
  fpu.div64(1, 3, 0);
  fpu.add64(1, 2, 0);
  fpu.div64(1, 0, 0);
  assert.equal(fpu.fexc.flags, 1 | 8);
});
