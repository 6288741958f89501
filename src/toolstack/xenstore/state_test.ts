import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../../common/errors.ts';
import { pageOfBytes } from './ring.ts';
import { XsPeer } from './test_support.ts';
import { XS_GET_PERMS, XS_INTRODUCE, XS_IS_DOMAIN_INTRODUCED, XS_SET_PERMS, XS_SET_TARGET } from './wire.ts';
import { Xenstored } from './xenstored.ts';

function populated(connectDomain?: () => { page: ReturnType<typeof pageOfBytes>; notify: () => void }) {
  const xsd = new Xenstored(connectDomain === undefined ? {} : { connectDomain });
  const d0 = new XsPeer(xsd, 0);
  d0.write('/local/domain/1/name', 'one');
  d0.write('/local/domain/1/data/bin', '\u0001\u0000\u00ff');
  d0.cmd(XS_SET_PERMS, ['/local/domain/1', 'n1', 'r2']);
  d0.write('/vm/z', 'last');
  d0.write('/vm/a', 'first?');
  d0.cmd(XS_INTRODUCE, ['1', '4660', '9']);
  d0.cmd(XS_INTRODUCE, ['2', '17', '3']);
  d0.cmd(XS_SET_TARGET, ['2', '1']);
  d0.cmd(XS_SET_PERMS, ['@introduceDomain', 'n0', 'r2']);
  xsd.domainShutdown(2);
  return { xsd, d0 };
}

test('save → JSON → restore gives the same store, permissions, order and domains', () => {
  const { xsd } = populated();
  const saved = JSON.parse(JSON.stringify(xsd.save()));
  assert.equal(saved.version, 1);
  const other = new Xenstored();
  other.restore(saved);
  assert.deepEqual(other.save(), saved);
  const p = new XsPeer(other, 0);
  assert.equal(p.read('/local/domain/1/data/bin'), '\u0001\u0000\u00ff');
  assert.deepEqual(p.dir('/vm'), ['z', 'a'], 'directory order survives');
  const perms = p.cmd(XS_GET_PERMS, ['/local/domain/1']);
  assert.ok(perms.ok);
  assert.deepEqual(perms.strings, ['n1', 'r2']);
  assert.equal(XsPeer.show(p.cmd(XS_IS_DOMAIN_INTRODUCED, ['2'])), 'T\0');
  assert.equal(other.domains.get(2)?.target, 1);
  assert.equal(other.domains.get(2)?.shutdown, true);
  // The restored store works: permissions and quotas count the restored nodes.
  const g2 = new XsPeer(other, 2);
  assert.deepEqual(g2.dir('/local/domain/1'), ['name', 'data'], 'r2 on the node');
  assert.equal(g2.read('/local/domain/1/name'), 'EACCES', 'the child was made before, with n0');
  assert.equal(other.tree.owned.get(1), 1);
  assert.equal(other.tree.owned.get(0), saved.nodes.length - 1);
});

test('restore re-attaches domain rings through connectDomain and drops open transactions', () => {
  const bytes = new Uint8Array(4096);
  let attached = 0;
  const { xsd } = populated();
  const saved = xsd.save();
  const fresh = new Xenstored({
    connectDomain: () => {
      attached++;
      return { page: pageOfBytes(bytes), notify: () => {} };
    },
  });
  const d0 = new XsPeer(fresh, 0);
  const tx = d0.start();
  fresh.restore(saved);
  assert.equal(attached, 2);
  assert.ok(fresh.domains.get(1)?.ring !== undefined);
  assert.equal(d0.read('/vm/z', tx), 'ENOENT', 'the transaction is gone');
  assert.equal(d0.read('/vm/z'), 'last');
});

type SavedNode = { path: unknown; value: unknown; perms: unknown };
type SavedDomain = { domid: unknown; evtchn: unknown; shutdown: unknown };
interface Corruptible {
  version: unknown;
  nodes: [SavedNode, SavedNode, SavedNode, ...SavedNode[]];
  domains: [SavedDomain, SavedDomain, ...SavedDomain[]];
  specialPerms: { [path: string]: unknown };
}

test('restore rejects corrupted state field by field with a UserError', () => {
  const { xsd } = populated();
  const good = (): Corruptible => JSON.parse(JSON.stringify(xsd.save()));
  const cases: [string, (s: Corruptible) => void, RegExp][] = [
    ['version', (s) => (s.version = 2), /version 2 is not 1/],
    ['not object', (s) => Object.assign(s, { nodes: 'x' }), /nodes is not a non-empty list/],
    ['bad path', (s) => (s.nodes[1].path = '/a//b'), /node 1 has a bad path/],
    ['root first', (s) => s.nodes.shift(), /first node is not \//],
    ['orphan', (s) => (s.nodes[1].path = '/nowhere/x'), /comes before its parent/],
    ['duplicate', (s) => (s.nodes[2].path = s.nodes[1].path), /repeats path/],
    ['hex', (s) => (s.nodes[1].value = 'zz'), /value that is not hex/],
    ['perm', (s) => (s.nodes[1].perms = ['q1']), /bad permission/],
    ['no perms', (s) => (s.nodes[1].perms = []), /no valid permission list/],
    ['domid', (s) => (s.domains[0].domid = 0), /domain 0 domid is not an integer/],
    ['evtchn', (s) => (s.domains[0].evtchn = 1.5), /evtchn is not an integer/],
    ['dup domain', (s) => (s.domains[1].domid = s.domains[0].domid), /repeats domid/],
    ['shutdown', (s) => (s.domains[0].shutdown = 'no'), /shutdown is not a boolean/],
    ['special', (s) => (s.specialPerms['@other'] = ['n0']), /unknown path @other/],
  ];
  for (const [name, corrupt, msg] of cases) {
    const s = good();
    corrupt(s);
    const target = new Xenstored();
    const before = JSON.stringify(target.save());
    assert.throws(
      () => target.restore(s),
      (e: unknown) => e instanceof UserError && msg.test(e.message) && /Xenstored\.save\(\)/.test(e.message),
      name,
    );
    assert.equal(JSON.stringify(target.save()), before, `${name}: a rejected restore changes nothing`);
  }
  assert.throws(() => new Xenstored().restore(null), UserError);
});
