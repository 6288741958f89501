/**
 * The retired-instruction count as the host reads it (Hart.instret: the hypervisor's vCPU
 * statistics, a board's instruction total, CSR writes made by the host) between slices.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Bus } from '../bus.ts';
import { CodeCache } from '../code_cache.ts';
import { encode } from '../isa/encode.ts';
import { Op } from '../isa/op.ts';
import { MachineMemory } from '../memory.ts';
import { hostCsrWrite } from './csr.ts';
import { Csr } from './csr_defs.ts';
import { Hart } from './hart.ts';
import { run } from './interp.ts';

const RAM = 0x8000_0000;

test('after a slice that ends in a trap, instret counts exactly the instructions that retired', () => {
  const mem = new MachineMemory({ harts: 1, ramBase: RAM, ramBytes: 1 << 20 });
  const clock = { frequencyHz: 10_000_000, mtime: () => 0, wallClockNs: () => 0 };
  const h = new Hart(0, { mem, bus: new Bus(), code: new CodeCache(mem.ramPages), clock });
  const addi = encode(Op.ADDI, { rd: 5, rs1: 5, imm: 1 });
  // Three ADDIs, an ECALL (traps: does not retire), and the handler at RAM + 0x100: ADDIs.
  mem.loadBytes(RAM, new Uint8Array(new Int32Array([addi, addi, addi, encode(Op.ECALL)]).buffer));
  mem.loadBytes(RAM + 0x100, new Uint8Array(new Int32Array(16).fill(addi).buffer));
  hostCsrWrite(h, Csr.mtvec, BigInt(RAM + 0x100));
  h.setPc(RAM | 0, 0);
  assert.equal(run(h, 4), 3);
  assert.equal(h.instret, 3);
  assert.equal(run(h, 2), 2);
  assert.equal(h.instret, 5);
  assert.equal(h.xNumber(5), 5);
});
