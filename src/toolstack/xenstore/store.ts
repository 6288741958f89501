/**
 * The xenstore database: a tree of nodes, each with a value (bytes), permissions and children,
 * with the semantics of Xen's xenstored for READ, WRITE, MKDIR, RM, DIRECTORY, GET_PERMS and
 * SET_PERMS, including its permission checks and per-domain quotas.
 *
 * Nodes are immutable; every change copies the path from the root down to the node (the children
 * maps along it), so taking a snapshot of the whole store is keeping a reference to `root`. That is
 * what transactions (transaction.ts) are built on.
 *
 * Each node carries a generation number, drawn from one counter shared by the daemon, which
 * changes whenever the node is created or its own value, permissions or set of children changes
 * (not when something deeper below it changes). DIRECTORY_PART reports it; transactions compare
 * it to detect conflicts.
 *
 * Every operation reports each path whose state its answer depends on through `onTouch` (the node
 * itself, the parents it checks for permission or existence); a transaction records them.
 * Operations throw `XsError` with Xen's errno; a failed operation changes nothing. Paths given here
 * are absolute and already validated (paths.ts).
 */
import { components, join, parentOf } from './paths.ts';
import { permFor, XS_PERM_OWNER, XS_PERM_READ, XS_PERM_WRITE, type XsCaller, type XsPerm } from './perms.ts';
import { XsError } from './wire.ts';

export interface XsNode {
  readonly value: Uint8Array;
  readonly perms: readonly XsPerm[];
  readonly children: ReadonlyMap<string, XsNode>;
  readonly gen: number;
}

/** Quotas for unprivileged domains (Xen's defaults); dom0 and other privileged callers are exempt. */
export interface XsQuota {
  /** Nodes a domain may own (Xen's ACC_NODES): ENOSPC beyond. */
  entries: number;
  /** Bytes of a node: value + 8 per permission entry (Xen's ACC_NODESZ): ENOSPC beyond. */
  nodeSizeBytes: number;
  /** Permission entries per node (ACC_NPERM): ENOSPC beyond. */
  permsPerNode: number;
  /** Watches per connection (ACC_WATCH): ENOSPC beyond. */
  watches: number;
  /** Open transactions per connection (ACC_TRANS): ENOSPC beyond. */
  transactions: number;
}

export const DEFAULT_QUOTA: Readonly<XsQuota> = {
  entries: 1000,
  nodeSizeBytes: 2048,
  permsPerNode: 5,
  watches: 128,
  transactions: 10,
};

/** One committed change, for watches: the path and the permissions that decide who may see it. */
export interface XsChange {
  readonly path: string;
  readonly kind: 'write' | 'mkdir' | 'rm' | 'perms';
  readonly perms: readonly XsPerm[];
  /** For `perms`: the permissions before the change (a watcher that could read either sees it). */
  readonly oldPerms?: readonly XsPerm[];
}

/** The generation counter shared by the main store and its transactions. */
export class XsGenCounter {
  constructor(public next = 1) {}
  take(): number {
    return this.next++;
  }
}

const EMPTY = new Uint8Array(0);
const NO_CHILDREN: ReadonlyMap<string, XsNode> = new Map();

/** The state of `path` in the tree rooted at `root`: its generation, or -1 if it does not exist. */
export function genAt(root: XsNode, path: string): number {
  let n: XsNode | undefined = root;
  for (const c of components(path)) {
    n = n.children.get(c);
    if (n === undefined) return -1;
  }
  return n.gen;
}

export function nodeAt(root: XsNode, path: string): XsNode | undefined {
  let n: XsNode | undefined = root;
  for (const c of components(path)) {
    n = n.children.get(c);
    if (n === undefined) return undefined;
  }
  return n;
}

function nodeSize(value: Uint8Array, perms: readonly XsPerm[]): number {
  return value.length + 8 * perms.length;
}

export class XsTree {
  /** Called with every path an operation's answer depends on. */
  onTouch: ((path: string) => void) | undefined;

  constructor(
    public root: XsNode,
    /** Number of nodes owned by each domain id (first permission entry). */
    readonly owned: Map<number, number>,
    readonly gens: XsGenCounter,
    readonly quota: Readonly<XsQuota>,
  ) {}

