import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BLOCK_VOID, Bytes, ModuleBuilder, T, W } from './wasm.ts';

function instantiate(b: ModuleBuilder, imports: WebAssembly.Imports = {}): WebAssembly.Exports {
  const bytes = b.build();
  assert.ok(WebAssembly.validate(bytes), 'module validates');
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), imports).exports;
}

test('LEB128 encodings match the format', () => {
  assert.deepEqual([...new Bytes().u32(0).view()], [0]);
  assert.deepEqual([...new Bytes().u32(624485).view()], [0xe5, 0x8e, 0x26]);
  assert.deepEqual([...new Bytes().u32(0xffffffff).view()], [0xff, 0xff, 0xff, 0xff, 0x0f]);
  assert.deepEqual([...new Bytes().s32(-123456).view()], [0xc0, 0xbb, 0x78]);
  assert.deepEqual([...new Bytes().s32(63).view()], [0x3f]);
  assert.deepEqual([...new Bytes().s32(64).view()], [0xc0, 0x00]);
  assert.deepEqual([...new Bytes().s32(-64).view()], [0x40]);
  assert.deepEqual([...new Bytes().s32(-65).view()], [0xbf, 0x7f]);
  assert.throws(() => new Bytes().u32(-1), RangeError);
});

test('i64 constants from halves survive a round trip through the engine', () => {
  const values = [0n, -1n, 1n, 0x7fffffffffffffffn, -0x8000000000000000n, 0x123456789abcdef0n, -0x80000000n];
  const b = new ModuleBuilder();
  values.forEach((v, k) => {
    const f = b.func([], [T.I64]);
    const lo = Number(BigInt.asIntN(32, v));
    const hi = Number(BigInt.asIntN(32, v >> 32n));
    f.code.i64ConstHalves(lo, hi);
    b.export(`c${k}`, f.index);
  });
  const ex = instantiate(b);
  values.forEach((v, k) => assert.equal((ex[`c${k}`] as () => bigint)(), v));
});

test('arithmetic, locals and if/else', () => {
  const b = new ModuleBuilder();
  const f = b.func([T.I32, T.I32], [T.I32]);
  const c = f.code;
  const tmp = c.local(T.I32);
  // tmp = a * b; return tmp > 100 ? tmp - 100 : tmp + 1
  c.get(0).get(1).op(W.I32_MUL).set(tmp);
  c.get(tmp).i32Const(100).op(W.I32_GT_S);
  c.if(T.I32).get(tmp).i32Const(100).op(W.I32_SUB).else().get(tmp).i32Const(1).op(W.I32_ADD).end();
  b.export('f', f.index);
  const fn = instantiate(b)['f'] as (a: number, b: number) => number;
  assert.equal(fn(3, 4), 13);
  assert.equal(fn(20, 10), 100);
});

test('a loop with br_table dispatch and an imported JS function', () => {
  const b = new ModuleBuilder();
  const log = b.importFunc('env', 'log', [T.I32], []);
  const f = b.func([T.I32], [T.I32]);
  const c = f.code;
  const state = 0;
  const acc = c.local(T.I32);
  // A three-state machine: 0 → acc += 1, go to 1; 1 → log(acc), go to 2 if acc >= 3 else 0; 2 → return acc.
  c.loop();
  c.block().block().block();
  c.get(state).brTable([0, 1, 2], 2);
  c.end(); // state 0
  c.get(acc).i32Const(1).op(W.I32_ADD).set(acc).i32Const(1).set(state).br(2);
  c.end(); // state 1
  c.get(acc).call(log);
  c.i32Const(2).i32Const(0).get(acc).i32Const(3).op(W.I32_GE_S).op(W.SELECT).set(state).br(1);
  c.end(); // state 2
  c.get(acc).op(W.RETURN);
  c.end(); // loop
  c.op(W.UNREACHABLE);
  b.export('run', f.index);
  const seen: number[] = [];
  const ex = instantiate(b, { env: { log: (v: number) => seen.push(v) } });
  assert.equal((ex['run'] as (s: number) => number)(0), 3);
  assert.deepEqual(seen, [1, 2, 3]);
  assert.equal((ex['run'] as (s: number) => number)(2), 0);
});

