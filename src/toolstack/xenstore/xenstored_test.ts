import assert from 'node:assert/strict';
import { test } from 'node:test';
import { XsPeer } from './test_support.ts';
import {
  nulStrings,
  XS_CONTROL,
  XS_DIRECTORY,
  XS_DIRECTORY_PART,
  XS_ERROR,
  XS_GET_DOMAIN_PATH,
  XS_GET_PERMS,
  XS_INTRODUCE,
  XS_INVALID,
  XS_IS_DOMAIN_INTRODUCED,
  XS_READ,
  XS_RELEASE,
  XS_RESET_WATCHES,
  XS_RESUME,
  XS_SET_PERMS,
  XS_SET_TARGET,
  XS_TRANSACTION_END,
  XS_TRANSACTION_START,
  XS_UNWATCH,
  XS_WATCH,
  XS_WATCH_EVENT,
  XS_WRITE,
  XENSTORE_PAYLOAD_MAX,
} from './wire.ts';
import { Xenstored } from './xenstored.ts';

function setup() {
  const xsd = new Xenstored();
  const d0 = new XsPeer(xsd, 0);
  return { xsd, d0 };
}

test('XS_WRITE / XS_READ: values are bytes; WRITE creates parents with empty values', () => {
  const { d0 } = setup();
  assert.equal(d0.write('/a/b/c', 'hello'), 'OK');
  assert.equal(d0.read('/a/b/c'), 'hello');
  assert.equal(d0.read('/a/b'), '');
  assert.equal(d0.read('/nope'), 'ENOENT');
  assert.equal(d0.read('bad//path'), 'EINVAL');
  assert.equal(d0.read('/trailing/'), 'EINVAL');
  assert.equal(d0.read('/sp ace'), 'EINVAL');
  // Binary values with NULs survive.
  const bin = d0.call(XS_WRITE, new Uint8Array([0x2f, 0x62, 0, 1, 0, 255]));
  assert.ok(bin.ok);
  const r = d0.cmd(XS_READ, ['/b']);
  assert.ok(r.ok && [...r.payload].join() === '1,0,255');
  // Reply carries the request's req_id and tx_id.
  const m = d0.raw(XS_READ, nulStrings('/a/b/c'));
  assert.equal(m.type, XS_READ);
  assert.equal(m.txId, 0);
  // Missing NUL after the path is EINVAL; READ with two arguments too.
  assert.equal(XsPeer.show(d0.call(XS_WRITE, new Uint8Array([0x2f, 0x62]))), 'EINVAL');
  assert.equal(XsPeer.show(d0.cmd(XS_READ, ['/a', '/b'])), 'EINVAL');
});

test('relative paths are relative to /local/domain/<domid>', () => {
  const { xsd, d0 } = setup();
  d0.mkdir('/local/domain/3');
  d0.cmd(XS_SET_PERMS, ['/local/domain/3', 'n3']);
  const g = new XsPeer(xsd, 3);
  assert.equal(g.write('data/x', '1'), 'OK');
  assert.equal(d0.read('/local/domain/3/data/x'), '1');
  assert.equal(d0.write('name', 'dom0'), 'OK');
  assert.equal(d0.read('/local/domain/0/name'), 'dom0');
});

test('XS_MKDIR and XS_RM: idempotent mkdir; rm is recursive and fine if only the node is missing', () => {
  const { d0 } = setup();
  assert.equal(d0.mkdir('/x/y'), 'OK');
  d0.write('/x/y', 'keep');
  assert.equal(d0.mkdir('/x/y'), 'OK');
  assert.equal(d0.read('/x/y'), 'keep');
  d0.write('/x/y/z/w', '1');
  assert.equal(d0.rm('/x/y'), 'OK');
  assert.equal(d0.read('/x/y/z/w'), 'ENOENT');
  assert.deepEqual(d0.dir('/x'), []);
  assert.equal(d0.rm('/x/y'), 'OK', 'parent exists');
  assert.equal(d0.rm('/x/q/r'), 'ENOENT', 'parent missing too');
  assert.equal(d0.rm('/'), 'EINVAL');
});

test('XS_DIRECTORY lists leaf names in creation order; too long a list is E2BIG', () => {
  const { d0 } = setup();
  for (const n of ['c', 'a', 'b']) d0.write(`/d/${n}`, n);
  assert.deepEqual(d0.dir('/d'), ['c', 'a', 'b']);
  assert.equal(d0.dir('/none'), 'ENOENT');
  for (let i = 0; i < 300; i++) d0.mkdir(`/big/child-with-a-long-name-${String(i).padStart(4, '0')}`);
  assert.equal(d0.dir('/big'), 'E2BIG');
});

