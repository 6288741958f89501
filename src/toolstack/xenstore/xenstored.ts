/**
 * xenstored: the daemon object that owns the store, the connections and the domains.
 *
 * A connection is anything that carries xs_wire.h messages: a guest's ring page (ring.ts, made on
 * XS_INTRODUCE through the `connectDomain` hook), a toolstack socket (socket.ts), or an in-process
 * caller. Each has a domain id and a privilege: dom0 and sockets are privileged; a guest is not.
 * `XsConnection.receive()` takes raw bytes; replies and watch events go out through the `send`
 * callback given at `connect()`. Requests are handled one at a time, to completion, in arrival
 * order; the reply to a request is sent before the watch events it causes.
 *
 * Watch events are computed from the changes a request (or a transaction's commit) actually made
 * and sent to every connection with a matching watch that may read the changed node. Domain
 * lifecycle: INTRODUCE fires `@introduceDomain`; RELEASE (or `release()`) closes the domain's
 * connections — their watches and transactions go — and fires `@releaseDomain`, as does the first
 * `domainShutdown()` until RESUME.
 *
 * `save()` / `restore()` move the store and the domain table as plain, versioned data (state.ts);
 * connections, watches and open transactions are not part of it.
 */
import { dispatch } from './dispatch.ts';
import { SPECIAL_PATHS, XS_INTRODUCE_DOMAIN, XS_RELEASE_DOMAIN } from './paths.ts';
import type { XsCaller, XsPerm } from './perms.ts';
import { XsRing, type XsPageAccess } from './ring.ts';
import { restoreState, saveState, type XenstoredState } from './state.ts';
import { DEFAULT_QUOTA, XsGenCounter, XsTree, type XsChange, type XsQuota } from './store.ts';
import type { XsTransaction } from './transaction.ts';
import { eventsFor, type XsWatch } from './watches.ts';
import {
  encodeMessage,
  nulStrings,
  XS_WATCH_EVENT,
  XsDecoder,
  XsError,
  XsProtocolError,
  type XsMessage,
} from './wire.ts';

/** What the toolstack gives xenstored to reach a guest's ring: the mapped page and its event channel. */
export interface XsRingEndpoint {
  page: XsPageAccess;
  notify: () => void;
}

export interface XenstoredOptions {
  quota?: Partial<XsQuota>;
  /** Maps an introduced domain's ring page (gfn) and binds its event channel; undefined: no ring. */
  connectDomain?: (domid: number, gfn: number, evtchn: number) => XsRingEndpoint | undefined;
  /** Diagnostics (closed connections, CONTROL print). */
  log?: (line: string) => void;
}

export interface XsConnectOptions {
  domid: number;
  /** Default: true for dom0. */
  privileged?: boolean;
  send: (bytes: Uint8Array) => void;
  /** Called once when xenstored closes the connection (protocol error, RELEASE). */
  onClose?: (reason: string) => void;
}

export interface XsDomain {
  readonly domid: number;
  gfn: number;
  evtchn: number;
  /** @releaseDomain has been fired for a shutdown (cleared by RESUME). */
  shutdown: boolean;
  /** SET_TARGET: the domain this one acts for. */
  target: number | undefined;
  ring: XsRing | undefined;
}

export class XsConnection {
  readonly watches: XsWatch[] = [];
  readonly transactions = new Map<number, XsTransaction>();
  private nextTxId = 1;
  private readonly decoder = new XsDecoder();
  private open = true;

  constructor(
    private readonly xsd: Xenstored,
    readonly id: number,
    readonly domid: number,
    readonly privileged: boolean,
    private readonly sendBytes: (bytes: Uint8Array) => void,
    private readonly onClose: ((reason: string) => void) | undefined,
  ) {}

  get isOpen(): boolean {
    return this.open;
  }