test('globals, and a tag thrown in one module and caught in another that imports it', () => {
  // Module A: a mutable global set by `set`, and `check(v)` that throws A's exported tag when
  // v exceeds the global, else returns v * 2.
  const a = new ModuleBuilder();
  const limit = a.global(T.I32, true);
  const tag = a.tag([]);
  a.exportTag('over', tag);
  const set = a.func([T.I32], []);
  set.code.get(0).globalSet(limit);
  a.export('set', set.index);
  const check = a.func([T.I32], [T.I32]);
  check.code.get(0).globalGet(limit).op(W.I32_GT_S).if().throw(tag).end();
  check.code.get(0).i32Const(2).op(W.I32_MUL);
  a.export('check', check.index);
  const ea = instantiate(a);
  // Module B: sum(n) = check(1) + … + check(n), or -1 when a check throws.
  const b = new ModuleBuilder();
  const chk = b.importFunc('a', 'check', [T.I32], [T.I32]);
  const over = b.importTag('a', 'over', []);
  const f = b.func([T.I32], [T.I32]);
  const c = f.code;
  const acc = c.local(T.I32);
  const i = c.local(T.I32);
  c.try();
  c.loop();
  c.get(i).i32Const(1).op(W.I32_ADD).tee(i).call(chk).get(acc).op(W.I32_ADD).set(acc);
  c.get(i).get(0).op(W.I32_LT_S).brIf(0);
  c.end();
  c.catch(over);
  c.i32Const(-1).set(acc);
  c.end();
  c.get(acc);
  b.export('sum', f.index);
  const eb = instantiate(b, { a: ea });
  const sum = eb['sum'] as (n: number) => number;
  (ea['set'] as (v: number) => void)(10);
  assert.equal(sum(4), 20);
  assert.equal(sum(11), -1);
  (ea['set'] as (v: number) => void)(100);
  assert.equal(sum(11), 132);
});

test('loads and stores on an imported shared memory are seen by JavaScript', () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
  const b = new ModuleBuilder();
  b.importMemory({ module: 'env', name: 'memory', minPages: 1, maxPages: 4, shared: true });
  const f = b.func([T.I32], []);
  const c = f.code;
  // mem[p + 8] (i64) = sign-extended byte mem[p] + mem[p + 4] (u32); mem[p + 16] (u16) = 0xbeef
  c.get(0).get(0).mem(W.I64_LOAD8_S, 0, 0).get(0).mem(W.I64_LOAD32_U, 2, 4).op(W.I64_ADD);
  c.mem(W.I64_STORE, 3, 8);
  c.get(0).i32Const(0xbeef).mem(W.I32_STORE16, 1, 16);
  b.export('f', f.index);
  const ex = instantiate(b, { env: { memory } });
  const dv = new DataView(memory.buffer);
  dv.setInt8(64, -2);
  dv.setUint32(68, 0xffffffff, true);
  (ex['f'] as (p: number) => void)(64);
  assert.equal(dv.getBigInt64(72, true), 0xffffffffn - 2n);
  assert.equal(dv.getUint16(80, true), 0xbeef);
});

test('a memory that does not match the declared limits is refused', () => {
  const b = new ModuleBuilder();
  b.importMemory({ module: 'env', name: 'memory', minPages: 2, maxPages: 2, shared: true });
  const f = b.func([], []);
  f.code.op(W.NOP);
  const mod = new WebAssembly.Module(b.build());
  const small = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  assert.throws(() => new WebAssembly.Instance(mod, { env: { memory: small } }), WebAssembly.LinkError);
});

test('an invalid body is caught by validation, not silently accepted', () => {
  const b = new ModuleBuilder();
  const f = b.func([], [T.I32]);
  f.code.block(BLOCK_VOID).end(); // no result on the stack
  assert.equal(WebAssembly.validate(b.build()), false);
});
