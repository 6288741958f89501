/**
 * domusd, the management daemon: what the CLI (and, later, XenAPI clients) talk to. It keeps
 * no domain alive itself — hostd does — so it can be stopped, killed or upgraded while domains
 * run; when it starts again it finds them through hostd and every console is still there.
 *
 * Each client connection on `<runDir>/domusd.sock` gets its own connection to hostd: requests
 * domusd does not answer itself pass through to hostd unchanged and hostd's events (console
 * output, domain changes) come back the same way, so a client's console subscription lives
 * exactly as long as the client.
 */
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { UserError } from '../common/errors.ts';
import { ControlConn } from './control/conn.ts';
import { Hostd, takeSocketPath } from './hostd.ts';
import { connectOrStart } from './launcher.ts';
import { writeFileSync, unlinkSync } from 'node:fs';

const VERSION = '0.1.0';

export interface DomusdOptions {
  runDir: string;
  /** Arguments for `domus hostd` when domusd has to start it (e.g. `--memory 2048`). */
  hostdArgs?: string[];
}

export class Domusd {
  private readonly clients = new Set<ControlConn>();
  private closing: Promise<void> | undefined;
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;

  private constructor(
    readonly opts: DomusdOptions,
    private readonly server: Server,
    /** domusd's own connection to hostd (kept open: it is how domusd notices hostd dying). */
    private hostd: ControlConn,
  ) {
    this.closed = new Promise((r) => (this.resolveClosed = r));
  }

  static socketPath(runDir: string): string {
    return join(runDir, 'domusd.sock');
  }

  static async start(opts: DomusdOptions): Promise<Domusd> {
    const path = Domusd.socketPath(opts.runDir);
    await takeSocketPath(path, 'domusd');
    const hostd = await connectHostd(opts);
    const server = createServer();
    const d = new Domusd(opts, server, hostd);
    server.on('connection', (s) => d.accept(new ControlConn(s)));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    writeFileSync(join(opts.runDir, 'domusd.pid'), `${process.pid}\n`);
    return d;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.server.close();
      for (const c of this.clients) c.close();
      this.hostd.close();
      for (const f of [Domusd.socketPath(this.opts.runDir), join(this.opts.runDir, 'domusd.pid')]) {
        try {
          unlinkSync(f);
        } catch {
          // already gone
        }
      }
      this.resolveClosed();
    })();
    return this.closing;
  }

  private accept(c: ControlConn): void {
    this.clients.add(c);
    let upstream: Promise<ControlConn> | undefined;
    const link = (): Promise<ControlConn> => {
      upstream ??= connectHostd(this.opts).then((u) => {
        u.onEvent = (e) => c.emit(e);
        u.onClose(() => {
          upstream = undefined;
        });
        return u;
      });
      return upstream;
    };
    c.onClose(() => {
      this.clients.delete(c);
      void upstream?.then(
        (u) => u.close(),
        () => {},
      );
    });
    c.onRequest = async (r) => {
      switch (r.op) {
        case 'hello': {
          const h = (await (await link()).call('hello')) as { pid: number };
          return { role: 'domusd', pid: process.pid, version: VERSION, hostdPid: h.pid };
        }
        case 'daemon.shutdown':
          setImmediate(() => void this.close());
          return null;
        default:
          return (await link()).call(r.op, r.args);
      }
    };
  }
}

async function connectHostd(opts: DomusdOptions): Promise<ControlConn> {
  const c = await connectOrStart(Hostd.socketPath(opts.runDir), 'hostd', opts.runDir, [
    'hostd',
    ...(opts.hostdArgs ?? []),
  ]);
  const hello = (await c.call('hello')) as { role?: string };
  if (hello.role !== 'hostd') {
    c.close();
    throw new UserError(`the socket ${Hostd.socketPath(opts.runDir)} is not hostd's; remove it and retry`);
  }
  return c;
}