  /** A fresh store holding only `/`, owned by dom0 with no access for others (`n0`). */
  static create(gens = new XsGenCounter(), quota: Readonly<XsQuota> = DEFAULT_QUOTA): XsTree {
    const root: XsNode = {
      value: EMPTY,
      perms: [{ id: 0, perm: 'n' }],
      children: NO_CHILDREN,
      gen: gens.take(),
    };
    return new XsTree(root, new Map([[0, 1]]), gens, quota);
  }

  /** An independent copy (O(1) for the nodes: they are shared until changed). */
  clone(): XsTree {
    return new XsTree(this.root, new Map(this.owned), this.gens, this.quota);
  }

  /** Takes over another tree's contents (a transaction's commit). */
  adopt(other: XsTree): void {
    this.root = other.root;
    this.owned.clear();
    for (const [k, v] of other.owned) this.owned.set(k, v);
  }

  lookup(path: string): XsNode | undefined {
    return nodeAt(this.root, path);
  }

  // --- requests -----------------------------------------------------------------------------

  read(caller: XsCaller, path: string): Uint8Array {
    return this.access(caller, path, XS_PERM_READ).value;
  }

  directory(caller: XsCaller, path: string): { names: string[]; gen: number } {
    const n = this.access(caller, path, XS_PERM_READ);
    return { names: [...n.children.keys()], gen: n.gen };
  }

  getPerms(caller: XsCaller, path: string): readonly XsPerm[] {
    return this.access(caller, path, XS_PERM_READ).perms;
  }

  write(caller: XsCaller, path: string, value: Uint8Array): XsChange[] {
    const node = this.accessOrMissing(caller, path, XS_PERM_WRITE);
    if (node === undefined) {
      const perms = this.create(caller, path, value);
      return [{ path, kind: 'write', perms }];
    }
    this.checkSize(caller, value, node.perms);
    this.put(path, { ...node, value: value.slice(), gen: this.gens.take() });
    return [{ path, kind: 'write', perms: node.perms }];
  }

  mkdir(caller: XsCaller, path: string): XsChange[] {
    if (this.accessOrMissing(caller, path, XS_PERM_WRITE) !== undefined) return [];
    const perms = this.create(caller, path, EMPTY);
    return [{ path, kind: 'mkdir', perms }];
  }

  rm(caller: XsCaller, path: string): XsChange[] {
    const node = this.accessOrMissing(caller, path, XS_PERM_WRITE);
    const parent = parentOf(path);
    this.touch(parent);
    if (node === undefined) {
      // Not there: fine if its parent is.
      if (path !== '/' && this.lookup(parent) !== undefined) return [];
      throw new XsError('ENOENT', path);
    }
    if (path === '/') throw new XsError('EINVAL', 'the root cannot be removed');
    this.uncount(node);
    this.put(path, undefined);
    return [{ path, kind: 'rm', perms: node.perms }];
  }

  setPerms(caller: XsCaller, path: string, perms: readonly XsPerm[]): XsChange[] {
    if (perms.length === 0) throw new XsError('EINVAL', 'empty permission list');
    if (!caller.privileged && perms.length > this.quota.permsPerNode)
      throw new XsError('ENOSPC', 'permsPerNode');
    const node = this.access(caller, path, XS_PERM_WRITE | XS_PERM_OWNER);
    const oldOwner = node.perms[0]!.id;
    const newOwner = perms[0]!.id;
    if (!caller.privileged && newOwner !== oldOwner) {
      throw new XsError('EPERM', 'unprivileged domains may not change the owner');
    }
    this.checkSize(caller, node.value, perms);
    this.count(oldOwner, -1);
    this.count(newOwner, 1);
    this.put(path, { ...node, perms: perms.slice(), gen: this.gens.take() });
    return [{ path, kind: 'perms', perms, oldPerms: node.perms }];
  }

  // --- internals ----------------------------------------------------------------------------

  private touch(path: string): void {
    this.onTouch?.(path);
  }

  /** The node at `path` if the caller has `perm` on it; EACCES or ENOENT as Xen tells them apart. */
  private access(caller: XsCaller, path: string, perm: number): XsNode {
    const n = this.accessOrMissing(caller, path, perm);
    if (n === undefined) throw new XsError('ENOENT', path);
    return n;
  }