test('XS_DIRECTORY_PART pages a long child list with a generation count', () => {
  const { d0 } = setup();
  const names: string[] = [];
  for (let i = 0; i < 300; i++) {
    names.push(`child-with-a-long-name-${String(i).padStart(4, '0')}`);
    d0.mkdir(`/big/${names[i]}`);
  }
  const got: string[] = [];
  let off = 0;
  let gen: string | undefined;
  for (let parts = 0; parts < 10; parts++) {
    const r = d0.cmd(XS_DIRECTORY_PART, ['/big', String(off)]);
    assert.ok(r.ok);
    assert.ok(r.payload.length <= XENSTORE_PAYLOAD_MAX);
    const [g, ...rest] = r.strings;
    if (gen !== undefined) assert.equal(g, gen, 'unchanged node keeps its generation');
    gen = g;
    const last = rest.length > 0 && rest[rest.length - 1] === '';
    const items = last ? rest.slice(0, -1) : rest;
    got.push(...items);
    off += items.reduce((n, s) => n + s.length + 1, 0);
    if (last) break;
  }
  assert.deepEqual(got, names);
  d0.mkdir('/big/another');
  const after = d0.cmd(XS_DIRECTORY_PART, ['/big', '0']);
  assert.ok(after.ok && after.strings[0] !== gen, 'a new child changes the generation');
  const past = d0.cmd(XS_DIRECTORY_PART, ['/big', '999999']);
  assert.ok(past.ok && past.strings.length === 2 && past.strings[1] === '');
  assert.equal(XsPeer.show(d0.cmd(XS_DIRECTORY_PART, ['/big'])), 'EINVAL');
});

test('permissions: owner first with the default for others; dom0 is privileged', () => {
  const { xsd, d0 } = setup();
  const g1 = new XsPeer(xsd, 1);
  const g2 = new XsPeer(xsd, 2);
  d0.write('/vm/1/name', 'guest');
  assert.deepEqual(d0.perms('/vm/1/name'), ['n0']);
  assert.equal(g1.read('/vm/1/name'), 'EACCES');
  assert.equal(g1.read('/vm/1/missing'), 'EACCES', 'no read on the parent: not even ENOENT');
  assert.equal(XsPeer.show(d0.cmd(XS_SET_PERMS, ['/vm/1', 'n1', 'r2'])), 'OK\0');
  // New nodes inherit their parent's permissions.
  d0.write('/vm/1/child', 'c');
  const perms = d0.cmd(XS_GET_PERMS, ['/vm/1/child']);
  assert.ok(perms.ok);
  assert.deepEqual(perms.strings, ['n1', 'r2']);
  assert.equal(g1.read('/vm/1/child'), 'c', 'owner');
  assert.equal(g2.read('/vm/1/child'), 'c', 'r2');
  assert.equal(g2.write('/vm/1/child', 'x'), 'EACCES');
  assert.equal(g2.read('/vm/1/missing'), 'ENOENT', 'parent readable: the node is simply missing');
  assert.equal(g1.write('/vm/1/child', 'mine'), 'OK');
  // An unprivileged domain owns what it creates.
  assert.equal(g1.write('/vm/1/new/deep', 'v'), 'OK');
  const p2 = g1.cmd(XS_GET_PERMS, ['/vm/1/new/deep']);
  assert.ok(p2.ok);
  assert.deepEqual(p2.strings, ['n1', 'r2']);
  // SET_PERMS needs ownership; unprivileged may not hand a node to another owner.
  assert.equal(XsPeer.show(g2.cmd(XS_SET_PERMS, ['/vm/1/child', 'b2'])), 'EACCES');
  assert.equal(XsPeer.show(g1.cmd(XS_SET_PERMS, ['/vm/1/child', 'n2'])), 'EPERM');
  assert.equal(XsPeer.show(g1.cmd(XS_SET_PERMS, ['/vm/1/child', 'b1'])), 'OK\0');
  assert.equal(g2.write('/vm/1/child', 'now allowed'), 'OK');
  // Bad permission strings.
  assert.equal(XsPeer.show(d0.cmd(XS_SET_PERMS, ['/vm/1/child', 'x1'])), 'EINVAL');
  assert.equal(XsPeer.show(d0.cmd(XS_SET_PERMS, ['/vm/1/child', 'r70000'])), 'EINVAL');
  assert.equal(XsPeer.show(d0.cmd(XS_SET_PERMS, ['/vm/1/child'])), 'EINVAL');
  assert.equal(XsPeer.show(d0.cmd(XS_SET_PERMS, ['/none', 'n0'])), 'ENOENT');
});

