import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Uart16550 } from './uart16550.ts';

const RBR = 0,
  THR = 0,
  IER = 1,
  IIR = 2,
  FCR = 2,
  LCR = 3,
  MCR = 4,
  LSR = 5,
  MSR = 6,
  SCR = 7;

function setup() {
  const line = {
    level: false,
    changes: 0,
    set(l: boolean) {
      this.level = l;
      this.changes++;
    },
  };
  const out: number[] = [];
  const uart = new Uart16550(line, (b) => out.push(b));
  const rd = (off: number) => uart.read(off, 1);
  const wr = (off: number, v: number) => uart.write(off, 1, v);
  return { uart, line, out, rd, wr };
}

test('reset state: THR empty, no interrupt, terminal lines up', () => {
  const { rd, line } = setup();
  assert.equal(rd(LSR), 0x60);
  assert.equal(rd(IIR), 0x01);
  assert.equal(rd(MSR), 0xb0);
  assert.equal(line.level, false);
});

test('THR writes transmit at once; DLAB switches offsets 0 and 1 to the divisor latch', () => {
  const { rd, wr, out } = setup();
  wr(THR, 0x41);
  wr(THR, 0x142); // only the low byte counts
  assert.deepEqual(out, [0x41, 0x42]);
  wr(LCR, 0x83);
  wr(0, 0x01);
  wr(1, 0x02);
  assert.equal(rd(0), 0x01);
  assert.equal(rd(1), 0x02);
  assert.deepEqual(out, [0x41, 0x42], 'DLL writes are not data');
  wr(LCR, 0x03);
  assert.equal(rd(IER), 0);
  assert.equal(rd(LCR), 0x03);
  wr(SCR, 0x5a);
  assert.equal(rd(SCR), 0x5a);
});

test('IER keeps its low four bits only (what Linux probes)', () => {
  const { rd, wr } = setup();
  wr(IER, 0xff);
  assert.equal(rd(IER), 0x0f);
  wr(IER, 0);
  assert.equal(rd(IER), 0);
});

test('THR-empty interrupt: raised by enabling ETBEI, cleared by reading IIR, raised again by a THR write', () => {
  const { rd, wr, line } = setup();
  wr(IER, 0x02);
  assert.equal(line.level, true);
  assert.equal(rd(IIR), 0x02);
  assert.equal(line.level, false);
  assert.equal(rd(IIR), 0x01, 'acknowledged');
  wr(THR, 0x20);
  assert.equal(line.level, true);
  wr(IER, 0);
  assert.equal(line.level, false);
  // Linux's UART_BUG_THRE probe: re-enabling ETBEI with THR idle must re-assert it.
  wr(IER, 0x02);
  assert.equal(rd(IIR) & 0x0f, 0x02);
});

test('received data: FIFO of 16 fed losslessly from the host queue; trigger level and timeout ids', () => {
  const { uart, rd, wr, line } = setup();
  wr(FCR, 0x81); // FIFOs on, RCVR trigger 8
  assert.equal(rd(IIR), 0xc1);
  wr(IER, 0x01);
  const input = Uint8Array.from({ length: 40 }, (_, i) => i + 1);
  uart.receive(input);
  input.fill(0); // the UART took a copy
  assert.equal(line.level, true);
  assert.equal(rd(IIR), 0xc4, 'at or above the trigger level');
  assert.equal(rd(LSR) & 0x01, 0x01);
  const got: number[] = [];
  while (rd(LSR) & 0x01) got.push(rd(RBR));
  assert.deepEqual(
    got,
    Array.from({ length: 40 }, (_, i) => i + 1),
  );
  assert.equal(line.level, false);
  uart.receive(Uint8Array.of(9));
  assert.equal(rd(IIR), 0xcc, 'below the trigger level: character timeout');
  assert.equal(rd(RBR), 9);
  assert.equal(rd(RBR), 0, 'empty RBR reads 0');
  assert.equal(uart.pendingInputBytes(), 0);
});

test('received data outranks THR empty', () => {
  const { uart, rd, wr } = setup();
  wr(IER, 0x03);
  uart.receive(Uint8Array.of(1));
  assert.equal(rd(IIR), 0x04);
  rd(RBR);
  assert.equal(rd(IIR), 0x02);
});

test('a FIFO reset discards the FIFO but not the host queue behind it', () => {
  const { uart, rd, wr } = setup();
  wr(FCR, 0x01);
  uart.receive(Uint8Array.from({ length: 20 }, (_, i) => i));
  wr(FCR, 0x03);
  assert.equal(uart.pendingInputBytes(), 4);
  assert.equal(rd(RBR), 16);
  // Turning FIFOs off clears them too; then the receiver holds one byte at a time.
  wr(FCR, 0x00);
  assert.equal(uart.pendingInputBytes(), 0);
  uart.receive(Uint8Array.of(7, 8, 9));
  wr(FCR, 0x02);
  assert.equal(uart.pendingInputBytes(), 2, 'only the one held byte was discarded');
  assert.equal(rd(RBR), 8);
  assert.equal(rd(RBR), 9);
});

test('loopback: THR comes back as data, MSR mirrors MCR as Linux probes it', () => {
  const { rd, wr, out } = setup();
  wr(MCR, 0x10 | 0x0a);
  assert.equal(rd(MSR) & 0xf0, 0x90);
  wr(MCR, 0x10 | 0x05);
  assert.equal(rd(MSR) & 0xf0, 0x60);
  wr(THR, 0x77);
  assert.deepEqual(out, []);
  assert.equal(rd(LSR) & 0x01, 1);
  assert.equal(rd(RBR), 0x77);
});

test('modem status interrupt from delta bits; reading MSR clears them', () => {
  const { rd, wr, line } = setup();
  wr(IER, 0x08);
  wr(MCR, 0x10); // loopback: CTS/DSR/DCD drop
  assert.equal(line.level, true);
  assert.equal(rd(IIR), 0x00);
  assert.equal(rd(MSR), 0x0b);
  assert.equal(line.level, false);
  assert.equal(rd(MSR), 0x00);
});

test('save and restore keep registers and unread input; a bad field is named', () => {
  const a = setup();
  a.wr(FCR, 0xc1);
  a.wr(IER, 0x01);
  a.wr(SCR, 0x33);
  a.uart.receive(new TextEncoder().encode('0123456789abcdefXYZ'));
  a.rd(RBR);
  const saved = JSON.parse(JSON.stringify(a.uart.saveState())) as Record<string, unknown>;
  const b = setup();
  b.uart.restoreState(saved);
  assert.deepEqual(b.uart.saveState(), a.uart.saveState());
  assert.equal(b.line.level, true);
  assert.equal(b.rd(SCR), 0x33);
  let s = '';
  while (b.rd(LSR) & 1) s += String.fromCharCode(b.rd(RBR));
  assert.equal(s, '123456789abcdefXYZ');
  assert.throws(
    () => b.uart.restoreState({ ...saved, ier: 0x10 }),
    /Uart16550State\.ier must be an integer in 0\.\.15/,
  );
  assert.throws(
    () => b.uart.restoreState({ ...saved, rx: [1, 'x'] }),
    /Uart16550State\.rx must be an array of bytes/,
  );
  assert.throws(() => b.uart.restoreState({ ...saved, version: 0 }), /version must be 1/);
});
