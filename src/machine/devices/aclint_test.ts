import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Clock } from '../device.ts';
import { Aclint } from './aclint.ts';

const MTIME = 0xbff8;
const msip = (h: number) => 4 * h;
const mtimecmp = (h: number) => 0x4000 + 8 * h;

function setup(harts = 2) {
  const clock = {
    frequencyHz: 10_000_000,
    now: 1000,
    mtime() {
      return this.now;
    },
    wallClockNs: () => 0,
  };
  const log: string[] = [];
  const clint = new Aclint(harts, clock as Clock, {
    onSoftware: (h, l) => log.push(`sw ${h} ${l ? 1 : 0}`),
    onTimerChange: (h) => log.push(`timer ${h}`),
  });
  const rd = (o: number) => clint.read(o, 4) >>> 0;
  const wr = (o: number, v: number) => clint.write(o, 4, v);
  return { clock, clint, log, rd, wr };
}

test('msip: bit 0 only, per hart, each write reported', () => {
  const { rd, wr, log } = setup();
  wr(msip(1), 0xffffffff);
  assert.equal(rd(msip(1)), 1);
  assert.equal(rd(msip(0)), 0);
  wr(msip(1), 2);
  assert.equal(rd(msip(1)), 0);
  wr(msip(2), 1); // no hart 2
  assert.deepEqual(log, ['sw 1 1', 'sw 1 0']);
});

test('mtime reads the clock as two halves; 64-bit values carry into the high word', () => {
  const { clock, rd, clint } = setup();
  assert.equal(rd(MTIME), 1000);
  assert.equal(rd(MTIME + 4), 0);
  clock.now = 5 * 2 ** 32 + 7;
  assert.equal(rd(MTIME), 7);
  assert.equal(rd(MTIME + 4), 5);
  assert.equal(clint.mtime(), 5 * 2 ** 32 + 7);
  assert.equal(clint.read(MTIME, 2), 0, 'only 32-bit accesses');
});

test('mtimecmp resets to all ones: no timer pending, no deadline', () => {
  const { rd, clint } = setup();
  assert.equal(rd(mtimecmp(0)), 0xffffffff);
  assert.equal(rd(mtimecmp(0) + 4), 0xffffffff);
  assert.equal(clint.timerPending(0), false);
  assert.equal(clint.nextDeadline(0), Infinity);
});

test('timer: pending once mtime reaches mtimecmp, compared as 64-bit unsigned', () => {
  const { clock, wr, clint, log } = setup();
  wr(mtimecmp(1), 1500);
  wr(mtimecmp(1) + 4, 0);
  assert.deepEqual(log, ['timer 1', 'timer 1']);
  assert.equal(clint.nextDeadline(1), 1500);
  assert.equal(clint.timerPending(1), false);
  clock.now = 1499;
  assert.equal(clint.timerPending(1), false);
  clock.now = 1500;
  assert.equal(clint.timerPending(1), true);
  assert.equal(clint.timerPending(0), false, 'other harts keep their own compare');
  // A compare of 2^32 + 0 is far in the future even though its low word is 0.
  wr(mtimecmp(1), 0);
  wr(mtimecmp(1) + 4, 1);
  assert.equal(clint.timerPending(1), false);
  assert.equal(clint.nextDeadline(1), 2 ** 32);
  // Firmware's "never": all ones, above 2^53.
  wr(mtimecmp(1), 0xffffffff);
  wr(mtimecmp(1) + 4, 0xffffffff);
  clock.now = 2 ** 52;
  assert.equal(clint.timerPending(1), false);
  assert.equal(clint.nextDeadline(1), Infinity);
});

test('writing mtime shifts it against the clock; deadlines stay in clock ticks', () => {
  const { clock, rd, wr, clint, log } = setup();
  wr(MTIME, 0);
  wr(MTIME + 4, 1);
  assert.deepEqual(log, ['timer 0', 'timer 1', 'timer 0', 'timer 1']);
  assert.equal(rd(MTIME + 4), 1);
  assert.equal(rd(MTIME), 0);
  clock.now += 10;
  assert.equal(clint.mtime(), 2 ** 32 + 10);
  wr(mtimecmp(0), 20);
  wr(mtimecmp(0) + 4, 1);
  // mtime is 2^32 + 10 now, at clock 1010; the compare is reached at clock 1020.
  assert.equal(clint.nextDeadline(0), 1020);
  clock.now = 1020;
  assert.equal(clint.timerPending(0), true);
});

test('save and restore continue mtime from the saved value; a bad field is named', () => {
  const a = setup();
  a.wr(msip(0), 1);
  a.wr(mtimecmp(1), 5000);
  a.wr(mtimecmp(1) + 4, 0);
  a.clock.now = 4000;
  const saved = JSON.parse(JSON.stringify(a.clint.saveState())) as Record<string, unknown>;
  const b = setup();
  b.clock.now = 10; // another host: its clock started later
  b.clint.restoreState(saved);
  assert.equal(b.clint.mtime(), 4000);
  assert.equal(b.clint.timerPending(1), false);
  b.clock.now += 1000;
  assert.equal(b.clint.timerPending(1), true);
  assert.equal(b.rd(msip(0)), 1);
  assert.deepEqual(b.log, ['sw 0 1', 'timer 0', 'sw 1 0', 'timer 1']);
  assert.throws(
    () => b.clint.restoreState({ ...saved, msip: [2, 0] }),
    /AclintState\.msip must be an array of 2 integers in 0\.\.1/,
  );
  assert.throws(
    () => b.clint.restoreState({ ...saved, mtime: -1 }),
    /AclintState\.mtime must be a non-negative/,
  );
});
