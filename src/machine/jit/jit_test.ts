import assert from 'node:assert/strict';
import { test } from 'node:test';
import { run } from '../hart/interp.ts';
import { encode } from '../isa/encode.ts';
import { Op } from '../isa/op.ts';
import { machine, type Machine } from './diff_gen.ts';
import { Hart } from '../hart/hart.ts';
import { attachJitToHart, type JitOptions } from './jit.ts';

const BASE = 0x8000_1000;

function load(m: Machine, at: number, words: number[]): void {
  m.mem.loadBytes(at, new Uint8Array(new Int32Array(words).buffer));
}

/** Machine with the program at BASE, pc there, M-mode (bare). */
function withProgram(jit: JitOptions | null, words: number[]): Machine {
  const m = machine(jit);
  load(m, BASE, words);
  m.h.setPcNumber(BASE);
  return m;
}

/** Runs in slices until `total` instructions ran; returns retired instructions. */
function runFor(m: Machine, total: number, slice = 1000): number {
  let n = 0;
  while (n < total) n += run(m.h, Math.min(slice, total - n));
  return n;
}

const li = (rd: number, imm: number) => encode(Op.ADDI, { rd, rs1: 0, imm });
const spin = encode(Op.JAL, { rd: 0, imm: 0 });

test('a hot loop is translated after the threshold and computes what the interpreter does', () => {
  const prog = [
    li(5, 1000),
    encode(Op.ADD, { rd: 6, rs1: 6, rs2: 5 }),
    encode(Op.ADDI, { rd: 5, rs1: 5, imm: -1 }),
    encode(Op.BNE, { rs1: 5, rs2: 0, imm: -8 }),
    spin,
  ];
  const a = withProgram(null, prog);
  const b = withProgram({ mode: 'on', threshold: 4 }, prog);
  assert.equal(runFor(a, 5000), 5000);
  assert.equal(runFor(b, 5000), 5000);
  assert.equal(a.h.xNumber(6), 500500);
  assert.equal(b.h.xNumber(6), 500500);
  assert.equal(b.h.instret, a.h.instret);
  const st = b.jit!.stats();
  assert.ok(st.translated >= 1, `translated ${st.translated}`);
  assert.ok(st.entries >= 1);
});

test('below the threshold nothing is translated', () => {
  const prog = [
    li(5, 3),
    encode(Op.ADDI, { rd: 5, rs1: 5, imm: -1 }),
    encode(Op.BNE, { rs1: 5, rs2: 0, imm: -4 }),
    spin,
  ];
  const b = withProgram({ mode: 'on', threshold: 1000 }, prog);
  runFor(b, 7);
  assert.equal(b.jit!.stats().translated, 0);
  assert.equal(b.h.xNumber(5), 0);
});

test('self-modifying code: a store into a translated page drops its translations and the new code runs', () => {
  const newInsn = encode(Op.ADDI, { rd: 7, rs1: 7, imm: 100 });
  const prog = [
    li(10, 3), // 0
    encode(Op.ADDI, { rd: 7, rs1: 7, imm: 1 }), // 4: L (rewritten below)
    encode(Op.ADDI, { rd: 10, rs1: 10, imm: -1 }), // 8
    encode(Op.BNE, { rs1: 10, rs2: 0, imm: -8 }), // 12
    encode(Op.BNE, { rs1: 13, rs2: 0, imm: 28 }), // 16 → 44 (end) the second time
    li(13, 1), // 20
    encode(Op.AUIPC, { rd: 11, imm: 0 }), // 24: x11 = BASE + 24
    encode(Op.SW, { rs1: 11, rs2: 12, imm: -20 }), // 28: mem[BASE + 4] = x12
    encode(Op.FENCE_I), // 32
    li(10, 2), // 36
    encode(Op.JAL, { rd: 0, imm: -36 }), // 40 → 4
    spin, // 44
  ];
  for (const jit of [null, { mode: 'force' } as const]) {
    const m = withProgram(jit, prog);
    m.h.setX(12, newInsn, newInsn >> 31);
    runFor(m, 200, 7);
    assert.equal(m.h.xNumber(7), 203, `jit ${JSON.stringify(jit)}`);
    assert.equal(m.h.pc, BASE + 44);
    if (m.jit) assert.ok(m.jit.stats().invalidatedPages >= 1, JSON.stringify(m.jit.stats()));
  }
});

test('a device-style write (CodeCache.invalidateRange) retires translations of the page', () => {
  const m = withProgram({ mode: 'force' }, [
    encode(Op.ADDI, { rd: 5, rs1: 5, imm: 1 }),
    encode(Op.JAL, { rd: 0, imm: -4 }),
  ]);
  runFor(m, 100);
  assert.equal(m.h.xNumber(5), 50);
  const before = m.jit!.stats();
  assert.ok(before.regions >= 1);
  // The "DMA" rewrites the loop to add 2 instead, and invalidates as devices must.
  load(m, BASE, [encode(Op.ADDI, { rd: 5, rs1: 5, imm: 2 })]);
  m.code.invalidateRange(BASE - 0x8000_0000, 4);
  assert.equal(m.jit!.stats().regions, 0);
  runFor(m, 100);
  assert.equal(m.h.xNumber(5), 150);
});

