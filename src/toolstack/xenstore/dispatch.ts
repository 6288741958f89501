/**
 * Request dispatch: one handler per xs_wire.h message type, in a table like Xen's `wire_funcs`.
 *
 * For each request: unknown types get ENOSYS; privileged-only types (XS_CONTROL, XS_INTRODUCE,
 * XS_RELEASE, XS_IS_DOMAIN_INTRODUCED, XS_RESUME, XS_SET_TARGET) get EACCES from unprivileged
 * callers; a non-zero tx_id must name one of the connection's open transactions (ENOENT), except
 * for XS_WATCH and XS_UNWATCH which ignore it. Store operations inside a transaction work on its
 * copy and report no changes (the commit does). The reply carries the request's type, req_id and
 * tx_id; an error is an XS_ERROR reply with the errno name; a reply over XENSTORE_PAYLOAD_MAX
 * becomes E2BIG. A bug in a handler answers EIO and is logged, never thrown at the transport.
 * Returns the changes to fire watches for.
 */
import { canonicalize, domainPath } from './paths.ts';
import { formatPerm, parseDomid, parsePerms } from './perms.ts';
import type { XsChange, XsTree } from './store.ts';
import { XsTransaction, type XsTxOp } from './transaction.ts';
import {
  bytesOf,
  errorPayload,
  nulStrings,
  splitFirst,
  splitNul,
  XENSTORE_PAYLOAD_MAX,
  XS_CONTROL,
  XS_DIRECTORY,
  XS_DIRECTORY_PART,
  XS_ERROR,
  XS_GET_DOMAIN_PATH,
  XS_GET_PERMS,
  XS_INTRODUCE,
  XS_IS_DOMAIN_INTRODUCED,
  XS_MKDIR,
  XS_READ,
  XS_RELEASE,
  XS_RESET_WATCHES,
  XS_RESUME,
  XS_RM,
  XS_SET_PERMS,
  XS_SET_TARGET,
  XS_TRANSACTION_END,
  XS_TRANSACTION_START,
  XS_UNWATCH,
  XS_WATCH,
  XS_WATCH_EVENT,
  XS_WRITE,
  XsError,
  type XsMessage,
} from './wire.ts';
import type { XsConnection, Xenstored } from './xenstored.ts';

interface Ctx {
  xsd: Xenstored;
  conn: XsConnection;
  msg: XsMessage;
  tx: XsTransaction | undefined;
}

interface Result {
  reply: Uint8Array;
  changes?: XsChange[];
  /** Runs after the reply is sent (the first event of a new watch). */
  after?: () => void;
}

interface WireFunc {
  fn: (c: Ctx) => Result;
  priv?: boolean;
  /** Ignores tx_id. */
  notid?: boolean;
}

const OK = nulStrings('OK');

/** The request's strings; the payload must be NUL-terminated and hold at least `min` of them. */
function args(msg: XsMessage, min: number): string[] {
  const p = msg.payload;
  if (p.length === 0 || p[p.length - 1] !== 0) throw new XsError('EINVAL', 'arguments not NUL-terminated');
  const a = splitNul(p);
  if (a.length < min) throw new XsError('EINVAL', `expected ${min} arguments`);
  return a;
}

/** Exactly one NUL-terminated string (Xen's onearg). */
function oneArg(msg: XsMessage): string {
  const a = args(msg, 1);
  if (a.length !== 1) throw new XsError('EINVAL', 'expected one argument');
  return a[0]!;
}

function view(c: Ctx): XsTree {
  return c.tx !== undefined ? c.tx.tree : c.xsd.tree;
}

function mutate(c: Ctx, op: XsTxOp): XsChange[] {
  if (c.tx !== undefined) {
    c.tx.apply(op);
    return [];
  }
  return op(c.xsd.tree);
}

function path(c: Ctx, p: string): string {
  return canonicalize(p, c.conn.domid);
}

const SPECIAL = /^@[A-Za-z0-9\-_@]+$/;

function special(c: Ctx, p: string): string | undefined {
  if (!p.startsWith('@')) return undefined;
  if (!c.xsd.specialPerms.has(p)) throw new XsError('ENOENT', p);
  return p;
}

