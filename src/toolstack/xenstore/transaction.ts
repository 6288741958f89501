/**
 * Xenstore transactions (XS_TRANSACTION_START / XS_TRANSACTION_END).
 *
 * A transaction works on its own copy of the store taken when it starts (a snapshot: O(1), see
 * store.ts), so it reads what was there at its start plus its own writes, and nobody else sees its
 * writes before it commits. It records every path its operations depended on (read, written, or
 * checked for permission or existence) and the list of its successful changes.
 *
 * Commit: if any recorded path's generation in the live store differs from the snapshot (the node
 * was created, removed, written, re-permissioned, or gained or lost children since the start), the
 * answer is EAGAIN and nothing is applied. Otherwise the changes are replayed, in order, on a copy
 * of the live store which then replaces it: since everything they depend on is unchanged, they give
 * the same answers as they did in the transaction, and the result is as if the whole transaction
 * ran at the moment of its commit (serialisable). The replay's changes are what watches see;
 * aborted and failed transactions fire nothing. The one way replay can still fail is a quota that
 * other commits used up meanwhile; that error is the commit's answer.
 */
import { genAt, type XsChange, type XsNode, type XsTree } from './store.ts';
import { XsError } from './wire.ts';

export type XsTxOp = (tree: XsTree) => XsChange[];

export class XsTransaction {
  readonly tree: XsTree;
  readonly start: XsNode;
  readonly touched = new Set<string>();
  private readonly ops: XsTxOp[] = [];

  constructor(
    readonly id: number,
    live: XsTree,
  ) {
    this.start = live.root;
    this.tree = live.clone();
    this.tree.onTouch = (p) => this.touched.add(p);
  }

  /** Runs a changing operation inside the transaction; recorded for commit only if it succeeds. */
  apply(op: XsTxOp): void {
    op(this.tree);
    this.ops.push(op);
  }

  /** The first recorded path that changed in `live` since the start, if any. */
  conflict(live: XsTree): string | undefined {
    for (const p of this.touched) {
      if (genAt(this.start, p) !== genAt(live.root, p)) return p;
    }
    return undefined;
  }

  /** Commits into `live`: returns the changes made, or throws EAGAIN (or a quota error). */
  commit(live: XsTree): XsChange[] {
    const c = this.conflict(live);
    if (c !== undefined) throw new XsError('EAGAIN', `${c} changed during the transaction`);
    const scratch = live.clone();
    const changes: XsChange[] = [];
    for (const op of this.ops) changes.push(...op(scratch));
    live.adopt(scratch);
    return changes;
  }
}
