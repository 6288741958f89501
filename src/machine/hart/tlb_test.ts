/**
 * The soft TLB and SFENCE.VMA with an address, for entries filled from superpages: every
 * 4 KiB entry cut from the superpage that contains the fenced address goes (they all come from
 * the fenced leaf); entries from other superpages stay.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Bus } from '../bus.ts';
import { CodeCache } from '../code_cache.ts';
import { MachineMemory } from '../memory.ts';
import { hostCsrWrite } from './csr.ts';
import { Csr, Priv } from './csr_defs.ts';
import { Hart } from './hart.ts';
import { TLB_ENTRIES, TLB_ENTRY_I32 } from './layout.ts';
import { loadSlow, storeSlow } from './mmu.ts';

const RAM = 0x8000_0000;
const ROOT = RAM + 0x70_0000;
const L1 = RAM + 0x70_1000;
/** Two 2 MiB superpages: VA 0x4000_0000 → PA RAM, VA 0x4020_0000 → PA RAM + 2 MiB. */
const VA_A = 0x4000_0000;
const VA_B = 0x4020_0000;

function setup(): { h: Hart; mem: MachineMemory; setLeaf: (slot: number, pa: number) => void } {
  const mem = new MachineMemory({ harts: 1, ramBase: RAM, ramBytes: 8 << 20 });
  const clock = { frequencyHz: 10_000_000, mtime: () => 0, wallClockNs: () => 0 };
  const h = new Hart(0, { mem, bus: new Bus(), code: new CodeCache(mem.ramPages), clock });
  const dv = new DataView(mem.buffer);
  const pte = (pa: number, flags: number) => (BigInt(pa / 4096) << 10n) | BigInt(flags);
  dv.setBigUint64(mem.ramOffsetOf(ROOT + 1 * 8), pte(L1, 1), true); // VA 0x4000_0000: L1 table
  const setLeaf = (slot: number, pa: number) =>
    dv.setBigUint64(mem.ramOffsetOf(L1 + slot * 8), pte(pa, 0xcf), true); // V R W X A D
  setLeaf(0, RAM);
  setLeaf(1, RAM + 0x20_0000);
  for (let mb = 0; mb < 6; mb += 2)
    dv.setUint32(mem.ramOffsetOf(RAM + (mb << 20) + 0x1100), 0x1000 + mb, true);
  hostCsrWrite(h, Csr.pmpaddr0, (1n << 54n) - 1n);
  hostCsrWrite(h, Csr.pmpcfg0, 0x1fn);
  hostCsrWrite(h, Csr.satp, (8n << 60n) | BigInt(ROOT / 4096));
  h.setPriv(Priv.S);
  return { h, mem, setLeaf };
}

/** Whether the load TLB holds an entry for va's page. */
function cached(h: Hart, va: number): boolean {
  const i = h.loadSet + ((va >>> 12) & (TLB_ENTRIES - 1)) * TLB_ENTRY_I32;
  return h.S[i] === (va & ~0xfff) && h.S[i + 1] === 0;
}

function load(h: Hart, va: number): number {
  assert.ok(loadSlow(h, va, 0, 4));
  return h.tmpLo;
}

test('SFENCE.VMA on one page of a superpage drops every entry of that superpage, and no other', () => {
  const { h, setLeaf } = setup();
  assert.equal(load(h, VA_A + 0x1100), 0x1000);
  assert.equal(load(h, VA_A + 0x5100), 0);
  assert.equal(load(h, VA_B + 0x1100), 0x1002);
  assert.ok(cached(h, VA_A + 0x1000) && cached(h, VA_A + 0x5000) && cached(h, VA_B + 0x1000));
  // Superpage A moves to RAM + 4 MiB; the guest fences one page of it (not one it touched).
  setLeaf(0, RAM + 0x40_0000);
  h.flushTlbPage(VA_A + 0x7000, 0);
  assert.ok(!cached(h, VA_A + 0x1000) && !cached(h, VA_A + 0x5000), 'A entries were kept');
  assert.ok(cached(h, VA_B + 0x1000), 'B entry was dropped');
  assert.equal(load(h, VA_A + 0x1100), 0x1004);
});

test('a fence finds superpage entries refilled after an earlier fence', () => {
  const { h, setLeaf } = setup();
  load(h, VA_A + 0x1100);
  load(h, VA_B + 0x1100);
  h.flushTlbPage(VA_B, 0); // drops B, keeps A listed
  assert.ok(cached(h, VA_A + 0x1000) && !cached(h, VA_B + 0x1000));
  load(h, VA_B + 0x1100); // B again
  setLeaf(1, RAM + 0x40_0000);
  h.flushTlbPage(VA_B + 0x1f_f000, 0); // the last page of B
  assert.ok(!cached(h, VA_B + 0x1000));
  assert.equal(load(h, VA_B + 0x1100), 0x1004);
  assert.ok(cached(h, VA_A + 0x1000));
});

test('flushes and dropStoreEntriesFor reach entries filled after an earlier flush (sets in use are tracked)', () => {
  const { h, mem } = setup();
  const storeCached = (va: number): boolean => {
    const i = h.storeSet + ((va >>> 12) & (TLB_ENTRIES - 1)) * TLB_ENTRY_I32;
    return h.S[i] === (va & ~0xfff) && h.S[i + 1] === 0;
  };
  for (let round = 0; round < 2; round++) {
    assert.equal(load(h, VA_A + 0x1100), 0x1000);
    assert.ok(cached(h, VA_A + 0x1000));
    h.flushTlb(false);
    assert.ok(!cached(h, VA_A + 0x1000), `flush ${round} dropped the load entry`);
  }
  for (let round = 0; round < 2; round++) {
    assert.ok(storeSlow(h, VA_B + 0x2000, 0, 4, 7, 0));
    assert.ok(storeCached(VA_B + 0x2000));
    // RAM page of VA_B + 0x2000 (PA RAM + 2 MiB + 0x2000) now holds code: its store entries go.
    h.dropStoreEntriesFor((0x20_0000 + 0x2000) / 4096);
    assert.ok(!storeCached(VA_B + 0x2000), `round ${round}: the store entry is gone`);
    h.flushTlb(false);
  }
  assert.equal(mem.u8[mem.ramOffsetOf(RAM + 0x20_2000)], 7);
});
