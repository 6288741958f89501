/**
 * The paravirtual guest ABI end to end: two instances of tests/guests/pv (freestanding C, built
 * here with Debian's riscv64-linux-gnu-gcc) on two pCPUs find each other (peer domid and role on
 * the command line), share a ring of granted pages and an event channel, move 1 MiB from the
 * server to the client and compare checksums; then the negative cases. Every result the guests
 * print is checked here against Xen's values, and the data's checksum against one computed here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DOMAIN_OVERHEAD_BYTES, Host, type DomainHandle } from '../src/toolstack/host.ts';
import { buildPvGuest } from './guests/pv/build.ts';

const RAM = 16 << 20;
const GNTST_general_error = -1;
const EINVAL = 22;
const ENOSYS = 38;

/** The guests' data: xorshift32 words from 0x12345678, FNV-1a over them, for 1 MiB. */
function expectedChecksum(): number {
  let x = 0x12345678;
  let h = 2166136261;
  for (let i = 0; i < (1 << 20) / 4; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    h = Math.imul(h ^ x, 16777619) >>> 0;
  }
  return h;
}

function results(out: string, role: string): Map<string, bigint> {
  const m = new Map<string, bigint>();
  for (const r of out.matchAll(new RegExp(`^pv ${role} (\\S+) 0x([0-9a-f]{16})$`, 'gm')))
    m.set(r[1]!, BigInt.asIntN(64, BigInt(`0x${r[2]}`)));
  return m;
}

function consoleOf(d: DomainHandle): () => string {
  const chunks: Buffer[] = [];
  d.onConsole((b) => chunks.push(Buffer.from(b)));
  return () => Buffer.concat(chunks).toString('latin1');
}

test('two PV guests on two pCPUs move 1 MiB through granted pages and an event channel; Xen’s errors for the negative cases', async () => {
  const image = buildPvGuest();
  const host = await Host.start({ memoryBytes: 2 * (RAM + DOMAIN_OVERHEAD_BYTES), pcpus: 2 });
  try {
    // Domain ids on a fresh host are 1, 2, …: each guest is told the other's.
    const spec = {
      memoryBytes: RAM,
      vcpus: 1,
      kernel: image,
      onPoweroff: 'preserve' as const,
      onCrash: 'preserve' as const,
    };
    const server = await host.createDomain({
      ...spec,
      name: 'pv-server',
      pcpu: 0,
      cmdline: 'pv.role=server pv.peer=2',
    });
    const client = await host.createDomain({
      ...spec,
      name: 'pv-client',
      pcpu: 1,
      cmdline: 'pv.role=client pv.peer=1',
    });
    assert.deepEqual([server.id, client.id], [1, 2]);
    const outs = [consoleOf(server), consoleOf(client)];
    const done = [server, client].map((d) => new Promise((resolve) => d.onShutdown(resolve)));
    const timeout = new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`timed out:\n${outs[0]!()}\n---\n${outs[1]!()}`)), 120_000).unref(),
    );
    await Promise.race([Promise.all(done), timeout]);
    const [sOut, cOut] = outs.map((o) => o());
    const s = results(sOut!, 'server');
    const c = results(cOut!, 'client');
    const detail = `server:\n${sOut}\nclient:\n${cOut}`;
    const want = BigInt(expectedChecksum());
    assert.equal(s.get('sent'), 1n << 20n, detail);
    assert.equal(c.get('received'), 1n << 20n, detail);
    assert.equal(s.get('checksum'), want, `server checksum\n${detail}`);
    assert.equal(c.get('checksum'), want, `client checksum\n${detail}`);
    assert.equal(s.get('peer-checksum'), want, detail);
    assert.equal(c.get('mismatched-words'), 0n, detail);
    assert.equal(c.get('map-not-offered'), BigInt(GNTST_general_error), 'a grant offered to another domain');
    assert.equal(s.get('revoke-mapped'), 0n, 'a mapped grant cannot be revoked');
    assert.equal(s.get('revoke'), 1n, 'an unmapped grant can');
    assert.equal(c.get('map-revoked'), BigInt(GNTST_general_error), 'a revoked grant cannot be mapped again');
    assert.equal(c.get('send-closed'), BigInt(-EINVAL), 'EVTCHNOP_send on a closed port');
    assert.equal(s.get('unknown-hypercall'), BigInt(-ENOSYS));
    assert.match(sOut!, /pv server PASS/);
    assert.match(cOut!, /pv client PASS/);
    assert.deepEqual(server.lastShutdown, { kind: 'poweroff', code: 0 });
    assert.deepEqual(client.lastShutdown, { kind: 'poweroff', code: 0 });
  } finally {
    await host.close();
  }
});