  /** Who this connection acts as, for permission checks. */
  get caller(): XsCaller {
    return {
      domid: this.domid,
      privileged: this.privileged,
      target: this.xsd.domains.get(this.domid)?.target,
    };
  }

  /** Feeds raw bytes from the transport; complete requests are handled at once. */
  receive(bytes: Uint8Array): void {
    if (!this.open) return;
    let msgs: XsMessage[];
    try {
      msgs = this.decoder.push(bytes);
    } catch (e) {
      if (!(e instanceof XsProtocolError)) throw e;
      this.xsd.close(this, e.message);
      return;
    }
    for (const m of msgs) this.handle(m);
  }

  /** Handles one decoded request. */
  handle(msg: XsMessage): void {
    if (this.open) this.xsd.handle(this, msg);
  }

  /** Sends a message to the peer (dropped once closed). */
  deliver(msg: XsMessage): void {
    if (this.open) this.sendBytes(encodeMessage(msg));
  }

  /** Allocates an unused transaction id (never 0). */
  allocTxId(): number {
    let id = this.nextTxId;
    while (id === 0 || this.transactions.has(id)) id = (id + 1) >>> 0;
    this.nextTxId = (id + 1) >>> 0;
    return id;
  }

  /** XS_RESET_WATCHES and ring reconnects: forget watches and transactions. */
  reset(): void {
    this.watches.length = 0;
    this.transactions.clear();
  }

  /** Marks closed and tells the owner; xenstored calls it. */
  shut(reason: string): void {
    if (!this.open) return;
    this.open = false;
    this.reset();
    this.onClose?.(reason);
  }
}

export class Xenstored {
  readonly gens = new XsGenCounter();
  readonly quota: Readonly<XsQuota>;
  tree: XsTree;
  readonly domains = new Map<number, XsDomain>();
  /** Permissions of the special watch paths (`@introduceDomain`, `@releaseDomain`). */
  readonly specialPerms = new Map<string, readonly XsPerm[]>();
  private readonly conns = new Set<XsConnection>();
  private nextConnId = 1;

  constructor(readonly options: XenstoredOptions = {}) {
    this.quota = { ...DEFAULT_QUOTA, ...options.quota };
    this.tree = XsTree.create(this.gens, this.quota);
    for (const p of SPECIAL_PATHS) this.specialPerms.set(p, [{ id: 0, perm: 'n' }]);
  }

  /** Opens a connection (a socket client, a ring, or an in-process caller). */
  connect(opts: XsConnectOptions): XsConnection {
    const c = new XsConnection(
      this,
      this.nextConnId++,
      opts.domid,
      opts.privileged ?? opts.domid === 0,
      opts.send,
      opts.onClose,
    );
    this.conns.add(c);
    return c;
  }

  /** Closes a connection: its watches and transactions are dropped. */
  close(conn: XsConnection, reason: string): void {
    if (!this.conns.delete(conn)) return;
    this.options.log?.(`xenstored: closing connection ${conn.id} (domain ${conn.domid}): ${reason}`);
    conn.shut(reason);
  }

  connections(): XsConnection[] {
    return [...this.conns];
  }

  /** Handles one request from `conn`: a reply (or XS_ERROR) and then any watch events. */
  handle(conn: XsConnection, msg: XsMessage): void {
    const changes = dispatch(this, conn, msg);
    if (changes.length > 0) this.fire(changes);
  }

  /** Sends watch events for committed changes to every watcher allowed to see them. */
  fire(changes: readonly XsChange[]): void {
    for (const c of this.conns) {
      if (c.watches.length === 0) continue;
      for (const ev of eventsFor(c.caller, c.watches, changes)) {
        c.deliver({ type: XS_WATCH_EVENT, reqId: 0, txId: 0, payload: nulStrings(ev.path, ev.token) });
      }
    }
  }

  private special(path: string): XsChange {
    return { path, kind: 'write', perms: this.specialPerms.get(path) ?? [{ id: 0, perm: 'n' }] };
  }

