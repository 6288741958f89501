import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Bus } from '../bus.ts';
import { CodeCache } from '../code_cache.ts';
import { MachineMemory } from '../memory.ts';
import { CsrOp, csrInsn, hostCsrRead, hostCsrWrite } from './csr.ts';
import { Csr, Irq, Priv } from './csr_defs.ts';
import { Hart } from './hart.ts';
import { run } from './interp.ts';
import { encode } from '../isa/encode.ts';
import { Op } from '../isa/op.ts';

function hart(): Hart {
  const mem = new MachineMemory({ harts: 1, ramBase: 0x8000_0000, ramBytes: 1 << 20 });
  const clock = { frequencyHz: 10_000_000, mtime: () => 1234, wallClockNs: () => 0 };
  return new Hart(0, { mem, bus: new Bus(), code: new CodeCache(mem.ramPages), clock });
}

test('csrrs on mip does not latch the external SEIP line into the software bit', () => {
  const h = hart();
  h.setIrqLine(Irq.SEIP, true); // the PLIC asserts S-mode external
  assert.equal(hostCsrRead(h, Csr.mip)! & BigInt(Irq.SEIP), BigInt(Irq.SEIP));
  assert.ok(csrInsn(h, CsrOp.RS, Csr.mip, Irq.STIP, 0, true, true));
  h.setIrqLine(Irq.SEIP, false); // the PLIC line drops
  assert.equal(hostCsrRead(h, Csr.mip), BigInt(Irq.STIP));
});

test('satp ignores writes of unsupported modes (Linux probes Sv57 first)', () => {
  const h = hart();
  hostCsrWrite(h, Csr.satp, (10n << 60n) | 0x80123n); // Sv57: not implemented
  assert.equal(hostCsrRead(h, Csr.satp), 0n);
  hostCsrWrite(h, Csr.satp, (9n << 60n) | 0x80123n); // Sv48
  assert.equal(hostCsrRead(h, Csr.satp), (9n << 60n) | 0x80123n);
});

test('CSR privilege and read-only checks raise illegal instruction', () => {
  const h = hart();
  h.setPriv(Priv.S);
  assert.equal(csrInsn(h, CsrOp.RS, Csr.mstatus, 0, 0, false, true), false);
  h.setPriv(Priv.M);
  assert.equal(csrInsn(h, CsrOp.RW, Csr.mhartid, 1, 0, true, true), false);
  assert.equal(csrInsn(h, CsrOp.RS, Csr.mhartid, 0, 0, false, true), true);
  assert.equal(h.exceptions, 2);
});

test('the host reads and writes fflags of the hart it names, between runs', () => {
  const a = hart();
  const b = hart();
  hostCsrWrite(a, Csr.fflags, 0x11n);
  hostCsrWrite(b, Csr.fflags, 0x4n);
  assert.equal(hostCsrRead(a, Csr.fflags), 0x11n);
  assert.equal(hostCsrRead(b, Csr.fflags), 0x4n);
  hostCsrWrite(a, Csr.frm, 2n);
  assert.equal(hostCsrRead(a, Csr.fcsr), 0x51n);
  // The guest's csrr reads what the host wrote (the interpreter loads fflags from the hart).
  a.mem.loadBytes(
    0x8000_0000,
    new Uint8Array(new Int32Array([encode(Op.CSRRS, { rd: 5, rs1: 0, imm: Csr.fflags })]).buffer),
  );
  hostCsrWrite(a, Csr.mstatus, 1n << 13n); // FS = Initial
  a.setPcNumber(0x8000_0000);
  assert.equal(run(a, 1), 1);
  assert.equal(a.xNumber(5), 0x11);
});
