/**
 * One control connection: JSON messages, one per line, over a Unix domain socket. Used between
 * the CLI and the management daemon (domusd) and between domusd and the hypervisor host
 * process (hostd); see protocol.ts for the messages.
 *
 * A request carries an `id`; its reply carries the same `id` and either `value` or `error`.
 * Messages without `id` are events (console output, domain changes). A line that is not JSON, or
 * a line longer than MAX_LINE_BYTES, closes the connection: the peer is broken, not merely wrong.
 */
import { createConnection, type Socket } from 'node:net';
import { UserError } from '../../common/errors.ts';
import type { ControlError, ControlEvent, ControlReply, ControlRequest } from './protocol.ts';

const MAX_LINE_BYTES = 64 << 20;

/** A parsed line before we know what it is. */
type Wire = { id?: unknown; op?: unknown; ev?: unknown };

type Pending = { resolve(v: unknown): void; reject(e: Error): void };

export class ControlConn {
  private buf = '';
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closedWith: Error | undefined;
  private readonly closeListeners: ((why: Error | undefined) => void)[] = [];
  /** Events (messages without an id) from the peer. */
  onEvent: (e: ControlEvent) => void = () => {};
  /** Requests from the peer (server side); the returned value or thrown error is the reply. */
  onRequest: ((r: ControlRequest) => Promise<unknown>) | undefined;

  constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.take(chunk));
    socket.on('error', (e) => this.finish(e));
    socket.on('close', () => this.finish(undefined));
  }

  /** Connects to the socket at `path`; a missing or refusing socket is a `UserError` naming it. */
  static connect(path: string, what: string): Promise<ControlConn> {
    return new Promise((resolve, reject) => {
      const s = createConnection(path);
      const onErr = (e: NodeJS.ErrnoException) => {
        s.destroy();
        reject(
          e.code === 'ENOENT' || e.code === 'ECONNREFUSED'
            ? new UserError(`${what} is not running (no listener on ${path}); start it first`)
            : e,
        );
      };
      s.once('error', onErr);
      s.once('connect', () => {
        s.off('error', onErr);
        resolve(new ControlConn(s));
      });
    });
  }

  get closed(): boolean {
    return this.socket.destroyed;
  }

  /** Sends a request and resolves with the reply's value (rejects with its error). */
  call<T = unknown>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    if (this.closedWith !== undefined || this.socket.destroyed) {
      return Promise.reject(this.closedWith ?? new Error('control connection is closed'));
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.write({ id, op, args } satisfies ControlRequest);
    });
  }

  /** Sends an event (no reply). */
  emit(e: ControlEvent): void {
    if (!this.socket.destroyed) this.write(e);
  }

  onClose(f: (why: Error | undefined) => void): void {
    this.closeListeners.push(f);
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }

  private write(m: unknown): void {
    this.socket.write(JSON.stringify(m) + '\n');
  }

  private take(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      if (line.length === 0) continue;
      let m: unknown;
      try {
        m = JSON.parse(line);
      } catch {
        this.socket.destroy(new Error('control peer sent a line that is not JSON'));
        return;
      }
      this.dispatch(m as Wire);
    }
    if (this.buf.length > MAX_LINE_BYTES)
      this.socket.destroy(new Error('control peer sent an overlong line'));
  }

  private dispatch(m: Wire): void {
    if (typeof m.op === 'string' && typeof m.id === 'number') {
      const req = m as unknown as ControlRequest;
      const handler = this.onRequest;
      const answer = handler
        ? handler(req)
        : Promise.reject(new UserError(`this endpoint takes no requests (${req.op})`));
      answer.then(
        (value) => this.write({ id: req.id, value: value ?? null } satisfies ControlReply),
        (e: unknown) => this.write({ id: req.id, error: toControlError(e) } satisfies ControlReply),
      );
      return;
    }
    if (typeof m.id === 'number') {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      const reply = m as unknown as ControlReply;
      if (reply.error) p.reject(fromControlError(reply.error));
      else p.resolve(reply.value);
      return;
    }
    if (typeof m.ev === 'string') this.onEvent(m as unknown as ControlEvent);
  }

  private finish(e: Error | undefined): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = e ?? new Error('control connection closed');
    for (const p of this.pending.values()) p.reject(this.closedWith);
    this.pending.clear();
    for (const f of this.closeListeners) f(e);
  }
}

export function toControlError(e: unknown): ControlError {
  if (e instanceof UserError) return { message: e.message, user: true, exitCode: e.exitCode };
  return { message: e instanceof Error ? e.message : String(e), user: false };
}

export function fromControlError(e: ControlError): Error {
  return e.user ? new UserError(e.message, e.exitCode) : new Error(e.message);
}