test('quotas for unprivileged domains: entries, node size, watches, transactions (dom0 exempt)', () => {
  const xsd = new Xenstored({ quota: { entries: 5, nodeSizeBytes: 64, watches: 2, transactions: 1 } });
  const d0 = new XsPeer(xsd, 0);
  const g = new XsPeer(xsd, 4);
  d0.mkdir('/local/domain/4');
  d0.cmd(XS_SET_PERMS, ['/local/domain/4', 'n4']);
  // dom0 made /local/domain/4 and handed it over: 1 node owned by 4.
  for (let i = 0; i < 4; i++) assert.equal(g.write(`k${i}`, 'v'), 'OK');
  assert.equal(g.write('k4', 'v'), 'ENOSPC');
  assert.equal(g.rm('k0'), 'OK');
  assert.equal(g.write('k4', 'v'), 'OK', 'removing frees an entry');
  assert.equal(g.write('k1', 'x'.repeat(57)), 'ENOSPC', '57 + 8 bytes of permissions > 64');
  assert.equal(g.write('k1', 'x'.repeat(56)), 'OK');
  assert.equal(d0.write('/local/domain/4/k1', 'x'.repeat(1000)), 'OK', 'dom0 is exempt');
  assert.equal(g.watch('a', 't'), 'OK');
  assert.equal(g.watch('b', 't'), 'OK');
  assert.equal(g.watch('c', 't'), 'ENOSPC');
  g.start();
  assert.equal(XsPeer.show(g.cmd(XS_TRANSACTION_START, [''])), 'ENOSPC');
  for (let i = 0; i < 20; i++) d0.start();
});

test('XS_TRANSACTION_START / END: isolation, commit, abort, EAGAIN, bad ids', () => {
  const { xsd, d0 } = setup();
  const other = new XsPeer(xsd, 0);
  d0.write('/t/a', '1');
  const tx = d0.start();
  assert.ok(tx !== 0);
  assert.equal(d0.write('/t/a', '2', tx), 'OK');
  assert.equal(d0.write('/t/new', 'n', tx), 'OK');
  assert.equal(d0.read('/t/a', tx), '2', 'the transaction sees its writes');
  assert.equal(d0.read('/t/a'), '1', 'nobody else does');
  assert.equal(d0.read('/t/new'), 'ENOENT');
  assert.equal(d0.end(tx, true), 'OK');
  assert.equal(d0.read('/t/a'), '2');
  assert.equal(d0.read('/t/new'), 'n');

  const ab = d0.start();
  d0.rm('/t/a', ab);
  assert.equal(d0.end(ab, false), 'OK');
  assert.equal(d0.read('/t/a'), '2', 'abort discards');

  const c = d0.start();
  assert.equal(d0.read('/t/a', c), '2');
  assert.equal(other.write('/t/a', '3'), 'OK');
  d0.write('/t/b', 'x', c);
  assert.equal(d0.end(c, true), 'EAGAIN', 'something it read changed');
  assert.equal(d0.read('/t/b'), 'ENOENT');
  assert.equal(d0.end(c, true), 'ENOENT', 'the transaction is gone after EAGAIN');

  const u = d0.start();
  assert.equal(other.write('/elsewhere', 'z'), 'OK');
  d0.write('/t/a', '4', u);
  assert.equal(d0.end(u, true), 'OK', 'unrelated changes do not conflict');

  assert.equal(d0.read('/t/a', 999), 'ENOENT', 'unknown transaction id');
  const n = d0.start();
  assert.equal(XsPeer.show(d0.cmd(XS_TRANSACTION_START, [''], n)), 'EBUSY', 'no nesting');
  assert.equal(XsPeer.show(d0.cmd(XS_TRANSACTION_END, ['X'], n)), 'EINVAL');
  assert.equal(XsPeer.show(d0.cmd(XS_TRANSACTION_END, ['T'])), 'ENOENT', 'END needs a transaction');
  assert.equal(other.read('/t/a', n), 'ENOENT', 'transactions belong to their connection');
});

