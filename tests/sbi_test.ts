/**
 * The hypervisor's SBI as its guests see it: tests/guests/sbi.S makes valid and invalid calls of
 * every extension from VS-mode and prints what came back; each must be what SBI v2.0 specifies
 * (riscv-non-isa/riscv-sbi-doc). Linux exercises the successful paths; this covers the errors.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DOMAIN_OVERHEAD_BYTES, Host } from '../src/toolstack/host.ts';
import { assembleGuest } from './guests/assemble.ts';

const SUCCESS = 0;
const NOT_SUPPORTED = -2;
const INVALID_PARAM = -3;
const INVALID_ADDRESS = -5;
const ALREADY_AVAILABLE = -6;

/** call → [error, value] (value undefined: not checked). */
const EXPECTED: Record<string, [number, number?]> = {
  'base.spec': [SUCCESS, 0x0200_0000], // v2.0
  'base.impl': [SUCCESS, 0x444d],
  'base.probe.time': [SUCCESS, 1],
  'base.probe.ipi': [SUCCESS, 1],
  'base.probe.rfence': [SUCCESS, 1],
  'base.probe.hsm': [SUCCESS, 1],
  'base.probe.srst': [SUCCESS, 1],
  'base.probe.dbcn': [SUCCESS, 1],
  'base.probe.sta': [SUCCESS, 1],
  'base.probe.pmu': [SUCCESS, 0],
  'base.probe.unknown': [SUCCESS, 0],
  'unknown.extension': [NOT_SUPPORTED],
  'base.unknown.function': [NOT_SUPPORTED],
  'hsm.status.self': [SUCCESS, 0], // STARTED
  'hsm.status.nohart': [INVALID_PARAM],
  'hsm.start.self': [ALREADY_AVAILABLE],
  'hsm.start.nohart': [INVALID_PARAM],
  'sta.misaligned': [INVALID_PARAM],
  'sta.flags': [INVALID_PARAM],
  'sta.high': [INVALID_ADDRESS],
  'sta.outside': [INVALID_ADDRESS],
  'sta.set': [SUCCESS],
  'sta.off': [SUCCESS],
  'dbcn.write': [SUCCESS, 16],
  'dbcn.byte': [SUCCESS],
  'dbcn.outside': [INVALID_PARAM],
  'dbcn.high': [INVALID_PARAM],
  'time.set': [SUCCESS],
  'time.fired': [SUCCESS, 1], // sip.STIP after the deadline
  'time.far': [SUCCESS],
  'time.cleared': [SUCCESS, 0], // a new deadline clears it
  'ipi.self': [SUCCESS],
  'ipi.pending': [SUCCESS, 1], // sip.SSIP
  'ipi.nohart': [INVALID_PARAM],
  'ipi.all': [SUCCESS],
  'rfence.sfence_vma': [SUCCESS],
  'rfence.nohart': [INVALID_PARAM],
  'srst.badtype': [INVALID_PARAM],
};

test('every SBI extension answers valid and invalid calls as SBI v2.0 specifies', async () => {
  const image = assembleGuest('sbi');
  const ram = 16 << 20;
  const host = await Host.start({ memoryBytes: ram + DOMAIN_OVERHEAD_BYTES, pcpus: 1 });
  try {
    const d = await host.createDomain({
      name: 'sbi',
      memoryBytes: ram,
      vcpus: 1,
      kernel: image,
      cmdline: '',
    });
    const chunks: Buffer[] = [];
    d.onConsole((b) => chunks.push(Buffer.from(b)));
    await d.gone;
    const out = Buffer.concat(chunks).toString('latin1');
    const seen = new Map<string, [number, number]>();
    for (const m of out.matchAll(/^sbi (\S+) 0x([0-9a-f]{16}) 0x([0-9a-f]{16})$/gm)) {
      seen.set(m[1]!, [Number(BigInt.asIntN(64, BigInt(`0x${m[2]}`))), Number(BigInt(`0x${m[3]}`))]);
    }
    for (const [name, [error, value]] of Object.entries(EXPECTED)) {
      const got = seen.get(name);
      assert.ok(got, `${name}: no result in\n${out}`);
      assert.equal(got[0], error, `${name}: error`);
      if (value !== undefined) assert.equal(got[1], value, `${name}: value`);
    }
    assert.match(out, /dbcn says hello/, 'DBCN wrote the buffer');
    assert.deepEqual(d.lastShutdown, { kind: 'poweroff', code: 0 }, 'SRST shutdown powered the domain off');
  } finally {
    await host.close();
  }
});
