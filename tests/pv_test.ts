/**
 * The paravirtual guest ABI end to end: two instances of tests/guests/pv (freestanding C, built
 * here with Debian's riscv64-linux-gnu-gcc) on two pCPUs find each other through the host's
 * xenstore (only their role and a rendezvous name on the command line), share a ring of granted
 * pages and an event channel as libxenvchan does, move 1 MiB from the server to the client and
 * compare checksums; then the negative cases, xenstore's refusals among them. Every result the
 * guests print is checked here against Xen's values, the data's checksum against one computed
 * here, and the nodes the guests and the host wrote against the host's xenstored.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DOMAIN_OVERHEAD_BYTES, Host, type DomainHandle } from '../src/toolstack/host.ts';
import { storePageGfn } from '../src/toolstack/domain_builder.ts';
import { formatPerm } from '../src/toolstack/xenstore/perms.ts';
import {
  XS_WATCH,
  XS_WATCH_EVENT,
  XsDecoder,
  encodeMessage,
  nulStrings,
} from '../src/toolstack/xenstore/wire.ts';
import { buildPvGuest } from './guests/pv/build.ts';

const RAM = 16 << 20;
const GNTST_general_error = -1;
const ENOENT = 2;
const EACCES = 13;
const EINVAL = 22;
const ENOSYS = 38;
const HVM_PARAM_STORE_PFN_OF_16MIB = storePageGfn(RAM);

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

test('two PV guests on two pCPUs find each other through xenstore and move 1 MiB through granted pages and an event channel; Xen’s errors for the negative cases', async () => {
  const image = buildPvGuest();
  const host = await Host.start({ memoryBytes: 2 * (RAM + DOMAIN_OVERHEAD_BYTES), pcpus: 2 });
  try {
    // dom0 watches domains come and go, as a toolstack does.
    const xsd = host.xenstored;
    const events: string[] = [];
    const decoder = new XsDecoder();
    const dom0 = xsd.connect({
      domid: 0,
      send: (b) => {
        for (const m of decoder.push(b))
          if (m.type === XS_WATCH_EVENT) events.push(new TextDecoder().decode(m.payload));
      },
    });
    for (const [path, token] of [
      ['@introduceDomain', 'intro'],
      ['@releaseDomain', 'rel'],
    ] as const)
      dom0.receive(encodeMessage({ type: XS_WATCH, reqId: 1, txId: 0, payload: nulStrings(path, token) }));
    const spec = {
      memoryBytes: RAM,
      vcpus: 1,
      kernel: image,
      onPoweroff: 'preserve' as const,
      onCrash: 'preserve' as const,
    };
    // No domain ids anywhere: only the role and the rendezvous name.
    const server = await host.createDomain({
      ...spec,
      name: 'pv-server',
      pcpu: 0,
      cmdline: 'pv.role=server pv.vchan=pvtest',
    });
    const client = await host.createDomain({
      ...spec,
      name: 'pv-client',
      pcpu: 1,
      cmdline: 'pv.role=client pv.vchan=pvtest',
    });
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
    const [S, C] = [BigInt(server.id), BigInt(client.id)];

    // The ring each got: the last page of its RAM and an unbound port to dom0, as HVM params.
    for (const [r, d] of [
      [s, server],
      [c, client],
    ] as const) {
      assert.equal(r.get('store-pfn'), BigInt(HVM_PARAM_STORE_PFN_OF_16MIB), detail);
      assert.equal(r.get('store-pfn'), BigInt(d.store.gfn), detail);
      assert.equal(r.get('store-evtchn'), BigInt(d.store.port), detail);
    }
    // They found each other through xenstore.
    assert.equal(s.get('domid'), S, detail);
    assert.equal(c.get('domid'), C, detail);
    assert.equal(s.get('peer'), C, detail);
    assert.equal(c.get('peer'), S, detail);
    assert.equal(c.get('ring-ref'), s.get('ring-ref'), detail);
    assert.equal(c.get('xs-directory'), 2n, 'ring-ref and event-channel');
    assert.ok(c.get('watch-events')! >= 2n, 'the client waited with watches');
    // xenstore's refusals, as Xen's xenstored gives them.
    assert.equal(c.get('xs-write-peer-entry'), BigInt(-EACCES), 'writing the server’s rendezvous node');
    assert.equal(c.get('xs-read-missing'), BigInt(-ENOENT), 'reading a missing node');
    assert.equal(c.get('xs-read-peer-name'), BigInt(-EACCES), 'reading another domain’s name');
    assert.equal(c.get('xs-introduce'), BigInt(-EACCES), 'XS_INTRODUCE from a guest');
    assert.equal(c.get('xs-write-server-path'), BigInt(-EACCES), 'writing under the server’s path');

    // The transfer.
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

    // What the store holds: the host's nodes and the guests' rendezvous, with their permissions.
    const node = (p: string) => {
      const n = xsd.tree.lookup(p);
      assert.ok(n, `${p} exists`);
      return { value: new TextDecoder().decode(n.value), perms: n.perms.map(formatPerm) };
    };
    assert.deepEqual(node(`/local/domain/${S}`).perms, ['n0', `r${S}`]);
    assert.deepEqual(node(`/local/domain/${C}/name`), { value: 'pv-client', perms: ['n0', `r${C}`] });
    assert.deepEqual(node(`/local/domain/${S}/store/port`).value, String(server.store.port));
    assert.deepEqual(node(`/local/domain/${S}/data`).perms, [`n${S}`]);
    assert.deepEqual(node('/local/rendezvous/pvtest/server'), { value: String(S), perms: [`r${S}`] });
    assert.deepEqual(node('/local/rendezvous/pvtest/client'), { value: String(C), perms: [`r${C}`] });
    const vchan = `/local/domain/${S}/data/vchan/${C}/pvtest`;
    assert.deepEqual(node(`${vchan}/ring-ref`), {
      value: String(s.get('ring-ref')),
      perms: [`n${S}`, `r${C}`],
    });
    assert.deepEqual(node(`${vchan}/event-channel`), {
      value: String(s.get('port')),
      perms: [`n${S}`, `r${C}`],
    });

    // Destroying a domain releases it: its nodes go and @releaseDomain fires.
    assert.deepEqual([...xsd.domains.keys()].sort(), [server.id, client.id].sort());
    await server.destroy();
    assert.equal(xsd.domains.has(server.id), false);
    assert.equal(xsd.tree.lookup(`/local/domain/${S}`), undefined);
    assert.equal(events.filter((e) => e.startsWith('@introduceDomain')).length, 1 + 2, 'registration + 2');
    assert.equal(events.filter((e) => e.startsWith('@releaseDomain')).length, 1 + 1, 'registration + 1');
  } finally {
    await host.close();
  }
});
