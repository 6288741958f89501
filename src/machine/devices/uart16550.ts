/**
 * NS16550A UART (the "ns16550a" of QEMU's virt board): reg-shift 0, one-byte registers, a
 * window of 0x100 bytes of which offsets 0..7 decode.
 *
 * Transmission is instantaneous: a byte written to THR goes to `onTransmit` at once, so THR
 * and the transmitter are always empty (LSR THRE and TEMT set). Reception never overruns: host
 * input waits in an unbounded host-side queue that feeds the 16-byte RCVR FIFO (1 byte with
 * FIFOs disabled) as the guest drains it. A FIFO reset (FCR bit 1, or toggling FCR bit 0)
 * discards what is in the FIFO, as on the chip; the host queue behind it is kept.
 *
 * Interrupts (IIR, highest priority first): receiver line status (never raised: no parity,
 * framing or overrun errors here), received data (IIR 0x4 at or above the RCVR trigger level,
 * else 0xc, the character timeout, at once rather than after four character times),
 * THR empty (raised by a THR write or by setting IER.ETBEI; cleared by reading IIR while it is
 * the reported source, or by clearing ETBEI), modem status (delta bits, in loopback only).
 * The interrupt line is high while IIR reports an interrupt; MCR.OUT2 does not gate it, as on
 * QEMU's board.
 *
 * Loopback (MCR.LOOP): THR bytes come back as received data, and MSR reflects MCR
 * (DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD) as Linux's probe expects. Otherwise MSR reports
 * CTS, DSR and DCD asserted: a terminal is always attached.
 */
import type { InterruptLine, MmioDevice } from '../device.ts';

// Register offsets; DLL and DLM replace RBR/THR and IER while LCR.DLAB is set.
const RBR_THR_DLL = 0;
const IER_DLM = 1;
const IIR_FCR = 2;
const LCR = 3;
const MCR = 4;
const LSR = 5;
const MSR = 6;
const SCR = 7;

const IER_ERBFI = 0x01;
const IER_ETBEI = 0x02;
const IER_EDSSI = 0x08;

const IIR_NO_INTERRUPT = 0x01;
const IIR_MODEM_STATUS = 0x00;
const IIR_THR_EMPTY = 0x02;
const IIR_RX_DATA = 0x04;
const IIR_CHAR_TIMEOUT = 0x0c;
const IIR_FIFOS_ENABLED = 0xc0;

const FCR_FIFO_ENABLE = 0x01;
const FCR_RCVR_RESET = 0x02;

const LCR_DLAB = 0x80;

const MCR_LOOP = 0x10;

const LSR_DR = 0x01;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;

const MSR_DELTAS = 0x0f;
const MSR_DCTS = 0x01;
const MSR_DDSR = 0x02;
const MSR_TERI = 0x04;
const MSR_DDCD = 0x08;
const MSR_CTS = 0x10;
const MSR_DSR = 0x20;
const MSR_RI = 0x40;
const MSR_DCD = 0x80;

const FIFO_BYTES = 16;
const RCVR_TRIGGER = [1, 4, 8, 14];

export type Uart16550State = {
  version: 1;
  ier: number;
  lcr: number;
  mcr: number;
  scr: number;
  dll: number;
  dlm: number;
  fcr: number;
  msrDelta: number;
  thrInterrupt: boolean;
  /** Received bytes not yet read by the guest: the RCVR FIFO first, then the host queue. */
  rx: number[];
};

export class Uart16550 implements MmioDevice {
  readonly name = 'uart0';
  readonly sizeBytes = 0x100;
  private readonly irq: InterruptLine;
  private readonly onTransmit: (byte: number) => void;
  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private scr = 0;
  private dll = 0;
  private dlm = 0;
  /** FIFO enable and RCVR trigger bits of the last FCR write. */
  private fcr = 0;
  private msrDelta = 0;
  private thrInterrupt = false;
  private readonly fifo = new Uint8Array(FIFO_BYTES);
  private fifoHead = 0;
  private fifoCount = 0;
  /** Host input behind the FIFO: chunks in order, the first consumed from `hostOffset`. */
  private host: Uint8Array[] = [];
  private hostOffset = 0;
  private irqLevel = false;

