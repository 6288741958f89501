/**
 * The ACLINT MSWI and MTIMER devices in QEMU virt's CLINT layout (RISC-V ACLINT spec):
 *
 *   0x0000 + 4*hart   msip      bit 0 = the hart's machine software interrupt (MSIP)
 *   0x4000 + 8*hart   mtimecmp  64-bit, as two 32-bit halves (low word first)
 *   0xbff8            mtime     64-bit, as two 32-bit halves
 *
 * in a 0x10000-byte window. Accesses are 32-bit (the bus splits 64-bit ones); other widths
 * read 0 and are ignored.
 *
 * mtime is the board clock's `mtime()` plus an offset that a guest write to mtime sets (no
 * Linux or OpenSBI does that, but the register is writable). mtimecmp is kept as exact 32-bit
 * halves, so the all-ones "never" that firmware writes compares correctly; it resets to all
 * ones, so no timer interrupt is pending before software arms one. The hart's MTIP is level
 * `timerPending(hart)`; the board polls it, and `onTimerChange` tells it to poll now because
 * mtimecmp or mtime was written. `onSoftware` is called on every msip write with the new level.
 */
import type { Clock, MmioDevice } from '../device.ts';

const MSIP_BASE = 0x0000;
const MTIMECMP_BASE = 0x4000;
const MTIME = 0xbff8;
const TWO_32 = 0x1_0000_0000;
/** mtimecmp high words at or above this are 2^53 or more: beyond any mtime we can represent. */
const HIGH_LIMIT = 0x200000;

export interface AclintHooks {
  /** msip of `hart` was written; `level` is its new value. */
  onSoftware(hart: number, level: boolean): void;
  /** mtimecmp of `hart` (or mtime, for every hart) was written: re-poll `timerPending` now. */
  onTimerChange(hart: number): void;
}

export type AclintState = {
  version: 1;
  msip: number[];
  mtimecmpLo: number[];
  mtimecmpHi: number[];
  /** mtime when saved; a restore continues from it whatever the new host's clock says. */
  mtime: number;
};

export class Aclint implements MmioDevice {
  readonly name = 'clint';
  readonly sizeBytes = 0x10000;
  readonly numHarts: number;
  private readonly clock: Clock;
  private readonly hooks: AclintHooks;
  private readonly msip: Uint8Array;
  private readonly cmpLo: Uint32Array;
  private readonly cmpHi: Uint32Array;
  private mtimeOffset = 0;

  constructor(numHarts: number, clock: Clock, hooks: AclintHooks) {
    if (!Number.isInteger(numHarts) || numHarts < 1 || numHarts > 4095) {
      throw new Error(`ACLINT: numHarts ${numHarts} is not in 1..4095`);
    }
    this.numHarts = numHarts;
    this.clock = clock;
    this.hooks = hooks;
    this.msip = new Uint8Array(numHarts);
    this.cmpLo = new Uint32Array(numHarts).fill(0xffffffff);
    this.cmpHi = new Uint32Array(numHarts).fill(0xffffffff);
  }

  /** The current mtime in ticks. */
  mtime(): number {
    return Math.floor(this.clock.mtime()) + this.mtimeOffset;
  }

  /** MTIP of `hart`: mtime >= mtimecmp, unsigned 64-bit. */
  timerPending(hart: number): boolean {
    const hi = this.cmpHi[hart] ?? 0xffffffff;
    if (hi >= HIGH_LIMIT) return false;
    return this.mtime() >= hi * TWO_32 + (this.cmpLo[hart] ?? 0);
  }

  /**
   * When `hart`'s timer fires, in the ticks of `clock.mtime()` (so the board can compare it
   * with its clock directly); Infinity if mtimecmp is 2^53 or more.
   */
  nextDeadline(hart: number): number {
    const hi = this.cmpHi[hart] ?? 0xffffffff;
    if (hi >= HIGH_LIMIT) return Infinity;
    return hi * TWO_32 + (this.cmpLo[hart] ?? 0) - this.mtimeOffset;
  }

