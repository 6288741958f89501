import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Plic } from './plic.ts';

const priority = (s: number) => 4 * s;
const pendingWord = (w: number) => 0x1000 + 4 * w;
const enableWord = (ctx: number, w: number) => 0x2000 + 0x80 * ctx + 4 * w;
const threshold = (ctx: number) => 0x200000 + 0x1000 * ctx;
const claim = (ctx: number) => 0x200004 + 0x1000 * ctx;

function setup(numContexts = 4) {
  const events: string[] = [];
  const out = new Map<number, boolean>();
  const plic = new Plic({
    numSources: 95,
    numContexts,
    onContextChange: (c, p) => {
      events.push(`${c}:${p ? 1 : 0}`);
      out.set(c, p);
    },
  });
  const rd = (o: number) => plic.read(o, 4) >>> 0;
  const wr = (o: number, v: number) => plic.write(o, 4, v);
  return { plic, events, out, rd, wr };
}

test('window size and register widths', () => {
  const { plic, rd, wr } = setup();
  assert.equal(plic.sizeBytes, 0x600000);
  wr(priority(10), 0xffffffff);
  assert.equal(rd(priority(10)), 7, 'three priority bits');
  assert.equal(plic.read(priority(10), 2), 0, 'only 32-bit accesses');
  wr(priority(0), 5);
  assert.equal(rd(priority(0)), 0, 'source 0 does not exist');
  wr(enableWord(1, 0), 0xffffffff);
  assert.equal(rd(enableWord(1, 0)), 0xfffffffe);
  wr(enableWord(1, 2), 0xffffffff);
  assert.equal(rd(enableWord(1, 2)), 0xffffffff, 'sources 64..95');
  wr(enableWord(1, 3), 0xffffffff);
  assert.equal(rd(enableWord(1, 3)), 0, 'no source 96');
  wr(threshold(3), 9);
  assert.equal(rd(threshold(3)), 1);
});

test('a level interrupt: pend, notify, claim, complete, re-pend while the line stays high', () => {
  const { plic, events, rd, wr } = setup();
  const uart = plic.line(10);
  wr(priority(10), 1);
  uart.set(true);
  assert.equal(rd(pendingWord(0)), 1 << 10);
  assert.deepEqual(events, [], 'not enabled anywhere yet');
  wr(enableWord(1, 0), 1 << 10); // hart 0, S-mode
  assert.deepEqual(events, ['1:1']);
  assert.equal(rd(claim(1)), 10);
  assert.deepEqual(events, ['1:1', '1:0']);
  assert.equal(rd(pendingWord(0)), 0);
  assert.equal(rd(claim(1)), 0, 'nothing else to claim');
  // Claimed: the still-high line does not pend again until completion.
  uart.set(false);
  uart.set(true);
  assert.equal(rd(pendingWord(0)), 0);
  wr(claim(1), 10);
  assert.equal(rd(pendingWord(0)), 1 << 10);
  assert.deepEqual(events, ['1:1', '1:0', '1:1']);
  // The device lowers its line before the next claim: the request goes away.
  uart.set(false);
  assert.deepEqual(events, ['1:1', '1:0', '1:1', '1:0']);
  assert.equal(rd(claim(1)), 0);
});

test('priority order, lowest id on ties, threshold masks', () => {
  const { plic, out, rd, wr } = setup();
  for (const [s, p] of [
    [3, 2],
    [7, 5],
    [8, 5],
    [40, 1],
  ] as const) {
    wr(priority(s), p);
    plic.line(s).set(true);
  }
  wr(enableWord(0, 0), 0xffffffff);
  wr(enableWord(0, 1), 0xffffffff);
  assert.equal(out.get(0), true);
  wr(threshold(0), 5);
  assert.equal(out.get(0), false, 'nothing above 5');
  assert.equal(rd(claim(0)), 0);
  wr(threshold(0), 1);
  assert.equal(rd(claim(0)), 7);
  assert.equal(rd(claim(0)), 8);
  assert.equal(rd(claim(0)), 3);
  assert.equal(out.get(0), false, 'source 40 at priority 1 is not above threshold 1');
  wr(threshold(0), 0);
  assert.equal(rd(claim(0)), 40);
});

test('priority 0 never interrupts', () => {
  const { plic, out, rd, wr } = setup();
  plic.line(5).set(true);
  wr(enableWord(0, 0), 1 << 5);
  assert.equal(out.get(0), undefined);
  assert.equal(rd(claim(0)), 0);
  wr(priority(5), 1);
  assert.equal(out.get(0), true);
});

test('a completion for a source not enabled in that context is ignored', () => {
  const { plic, rd, wr } = setup();
  wr(priority(1), 1);
  wr(enableWord(0, 0), 1 << 1);
  plic.line(1).set(true);
  assert.equal(rd(claim(0)), 1);
  wr(claim(2), 1); // context 2 never enabled source 1
  assert.equal(rd(pendingWord(0)), 0, 'still claimed');
  wr(claim(0), 1);
  assert.equal(rd(pendingWord(0)), 1 << 1);
});

test('two contexts see the same source; the first claim wins', () => {
  const { plic, out, rd, wr } = setup();
  wr(priority(2), 3);
  wr(enableWord(1, 0), 1 << 2);
  wr(enableWord(3, 0), 1 << 2);
  plic.line(2).set(true);
  assert.equal(out.get(1), true);
  assert.equal(out.get(3), true);
  assert.equal(rd(claim(3)), 2);
  assert.equal(out.get(1), false);
  assert.equal(rd(claim(1)), 0);
});

test('lines are validated and cached', () => {
  const { plic } = setup();
  assert.throws(() => plic.line(0), /no interrupt source 0 \(sources are 1\.\.95\)/);
  assert.throws(() => plic.line(96), /no interrupt source 96/);
  assert.equal(plic.line(4), plic.line(4));
});

test('save and restore, with outputs re-announced; a bad field is named', () => {
  const a = setup();
  a.wr(priority(33), 4);
  a.wr(enableWord(2, 1), 1 << 1);
  a.plic.line(33).set(true);
  a.plic.line(34).set(true);
  const saved = JSON.parse(JSON.stringify(a.plic.saveState())) as Record<string, unknown>;
  const b = setup();
  b.plic.restoreState(saved);
  assert.deepEqual(b.plic.saveState(), a.plic.saveState());
  assert.deepEqual(b.events, ['0:0', '1:0', '2:1', '3:0']);
  assert.equal(b.rd(claim(2)), 33);
  assert.throws(
    () => b.plic.restoreState({ ...saved, threshold: [0, 0, 0, 8] }),
    /PlicState\.threshold must be an array of 4 words/,
  );
  assert.throws(() => b.plic.restoreState({ ...saved, pending: [1, 0, 0] }), /PlicState\.pending must be/);
  assert.throws(
    () => b.plic.restoreState({ ...saved, enable: [] }),
    /PlicState\.enable must be an array of 4/,
  );
});
