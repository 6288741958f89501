import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SifiveTest, type FinisherEvent } from './sifive_test.ts';

test('PASS, FAIL and RESET carry the code in the high half', () => {
  const events: FinisherEvent[] = [];
  const dev = new SifiveTest((e) => events.push(e));
  dev.write(0, 4, 0x5555);
  dev.write(0, 4, (3 << 16) | 0x3333);
  dev.write(0, 4, 0x7777);
  dev.write(0, 4, 0xffff5555);
  assert.deepEqual(events, [
    { kind: 'pass', code: 0 },
    { kind: 'fail', code: 3 },
    { kind: 'reset', code: 0 },
    { kind: 'pass', code: 0xffff },
  ]);
});

test('a 16-bit write of the status finishes with code 0 (OpenSBI uses writew)', () => {
  const events: FinisherEvent[] = [];
  const dev = new SifiveTest((e) => events.push(e));
  dev.write(0, 2, 0x5555);
  dev.write(0, 2, 0x3333);
  assert.deepEqual(events, [
    { kind: 'pass', code: 0 },
    { kind: 'fail', code: 0 },
  ]);
});

test('other values, offsets and widths do nothing; reads are 0', () => {
  const events: FinisherEvent[] = [];
  const dev = new SifiveTest((e) => events.push(e));
  dev.write(0, 4, 0x1234);
  dev.write(4, 4, 0x5555);
  dev.write(0, 1, 0x55);
  assert.deepEqual(events, []);
  assert.equal(dev.read(), 0);
  assert.equal(dev.sizeBytes, 0x1000);
});
