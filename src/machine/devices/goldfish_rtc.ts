/**
 * The Goldfish real-time clock ("google,goldfish-rtc" on QEMU's virt board), per the Android
 * emulator's Goldfish virtual hardware notes. Time is nanoseconds since the Unix epoch.
 *
 *   0x00 TIME_LOW        read: low 32 bits of now, and latches the high 32 bits; write: sets them
 *   0x04 TIME_HIGH       read: the latched high bits; write: sets the high 32 bits of now
 *   0x08 ALARM_LOW       write: arms the alarm at (ALARM_HIGH << 32 | value); read: alarm low
 *   0x0c ALARM_HIGH      write: high 32 bits for the next ALARM_LOW write; read: alarm high
 *   0x10 IRQ_ENABLED     bit 0 gates the interrupt line
 *   0x14 CLEAR_ALARM     write: disarms the alarm
 *   0x18 ALARM_STATUS    read: 1 while an alarm is armed
 *   0x1c CLEAR_INTERRUPT write: drops the interrupt
 *
 * The guest's clock is the board's `wallClockNs()` plus an offset that writes to TIME_*
 * set (Linux's rtc-goldfish writes TIME_HIGH, then TIME_LOW). A fired alarm disarms itself
 * and makes the interrupt pending; the line is pending AND IRQ_ENABLED. The board calls
 * `poll()` now and then (`nextAlarmNs()` says when it matters); an alarm set in the past
 * fires at once.
 *
 * Epoch nanoseconds (~1.7e18) are beyond 2^53, so times are held as doubles with a
 * resolution of 256 ns; the register halves are split exactly from those doubles.
 */
import type { Clock, InterruptLine, MmioDevice } from '../device.ts';

const TIME_LOW = 0x00;
const TIME_HIGH = 0x04;
const ALARM_LOW = 0x08;
const ALARM_HIGH = 0x0c;
const IRQ_ENABLED = 0x10;
const CLEAR_ALARM = 0x14;
const ALARM_STATUS = 0x18;
const CLEAR_INTERRUPT = 0x1c;

const TWO_32 = 0x1_0000_0000;

export type GoldfishRtcState = {
  version: 1;
  /** Guest time minus the host's wall clock, in ns: a restore keeps the guest's setting. */
  offsetNs: number;
  alarmNs: number;
  alarmArmed: boolean;
  alarmHigh: number;
  timeHighLatch: number;
  irqEnabled: boolean;
  irqPending: boolean;
};

export class GoldfishRtc implements MmioDevice {
  readonly name = 'rtc';
  readonly sizeBytes = 0x1000;
  private readonly irq: InterruptLine;
  private readonly clock: Clock;
  private offsetNs = 0;
  /** The armed alarm in guest time. */
  private alarmNs = 0;
  private alarmArmed = false;
  private alarmHigh = 0;
  private timeHighLatch = 0;
  private irqEnabled = false;
  private irqPending = false;

  constructor(irq: InterruptLine, clock: Clock) {
    this.irq = irq;
    this.clock = clock;
  }

  /** Fires the alarm if it is due. */
  poll(): void {
    if (this.alarmArmed && this.nowNs() >= this.alarmNs) {
      this.alarmArmed = false;
      this.irqPending = true;
      this.drive();
    }
  }

  /** When the armed alarm is due, in the timebase of `clock.wallClockNs()`; Infinity if none. */
  nextAlarmNs(): number {
    return this.alarmArmed ? this.alarmNs - this.offsetNs : Infinity;
  }

  read(offset: number, width: 1 | 2 | 4): number {
    if (width !== 4) return 0;
    switch (offset) {
      case TIME_LOW: {
        const now = this.nowNs();
        this.timeHighLatch = high(now);
        return low(now);
      }
      case TIME_HIGH:
        return this.timeHighLatch;
      case ALARM_LOW:
        return low(this.alarmNs);
      case ALARM_HIGH:
        return high(this.alarmNs);
      case IRQ_ENABLED:
        return this.irqEnabled ? 1 : 0;
      case ALARM_STATUS:
        return this.alarmArmed ? 1 : 0;
      default:
        return 0;
    }
  }

  write(offset: number, width: 1 | 2 | 4, value: number): void {
    if (width !== 4) return;
    value >>>= 0;
    switch (offset) {
      case TIME_LOW: {
        const now = this.nowNs();
        this.setTime(high(now) * TWO_32 + value);
        break;
      }
      case TIME_HIGH: {
        const now = this.nowNs();
        this.setTime(value * TWO_32 + low(now));
        break;
      }
      case ALARM_HIGH:
        this.alarmHigh = value;
        break;
      case ALARM_LOW:
        this.alarmNs = this.alarmHigh * TWO_32 + value;
        this.alarmArmed = true;
        this.poll();
        break;
      case IRQ_ENABLED:
        this.irqEnabled = (value & 1) !== 0;
        this.drive();
        break;
      case CLEAR_ALARM:
        this.alarmArmed = false;
        break;
      case CLEAR_INTERRUPT:
        this.irqPending = false;
        this.drive();
        break;
    }
  }

  saveState(): GoldfishRtcState {
    return {
      version: 1,
      offsetNs: this.offsetNs,
      alarmNs: this.alarmNs,
      alarmArmed: this.alarmArmed,
      alarmHigh: this.alarmHigh,
      timeHighLatch: this.timeHighLatch,
      irqEnabled: this.irqEnabled,
      irqPending: this.irqPending,
    };
  }

  restoreState(state: unknown): void {
    const kind = 'GoldfishRtcState';
    if (typeof state !== 'object' || state === null) throw new Error(`${kind} must be an object`);
    const s = state as Record<string, unknown>;
    if (s['version'] !== 1) throw new Error(`${kind}.version must be 1 (got ${String(s['version'])})`);
    const num = (field: string, min: number, max: number): number => {
      const v = s[field];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
        throw new Error(`${kind}.${field} must be an integer in ${min}..${max} (got ${String(v)})`);
      }
      return v;
    };
    const bool = (field: string): boolean => {
      const v = s[field];
      if (typeof v !== 'boolean') throw new Error(`${kind}.${field} must be a boolean (got ${String(v)})`);
      return v;
    };
    const next = {
      offsetNs: num('offsetNs', -(2 ** 64), 2 ** 64),
      alarmNs: num('alarmNs', 0, 2 ** 64),
      alarmArmed: bool('alarmArmed'),
      alarmHigh: num('alarmHigh', 0, 0xffffffff),
      timeHighLatch: num('timeHighLatch', 0, 0xffffffff),
      irqEnabled: bool('irqEnabled'),
      irqPending: bool('irqPending'),
    };
    this.offsetNs = next.offsetNs;
    this.alarmNs = next.alarmNs;
    this.alarmArmed = next.alarmArmed;
    this.alarmHigh = next.alarmHigh;
    this.timeHighLatch = next.timeHighLatch;
    this.irqEnabled = next.irqEnabled;
    this.irqPending = next.irqPending;
    this.drive();
  }

  private nowNs(): number {
    return this.clock.wallClockNs() + this.offsetNs;
  }

  private setTime(ns: number): void {
    this.offsetNs = ns - this.clock.wallClockNs();
    // A clock moved forward past the alarm fires it.
    this.poll();
  }

  private drive(): void {
    this.irq.set(this.irqPending && this.irqEnabled);
  }
}

function low(ns: number): number {
  return (ns - Math.floor(ns / TWO_32) * TWO_32) >>> 0;
}

function high(ns: number): number {
  return Math.floor(ns / TWO_32) >>> 0;
}
