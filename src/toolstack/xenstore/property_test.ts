/**
 * Property tests of xenstored against a reference model: a plain Map from path to value.
 *
 *   (a) random operation sequences give the same answers and the same final store as the model;
 *   (b) random interleavings of concurrent transactions on several connections: each transaction
 *       reads its start snapshot plus its own writes; a commit succeeds exactly when it must
 *       (nothing it touched changed), fails with EAGAIN when it must (something it read or wrote
 *       is different now), and replaying the committed ones in commit order on the model gives
 *       the store;
 *   (c) watches fire exactly for the committed changes under their paths, in order.
 *
 * Seeds are fixed; XS_PROPERTY_RUNS=10000 runs longer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isChildOf, parentOf } from './paths.ts';
import { propertyRuns, XsPeer, XsRandom } from './test_support.ts';
import { Xenstored } from './xenstored.ts';

const PATHS = ['/a', '/a/b', '/a/b/c', '/a/d', '/e', '/e/f', '/e/f/g'];
const VALUES = ['', '0', '1', 'xyz'];

type Op = { k: 'read' | 'mkdir' | 'rm' | 'dir'; p: string } | { k: 'write'; p: string; v: string };

interface ModelEvent {
  path: string;
  rm: boolean;
}

/** The reference: existing paths (not `/`) and their values. */
class Model {
  constructor(readonly m = new Map<string, string>()) {}
  copy(): Model {
    return new Model(new Map(this.m));
  }
  has(p: string): boolean {
    return p === '/' || this.m.has(p);
  }
  private create(p: string, v: string): void {
    if (p !== '/' && !this.m.has(parentOf(p))) this.create(parentOf(p), '');
    if (p !== '/') this.m.set(p, v);
  }
  children(p: string): string[] {
    return [...this.m.keys()]
      .filter((q) => q !== p && parentOf(q) === p)
      .map((q) => q.slice(q.lastIndexOf('/') + 1));
  }
  /** A node's whole visible state, for "did it change" questions. */
  state(p: string): string {
    return this.has(p) ? `${this.m.get(p) ?? ''}|${this.children(p).sort().join(',')}` : 'absent';
  }
  apply(op: Op, events: ModelEvent[]): string {
    switch (op.k) {
      case 'read':
        return this.m.get(op.p) ?? 'ENOENT';
      case 'dir':
        return this.has(op.p) ? this.children(op.p).sort().join(',') : 'ENOENT';
      case 'write':
        this.create(op.p, op.v);
        this.m.set(op.p, op.v);
        events.push({ path: op.p, rm: false });
        return 'OK';
      case 'mkdir':
        if (!this.has(op.p)) {
          this.create(op.p, '');
          events.push({ path: op.p, rm: false });
        }
        return 'OK';
      case 'rm':
        if (this.has(op.p)) {
          for (const q of [...this.m.keys()]) if (isChildOf(q, op.p)) this.m.delete(q);
          events.push({ path: op.p, rm: true });
          return 'OK';
        }
        return this.has(parentOf(op.p)) ? 'OK' : 'ENOENT';
    }
  }
}

function run(peer: XsPeer, op: Op, tx = 0): string {
  switch (op.k) {
    case 'read':
      return peer.read(op.p, tx);
    case 'dir': {
      const d = peer.dir(op.p, tx);
      return typeof d === 'string' ? d : d.sort().join(',');
    }
    case 'write':
      return peer.write(op.p, op.v, tx);
    case 'mkdir':
      return peer.mkdir(op.p, tx);
    case 'rm':
      return peer.rm(op.p, tx);
  }
}

function randomOp(r: XsRandom): Op {
  const p = r.pick(PATHS);
  const k = r.pick(['read', 'read', 'dir', 'write', 'write', 'mkdir', 'rm'] as const);
  return k === 'write' ? { k, p, v: r.pick(VALUES) } : { k, p };
}

/** The store as the daemon has it, read through the protocol. */
function dump(peer: XsPeer): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (p: string) => {
    const d = peer.dir(p);
    assert.ok(Array.isArray(d));
    for (const n of d) {
      const c = p === '/' ? `/${n}` : `${p}/${n}`;
      out.set(c, peer.read(c));
      walk(c);
    }
  };
  walk('/');
  return out;
}

/** Paths whose state an operation changed (diff of the model), plus explicit targets of writes. */
function changedBy(before: Model, after: Model, op: Op): Set<string> {
  const out = new Set<string>();
  for (const [p, v] of after.m) {
    if (before.m.get(p) !== v) out.add(p);
    if (!before.m.has(p)) out.add(parentOf(p));
  }
  for (const p of before.m.keys()) {
    if (!after.m.has(p)) {
      out.add(p);
      out.add(parentOf(p));
    }
  }
  if (op.k === 'write') out.add(op.p);
  return out;
}

function expectedEvents(watches: readonly string[], events: readonly ModelEvent[]): string[] {
  const out: string[] = [];
  for (const e of events) {
    for (const w of watches) {
      if (isChildOf(e.path, w)) out.push(`${e.path} ${w}`);
      else if (e.rm && isChildOf(w, e.path)) out.push(`${w} ${w}`);
    }
  }
  return out;
}