const WIRE: Record<number, WireFunc> = {
  [XS_CONTROL]: {
    priv: true,
    fn: (c) => {
      const [cmd, ...rest] = args(c.msg, 1);
      switch (cmd) {
        case 'check':
          return { reply: OK };
        case 'print':
          c.xsd.options.log?.(`xenstored: ${rest.join(' ')}`);
          return { reply: OK };
        case 'help':
          return { reply: nulStrings('check\nprint <string>\nhelp\n') };
        default:
          throw new XsError('EINVAL', `unknown control command ${cmd}`);
      }
    },
  },
  [XS_DIRECTORY]: {
    fn: (c) => ({ reply: nulStrings(...view(c).directory(c.conn.caller, path(c, oneArg(c.msg))).names) }),
  },
  [XS_DIRECTORY_PART]: {
    fn: (c) => {
      const a = args(c.msg, 2);
      if (a.length !== 2) throw new XsError('EINVAL', 'expected path and offset');
      const d = view(c).directory(c.conn.caller, path(c, a[0]!));
      const off = /^[0-9]+$/.test(a[1]!) ? Number(a[1]) : 0;
      const gen = bytesOf(`${d.gen}\0`);
      const list = nulStrings(...d.names);
      if (off >= list.length) return { reply: concat(gen, new Uint8Array(1)) };
      // Whole names, as many as fit; the last part ends with an empty name.
      const max = XENSTORE_PAYLOAD_MAX - gen.length - 1;
      let end = off;
      while (end < list.length) {
        const next = list.indexOf(0, end) + 1;
        if (next - off > max) break;
        end = next;
      }
      const done = end === list.length;
      const part = list.subarray(off, end);
      return { reply: concat(gen, part, done ? new Uint8Array(1) : new Uint8Array(0)) };
    },
  },
  [XS_READ]: {
    fn: (c) => ({ reply: view(c).read(c.conn.caller, path(c, oneArg(c.msg))) }),
  },
  [XS_GET_PERMS]: {
    fn: (c) => {
      const p = oneArg(c.msg);
      const sp = special(c, p);
      const perms =
        sp !== undefined ? c.xsd.specialPerms.get(sp)! : view(c).getPerms(c.conn.caller, path(c, p));
      return { reply: nulStrings(...perms.map(formatPerm)) };
    },
  },
  [XS_WRITE]: {
    fn: (c) => {
      const s = splitFirst(c.msg.payload);
      if (s === undefined) throw new XsError('EINVAL', 'WRITE needs <path>|<value>');
      const p = path(c, s.head);
      const value = s.rest;
      const caller = c.conn.caller;
      return { reply: OK, changes: mutate(c, (t) => t.write(caller, p, value)) };
    },
  },
  [XS_MKDIR]: {
    fn: (c) => {
      const p = path(c, oneArg(c.msg));
      const caller = c.conn.caller;
      return { reply: OK, changes: mutate(c, (t) => t.mkdir(caller, p)) };
    },
  },
  [XS_RM]: {
    fn: (c) => {
      const p = path(c, oneArg(c.msg));
      const caller = c.conn.caller;
      return { reply: OK, changes: mutate(c, (t) => t.rm(caller, p)) };
    },
  },
  [XS_SET_PERMS]: {
    fn: (c) => {
      const [p, ...list] = args(c.msg, 2);
      const perms = parsePerms(list);
      const sp = special(c, p!);
      if (sp !== undefined) {
        if (!c.conn.privileged) throw new XsError('EACCES', sp);
        c.xsd.specialPerms.set(sp, perms);
        return { reply: OK };
      }
      const abs = path(c, p!);
      const caller = c.conn.caller;
      return { reply: OK, changes: mutate(c, (t) => t.setPerms(caller, abs, perms)) };
    },
  },
  [XS_WATCH]: {
    notid: true,
    fn: (c) => {
      const [p, token] = args(c.msg, 2) as [string, string];
      let abs: string;
      if (p.startsWith('@')) {
        if (!SPECIAL.test(p)) throw new XsError('EINVAL', `bad special path ${p}`);
        abs = p;
      } else {
        abs = path(c, p);
      }
      const w = c.conn.watches;
      if (w.some((x) => x.path === abs && x.token === token))
        throw new XsError('EEXIST', `watch ${p} ${token}`);
      if (!c.conn.privileged && w.length >= c.xsd.quota.watches)
        throw new XsError('ENOSPC', 'too many watches');
      w.push({ path: abs, token, relative: !p.startsWith('/') && !p.startsWith('@') });
      // Fired once straight away, with the path as given.
      const after = () =>
        c.conn.deliver({ type: XS_WATCH_EVENT, reqId: 0, txId: 0, payload: nulStrings(p, token) });
      return { reply: OK, after };
    },
  },
  [XS_UNWATCH]: {
    notid: true,
    fn: (c) => {
      const [p, token] = args(c.msg, 2) as [string, string];
      const abs = p.startsWith('@') ? p : path(c, p);
      const w = c.conn.watches;
      const i = w.findIndex((x) => x.path === abs && x.token === token);
      if (i < 0) throw new XsError('ENOENT', `no watch ${p} ${token}`);
      w.splice(i, 1);
      return { reply: OK };
    },
  },
  [XS_TRANSACTION_START]: {
    fn: (c) => {
      if (c.tx !== undefined) throw new XsError('EBUSY', 'transactions do not nest');
      const t = c.conn.transactions;
      if (!c.conn.privileged && t.size >= c.xsd.quota.transactions) {
        throw new XsError('ENOSPC', 'too many transactions');
      }
      const id = c.conn.allocTxId();
      t.set(id, new XsTransaction(id, c.xsd.tree));
      return { reply: nulStrings(String(id)) };
    },
  },
  [XS_TRANSACTION_END]: {
    fn: (c) => {
      const arg = oneArg(c.msg);
      if (arg !== 'T' && arg !== 'F') throw new XsError('EINVAL', 'TRANSACTION_END takes T or F');
      if (c.tx === undefined) throw new XsError('ENOENT', 'no transaction');
      c.conn.transactions.delete(c.tx.id);
      if (arg === 'F') return { reply: OK };
      return { reply: OK, changes: c.tx.commit(c.xsd.tree) };
    },
  },
  [XS_INTRODUCE]: {
    priv: true,
    fn: (c) => {
      const a = args(c.msg, 3);
      const domid = parseDomid(a[0]!);
      if (!/^-?[0-9]+$/.test(a[1]!)) throw new XsError('EINVAL', `bad gfn ${a[1]}`);
      if (!/^[0-9]+$/.test(a[2]!) || Number(a[2]) <= 0)
        throw new XsError('EINVAL', `bad event channel ${a[2]}`);
      c.xsd.introduce(domid, Number(a[1]), Number(a[2]));
      return { reply: OK };
    },
  },
  [XS_RELEASE]: {
    priv: true,
    fn: (c) => {
      c.xsd.release(parseDomid(oneArg(c.msg)));
      return { reply: OK };
    },
  },
  [XS_RESUME]: {
    priv: true,
    fn: (c) => {
      c.xsd.resume(parseDomid(oneArg(c.msg)));
      return { reply: OK };
    },
  },
  [XS_IS_DOMAIN_INTRODUCED]: {
    priv: true,
    fn: (c) => ({ reply: nulStrings(c.xsd.domains.has(parseDomid(oneArg(c.msg))) ? 'T' : 'F') }),
  },
  [XS_GET_DOMAIN_PATH]: {
    fn: (c) => ({ reply: nulStrings(domainPath(parseDomid(oneArg(c.msg)))) }),
  },
  [XS_SET_TARGET]: {
    priv: true,
    fn: (c) => {
      const a = args(c.msg, 2);
      const domid = parseDomid(a[0]!);
      const tdomid = parseDomid(a[1]!);
      const d = c.xsd.domains.get(domid);
      if (d === undefined || !c.xsd.domains.has(tdomid)) throw new XsError('ENOENT', 'domain not introduced');
      d.target = tdomid;
      return { reply: OK };
    },
  },
  [XS_RESET_WATCHES]: {
    fn: (c) => {
      c.conn.reset();
      return { reply: OK };
    },
  },
};

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Handles one request on `conn`: sends the reply and returns the changes it made. */
export function dispatch(xsd: Xenstored, conn: XsConnection, msg: XsMessage): XsChange[] {
  const answer = (type: number, payload: Uint8Array) =>
    conn.deliver({ type, reqId: msg.reqId, txId: msg.txId, payload });
  try {
    const w = msg.type === XS_WATCH_EVENT || msg.type === XS_ERROR ? undefined : WIRE[msg.type];
    if (w === undefined) throw new XsError('ENOSYS', `message type ${msg.type}`);
    if (w.priv === true && !conn.privileged) throw new XsError('EACCES', 'privileged operation');
    let tx: XsTransaction | undefined;
    if (w.notid !== true && msg.txId !== 0) {
      tx = conn.transactions.get(msg.txId);
      if (tx === undefined) throw new XsError('ENOENT', `no transaction ${msg.txId}`);
    }
    const r = w.fn({ xsd, conn, msg, tx });
    if (r.reply.length > XENSTORE_PAYLOAD_MAX) throw new XsError('E2BIG', 'reply too large');
    answer(msg.type, r.reply);
    r.after?.();
    return r.changes ?? [];
  } catch (e) {
    if (e instanceof XsError) {
      answer(XS_ERROR, errorPayload(e.errno));
      return [];
    }
    xsd.options.log?.(`xenstored: internal error on message type ${msg.type}: ${(e as Error).stack ?? e}`);
    answer(XS_ERROR, errorPayload('EIO'));
    return [];
  }
}
