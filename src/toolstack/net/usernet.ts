/**
 * User-mode networking ("usernet"), like QEMU's `-netdev user`: a small TCP/IP host that sits
 * on a virtual switch port as the guests' router, so that guests reach the host's network and
 * host clients reach guest servers, with no privileges and no host network configuration.
 *
 * Defaults (QEMU's): network 10.0.2.0/24; the gateway and host alias 10.0.2.2 with MAC
 * 52:55:0a:00:02:02; DNS relay 10.0.2.3 (UDP only, to the host's first `/etc/resolv.conf`
 * nameserver; off when there is none or `dns: false`); DHCP hands out 10.0.2.15, .16, … .
 *
 * What it does with a guest's frames:
 * - ARP: answers for the gateway (and DNS) address; learns guests' MACs from their ARP and IP
 *   traffic; resolves a guest address with retries before opening a forwarded connection.
 * - IPv4: checks the header checksum; fragments are dropped (no reassembly); ICMP echo to the
 *   gateway/DNS address is answered. ICMP to outside addresses is not relayed.
 * - DHCP (UDP port 67): `usernet_dhcp.ts`.
 * - TCP to any address outside the network (NAT): a guest SYN makes usernet connect a host
 *   socket to that address (10.0.2.2 means the host's 127.0.0.1); once connected it answers
 *   the SYN as that address, else it answers with a RST. The stream is spliced with
 *   back-pressure both ways (`usernet_nat.ts`, `usernet_tcp.ts`).
 * - UDP to outside addresses (NAT) through host datagram sockets.
 * - Port forwards: a host listener per `portForwards` entry; each accepted host connection
 *   becomes a TCP connection from 10.0.2.2 to guestAddr:guestPort.
 *
 * `restrict: true` turns NAT off (the guest reaches nothing outside; forwards still work).
 * Frames are handled synchronously inside the switch's deliver callback; replies are sent
 * from it too, so the switch must allow a port to send while delivering to it.
 */
import { readFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { UserError, isErrnoError } from '../../common/errors.ts';
import { DHCP_CLIENT_PORT, DHCP_SERVER_PORT, DhcpServer } from './usernet_dhcp.ts';
import {
  ARPOP_REPLY,
  ARPOP_REQUEST,
  BROADCAST_MAC,
  buildArp,
  buildEth,
  buildIpv4Frame,
  buildUdp,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ICMP_ECHO,
  icmpEchoReply,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  ipToString,
  isMulticastMac,
  macEquals,
  parseArp,
  parseEth,
  parseIp,
  parseIpv4,
  parseMac,
  parseUdp,
  ZERO_MAC,
  type Ipv4Packet,
} from './usernet_ip.ts';
import { spliceSocket, UdpNat } from './usernet_nat.ts';
import { PcapWriter } from './usernet_pcap.ts';
import { newTcpStats, TcpConn, type TcpStats, type TcpTimers } from './usernet_tcp.ts';
import { buildTcp, parseTcp, resetFor, TCP_ACK, TCP_SYN, type TcpSegment } from './usernet_tcp_wire.ts';

/** The port API of the virtual switch (src/toolstack/net/vswitch.ts). */
export interface SwitchPortLike {
  readonly name: string;
  send(frame: Uint8Array): void;
  detach(): void;
}

export interface SwitchLike {
  attach(name: string, deliver: (frame: Uint8Array) => void): SwitchPortLike;
}

export interface PortForward {
  proto: 'tcp';
  /** Host address to listen on (default 127.0.0.1; '0.0.0.0' for every interface). */
  hostAddr?: string;
  /** Host port; 0 picks a free one (see `hostPortOf`). */
  hostPort: number;
  /** Guest address (default: the first DHCP address, 10.0.2.15). */
  guestAddr?: string;
  guestPort: number;
}

export interface UserNetOptions {
  switch: SwitchLike;
  /** Name of the switch port (default 'usernet'). */
  portName?: string;
  /** The guest network, a /8../30 prefix (default 10.0.2.0/24). */
  network?: string;
  /** The gateway/host address (default host number 2 of the network). */
  gateway?: string;
  gatewayMac?: string;
  /** First DHCP address (default host number 15). */
  dhcpStart?: string;
  /** DHCP server on (default true). */
  dhcp?: boolean;
  /**
   * DNS relay at host number 3 (UDP only): the host DNS server as `address` or `address:port`,
   * or false for none (default: the first nameserver of /etc/resolv.conf, if any).
   */
  dns?: string | false;
  portForwards?: PortForward[];
  /** No NAT to the outside (default false). */
  restrict?: boolean;
  /** Writes every frame in and out to this pcap file. */
  pcapPath?: string;
  /** Receive window per TCP connection (default 65535). */
  tcpWindowBytes?: number;
  log?: (msg: string) => void;
}

export interface UserNetCounters {
  framesIn: number;
  framesOut: number;
  arpRepliesSent: number;
  arpRequestsSent: number;
  arpResolveFailures: number;
  icmpEchoReplies: number;
  ipFragmentsDropped: number;
  ipChecksumErrors: number;
  ipMalformed: number;
  noRouteDropped: number;
  tcpChecksumErrors: number;
  tcpResetsForUnknown: number;
  dhcpReplies: number;
  natTcpConnections: number;
  natTcpRefused: number;
  forwardedConnections: number;
  udpDatagramsOut: number;
  udpDatagramsIn: number;
  tcp: TcpStats;
}

const DEFAULT_GATEWAY_MAC = '52:55:0a:00:02:02';
const ARP_RETRY_MS = 500;
const ARP_TRIES = 6;
const NAT_CONNECT_TIMEOUT_MS = 20_000;

const nodeTimers: TcpTimers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  defer: (fn) => void setImmediate(fn),
};

