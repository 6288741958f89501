/**
 * The host side of user-mode networking: guest TCP connections joined to real host sockets
 * (`node:net`) and guest UDP flows relayed through host datagram sockets (`node:dgram`).
 *
 * `spliceSocket(sock, conn)` joins one host socket to one TcpConn in both directions with
 * back-pressure on both: host data goes into the connection until `write()` says stop, then
 * the socket is paused until `onDrain`; guest data goes into the socket until `socket.write()`
 * says stop, then the connection stops taking data from the guest (its window closes) until
 * the socket's `drain`. Half-close passes through (sockets must be `allowHalfOpen`); a reset on
 * either side resets the other.
 *
 * `UdpNat` keeps one host UDP socket per guest (address, port), so replies find their way
 * back; a flow is forgotten after `idleMs` without traffic, and at most `maxFlows` exist (the
 * oldest is closed to make room). Destinations are mapped to host addresses by `mapOut`
 * (10.0.2.2 → 127.0.0.1, 10.0.2.3:53 → the host's DNS server); replies carry the address the
 * guest sent to.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import type { Socket } from 'node:net';
import type { TcpConn } from './usernet_tcp.ts';

/** Joins `sock` (paused until the connection is up) to `conn`; see the module comment. */
export function spliceSocket(sock: Socket, conn: TcpConn): void {
  conn.handlers = {
    onConnected: () => sock.resume(),
    onData: (d) => {
      if (!sock.write(d)) conn.pauseReceive();
    },
    onEnd: () => sock.end(),
    onDrain: () => sock.resume(),
    onClose: (reason) => {
      if (reason !== 'closed') sock.destroy();
    },
  };
  sock.on('data', (d: Buffer) => {
    if (!conn.write(d)) sock.pause();
  });
  sock.on('drain', () => conn.resumeReceive());
  sock.on('end', () => conn.end());
  sock.on('error', () => {
    // 'close' follows with hadError set.
  });
  sock.on('close', (hadError: boolean) => {
    // A clean close leaves the connection to finish sending what it holds.
    if (hadError) conn.abort();
  });
}

export interface UdpNatOptions {
  /** Sends a reply datagram to the guest. */
  toGuest: (srcIp: number, srcPort: number, dstIp: number, dstPort: number, payload: Uint8Array) => void;
  /** The host address to send to for a guest destination, or undefined to drop. */
  mapOut: (dstIp: number, dstPort: number) => { address: string; port: number } | undefined;
  idleMs?: number;
  maxFlows?: number;
  onError?: (msg: string) => void;
}

interface UdpFlow {
  sock: UdpSocket;
  ready: boolean;
  queue: Array<{ address: string; port: number; payload: Uint8Array }>;
  /** Host "address:port" → the guest-visible address and port it stands for. */
  peers: Map<string, { ip: number; port: number }>;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export class UdpNat {
  datagramsOut = 0;
  datagramsIn = 0;
  private readonly opts: UdpNatOptions;
  private readonly flows = new Map<string, UdpFlow>();

  constructor(opts: UdpNatOptions) {
    this.opts = opts;
  }

  get flowCount(): number {
    return this.flows.size;
  }

  /** A datagram from the guest at `srcIp:srcPort` to `dstIp:dstPort`. */
  output(srcIp: number, srcPort: number, dstIp: number, dstPort: number, payload: Uint8Array): void {
    const dest = this.opts.mapOut(dstIp, dstPort);
    if (!dest) return;
    const key = `${srcIp}:${srcPort}`;
    let flow = this.flows.get(key);
    if (!flow) flow = this.open(key, srcIp, srcPort);
    flow.peers.set(`${dest.address}:${dest.port}`, { ip: dstIp, port: dstPort });
    this.touch(key, flow);
    this.datagramsOut++;
    // The frame under `payload` belongs to the switch only during delivery: send a copy.
    if (flow.ready) flow.sock.send(payload.slice(), dest.port, dest.address);
    else if (flow.queue.length < 64) flow.queue.push({ ...dest, payload: payload.slice() });
  }

  close(): void {
    for (const key of [...this.flows.keys()]) this.drop(key);
  }

  private open(key: string, srcIp: number, srcPort: number): UdpFlow {
    const max = this.opts.maxFlows ?? 256;
    if (this.flows.size >= max) this.drop(this.flows.keys().next().value!);
    const sock = createSocket('udp4');
    const flow: UdpFlow = { sock, ready: false, queue: [], peers: new Map(), timer: undefined };
    this.flows.set(key, flow);
    sock.on('error', (e) => {
      this.opts.onError?.(`usernet: UDP flow from guest port ${srcPort}: ${e.message}`);
      this.drop(key);
    });
    sock.on('message', (msg, rinfo) => {
      const peer = flow.peers.get(`${rinfo.address}:${rinfo.port}`);
      if (!peer) return; // only answers from where the guest sent to
      this.datagramsIn++;
      this.touch(key, flow);
      this.opts.toGuest(peer.ip, peer.port, srcIp, srcPort, msg);
    });
    sock.bind(0, () => {
      flow.ready = true;
      for (const q of flow.queue) sock.send(q.payload, q.port, q.address);
      flow.queue = [];
    });
    sock.unref();
    return flow;
  }

  private touch(key: string, flow: UdpFlow): void {
    if (flow.timer) clearTimeout(flow.timer);
    flow.timer = setTimeout(() => this.drop(key), this.opts.idleMs ?? 60_000);
    flow.timer.unref();
  }

  private drop(key: string): void {
    const flow = this.flows.get(key);
    if (!flow) return;
    this.flows.delete(key);
    if (flow.timer) clearTimeout(flow.timer);
    try {
      flow.sock.close();
    } catch {
      // already closed
    }
  }
}