  constructor(irq: InterruptLine, onTransmit: (byte: number) => void) {
    this.irq = irq;
    this.onTransmit = onTransmit;
  }

  /** Host input: queued without loss (a host-side queue feeds the 16-byte RX FIFO as it drains). */
  receive(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.host.push(bytes.slice());
    this.refill();
    this.update();
  }

  /** Received bytes the guest has not read yet (FIFO and host queue). */
  pendingInputBytes(): number {
    let n = this.fifoCount;
    for (const c of this.host) n += c.length;
    return n - this.hostOffset;
  }

  read(offset: number, _width: 1 | 2 | 4): number {
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case RBR_THR_DLL:
        return dlab ? this.dll : this.readRbr();
      case IER_DLM:
        return dlab ? this.dlm : this.ier;
      case IIR_FCR: {
        const iir = this.iir();
        // Reading IIR while it reports THR empty is what acknowledges that interrupt.
        if ((iir & 0x0f) === IIR_THR_EMPTY) {
          this.thrInterrupt = false;
          this.update();
        }
        return iir;
      }
      case LCR:
        return this.lcr;
      case MCR:
        return this.mcr;
      case LSR:
        return LSR_THRE | LSR_TEMT | (this.fifoCount > 0 ? LSR_DR : 0);
      case MSR: {
        const msr = this.modemLines() | this.msrDelta;
        this.msrDelta = 0;
        this.update();
        return msr;
      }
      case SCR:
        return this.scr;
      default:
        return 0;
    }
  }

  write(offset: number, _width: 1 | 2 | 4, value: number): void {
    value &= 0xff;
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case RBR_THR_DLL:
        if (dlab) {
          this.dll = value;
        } else {
          if ((this.mcr & MCR_LOOP) !== 0) this.host.push(Uint8Array.of(value));
          else this.onTransmit(value);
          this.thrInterrupt = true;
          this.refill();
        }
        break;
      case IER_DLM:
        if (dlab) {
          this.dlm = value;
        } else {
          const changed = (this.ier ^ value) & IER_ETBEI;
          this.ier = value & 0x0f;
          // THR is always empty: enabling ETBEI raises the interrupt at once, as on the chip.
          if (changed !== 0) this.thrInterrupt = (this.ier & IER_ETBEI) !== 0;
        }
        break;
      case IIR_FCR:
        this.writeFcr(value);
        break;
      case LCR:
        this.lcr = value;
        break;
      case MCR: {
        const before = this.modemLines();
        this.mcr = value & 0x1f;
        this.noteModemChange(before, this.modemLines());
        break;
      }
      case SCR:
        this.scr = value;
        break;
      default:
        return;
    }
    this.update();
  }

  saveState(): Uart16550State {
    const rx: number[] = [];
    for (let i = 0; i < this.fifoCount; i++) rx.push(this.fifo[(this.fifoHead + i) % FIFO_BYTES] ?? 0);
    this.host.forEach((c, i) => rx.push(...(i === 0 ? c.subarray(this.hostOffset) : c)));
    return {
      version: 1,
      ier: this.ier,
      lcr: this.lcr,
      mcr: this.mcr,
      scr: this.scr,
      dll: this.dll,
      dlm: this.dlm,
      fcr: this.fcr,
      msrDelta: this.msrDelta,
      thrInterrupt: this.thrInterrupt,
      rx,
    };
  }

  restoreState(state: unknown): void {
    const kind = 'Uart16550State';
    if (typeof state !== 'object' || state === null) throw new Error(`${kind} must be an object`);
    const s = state as Record<string, unknown>;
    if (s['version'] !== 1) throw new Error(`${kind}.version must be 1 (got ${String(s['version'])})`);
    const byte = (field: string, max = 0xff): number => {
      const v = s[field];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
        throw new Error(`${kind}.${field} must be an integer in 0..${max} (got ${String(v)})`);
      }
      return v;
    };
    const fields = {
      ier: byte('ier', 0x0f),
      lcr: byte('lcr'),
      mcr: byte('mcr', 0x1f),
      scr: byte('scr'),
      dll: byte('dll'),
      dlm: byte('dlm'),
      fcr: byte('fcr'),
      msrDelta: byte('msrDelta', MSR_DELTAS),
    };
    const thr = s['thrInterrupt'];
    if (typeof thr !== 'boolean') throw new Error(`${kind}.thrInterrupt must be a boolean`);
    const rx = s['rx'];
    if (!Array.isArray(rx) || !rx.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
      throw new Error(`${kind}.rx must be an array of bytes`);
    }
    this.ier = fields.ier;
    this.lcr = fields.lcr;
    this.mcr = fields.mcr;
    this.scr = fields.scr;
    this.dll = fields.dll;
    this.dlm = fields.dlm;
    this.fcr = fields.fcr & (FCR_FIFO_ENABLE | 0xc0);
    this.msrDelta = fields.msrDelta;
    this.thrInterrupt = thr;
    this.fifoHead = 0;
    this.fifoCount = 0;
    this.host = rx.length > 0 ? [Uint8Array.from(rx as number[])] : [];
    this.hostOffset = 0;
    this.refill();
    // Drive the line whatever it was: the controller behind it was restored separately.
    this.irqLevel = (this.iir() & IIR_NO_INTERRUPT) === 0;
    this.irq.set(this.irqLevel);
  }

  private readRbr(): number {
    if (this.fifoCount === 0) return 0;
    const byte = this.fifo[this.fifoHead] ?? 0;
    this.fifoHead = (this.fifoHead + 1) % FIFO_BYTES;
    this.fifoCount--;
    this.refill();
    this.update();
    return byte;
  }

  private writeFcr(value: number): void {
    const enable = value & FCR_FIFO_ENABLE;
    if (enable !== (this.fcr & FCR_FIFO_ENABLE) || (value & FCR_RCVR_RESET) !== 0) {
      this.fifoHead = 0;
      this.fifoCount = 0;
    }
    this.fcr = value & (FCR_FIFO_ENABLE | 0xc0);
    this.refill();
  }

  /** Moves host input into the FIFO while there is room. */
  private refill(): void {
    const capacity = (this.fcr & FCR_FIFO_ENABLE) !== 0 ? FIFO_BYTES : 1;
    while (this.fifoCount < capacity && this.host.length > 0) {
      const chunk = this.host[0] as Uint8Array;
      this.fifo[(this.fifoHead + this.fifoCount) % FIFO_BYTES] = chunk[this.hostOffset] ?? 0;
      this.fifoCount++;
      if (++this.hostOffset === chunk.length) {
        this.host.shift();
        this.hostOffset = 0;
      }
    }
  }

  private iir(): number {
    const fifos = (this.fcr & FCR_FIFO_ENABLE) !== 0;
    let id = IIR_NO_INTERRUPT;
    if ((this.ier & IER_ERBFI) !== 0 && this.fifoCount > 0) {
      const trigger = fifos ? (RCVR_TRIGGER[this.fcr >> 6] ?? 1) : 1;
      id = this.fifoCount >= trigger ? IIR_RX_DATA : IIR_CHAR_TIMEOUT;
    } else if ((this.ier & IER_ETBEI) !== 0 && this.thrInterrupt) {
      id = IIR_THR_EMPTY;
    } else if ((this.ier & IER_EDSSI) !== 0 && this.msrDelta !== 0) {
      id = IIR_MODEM_STATUS;
    }
    return id | (fifos ? IIR_FIFOS_ENABLED : 0);
  }

  /** The MSR status bits (7..4). */
  private modemLines(): number {
    const mcr = this.mcr;
    if ((mcr & MCR_LOOP) === 0) return MSR_CTS | MSR_DSR | MSR_DCD;
    return (
      (mcr & 0x01 ? MSR_DSR : 0) |
      (mcr & 0x02 ? MSR_CTS : 0) |
      (mcr & 0x04 ? MSR_RI : 0) |
      (mcr & 0x08 ? MSR_DCD : 0)
    );
  }

  private noteModemChange(before: number, after: number): void {
    const changed = before ^ after;
    if (changed & MSR_CTS) this.msrDelta |= MSR_DCTS;
    if (changed & MSR_DSR) this.msrDelta |= MSR_DDSR;
    if (before & MSR_RI && !(after & MSR_RI)) this.msrDelta |= MSR_TERI;
    if (changed & MSR_DCD) this.msrDelta |= MSR_DDCD;
  }

  private update(): void {
    const level = (this.iir() & IIR_NO_INTERRUPT) === 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq.set(level);
    }
  }
}