function hostDnsServer(): string | undefined {
  try {
    const m = /^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/m.exec(readFileSync('/etc/resolv.conf', 'utf8'));
    return m?.[1];
  } catch {
    return undefined;
  }
}

export class UserNet {
  readonly counters: UserNetCounters;
  readonly gatewayIp: number;
  readonly dnsIp: number | undefined;
  readonly netmask: number;
  readonly networkIp: number;
  readonly firstGuestIp: number;
  readonly gatewayMac: Uint8Array;

  private readonly opts: UserNetOptions;
  private readonly dnsServer: { address: string; port: number } | undefined;
  private readonly dhcp: DhcpServer | undefined;
  private readonly forwards: Array<PortForward & { guestIp: number; boundPort?: number }>;
  private readonly servers: Server[] = [];
  private readonly arp = new Map<number, Uint8Array>();
  private readonly arpWaiters = new Map<
    number,
    {
      resolve: Array<(mac: Uint8Array) => void>;
      reject: Array<(e: Error) => void>;
      timer: ReturnType<typeof setTimeout> | undefined;
    }
  >();
  private readonly conns = new Map<string, TcpConn>();
  private readonly natPending = new Map<string, Socket>();
  private readonly udpNat: UdpNat;
  private port: SwitchPortLike | undefined;
  private pcap: PcapWriter | undefined;
  private ipId = 1;
  private nextLocalPort = 49152;
  private closed = false;