test('the cache stays within maxRegions by evicting whole pages', () => {
  // Eight pages, each: addi x5, x5, 1; jal to the next page; the last one loops back via jalr.
  const pages = 8;
  const m = machine({ mode: 'force', maxRegions: 3 });
  const ref = machine(null);
  for (const x of [m, ref]) {
    for (let p = 0; p < pages; p++) {
      const at = BASE + p * 4096;
      if (p < pages - 1)
        load(x, at, [encode(Op.ADDI, { rd: 5, rs1: 5, imm: 1 }), encode(Op.JAL, { rd: 0, imm: 4092 })]);
      else
        load(x, at, [
          encode(Op.ADDI, { rd: 5, rs1: 5, imm: 1 }),
          encode(Op.JALR, { rd: 0, rs1: 20, imm: 0 }),
        ]);
    }
    x.h.setXNumber(20, BASE);
    x.h.setPcNumber(BASE);
    runFor(x, 1600, 333);
  }
  assert.equal(m.h.xNumber(5), 800);
  assert.equal(ref.h.xNumber(5), 800);
  const st = m.jit!.stats();
  assert.ok(st.regions <= 3, JSON.stringify(st));
  assert.ok(st.evictedPages > 0, JSON.stringify(st));
});

test('untranslatable instructions are left to the interpreter at exact instruction counts', () => {
  // A CSR read of minstret in the middle of translated code sees the exact retired count.
  const prog = [
    li(5, 1),
    li(6, 2),
    encode(Op.CSRRS, { rd: 7, rs1: 0, imm: 0xb02 }), // minstret: 2 instructions retired before it
    encode(Op.ADD, { rd: 8, rs1: 5, rs2: 6 }),
    spin,
  ];
  for (const jit of [null, { mode: 'force' } as const]) {
    const m = withProgram(jit, prog);
    runFor(m, 10);
    assert.equal(m.h.xNumber(7), 2, `jit ${JSON.stringify(jit)}`);
    assert.equal(m.h.xNumber(8), 3);
  }
});

test('attachJitToHart gives harts of one CodeCache one Jit, runs them, and off detaches', () => {
  const prog = [
    li(5, 200),
    encode(Op.ADD, { rd: 6, rs1: 6, rs2: 5 }),
    encode(Op.ADDI, { rd: 5, rs1: 5, imm: -1 }),
    encode(Op.BNE, { rs1: 5, rs2: 0, imm: -8 }),
    spin,
  ];
  const m = withProgram(null, prog);
  const second = new Hart(1, { mem: m.mem, bus: m.h.bus, code: m.code, clock: m.h.clock });
  const j1 = attachJitToHart(m.h, 'force');
  const j2 = attachJitToHart(second, 'on');
  assert.ok(j1 !== null);
  assert.equal(j2, j1, 'harts sharing a CodeCache share the Jit');
  assert.equal(m.h.jit, j1);
  assert.equal(runFor(m, 700), 700);
  assert.equal(m.h.xNumber(6), 20100);
  assert.ok(j1.stats().translated >= 1);
  assert.equal(attachJitToHart(second, 'off'), null);
  assert.equal(second.jit, null);
});

test('loads and stores that miss the TLB take the slow-path helpers and stay in translated code', () => {
  // x7 = 0x8001_0000; 64 times: sd x5 → [x7]; ld x9 ← [x7]; x6 += x9; x7 += 4 KiB. Every
  // access touches a new page, so each one misses the (load or store) TLB.
  const prog = [
    li(7, 1),
    encode(Op.SLLI, { rd: 7, rs1: 7, imm: 31 }),
    encode(Op.LUI, { rd: 8, imm: 0x10 << 12 }),
    encode(Op.ADD, { rd: 7, rs1: 7, rs2: 8 }),
    encode(Op.LUI, { rd: 10, imm: 1 << 12 }),
    li(5, 64),
    encode(Op.SD, { rs1: 7, rs2: 5, imm: 0 }),
    encode(Op.LD, { rd: 9, rs1: 7, imm: 0 }),
    encode(Op.ADD, { rd: 6, rs1: 6, rs2: 9 }),
    encode(Op.ADD, { rd: 7, rs1: 7, rs2: 10 }),
    encode(Op.ADDI, { rd: 5, rs1: 5, imm: -1 }),
    encode(Op.BNE, { rs1: 5, rs2: 0, imm: -20 }),
    spin,
  ];
  const a = withProgram(null, prog);
  const b = withProgram({ mode: 'force' }, prog);
  const total = 6 + 64 * 6 + 100;
  assert.equal(runFor(a, total, total), total);
  assert.equal(runFor(b, total, total), total);
  assert.equal(a.h.xNumber(6), 2080);
  assert.equal(b.h.xNumber(6), 2080);
  assert.equal(b.h.instret, a.h.instret);
  const ram = (m: Machine, off: number): number => m.mem.i32[(m.mem.ramOffset + off) >>> 2]!;
  for (let k = 0; k < 64; k++) assert.equal(ram(b, 0x10000 + k * 4096), ram(a, 0x10000 + k * 4096));
  assert.equal(ram(b, 0x10000 + 63 * 4096), 1);
  // Leaving translated code at every miss would take 128 entries; the helpers keep it in.
  const st = b.jit!.stats();
  assert.ok(st.entries <= 4, `entered translated code ${st.entries} times`);
  assert.ok(st.instructions >= 64 * 6, `translated code ran ${st.instructions} instructions`);
});
