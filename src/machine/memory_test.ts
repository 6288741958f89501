import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HART_BLOCK_BYTES } from './hart/layout.ts';
import { MachineMemory, MAX_RAM_BYTES } from './memory.ts';

test('machine memory: hart blocks, then RAM at a 1 MiB boundary; too much for 4 GiB is refused in one sentence', () => {
  const m = new MachineMemory({ harts: 3, ramBase: 0x8000_0000, ramBytes: 1 << 20 });
  assert.equal(m.ramOffset, Math.ceil((3 * HART_BLOCK_BYTES) / (1 << 20)) * (1 << 20));
  assert.ok(m.memory.buffer.byteLength >= m.ramOffset + (1 << 20));
  assert.throws(
    () => new MachineMemory({ harts: 64, ramBase: 0x8000_0000, ramBytes: MAX_RAM_BYTES }),
    /^RangeError: 4032 MiB of RAM and 64 vCPU state blocks exceed the 4 GiB of machine memory; use less RAM or fewer vCPUs$/,
  );
});