test('XS_WATCH fires at once and then on changes at or below the path; UNWATCH; relative paths', () => {
  const { xsd, d0 } = setup();
  const w = new XsPeer(xsd, 0);
  assert.equal(w.watch('/w', 'tok'), 'OK');
  assert.deepEqual(w.events(), ['/w tok']);
  assert.equal(w.watch('/w', 'tok'), 'EEXIST');
  d0.write('/w/a/b', '1');
  d0.write('/x', '1');
  d0.write('/wx', '1');
  assert.deepEqual(w.events(), ['/w/a/b tok']);
  d0.rm('/w/a');
  assert.deepEqual(w.events(), ['/w/a tok']);
  // Removing a parent of the watched path reports the watched path itself.
  w.watch('/w/deep/er', 'd');
  w.events();
  d0.write('/w/deep/er/x', '1');
  assert.deepEqual(w.events(), ['/w/deep/er/x tok', '/w/deep/er/x d']);
  d0.rm('/w');
  assert.deepEqual(w.events(), ['/w tok', '/w/deep/er d']);
  assert.equal(XsPeer.show(w.cmd(XS_UNWATCH, ['/w', 'tok'])), 'OK\0');
  assert.equal(XsPeer.show(w.cmd(XS_UNWATCH, ['/w', 'tok'])), 'ENOENT');
  d0.write('/w', 'again');
  assert.deepEqual(w.events(), []);
  // Watch events have req_id 0 and tx_id 0; the watch ignores tx_id.
  w.call(XS_WATCH, nulStrings('/local/domain/0/rel', 'r'), 12345);
  const ev = w.inbox.find((m) => m.type === XS_WATCH_EVENT)!;
  assert.equal(ev.reqId, 0);
  assert.equal(ev.txId, 0);
  w.events();
  w.watch('rel2', 'R');
  assert.deepEqual(w.events(), ['rel2 R']);
  d0.write('/local/domain/0/rel2/x', '1');
  assert.deepEqual(w.events(), ['rel2/x R'], 'relative watch, relative event path');
  assert.equal(w.watch('bad//p', 't'), 'EINVAL');
});

test('watch events need read permission; transactions fire only on commit', () => {
  const { xsd, d0 } = setup();
  const g = new XsPeer(xsd, 5);
  d0.mkdir('/p');
  d0.cmd(XS_SET_PERMS, ['/p', 'n0', 'r5']);
  d0.write('/p/secret', 's');
  d0.cmd(XS_SET_PERMS, ['/p/secret', 'n0']);
  g.watch('/p', 'g');
  g.events();
  d0.write('/p/open', 'o');
  d0.write('/p/secret', 's2');
  assert.deepEqual(g.events(), ['/p/open g']);
  const tx = d0.start();
  d0.write('/p/open', 'tx', tx);
  assert.deepEqual(g.events(), []);
  d0.end(tx, false);
  assert.deepEqual(g.events(), [], 'aborted: nothing');
  const tx2 = d0.start();
  d0.write('/p/open', 'tx2', tx2);
  d0.mkdir('/p/dir', tx2);
  d0.end(tx2, true);
  assert.deepEqual(g.events(), ['/p/open g', '/p/dir g']);
});

