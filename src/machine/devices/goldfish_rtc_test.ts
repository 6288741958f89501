import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Clock } from '../device.ts';
import { GoldfishRtc } from './goldfish_rtc.ts';

const TIME_LOW = 0x00,
  TIME_HIGH = 0x04,
  ALARM_LOW = 0x08,
  ALARM_HIGH = 0x0c,
  IRQ_ENABLED = 0x10,
  CLEAR_ALARM = 0x14,
  ALARM_STATUS = 0x18,
  CLEAR_INTERRUPT = 0x1c;

const T0 = 1_700_000_000 * 1e9; // 2023-11-14, in ns: beyond 2^53, as real epoch times are

function setup() {
  const clock = {
    frequencyHz: 10_000_000,
    ns: T0,
    mtime: () => 0,
    wallClockNs() {
      return this.ns;
    },
  };
  const line = {
    level: false,
    set(l: boolean) {
      this.level = l;
    },
  };
  const rtc = new GoldfishRtc(line, clock as Clock);
  const rd = (o: number) => rtc.read(o, 4) >>> 0;
  const wr = (o: number, v: number) => rtc.write(o, 4, v >>> 0);
  const readTime = () => {
    const lo = rd(TIME_LOW);
    return rd(TIME_HIGH) * 2 ** 32 + lo;
  };
  return { clock, line, rtc, rd, wr, readTime };
}

test('TIME_LOW then TIME_HIGH read the wall clock; the high half is latched by the low read', () => {
  const { clock, rd, readTime } = setup();
  assert.equal(readTime(), T0);
  const lo = rd(TIME_LOW);
  clock.ns += 2 ** 33; // the high word moves between the two reads
  assert.equal(rd(TIME_HIGH) * 2 ** 32 + lo, T0, 'still the latched value');
  assert.equal(readTime(), T0 + 2 ** 33);
});

test('setting the time as Linux does (TIME_HIGH, then TIME_LOW) moves the guest clock only', () => {
  const { clock, wr, readTime } = setup();
  const target = 1_000_000_000 * 1e9;
  wr(TIME_HIGH, Math.floor(target / 2 ** 32));
  wr(TIME_LOW, target % 2 ** 32);
  assert.equal(readTime(), target);
  clock.ns += 5e9;
  assert.equal(readTime(), target + 5e9);
});

test('an alarm fires when due, sets the interrupt if enabled, and disarms', () => {
  const { clock, rtc, line, rd, wr } = setup();
  const at = T0 + 3e9;
  wr(ALARM_HIGH, Math.floor(at / 2 ** 32));
  wr(ALARM_LOW, at % 2 ** 32);
  wr(IRQ_ENABLED, 1);
  assert.equal(rd(ALARM_STATUS), 1);
  assert.equal(rd(ALARM_HIGH) * 2 ** 32 + rd(ALARM_LOW), at);
  assert.equal(rtc.nextAlarmNs(), at);
  clock.ns = at - 256;
  rtc.poll();
  assert.equal(line.level, false);
  clock.ns = at;
  rtc.poll();
  assert.equal(line.level, true);
  assert.equal(rd(ALARM_STATUS), 0);
  assert.equal(rtc.nextAlarmNs(), Infinity);
  wr(CLEAR_INTERRUPT, 1);
  assert.equal(line.level, false);
});

test('IRQ_ENABLED gates the line; an alarm in the past fires at once; CLEAR_ALARM disarms', () => {
  const { rtc, line, rd, wr } = setup();
  wr(ALARM_HIGH, 0);
  wr(ALARM_LOW, 1000); // long ago
  assert.equal(rd(ALARM_STATUS), 0, 'fired on arming');
  assert.equal(line.level, false, 'but interrupts are disabled');
  wr(IRQ_ENABLED, 1);
  assert.equal(rd(IRQ_ENABLED), 1);
  assert.equal(line.level, true);
  wr(IRQ_ENABLED, 0);
  assert.equal(line.level, false);
  wr(CLEAR_INTERRUPT, 1);
  const at = T0 + 1e12;
  wr(ALARM_HIGH, Math.floor(at / 2 ** 32));
  wr(ALARM_LOW, at % 2 ** 32);
  wr(CLEAR_ALARM, 1);
  assert.equal(rd(ALARM_STATUS), 0);
  assert.equal(rtc.nextAlarmNs(), Infinity);
});

test('nextAlarmNs is in host wall-clock time even after the guest moved its clock', () => {
  const { rtc, wr } = setup();
  const guestNow = T0 - 1e12;
  wr(TIME_HIGH, Math.floor(guestNow / 2 ** 32));
  wr(TIME_LOW, guestNow % 2 ** 32);
  const at = guestNow + 10e9;
  wr(ALARM_HIGH, Math.floor(at / 2 ** 32));
  wr(ALARM_LOW, at % 2 ** 32);
  assert.ok(Math.abs(rtc.nextAlarmNs() - (T0 + 10e9)) <= 512);
});

test('save and restore keep the guest offset and alarm; a bad field is named', () => {
  const a = setup();
  const guestNow = T0 + 7e12;
  a.wr(TIME_HIGH, Math.floor(guestNow / 2 ** 32));
  a.wr(TIME_LOW, guestNow % 2 ** 32);
  a.wr(IRQ_ENABLED, 1);
  const saved = JSON.parse(JSON.stringify(a.rtc.saveState())) as Record<string, unknown>;
  const b = setup();
  b.rtc.restoreState(saved);
  assert.deepEqual(b.rtc.saveState(), a.rtc.saveState());
  assert.ok(Math.abs(b.readTime() - guestNow) <= 512);
  assert.throws(
    () => b.rtc.restoreState({ ...saved, irqEnabled: 1 }),
    /GoldfishRtcState\.irqEnabled must be a boolean/,
  );
  assert.throws(
    () => b.rtc.restoreState({ ...saved, alarmHigh: 2 ** 32 }),
    /GoldfishRtcState\.alarmHigh must be/,
  );
});
