import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MachineMemory } from '../machine/memory.ts';
import { FrameAllocator, type Mfn } from './frames.ts';
import { P2m, type Gfn } from './p2m.ts';

function setup(frames = 256) {
  const mem = new MachineMemory({ harts: 1, ramBase: 0x8000_0000, ramBytes: frames * 4096 });
  return { mem, alloc: new FrameAllocator(mem) };
}

test('the P2M is a Sv39x4 table the MMU walks: gfn → mfn with U, R, W, X, A, D', () => {
  const { mem, alloc } = setup();
  const p2m = new P2m(alloc, 0x80000, 16);
  assert.equal(p2m.root % 4, 0, 'root is 16 KiB aligned');
  const mfn = alloc.alloc();
  p2m.map(0x80003 as Gfn, mfn);
  assert.equal(p2m.mfnOf(0x80003), mfn);
  assert.equal(p2m.mfnOf(0x80004), -1);
  // Walk by hand: root index = gfn >> 18, then (gfn >> 9) & 511, then gfn & 511.
  const i32 = mem.i32;
  const gfn = 0x80003;
  let table = alloc.offsetOf(p2m.root);
  for (const idx of [Math.floor(gfn / 262144), Math.floor(gfn / 512) & 511]) {
    const lo = i32[(table + idx * 8) >>> 2]!;
    assert.equal(lo & 0xf, 1, 'pointer PTE: V only');
    table = mem.ramOffset + ((lo >>> 10) * 4096 - mem.ramBase);
  }
  const leaf = i32[(table + (gfn & 511) * 8) >>> 2]!;
  assert.equal(leaf & 0xff, 1 | 2 | 4 | 8 | 16 | 64 | 128);
  assert.equal((leaf >>> 10) * 4096, alloc.paOf(mfn));
  const hg = p2m.hgatp();
  assert.equal(hg.hi >>> 28, 8, 'Sv39x4');
  assert.equal(hg.lo * 4096, alloc.paOf(p2m.root));
});

test('unmap removes the leaf; destroy returns the table frames', () => {
  const { alloc } = setup();
  const before = alloc.free;
  const p2m = new P2m(alloc, 0x80000, 4);
  const frames: Mfn[] = [];
  for (let i = 0; i < 4; i++) {
    frames.push(alloc.alloc());
    p2m.map((0x80000 + i) as Gfn, frames[i]!);
  }
  p2m.unmap(0x80001 as Gfn);
  assert.equal(p2m.mfnOf(0x80001), -1);
  p2m.destroy();
  for (const f of frames) alloc.freeFrame(f);
  assert.equal(alloc.free, before);
  assert.throws(() => alloc.freeFrame(frames[0]!), /freed twice/);
});

test('a freed frame comes back zeroed, whether scrubbed on allocation or while idle', () => {
  const { mem, alloc } = setup(8);
  const all: Mfn[] = [];
  for (let i = 0; i < 8; i++) all.push(alloc.alloc());
  for (const f of all) mem.u8.fill(0xa5, alloc.offsetOf(f), alloc.offsetOf(f) + 4096);
  for (const f of all) alloc.freeFrame(f);
  assert.equal(alloc.scrubIdle(3), 3);
  const again: Mfn[] = [];
  for (let i = 0; i < 8; i++) again.push(alloc.alloc());
  for (const f of again) {
    const page = mem.u8.subarray(alloc.offsetOf(f), alloc.offsetOf(f) + 4096);
    assert.ok(
      page.every((b) => b === 0),
      `frame ${f} still holds data`,
    );
  }
  assert.equal(alloc.scrubIdle(8), 0, 'nothing left to scrub');
});

test('changing or removing a mapping tells the P2M’s users (they flush cached translations)', () => {
  const { alloc } = setup();
  const p2m = new P2m(alloc, 0x80000, 4);
  const changed: number[] = [];
  p2m.onChange = (g) => changed.push(g);
  p2m.map(0x80000 as Gfn, alloc.alloc());
  assert.deepEqual(changed, [], 'a new mapping invalidates nothing');
  p2m.map(0x80000 as Gfn, alloc.alloc());
  p2m.unmap(0x80000 as Gfn);
  p2m.unmap(0x80002 as Gfn);
  assert.deepEqual(changed, [0x80000, 0x80000]);
});

test('allocMany hands out distinct zeroed frames, all or none, and skips frames in use', () => {
  const { mem, alloc } = setup(64);
  const held = alloc.alloc();
  const dirty = alloc.alloc();
  mem.u8.fill(0xaa, alloc.offsetOf(dirty), alloc.offsetOf(dirty) + 4096);
  alloc.freeFrame(dirty);
  const free = alloc.free;
  assert.throws(() => alloc.allocMany(free + 1), /exhausted/);
  assert.equal(alloc.free, free, 'a refused batch takes nothing');
  const got = [...alloc.allocMany(free)];
  assert.equal(alloc.free, 0);
  assert.equal(new Set(got).size, free);
  assert.ok(!got.includes(held), 'a frame in use is not handed out again');
  assert.ok(got.includes(dirty));
  const off = alloc.offsetOf(dirty as Mfn);
  assert.ok(
    mem.u8.subarray(off, off + 4096).every((b) => b === 0),
    'a dirty frame comes back zeroed',
  );
});

test('mapMany maps a run of gfns across leaf tables as map does, one by one', () => {
  const { mem, alloc } = setup(1024);
  const a = new P2m(alloc, 0x80000, 700);
  const b = new P2m(alloc, 0x80000, 700);
  const mfns = alloc.allocMany(600);
  a.mapMany((0x80000 + 50) as Gfn, mfns);
  for (let i = 0; i < 600; i++) b.map((0x80000 + 50 + i) as Gfn, mfns[i] as Mfn);
  const leaf = (p: P2m, gfn: number): [number, number] => {
    let table = alloc.offsetOf(p.root);
    for (const idx of [Math.floor(gfn / 262144), Math.floor(gfn / 512) & 511]) {
      const lo = mem.i32[(table + idx * 8) >>> 2]!;
      table = mem.ramOffset + ((lo >>> 10) * 4096 - mem.ramBase);
    }
    const at = (table + (gfn & 511) * 8) >>> 2;
    return [mem.i32[at]!, mem.i32[at + 1]!];
  };
  for (let gfn = 0x80000; gfn < 0x80000 + 700; gfn++) {
    assert.equal(a.mfnOf(gfn), b.mfnOf(gfn));
    if (a.mfnOf(gfn) >= 0) assert.deepEqual(leaf(a, gfn), leaf(b, gfn), `leaf of gfn 0x${gfn.toString(16)}`);
  }
  assert.equal(a.mfnOf(0x80000 + 49), -1);
  assert.throws(() => a.mapMany((0x80000 + 650) as Gfn, mfns.subarray(0, 60)), /outside this P2M's span/);
});

test('allocContiguous finds the first aligned run of frames not in use, dirty ones included', () => {
  const { alloc } = setup(64);
  const first = [...alloc.allocMany(10)];
  assert.deepEqual(first, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  alloc.freeFrame(5 as Mfn);
  alloc.freeFrame(6 as Mfn);
  assert.equal(alloc.allocContiguous(2), 5, 'two dirty frames');
  assert.equal(alloc.allocContiguous(4, 4), 12, 'aligned past the used frames');
  assert.equal(alloc.allocContiguous(3), 16, 'the two frames at 10 are too few');
  assert.equal(alloc.allocContiguous(2), 10);
  assert.throws(() => alloc.allocContiguous(64), /no 64 contiguous free frames/);
});
