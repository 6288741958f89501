/**
 * The toolstack transport: xenstore over a Unix domain socket, as Xen's xenstored offers at
 * /run/xenstored/socket. Every client of the socket is privileged and acts as dom0. Bytes are
 * framed by xs_wire.h headers (the connection's decoder); a client that sends an oversized
 * message is disconnected. Closing the server closes every client connection.
 */
import { existsSync, statSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { UserError } from '../../common/errors.ts';
import type { Xenstored } from './xenstored.ts';

export class XsSocketServer {
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly path: string,
  ) {}

  /** Listens on `path` (a stale socket file left by a dead daemon is replaced). */
  static listen(xsd: Xenstored, path: string): Promise<XsSocketServer> {
    if (existsSync(path)) {
      if (!statSync(path).isSocket()) {
        throw new UserError(
          `xenstored socket path ${path} exists and is not a socket; remove it or pick another path`,
        );
      }
      unlinkSync(path);
    }
    const server = createServer();
    const self = new XsSocketServer(server, path);
    server.on('connection', (sock) => self.accept(xsd, sock));
    return new Promise((resolve, reject) => {
      server.once('error', (e) =>
        reject(
          new UserError(
            `xenstored cannot listen on ${path} (${e.message}); check the directory and its permissions`,
          ),
        ),
      );
      server.listen(path, () => resolve(self));
    });
  }

  private accept(xsd: Xenstored, sock: Socket): void {
    this.sockets.add(sock);
    const conn = xsd.connect({
      domid: 0,
      privileged: true,
      send: (b) => {
        if (!sock.destroyed) sock.write(b);
      },
      onClose: () => sock.destroy(),
    });
    sock.on('data', (d: Buffer) => conn.receive(new Uint8Array(d.buffer, d.byteOffset, d.length)));
    sock.on('error', () => sock.destroy());
    sock.on('close', () => {
      this.sockets.delete(sock);
      xsd.close(conn, 'socket closed');
    });
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
