/**
 * A small promise-based xenstore client, for tests, the toolstack and the CLI.
 *
 * It speaks xs_wire.h over any byte transport: give it a `send` function and feed it what arrives
 * with `receive()`, or use `XsClient.connect(socketPath)` for xenstored's Unix socket. Requests may
 * be in flight together; replies are matched by req_id. An XS_ERROR reply rejects with `XsError`
 * (its `errno` is the name, e.g. 'ENOENT'). Watch events go to the callback registered with the
 * token; callbacks run one at a time in arrival order, awaited, and an exception in one goes to
 * `onWatchError` (default: ignored) without stopping the others.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { UserError } from '../../common/errors.ts';
import {
  bytesOf,
  encodeMessage,
  isXsErrno,
  nulStrings,
  splitNul,
  stringOf,
  XS_DIRECTORY,
  XS_ERROR,
  XS_GET_DOMAIN_PATH,
  XS_GET_PERMS,
  XS_INTRODUCE,
  XS_IS_DOMAIN_INTRODUCED,
  XS_MKDIR,
  XS_READ,
  XS_RELEASE,
  XS_RM,
  XS_SET_PERMS,
  XS_TRANSACTION_END,
  XS_TRANSACTION_START,
  XS_UNWATCH,
  XS_WATCH,
  XS_WATCH_EVENT,
  XS_WRITE,
  XsDecoder,
  XsError,
  type XsMessage,
} from './wire.ts';

export type XsWatchCallback = (path: string, token: string) => void | Promise<void>;

interface Pending {
  resolve: (payload: Uint8Array) => void;
  reject: (e: Error) => void;
}

export class XsClient {
  onWatchError: (e: unknown) => void = () => {};
  private readonly decoder = new XsDecoder();
  private readonly pending = new Map<number, Pending>();
  private readonly watchers = new Map<string, XsWatchCallback>();
  private nextReqId = 1;
  private events: Promise<void> = Promise.resolve();
  private closedReason: string | undefined;
  private socket: Socket | undefined;

  constructor(private readonly send: (bytes: Uint8Array) => void) {}

  /** Connects to xenstored's Unix socket. */
  static connect(path: string): Promise<XsClient> {
    return new Promise((resolve, reject) => {
      const sock = netConnect(path);
      const client = new XsClient((b) => sock.write(b));
      client.socket = sock;
      sock.on('data', (d: Buffer) => client.receive(new Uint8Array(d.buffer, d.byteOffset, d.length)));
      sock.on('close', () => client.fail('xenstored closed the connection'));
      sock.once('error', (e) =>
        reject(
          new UserError(`cannot connect to xenstored at ${path} (${e.message}); is the daemon running?`),
        ),
      );
      sock.once('connect', () => resolve(client));
    });
  }

  /** Feeds bytes from the transport. */
  receive(bytes: Uint8Array): void {
    let msgs: XsMessage[];
    try {
      msgs = this.decoder.push(bytes);
    } catch (e) {
      this.fail((e as Error).message);
      return;
    }
    for (const m of msgs) this.onMessage(m);
  }

  /** Closes the socket (if any) and fails outstanding requests. */
  close(): void {
    this.socket?.destroy();
    this.fail('client closed');
  }

  private fail(reason: string): void {
    this.closedReason ??= reason;
    for (const p of this.pending.values()) p.reject(new Error(`xenstore: ${reason}`));
    this.pending.clear();
  }

  private onMessage(m: XsMessage): void {
    if (m.type === XS_WATCH_EVENT) {
      const [path, token] = splitNul(m.payload);
      const cb = token === undefined ? undefined : this.watchers.get(token);
      if (cb === undefined || path === undefined) return;
      this.events = this.events.then(async () => {
        try {
          await cb(path, token!);
        } catch (e) {
          this.onWatchError(e);
        }
      });
      return;
    }
    const p = this.pending.get(m.reqId);
    if (p === undefined) return;
    this.pending.delete(m.reqId);
    if (m.type === XS_ERROR) {
      const name = splitNul(m.payload)[0] ?? '';
      p.reject(isXsErrno(name) ? new XsError(name) : new Error(`xenstore: unknown error ${name}`));
    } else {
      p.resolve(m.payload);
    }
  }

  /** Sends one request; resolves with the reply payload. */
  request(type: number, payload: Uint8Array, txId = 0): Promise<Uint8Array> {
    if (this.closedReason !== undefined) return Promise.reject(new Error(`xenstore: ${this.closedReason}`));
    const reqId = this.nextReqId;
    this.nextReqId = (this.nextReqId + 1) >>> 0 || 1;
    return new Promise((resolve, reject) => {
      this.pending.set(reqId, { resolve, reject });
      this.send(encodeMessage({ type, reqId, txId, payload }));
    });
  }

  private async strings(type: number, payload: Uint8Array, tx: number): Promise<string[]> {
    return splitNul(await this.request(type, payload, tx));
  }

  async readBytes(path: string, tx = 0): Promise<Uint8Array> {
    return this.request(XS_READ, nulStrings(path), tx);
  }

  async read(path: string, tx = 0): Promise<string> {
    return stringOf(await this.readBytes(path, tx));
  }

  async write(path: string, value: string | Uint8Array, tx = 0): Promise<void> {
    const v = typeof value === 'string' ? bytesOf(value) : value;
    const p = nulStrings(path);
    const payload = new Uint8Array(p.length + v.length);
    payload.set(p);
    payload.set(v, p.length);
    await this.request(XS_WRITE, payload, tx);
  }

  async mkdir(path: string, tx = 0): Promise<void> {
    await this.request(XS_MKDIR, nulStrings(path), tx);
  }

  async rm(path: string, tx = 0): Promise<void> {
    await this.request(XS_RM, nulStrings(path), tx);
  }

  directory(path: string, tx = 0): Promise<string[]> {
    return this.strings(XS_DIRECTORY, nulStrings(path), tx);
  }

  getPerms(path: string, tx = 0): Promise<string[]> {
    return this.strings(XS_GET_PERMS, nulStrings(path), tx);
  }

  async setPerms(path: string, perms: string[], tx = 0): Promise<void> {
    await this.request(XS_SET_PERMS, nulStrings(path, ...perms), tx);
  }

  async transactionStart(): Promise<number> {
    const [id] = await this.strings(XS_TRANSACTION_START, nulStrings(''), 0);
    return Number(id);
  }

  async transactionEnd(tx: number, commit: boolean): Promise<void> {
    await this.request(XS_TRANSACTION_END, nulStrings(commit ? 'T' : 'F'), tx);
  }

  /**
   * Runs `body` in a transaction and commits it, starting over on EAGAIN (up to `tries` times).
   * If `body` throws, the transaction is aborted and the error passed on.
   */
  async transaction<T>(body: (tx: number) => Promise<T>, tries = 16): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const tx = await this.transactionStart();
      let result: T;
      try {
        result = await body(tx);
      } catch (e) {
        await this.transactionEnd(tx, false).catch(() => {});
        throw e;
      }
      try {
        await this.transactionEnd(tx, true);
        return result;
      } catch (e) {
        if (!(e instanceof XsError && e.errno === 'EAGAIN') || attempt >= tries) throw e;
      }
    }
  }

  /** Sets a watch; `cb` runs for the immediate first event and for every later one. */
  async watch(path: string, token: string, cb: XsWatchCallback): Promise<void> {
    if (this.watchers.has(token)) throw new Error(`xenstore client: watch token ${token} is already in use`);
    this.watchers.set(token, cb);
    try {
      await this.request(XS_WATCH, nulStrings(path, token));
    } catch (e) {
      this.watchers.delete(token);
      throw e;
    }
  }

  async unwatch(path: string, token: string): Promise<void> {
    await this.request(XS_UNWATCH, nulStrings(path, token));
    this.watchers.delete(token);
  }

  /** Resolves once every watch callback queued so far has run. */
  settled(): Promise<void> {
    return this.events;
  }

  async introduce(domid: number, gfn: number, evtchn: number): Promise<void> {
    await this.request(XS_INTRODUCE, nulStrings(String(domid), String(gfn), String(evtchn)));
  }

  async release(domid: number): Promise<void> {
    await this.request(XS_RELEASE, nulStrings(String(domid)));
  }

  async isDomainIntroduced(domid: number): Promise<boolean> {
    const [r] = await this.strings(XS_IS_DOMAIN_INTRODUCED, nulStrings(String(domid)), 0);
    return r === 'T';
  }

  async getDomainPath(domid: number): Promise<string> {
    const [r] = await this.strings(XS_GET_DOMAIN_PATH, nulStrings(String(domid)), 0);
    return r ?? '';
  }
}