  // --- domains (XS_INTRODUCE and friends; also called directly by the toolstack) -----------------

  /** XS_INTRODUCE: starts talking to a domain over its ring page. Idempotent for a known domain. */
  introduce(domid: number, gfn: number, evtchn: number): void {
    if (domid === 0) throw new XsError('EINVAL', 'dom0 is not introduced');
    const known = this.domains.get(domid);
    if (known !== undefined) {
      // Xen resets the domain's connection on a repeated INTRODUCE (e.g. after resume).
      for (const c of this.conns) if (c.domid === domid) c.reset();
      known.gfn = gfn;
      known.evtchn = evtchn;
      return;
    }
    const dom: XsDomain = { domid, gfn, evtchn, shutdown: false, target: undefined, ring: undefined };
    this.domains.set(domid, dom);
    this.attachRing(dom);
    this.fire([this.special(XS_INTRODUCE_DOMAIN)]);
  }

  private attachRing(dom: XsDomain): void {
    const ep = this.options.connectDomain?.(dom.domid, dom.gfn, dom.evtchn);
    if (ep === undefined) return;
    const link: { conn?: XsConnection } = {};
    const ring = new XsRing(ep.page, ep.notify, {
      message: (m) => link.conn?.handle(m),
      reset: () => link.conn?.reset(),
      closed: (reason) => this.options.log?.(`xenstored: domain ${dom.domid} ring stopped: ${reason}`),
    });
    link.conn = this.connect({ domid: dom.domid, privileged: false, send: (b) => ring.send(b) });
    dom.ring = ring;
  }

  /** Processes a domain's ring: call when its xenstore event channel fires. */
  pollDomain(domid: number): void {
    this.domains.get(domid)?.ring?.poll();
  }

  /** XS_RELEASE: forgets a domain, closes its connections and fires @releaseDomain. */
  release(domid: number): void {
    if (domid === 0) throw new XsError('EINVAL', 'dom0 cannot be released');
    if (!this.domains.delete(domid)) throw new XsError('ENOENT', `domain ${domid} is not introduced`);
    for (const c of [...this.conns]) if (c.domid === domid) this.close(c, `domain ${domid} released`);
    this.fire([this.special(XS_RELEASE_DOMAIN)]);
  }

  /** The toolstack saw the domain shut down: @releaseDomain fires once (again only after RESUME). */
  domainShutdown(domid: number): void {
    const d = this.domains.get(domid);
    if (d === undefined || d.shutdown) return;
    d.shutdown = true;
    this.fire([this.special(XS_RELEASE_DOMAIN)]);
  }

  /** XS_RESUME: re-arms @releaseDomain for a domain that was shut down. */
  resume(domid: number): void {
    const d = this.domains.get(domid);
    if (d === undefined) throw new XsError('ENOENT', `domain ${domid} is not introduced`);
    d.shutdown = false;
  }

  // --- save / restore ------------------------------------------------------------------------

  /** The whole store and the domain table as plain, versioned data. */
  save(): XenstoredState {
    return saveState(this);
  }

  /**
   * Replaces the store and domain table with saved data (validated; a bad field is a UserError).
   * Open transactions are dropped; domain rings are attached anew through `connectDomain`.
   */
  restore(state: unknown): void {
    const r = restoreState(state, this.gens, this.quota);
    for (const c of [...this.conns]) {
      c.transactions.clear();
      if (this.domains.has(c.domid) && c.domid !== 0) this.close(c, 'xenstored restored');
    }
    this.tree = r.tree;
    this.domains.clear();
    this.specialPerms.clear();
    for (const [p, perms] of r.specialPerms) this.specialPerms.set(p, perms);
    for (const d of r.domains) {
      const dom: XsDomain = { ...d, ring: undefined };
      this.domains.set(d.domid, dom);
      this.attachRing(dom);
    }
  }
}