test('(a) random operation sequences match the Map model', () => {
  const runs = propertyRuns(150);
  for (let i = 0; i < runs; i++) {
    const r = new XsRandom(0xa11ce + i);
    const xsd = new Xenstored();
    const peer = new XsPeer(xsd, 0);
    const model = new Model();
    for (let s = 0; s < 40; s++) {
      const op = randomOp(r);
      assert.equal(run(peer, op), model.apply(op, []), `run ${i} step ${s}: ${JSON.stringify(op)}`);
    }
    assert.deepEqual(dump(peer), model.m, `run ${i}: final store`);
  }
});

interface OpenTx {
  id: number;
  snapshot: Model;
  local: Model;
  ops: { op: Op; result: string }[];
  startCommit: number;
}

/** Drives several connections with interleaved transactions; checks (b), and (c) when `watch`. */
function concurrent(seed: number, runs: number, watch: boolean): { commits: number; conflicts: number } {
  let commits = 0;
  let conflicts = 0;
  for (let i = 0; i < runs; i++) {
    const r = new XsRandom(seed + i);
    const xsd = new Xenstored();
    const peers = [0, 1, 2].map(() => new XsPeer(xsd, 0));
    const watcher = new XsPeer(xsd, 0);
    const watches = watch ? [...new Set([r.pick(['/', ...PATHS]), r.pick(PATHS), r.pick(PATHS)])] : [];
    for (const w of watches) assert.equal(watcher.watch(w, w), 'OK');
    assert.deepEqual(
      watcher.events(),
      watches.map((w) => `${w} ${w}`),
      'first events',
    );
    let model = new Model();
    const log: Set<string>[] = []; // changed paths of each commit, in order
    const open = new Map<number, OpenTx>();
    const where = (s: number) => `seed ${seed + i} step ${s}`;

    for (let s = 0; s < 60; s++) {
      const pi = r.int(peers.length);
      const peer = peers[pi]!;
      const tx = open.get(pi);
      const roll = r.next();
      const events: ModelEvent[] = [];
      if (tx === undefined && roll < 0.3) {
        open.set(pi, {
          id: peer.start(),
          snapshot: model.copy(),
          local: model.copy(),
          ops: [],
          startCommit: log.length,
        });
      } else if (tx !== undefined && roll < 0.25) {
        // End it: usually commit.
        open.delete(pi);
        const commit = r.next() < 0.8;
        const got = peer.end(tx.id, commit);
        if (!commit) {
          assert.equal(got, 'OK', where(s));
        } else {
          const targets = new Set(tx.ops.map((o) => o.op.p));
          const since = log.slice(tx.startCommit).flatMap((c) => [...c]);
          const must = [...targets].some((t) => tx.snapshot.state(t) !== model.state(t));
          const may = since.some((c) => [...targets].some((t) => isChildOf(c, t) || isChildOf(t, c)));
          if (must) assert.equal(got, 'EAGAIN', `${where(s)}: a touched path changed, commit must fail`);
          else if (!may) assert.equal(got, 'OK', `${where(s)}: nothing related changed, commit must succeed`);
          else assert.ok(got === 'OK' || got === 'EAGAIN', where(s));
          if (got === 'OK') {
            commits++;
            const changed = new Set<string>();
            for (const { op, result } of tx.ops) {
              const b = model.copy();
              // Serialisable: the same answers as if the transaction ran at its commit.
              assert.equal(model.apply(op, events), result, `${where(s)}: replay of ${JSON.stringify(op)}`);
              for (const c of changedBy(b, model, op)) changed.add(c);
            }
            log.push(changed);
          } else {
            conflicts++;
          }
        }
      } else {
        const op = randomOp(r);
        if (tx !== undefined) {
          const result = run(peer, op, tx.id);
          assert.equal(result, tx.local.apply(op, []), `${where(s)}: in transaction, ${JSON.stringify(op)}`);
          tx.ops.push({ op, result });
        } else {
          const before = model.copy();
          assert.equal(run(peer, op), model.apply(op, events), `${where(s)}: ${JSON.stringify(op)}`);
          log.push(changedBy(before, model, op));
        }
      }
      if (watch)
        assert.deepEqual(watcher.events(), expectedEvents(watches, events), `${where(s)}: watch events`);
    }
    for (const [pi, tx] of open) peers[pi]!.end(tx.id, false);
    assert.deepEqual(dump(peers[0]!), model.m, `seed ${seed + i}: final store`);
    model = new Model();
  }
  return { commits, conflicts };
}

test('(b) concurrent transactions are serialisable; conflicting ones get EAGAIN', () => {
  const { commits, conflicts } = concurrent(0xb0b, propertyRuns(120), false);
  assert.ok(commits > 100 && conflicts > 20, `the runs exercise both outcomes (${commits} / ${conflicts})`);
});

test('(c) watches fire exactly for committed changes under their paths', () => {
  const { commits } = concurrent(0xc0c0, propertyRuns(120), true);
  assert.ok(commits > 100);
});
