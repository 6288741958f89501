/**
 * xenstored's saved state: the whole store and the domain table as plain, JSON-safe data.
 *
 *   { version: 1, nodes: [{ path, value (hex), perms: ['n0', …] }, …],
 *     domains: [{ domid, gfn, evtchn, shutdown, target? }], specialPerms: { '@releaseDomain': […] } }
 *
 * Nodes are listed parents first, starting with `/`. Restoring treats the data as untrusted: every
 * field is checked and the first bad one is reported as a UserError naming it. Generation numbers
 * are not saved (they only order changes within one daemon's life); restored nodes get fresh ones.
 */
import { UserError } from '../../common/errors.ts';
import { components, isValidAbsPath, parentOf, SPECIAL_PATHS } from './paths.ts';
import { formatPerm, parsePerms, type XsPerm } from './perms.ts';
import { XsTree, type XsGenCounter, type XsNode, type XsQuota } from './store.ts';
import type { Xenstored } from './xenstored.ts';

export const XENSTORED_STATE_VERSION = 1;

export interface XsNodeState {
  path: string;
  value: string;
  perms: string[];
}

export interface XsDomainState {
  domid: number;
  gfn: number;
  evtchn: number;
  shutdown: boolean;
  target?: number;
}

export interface XenstoredState {
  version: number;
  nodes: XsNodeState[];
  domains: XsDomainState[];
  specialPerms: Record<string, string[]>;
}

function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

function unhex(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function saveState(xsd: Xenstored): XenstoredState {
  const nodes: XsNodeState[] = [];
  const walk = (p: string, n: XsNode) => {
    nodes.push({ path: p, value: hex(n.value), perms: n.perms.map(formatPerm) });
    for (const [name, c] of n.children) walk(p === '/' ? `/${name}` : `${p}/${name}`, c);
  };
  walk('/', xsd.tree.root);
  const domains = [...xsd.domains.values()].map((d) => {
    const s: XsDomainState = { domid: d.domid, gfn: d.gfn, evtchn: d.evtchn, shutdown: d.shutdown };
    if (d.target !== undefined) s.target = d.target;
    return s;
  });
  const specialPerms: Record<string, string[]> = {};
  for (const [p, perms] of xsd.specialPerms) specialPerms[p] = perms.map(formatPerm);
  return { version: XENSTORED_STATE_VERSION, nodes, domains, specialPerms };
}

const FIX = 'pass data produced by Xenstored.save()';

function bad(what: string): never {
  throw new UserError(`xenstore state: ${what}; ${FIX}`);
}

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function permsOf(x: unknown, where: string): XsPerm[] {
  if (!Array.isArray(x) || x.length === 0 || !x.every((s) => typeof s === 'string')) {
    bad(`${where} has no valid permission list`);
  }
  try {
    return parsePerms(x as string[]);
  } catch {
    return bad(`${where} has a bad permission in ${JSON.stringify(x)}`);
  }
}

function int(x: unknown, min: number, max: number, where: string): number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max)
    bad(`${where} is not an integer in ${min}..${max}`);
  return x;
}

export interface RestoredState {
  tree: XsTree;
  domains: { domid: number; gfn: number; evtchn: number; shutdown: boolean; target: number | undefined }[];
  specialPerms: Map<string, XsPerm[]>;
}

/** Validates saved data and builds the store from it. */
export function restoreState(state: unknown, gens: XsGenCounter, quota: Readonly<XsQuota>): RestoredState {
  if (!isObj(state)) bad('not an object');
  if (state['version'] !== XENSTORED_STATE_VERSION) {
    bad(`version ${String(state['version'])} is not ${XENSTORED_STATE_VERSION}`);
  }
  const nodes = state['nodes'];
  if (!Array.isArray(nodes) || nodes.length === 0) bad('nodes is not a non-empty list');
  const tree = XsTree.create(gens, quota);
  const seen = new Set<string>();
  const built = new Map<string, XsNode>();
  // Build bottom-up after validating: children maps need their nodes.
  const order: { path: string; value: Uint8Array; perms: XsPerm[] }[] = [];
  nodes.forEach((n: unknown, i: number) => {
    const where = `node ${i}`;
    if (!isObj(n)) bad(`${where} is not an object`);
    const p = n['path'];
    if (typeof p !== 'string' || !isValidAbsPath(p)) bad(`${where} has a bad path ${JSON.stringify(p)}`);
    if (i === 0 && p !== '/') bad('the first node is not /');
    if (seen.has(p)) bad(`${where} repeats path ${p}`);
    if (p !== '/' && !seen.has(parentOf(p))) bad(`${where} (${p}) comes before its parent`);
    seen.add(p);
    const v = n['value'];
    if (typeof v !== 'string' || !/^([0-9a-f]{2})*$/.test(v))
      bad(`${where} (${p}) has a value that is not hex`);
    order.push({ path: p, value: unhex(v), perms: permsOf(n['perms'], `${where} (${p})`) });
  });
  const owned = tree.owned;
  owned.clear();
  for (let i = order.length - 1; i >= 0; i--) {
    const o = order[i]!;
    const children = new Map<string, XsNode>();
    built.set(o.path, { value: o.value, perms: o.perms, children, gen: 0 });
    owned.set(o.perms[0]!.id, (owned.get(o.perms[0]!.id) ?? 0) + 1);
  }
  // Link children in saved order (which is the directory order).
  for (const o of order) {
    if (o.path === '/') continue;
    const parent = built.get(parentOf(o.path))!;
    const name = components(o.path).pop()!;
    (parent.children as Map<string, XsNode>).set(name, built.get(o.path)!);
  }
  const fresh = (n: XsNode): XsNode => {
    const children = new Map<string, XsNode>();
    for (const [k, c] of n.children) children.set(k, fresh(c));
    return { value: n.value, perms: n.perms, children, gen: gens.take() };
  };
  tree.root = fresh(built.get('/')!);

  const domList = state['domains'];
  if (!Array.isArray(domList)) bad('domains is not a list');
  const domains: RestoredState['domains'] = [];
  const domids = new Set<number>();
  domList.forEach((d: unknown, i: number) => {
    const where = `domain ${i}`;
    if (!isObj(d)) bad(`${where} is not an object`);
    const domid = int(d['domid'], 1, 0x7fef, `${where} domid`);
    if (domids.has(domid)) bad(`${where} repeats domid ${domid}`);
    domids.add(domid);
    const gfn = int(d['gfn'], -0x8000_0000_0000, 0x7fff_ffff_ffff, `${where} gfn`);
    const evtchn = int(d['evtchn'], 1, 0xffff_ffff, `${where} evtchn`);
    if (typeof d['shutdown'] !== 'boolean') bad(`${where} shutdown is not a boolean`);
    const target = d['target'] === undefined ? undefined : int(d['target'], 0, 0xffff, `${where} target`);
    domains.push({ domid, gfn, evtchn, shutdown: d['shutdown'], target });
  });

  const sp = state['specialPerms'];
  if (!isObj(sp)) bad('specialPerms is not an object');
  const specialPerms = new Map<string, XsPerm[]>();
  for (const p of SPECIAL_PATHS) {
    specialPerms.set(p, sp[p] === undefined ? [{ id: 0, perm: 'n' }] : permsOf(sp[p], `specialPerms ${p}`));
  }
  for (const k of Object.keys(sp)) if (!SPECIAL_PATHS.includes(k)) bad(`specialPerms has unknown path ${k}`);
  return { tree, domains, specialPerms };
}