test('domains: INTRODUCE, IS_DOMAIN_INTRODUCED, GET_DOMAIN_PATH, RESUME, RELEASE with special watches', () => {
  const { xsd, d0 } = setup();
  const g = new XsPeer(xsd, 7);
  d0.watch('@introduceDomain', 'intro');
  d0.watch('@releaseDomain', 'rel');
  g.watch('@releaseDomain', 'g-rel');
  assert.deepEqual(d0.events(), ['@introduceDomain intro', '@releaseDomain rel']);
  g.events();
  assert.equal(XsPeer.show(d0.cmd(XS_INTRODUCE, ['7', '4096', '3'])), 'OK\0');
  assert.deepEqual(d0.events(), ['@introduceDomain intro']);
  assert.equal(XsPeer.show(d0.cmd(XS_IS_DOMAIN_INTRODUCED, ['7'])), 'T\0');
  assert.equal(XsPeer.show(d0.cmd(XS_IS_DOMAIN_INTRODUCED, ['8'])), 'F\0');
  assert.equal(XsPeer.show(d0.cmd(XS_INTRODUCE, ['7', '4096', '0'])), 'EINVAL', 'event channel 0');
  assert.equal(XsPeer.show(d0.cmd(XS_INTRODUCE, ['x', '1', '1'])), 'EINVAL');
  assert.equal(XsPeer.show(d0.cmd(XS_INTRODUCE, ['7', '1'])), 'EINVAL');
  assert.equal(XsPeer.show(g.cmd(XS_INTRODUCE, ['9', '1', '1'])), 'EACCES', 'privileged only');
  assert.equal(XsPeer.show(g.cmd(XS_GET_DOMAIN_PATH, ['7'])), '/local/domain/7\0');
  assert.equal(XsPeer.show(g.cmd(XS_IS_DOMAIN_INTRODUCED, ['7'])), 'EACCES');
  // Shutdown fires @releaseDomain once until RESUME.
  xsd.domainShutdown(7);
  xsd.domainShutdown(7);
  assert.deepEqual(d0.events(), ['@releaseDomain rel']);
  assert.deepEqual(g.events(), [], 'special events need read permission on the special node');
  assert.equal(XsPeer.show(d0.cmd(XS_RESUME, ['7'])), 'OK\0');
  xsd.domainShutdown(7);
  assert.deepEqual(d0.events(), ['@releaseDomain rel']);
  assert.equal(XsPeer.show(d0.cmd(XS_RESUME, ['8'])), 'ENOENT');
  // Special nodes have permissions too; RELEASE closes the domain's connection, open transaction and all.
  assert.equal(XsPeer.show(d0.cmd(XS_SET_PERMS, ['@releaseDomain', 'n0', 'r7'])), 'OK\0');
  assert.deepEqual(d0.perms('@releaseDomain'), ['n0', 'r7']);
  g.start();
  assert.equal(XsPeer.show(d0.cmd(XS_RELEASE, ['7'])), 'OK\0');
  assert.deepEqual(d0.events(), ['@releaseDomain rel']);
  assert.deepEqual(g.events(), [], "the released domain's own watches are gone");
  assert.equal(g.conn.isOpen, false);
  assert.equal(g.closedReason, 'domain 7 released');
  assert.equal(g.conn.transactions.size, 0);
  assert.equal(XsPeer.show(d0.cmd(XS_RELEASE, ['7'])), 'ENOENT');
  assert.equal(XsPeer.show(d0.cmd(XS_RELEASE, ['0'])), 'EINVAL');
});

test('XS_SET_TARGET lets a domain act for its target', () => {
  const { xsd, d0 } = setup();
  d0.cmd(XS_INTRODUCE, ['2', '1', '1']);
  d0.cmd(XS_INTRODUCE, ['3', '1', '1']);
  d0.mkdir('/local/domain/2');
  d0.cmd(XS_SET_PERMS, ['/local/domain/2', 'n2']);
  const dm = new XsPeer(xsd, 3);
  assert.equal(dm.read('/local/domain/2'), 'EACCES');
  assert.equal(XsPeer.show(d0.cmd(XS_SET_TARGET, ['3', '2'])), 'OK\0');
  assert.equal(dm.write('/local/domain/2/device-model', 'running'), 'OK');
  assert.equal(XsPeer.show(d0.cmd(XS_SET_TARGET, ['3', '9'])), 'ENOENT');
});

test('XS_RESET_WATCHES, XS_CONTROL, unknown types and replies from clients', () => {
  const { xsd, d0 } = setup();
  const g = new XsPeer(xsd, 6);
  d0.watch('/r', 't');
  d0.start();
  assert.equal(XsPeer.show(d0.cmd(XS_RESET_WATCHES, [''])), 'OK\0');
  d0.events();
  d0.write('/r', '1');
  assert.deepEqual(d0.events(), []);
  assert.equal(d0.conn.transactions.size, 0);
  assert.equal(XsPeer.show(d0.cmd(XS_CONTROL, ['check'])), 'OK\0');
  assert.equal(XsPeer.show(d0.cmd(XS_CONTROL, ['frobnicate'])), 'EINVAL');
  assert.equal(XsPeer.show(g.cmd(XS_CONTROL, ['check'])), 'EACCES');
  const unknown = d0.raw(XS_INVALID, new Uint8Array(0));
  assert.equal(unknown.type, XS_ERROR);
  assert.equal(XsPeer.show(d0.call(XS_WATCH_EVENT, nulStrings('/a', 'b'))), 'ENOSYS');
  assert.equal(XsPeer.show(d0.call(20, new Uint8Array(0))), 'ENOSYS', 'XS_RESTRICT was removed');
  assert.equal(XsPeer.show(d0.cmd(XS_DIRECTORY, [''])), 'EINVAL');
});

test('an oversized message closes the connection', () => {
  const { xsd } = setup();
  const p = new XsPeer(xsd, 0);
  const h = new Uint8Array(16);
  new DataView(h.buffer).setUint32(12, 5000, true);
  p.conn.receive(h);
  assert.equal(p.conn.isOpen, false);
  assert.match(p.closedReason ?? '', /XENSTORE_PAYLOAD_MAX/);
  assert.equal(xsd.connections().includes(p.conn), false);
});