  read(offset: number, width: 1 | 2 | 4): number {
    if (width !== 4 || (offset & 3) !== 0) return 0;
    if (offset < MTIMECMP_BASE) {
      const hart = (offset - MSIP_BASE) >> 2;
      return hart < this.numHarts ? (this.msip[hart] ?? 0) : 0;
    }
    if (offset === MTIME || offset === MTIME + 4) {
      const now = this.mtime();
      return offset === MTIME ? (now % TWO_32) >>> 0 : Math.floor(now / TWO_32) >>> 0;
    }
    const hart = (offset - MTIMECMP_BASE) >> 3;
    if (offset < MTIME && hart < this.numHarts) {
      return (offset & 4) === 0 ? (this.cmpLo[hart] ?? 0) : (this.cmpHi[hart] ?? 0);
    }
    return 0;
  }

  write(offset: number, width: 1 | 2 | 4, value: number): void {
    if (width !== 4 || (offset & 3) !== 0) return;
    value >>>= 0;
    if (offset < MTIMECMP_BASE) {
      const hart = (offset - MSIP_BASE) >> 2;
      if (hart >= this.numHarts) return;
      this.msip[hart] = value & 1;
      this.hooks.onSoftware(hart, (value & 1) !== 0);
      return;
    }
    if (offset === MTIME || offset === MTIME + 4) {
      const now = this.mtime();
      const lo = offset === MTIME ? value : now % TWO_32;
      const hi = offset === MTIME ? Math.floor(now / TWO_32) : value;
      this.mtimeOffset = hi * TWO_32 + lo - Math.floor(this.clock.mtime());
      for (let h = 0; h < this.numHarts; h++) this.hooks.onTimerChange(h);
      return;
    }
    const hart = (offset - MTIMECMP_BASE) >> 3;
    if (offset >= MTIME || hart >= this.numHarts) return;
    if ((offset & 4) === 0) this.cmpLo[hart] = value;
    else this.cmpHi[hart] = value;
    this.hooks.onTimerChange(hart);
  }

  saveState(): AclintState {
    return {
      version: 1,
      msip: Array.from(this.msip),
      mtimecmpLo: Array.from(this.cmpLo),
      mtimecmpHi: Array.from(this.cmpHi),
      mtime: this.mtime(),
    };
  }

  /** Restores a saved state and re-announces msip and timers to the harts. */
  restoreState(state: unknown): void {
    const kind = 'AclintState';
    if (typeof state !== 'object' || state === null) throw new Error(`${kind} must be an object`);
    const s = state as Record<string, unknown>;
    if (s['version'] !== 1) throw new Error(`${kind}.version must be 1 (got ${String(s['version'])})`);
    const perHart = (field: string, max: number): number[] => {
      const v = s[field];
      if (
        !Array.isArray(v) ||
        v.length !== this.numHarts ||
        !v.every((x) => Number.isInteger(x) && x >= 0 && x <= max)
      ) {
        throw new Error(`${kind}.${field} must be an array of ${this.numHarts} integers in 0..${max}`);
      }
      return v as number[];
    };
    const msip = perHart('msip', 1);
    const lo = perHart('mtimecmpLo', 0xffffffff);
    const hi = perHart('mtimecmpHi', 0xffffffff);
    const mtime = s['mtime'];
    if (typeof mtime !== 'number' || !Number.isSafeInteger(mtime) || mtime < 0) {
      throw new Error(`${kind}.mtime must be a non-negative safe integer (got ${String(mtime)})`);
    }
    this.msip.set(msip);
    this.cmpLo.set(lo);
    this.cmpHi.set(hi);
    this.mtimeOffset = mtime - Math.floor(this.clock.mtime());
    for (let h = 0; h < this.numHarts; h++) {
      this.hooks.onSoftware(h, this.msip[h] === 1);
      this.hooks.onTimerChange(h);
    }
  }
}