  /**
   * Like `access`, but a missing node is `undefined` rather than ENOENT, as long as the nearest
   * existing ancestor grants `perm` (Xen's errno_from_parents: without it the caller may not even
   * learn that the node is missing, and gets EACCES).
   */
  private accessOrMissing(caller: XsCaller, path: string, perm: number): XsNode | undefined {
    this.touch(path);
    const n = this.lookup(path);
    if (n !== undefined) {
      if ((permFor(caller, n.perms) & perm) !== perm) throw new XsError('EACCES', path);
      return n;
    }
    const anc = this.nearestAncestor(path);
    if ((permFor(caller, anc.node.perms) & perm) === 0) throw new XsError('EACCES', path);
    return undefined;
  }

  private nearestAncestor(path: string): { path: string; node: XsNode } {
    let p = path;
    while (p !== '/') {
      p = parentOf(p);
      this.touch(p);
      const n = this.lookup(p);
      if (n !== undefined) return { path: p, node: n };
    }
    return { path: '/', node: this.root };
  }

  private checkSize(caller: XsCaller, value: Uint8Array, perms: readonly XsPerm[]): void {
    if (!caller.privileged && nodeSize(value, perms) > this.quota.nodeSizeBytes) {
      throw new XsError('ENOSPC', `node size over ${this.quota.nodeSizeBytes} bytes`);
    }
  }

  /** Creates `path` and its missing parents; new nodes inherit their parent's permissions. */
  private create(caller: XsCaller, path: string, value: Uint8Array): readonly XsPerm[] {
    const missing: string[] = [];
    for (let p = path; this.lookup(p) === undefined; p = parentOf(p)) missing.unshift(p);
    const parentPerms = this.lookup(parentOf(missing[0]!))!.perms;
    // Unprivileged domains own what they create (the first entry names the owner).
    const perms: readonly XsPerm[] = caller.privileged
      ? parentPerms
      : [{ id: caller.domid, perm: parentPerms[0]!.perm }, ...parentPerms.slice(1)];
    const owner = perms[0]!.id;
    if (!caller.privileged) {
      this.checkSize(caller, value, perms);
      if ((this.owned.get(owner) ?? 0) + missing.length > this.quota.entries) {
        throw new XsError('ENOSPC', `domain ${owner} owns ${this.quota.entries} nodes`);
      }
    }
    for (const p of missing) {
      const v = p === path ? value.slice() : EMPTY;
      this.put(p, { value: v, perms, children: NO_CHILDREN, gen: this.gens.take() });
      this.count(owner, 1);
    }
    return perms;
  }

  private count(domid: number, delta: number): void {
    const n = (this.owned.get(domid) ?? 0) + delta;
    if (n === 0) this.owned.delete(domid);
    else this.owned.set(domid, n);
  }

  private uncount(node: XsNode): void {
    this.count(node.perms[0]!.id, -1);
    for (const c of node.children.values()) this.uncount(c);
  }

  /** Replaces (or with `undefined` removes) the node at `path`; its parent must exist. */
  private put(path: string, node: XsNode | undefined): void {
    if (path === '/') {
      if (node === undefined) throw new XsError('EINVAL', 'the root cannot be removed');
      this.root = node;
      return;
    }
    this.root = this.rebuild(this.root, components(path), 0, node);
  }

  private rebuild(cur: XsNode, comps: readonly string[], i: number, leaf: XsNode | undefined): XsNode {
    const name = comps[i]!;
    const children = new Map(cur.children);
    let gen = cur.gen;
    if (i === comps.length - 1) {
      const had = children.has(name);
      if (leaf === undefined) children.delete(name);
      else children.set(name, leaf);
      // The set of children changed: so did this node.
      if (had !== (leaf !== undefined)) gen = this.gens.take();
    } else {
      const child = cur.children.get(name);
      if (child === undefined) throw new Error(`xenstore: no parent for ${join('/', comps.join('/'))}`);
      children.set(name, this.rebuild(child, comps, i + 1, leaf));
    }
    return { ...cur, children, gen };
  }
}
