/**
 * The SiFive test finisher ("sifive,test0" on QEMU's virt board): how firmware ends the
 * machine. A 32-bit write at offset 0 whose low 16 bits are 0x3333 means FAIL, 0x5555 PASS,
 * 0x7777 RESET; the high 16 bits are the exit code. A 16-bit write of the status alone
 * (OpenSBI's system reset uses `writew`) finishes with code 0. Any other value, offset or
 * width is ignored and every read is 0. The window is 0x1000 bytes. The device has no state: what the
 * board does with a finish (stop, exit with the code, reboot) is the board's business.
 */
import type { MmioDevice } from '../device.ts';

export type FinisherEvent = { kind: 'pass' | 'fail' | 'reset'; code: number };

const FINISHER_FAIL = 0x3333;
const FINISHER_PASS = 0x5555;
const FINISHER_RESET = 0x7777;

export class SifiveTest implements MmioDevice {
  readonly name = 'test';
  readonly sizeBytes = 0x1000;
  private readonly onFinish: (e: FinisherEvent) => void;

  constructor(onFinish: (e: FinisherEvent) => void) {
    this.onFinish = onFinish;
  }

  read(): number {
    return 0;
  }

  write(offset: number, width: 1 | 2 | 4, value: number): void {
    if (offset !== 0 || width === 1) return;
    const code = width === 4 ? value >>> 16 : 0;
    switch (value & 0xffff) {
      case FINISHER_FAIL:
        this.onFinish({ kind: 'fail', code });
        break;
      case FINISHER_PASS:
        this.onFinish({ kind: 'pass', code });
        break;
      case FINISHER_RESET:
        this.onFinish({ kind: 'reset', code });
        break;
    }
  }
}