  constructor(opts: UserNetOptions) {
    this.opts = opts;
    const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(opts.network ?? '10.0.2.0/24');
    const net = m ? parseIp(m[1]!) : undefined;
    const prefix = m ? Number(m[2]) : NaN;
    if (net === undefined || !(prefix >= 8 && prefix <= 30)) {
      throw new UserError(
        `usernet network ${opts.network} is not an IPv4 prefix from /8 to /30; write it like 10.0.2.0/24`,
      );
    }
    this.netmask = (0xffffffff << (32 - prefix)) >>> 0;
    this.networkIp = (net & this.netmask) >>> 0;
    const addr = (what: string, s: string | undefined, hostNumber: number): number => {
      const ip = s === undefined ? (this.networkIp + hostNumber) >>> 0 : parseIp(s);
      if (ip === undefined || !this.inNetwork(ip)) {
        throw new UserError(
          `usernet ${what} ${s} is not an address in ${opts.network}; pick one inside the network`,
        );
      }
      return ip;
    };
    this.gatewayIp = addr('gateway', opts.gateway, 2);
    this.firstGuestIp = addr('dhcpStart', opts.dhcpStart, 15);
    const mac = parseMac(opts.gatewayMac ?? DEFAULT_GATEWAY_MAC);
    if (!mac)
      throw new UserError(
        `usernet gatewayMac ${opts.gatewayMac} is not a MAC address; write it like 52:55:0a:00:02:02`,
      );
    this.gatewayMac = mac;
    const dns = opts.dns === false ? undefined : (opts.dns ?? hostDnsServer());
    if (dns !== undefined) {
      const dm = /^(\d+\.\d+\.\d+\.\d+)(?::(\d+))?$/.exec(dns);
      const dnsPort = dm?.[2] !== undefined ? Number(dm[2]) : 53;
      if (!dm || parseIp(dm[1]!) === undefined || dnsPort < 1 || dnsPort > 65535) {
        throw new UserError(
          `usernet dns ${dns} is not an IPv4 address (with an optional :port); give the host's DNS server or false`,
        );
      }
      this.dnsServer = { address: dm[1]!, port: dnsPort };
    }
    this.dnsIp = this.dnsServer !== undefined ? (this.networkIp + 3) >>> 0 : undefined;
    if (opts.dhcp !== false) {
      const broadcastHosts = (~this.netmask >>> 0) - 1;
      this.dhcp = new DhcpServer({
        serverIp: this.gatewayIp,
        netmask: this.netmask,
        router: this.gatewayIp,
        ...(this.dnsIp !== undefined && { dns: this.dnsIp }),
        firstLease: this.firstGuestIp,
        poolSize: Math.max(1, Math.min(16, broadcastHosts - (this.firstGuestIp - this.networkIp) + 1)),
        leaseSeconds: 86400,
      });
    }
    this.forwards = (opts.portForwards ?? []).map((f) => {
      if (f.proto !== 'tcp') {
        throw new UserError(`usernet port forward proto '${String(f.proto)}' is not supported; use 'tcp'`);
      }
      for (const [k, v] of [
        ['hostPort', f.hostPort],
        ['guestPort', f.guestPort],
      ] as const) {
        if (!Number.isInteger(v) || v < 0 || v > 65535 || (k === 'guestPort' && v === 0)) {
          throw new UserError(`usernet port forward ${k} ${v} is not a port number; use 1 to 65535`);
        }
      }
      return { ...f, guestIp: addr('port forward guestAddr', f.guestAddr, 15) };
    });
    this.counters = {
      framesIn: 0,
      framesOut: 0,
      arpRepliesSent: 0,
      arpRequestsSent: 0,
      arpResolveFailures: 0,
      icmpEchoReplies: 0,
      ipFragmentsDropped: 0,
      ipChecksumErrors: 0,
      ipMalformed: 0,
      noRouteDropped: 0,
      tcpChecksumErrors: 0,
      tcpResetsForUnknown: 0,
      dhcpReplies: 0,
      natTcpConnections: 0,
      natTcpRefused: 0,
      forwardedConnections: 0,
      udpDatagramsOut: 0,
      udpDatagramsIn: 0,
      tcp: newTcpStats(),
    };
    this.udpNat = new UdpNat({
      toGuest: (srcIp, srcPort, dstIp, dstPort, payload) => {
        this.counters.udpDatagramsIn++;
        this.sendIp(dstIp, srcIp, IPPROTO_UDP, buildUdp(srcIp, dstIp, srcPort, dstPort, payload));
      },
      mapOut: (ip, port) => {
        if (this.dnsIp !== undefined && ip === this.dnsIp) {
          return port === 53 ? this.dnsServer : undefined;
        }
        return { address: ip === this.gatewayIp ? '127.0.0.1' : ipToString(ip), port };
      },
      onError: (msg) => this.log(msg),
    });
  }

  /** Attaches to the switch and binds the port forwards' host listeners. */
  async start(): Promise<void> {
    if (this.port) return;
    if (this.opts.pcapPath !== undefined) this.pcap = new PcapWriter(this.opts.pcapPath);
    this.port = this.opts.switch.attach(this.opts.portName ?? 'usernet', (f) => this.onFrame(f));
    try {
      for (const f of this.forwards) await this.listen(f);
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  /** The host port a forward is bound to (useful with hostPort 0). */
  hostPortOf(index: number): number {
    const f = this.forwards[index];
    if (f?.boundPort === undefined) throw new Error(`usernet port forward ${index} is not listening`);
    return f.boundPort;
  }

  /** Guests' addresses and MACs learned so far. */
  neighbours(): Array<{ ip: string; mac: string }> {
    return [...this.arp].map(([ip, mac]) => ({
      ip: ipToString(ip),
      mac: Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':'),
    }));
  }

  get activeTcpConnections(): number {
    return this.conns.size;
  }

  /** Closes the listeners and resets every connection; detaches from the switch. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const conn of [...this.conns.values()]) conn.abort();
    for (const s of this.natPending.values()) s.destroy();
    this.natPending.clear();
    for (const w of this.arpWaiters.values()) if (w.timer) clearTimeout(w.timer);
    this.arpWaiters.clear();
    this.udpNat.close();
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.port?.detach();
    this.pcap?.close();
  }

  // -------------------------------------------------------------------------------------------

  private log(msg: string): void {
    this.opts.log?.(msg);
  }

  private inNetwork(ip: number): boolean {
    return (ip & this.netmask) >>> 0 === this.networkIp;
  }

  private async listen(f: PortForward & { guestIp: number; boundPort?: number }): Promise<void> {
    const host = f.hostAddr ?? '127.0.0.1';
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (sock) =>
      this.forwardAccept(f, sock),
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => {
        const code = isErrnoError(e) ? e.code : '';
        if (code === 'EADDRINUSE') {
          reject(
            new UserError(
              `host port ${host}:${f.hostPort} (forwarded to guest port ${f.guestPort}) is already in use; choose another hostPort or stop the program listening on it`,
            ),
          );
        } else if (code === 'EACCES') {
          reject(
            new UserError(
              `host port ${host}:${f.hostPort} needs privileges to bind; choose a hostPort of 1024 or above`,
            ),
          );
        } else if (code === 'EADDRNOTAVAIL') {
          reject(
            new UserError(
              `host address ${host} of a port forward is not on this machine; use 127.0.0.1 or 0.0.0.0`,
            ),
          );
        } else reject(e);
      });
      server.listen({ host, port: f.hostPort }, () => resolve());
    });
    server.on('error', (e) => this.log(`usernet: listener ${host}:${f.hostPort}: ${e.message}`));
    const a = server.address();
    f.boundPort = typeof a === 'object' && a ? a.port : f.hostPort;
    this.servers.push(server);
  }

  private forwardAccept(f: PortForward & { guestIp: number }, sock: Socket): void {
    sock.on('error', () => {});
    this.resolveMac(f.guestIp).then(
      () => {
        if (this.closed || sock.destroyed) {
          sock.destroy();
          return;
        }
        const localPort = this.allocLocalPort(f.guestIp, f.guestPort);
        const conn = this.newConn(this.gatewayIp, localPort, f.guestIp, f.guestPort);
        spliceSocket(sock, conn);
        this.counters.forwardedConnections++;
        conn.connect();
      },
      () => {
        this.log(
          `usernet: guest ${ipToString(f.guestIp)} does not answer ARP; closing the forwarded connection`,
        );
        sock.destroy();
      },
    );
  }

  private allocLocalPort(remoteIp: number, remotePort: number): number {
    for (let i = 0; i < 16384; i++) {
      const p = this.nextLocalPort;
      this.nextLocalPort = p >= 65535 ? 49152 : p + 1;
      if (!this.conns.has(connKey(remoteIp, remotePort, this.gatewayIp, p))) return p;
    }
    throw new Error('usernet: no free local TCP port');
  }

  private newConn(localIp: number, localPort: number, remoteIp: number, remotePort: number): TcpConn {
    const key = connKey(remoteIp, remotePort, localIp, localPort);
    const conn = new TcpConn({
      localIp,
      localPort,
      remoteIp,
      remotePort,
      timers: nodeTimers,
      stats: this.counters.tcp,
      ...(this.opts.tcpWindowBytes !== undefined && { rcvBufBytes: this.opts.tcpWindowBytes }),
      output: (seg) => this.sendTcp(localIp, remoteIp, seg),
      onRelease: () => {
        if (this.conns.get(key) === conn) this.conns.delete(key);
      },
    });
    this.conns.set(key, conn);
    return conn;
  }

  // -------------------------------------------------------------------------------------------
  // Frames in

  private onFrame(frame: Uint8Array): void {
    if (this.closed) return;
    this.counters.framesIn++;
    this.pcap?.write(frame);
    const eth = parseEth(frame);
    if (!eth) return;
    if (!isMulticastMac(eth.dst) && !macEquals(eth.dst, this.gatewayMac)) return;
    if (eth.type === ETHERTYPE_ARP) this.onArp(eth.payload);
    else if (eth.type === ETHERTYPE_IPV4) this.onIpv4(eth.src, eth.payload);
  }

  private isOurAddress(ip: number): boolean {
    return ip === this.gatewayIp || (this.dnsIp !== undefined && ip === this.dnsIp);
  }

  private onArp(p: Uint8Array): void {
    const a = parseArp(p);
    if (!a) return;
    if (a.spa !== 0 && this.inNetwork(a.spa) && !this.isOurAddress(a.spa)) this.learn(a.spa, a.sha);
    if (a.op === ARPOP_REQUEST && this.isOurAddress(a.tpa)) {
      this.counters.arpRepliesSent++;
      const reply = buildArp({ op: ARPOP_REPLY, sha: this.gatewayMac, spa: a.tpa, tha: a.sha, tpa: a.spa });
      this.sendFrame(buildEth(a.sha, this.gatewayMac, ETHERTYPE_ARP, reply));
    }
  }

  private learn(ip: number, mac: Uint8Array): void {
    const old = this.arp.get(ip);
    if (!old || !macEquals(old, mac)) this.arp.set(ip, mac.slice(0, 6));
    const w = this.arpWaiters.get(ip);
    if (w) {
      this.arpWaiters.delete(ip);
      if (w.timer) clearTimeout(w.timer);
      for (const r of w.resolve) r(mac);
    }
  }

  /** The MAC of guest `ip`: from the table, or asked for by ARP up to ARP_TRIES times. */
  private resolveMac(ip: number): Promise<Uint8Array> {
    const known = this.arp.get(ip);
    if (known) return Promise.resolve(known);
    return new Promise((resolve, reject) => {
      const w = this.arpWaiters.get(ip);
      if (w) {
        w.resolve.push(resolve);
        w.reject.push(reject);
        return;
      }
      let tries = 0;
      const ask = () => {
        if (tries++ >= ARP_TRIES) {
          const waiter = this.arpWaiters.get(ip);
          this.arpWaiters.delete(ip);
          this.counters.arpResolveFailures++;
          const e = new Error(`guest ${ipToString(ip)} does not answer ARP`);
          for (const r of waiter?.reject ?? []) r(e);
          return;
        }
        this.counters.arpRequestsSent++;
        const req = buildArp({
          op: ARPOP_REQUEST,
          sha: this.gatewayMac,
          spa: this.gatewayIp,
          tha: ZERO_MAC,
          tpa: ip,
        });
        this.sendFrame(buildEth(BROADCAST_MAC, this.gatewayMac, ETHERTYPE_ARP, req));
        const waiter = this.arpWaiters.get(ip);
        if (waiter) waiter.timer = setTimeout(ask, ARP_RETRY_MS);
      };
      this.arpWaiters.set(ip, { resolve: [resolve], reject: [reject], timer: undefined });
      ask();
    });
  }

  private onIpv4(srcMac: Uint8Array, p: Uint8Array): void {
    const ip = parseIpv4(p);
    if (typeof ip === 'string') {
      if (ip === 'fragment') this.counters.ipFragmentsDropped++;
      else if (ip === 'checksum') this.counters.ipChecksumErrors++;
      else this.counters.ipMalformed++;
      return;
    }
    if (ip.src !== 0 && this.inNetwork(ip.src) && !this.isOurAddress(ip.src)) this.learn(ip.src, srcMac);
    if (ip.proto === IPPROTO_UDP) {
      const u = parseUdp(ip);
      if (!u) return;
      if (
        u.dstPort === DHCP_SERVER_PORT &&
        this.dhcp &&
        (ip.dst === 0xffffffff || this.isOurAddress(ip.dst))
      ) {
        const reply = this.dhcp.handle(u.payload);
        if (reply) {
          this.counters.dhcpReplies++;
          const udp = buildUdp(this.gatewayIp, 0xffffffff, DHCP_SERVER_PORT, DHCP_CLIENT_PORT, reply);
          this.sendFrame(
            buildIpv4Frame(
              BROADCAST_MAC,
              this.gatewayMac,
              this.gatewayIp,
              0xffffffff,
              IPPROTO_UDP,
              udp,
              this.ipId++,
            ),
          );
        }
        return;
      }
      if (!this.routable(ip)) return;
      this.counters.udpDatagramsOut++;
      this.udpNat.output(ip.src, u.srcPort, ip.dst, u.dstPort, u.payload);
      return;
    }
    if (ip.proto === IPPROTO_ICMP) {
      if (this.isOurAddress(ip.dst) && ip.payload[0] === ICMP_ECHO) {
        const reply = icmpEchoReply(ip.payload);
        if (reply) {
          this.counters.icmpEchoReplies++;
          this.sendIp(ip.src, ip.dst, IPPROTO_ICMP, reply);
        }
      }
      return;
    }
    if (ip.proto === IPPROTO_TCP) this.onTcp(ip);
  }

  /** Whether a guest packet to `ip.dst` goes out through NAT (or to the host alias). */
  private routable(ip: Ipv4Packet): boolean {
    if (ip.dst === this.gatewayIp) return !this.opts.restrict;
    if (this.dnsIp !== undefined && ip.dst === this.dnsIp) return true;
    const outside = !this.inNetwork(ip.dst) && ip.dst !== 0xffffffff && ip.dst >>> 28 !== 14;
    if (!outside || this.opts.restrict) {
      this.counters.noRouteDropped++;
      return false;
    }
    return true;
  }

  private onTcp(ip: Ipv4Packet): void {
    const seg = parseTcp(ip.src, ip.dst, ip.payload);
    if (!seg) {
      this.counters.tcpChecksumErrors++;
      return;
    }
    const key = connKey(ip.src, seg.srcPort, ip.dst, seg.dstPort);
    const conn = this.conns.get(key);
    if (conn) {
      conn.input(seg);
      return;
    }
    if (this.natPending.has(key)) return; // a repeated SYN while the host socket connects
    if ((seg.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN && this.routable(ip) && ip.dst !== this.dnsIp) {
      this.natOpen(ip, seg, key);
      return;
    }
    this.resetUnknown(ip, seg);
  }

  private resetUnknown(ip: Ipv4Packet, seg: TcpSegment): void {
    const rst = resetFor(seg);
    if (!rst) return;
    this.counters.tcpResetsForUnknown++;
    this.sendTcp(ip.dst, ip.src, rst);
  }

  private natOpen(ip: Ipv4Packet, syn: TcpSegment, key: string): void {
    const host = ip.dst === this.gatewayIp ? '127.0.0.1' : ipToString(ip.dst);
    const sock = createConnection({ host, port: syn.dstPort, allowHalfOpen: true });
    this.natPending.set(key, sock);
    sock.setTimeout(NAT_CONNECT_TIMEOUT_MS);
    const fail = () => {
      if (this.natPending.get(key) !== sock) return;
      this.natPending.delete(key);
      sock.destroy();
      this.counters.natTcpRefused++;
      if (!this.closed) this.resetUnknown(ip, syn);
    };
    sock.once('error', fail);
    sock.once('timeout', fail);
    sock.once('connect', () => {
      if (this.natPending.get(key) !== sock) return;
      this.natPending.delete(key);
      sock.removeListener('error', fail);
      sock.setTimeout(0);
      if (this.closed) {
        sock.destroy();
        return;
      }
      this.counters.natTcpConnections++;
      const conn = this.newConn(ip.dst, syn.dstPort, ip.src, syn.srcPort);
      sock.pause();
      spliceSocket(sock, conn);
      conn.acceptSyn(syn);
    });
  }

  // -------------------------------------------------------------------------------------------
  // Frames out

  private sendTcp(src: number, dst: number, seg: TcpSegment): void {
    this.sendIp(dst, src, IPPROTO_TCP, buildTcp(src, dst, seg));
  }

  private sendIp(dst: number, src: number, proto: number, l4: Uint8Array): void {
    const mac = this.arp.get(dst);
    if (!mac) {
      // Unknown neighbour: ask, and let the upper layer's retransmission carry the packet.
      this.resolveMac(dst).catch(() => {});
      return;
    }
    this.sendFrame(buildIpv4Frame(mac, this.gatewayMac, src, dst, proto, l4, this.ipId++));
    this.ipId &= 0xffff;
  }

  private sendFrame(frame: Uint8Array): void {
    if (!this.port) return;
    this.counters.framesOut++;
    this.pcap?.write(frame);
    this.port?.send(frame);
  }
}

function connKey(remoteIp: number, remotePort: number, localIp: number, localPort: number): string {
  return `${remoteIp}:${remotePort}>${localIp}:${localPort}`;
}
