/**
 * A small DHCP server (RFC 2131, options from RFC 2132) for the user-mode network.
 *
 * Contract: `handle(request, now)` takes the UDP payload of a client message (BOOTREQUEST) and
 * returns the BOOTREPLY payload to broadcast from port 67 to port 68, or `undefined` when
 * there is nothing to say. Leases are kept per client hardware address: the first client gets
 * `firstLease` (10.0.2.15 by default), the next .16 and so on, `poolSize` addresses in all; a
 * client that comes back gets its old address. Handled: DHCPDISCOVER → DHCPOFFER,
 * DHCPREQUEST → DHCPACK (or DHCPNAK for an address that is not the client's), DHCPRELEASE and
 * DHCPDECLINE (both free the lease), DHCPINFORM → DHCPACK without a lease. Offered options:
 * subnet mask, router, lease time, renewal/rebinding times, server identifier, and DNS servers
 * when configured. No Node.js modules; pure data in and out.
 */
import { getIp, ipToString, putIp } from './usernet_ip.ts';

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;

export const DHCPDISCOVER = 1;
export const DHCPOFFER = 2;
export const DHCPREQUEST = 3;
export const DHCPDECLINE = 4;
export const DHCPACK = 5;
export const DHCPNAK = 6;
export const DHCPRELEASE = 7;
export const DHCPINFORM = 8;

const BOOTREQUEST = 1;
const BOOTREPLY = 2;
const BOOTP_FIXED = 236;
const MAGIC_COOKIE = 0x63825363;

const OPT_PAD = 0;
const OPT_SUBNET_MASK = 1;
const OPT_ROUTER = 3;
const OPT_DNS = 6;
const OPT_BROADCAST = 28;
const OPT_REQUESTED_IP = 50;
const OPT_LEASE_TIME = 51;
const OPT_MESSAGE_TYPE = 53;
const OPT_SERVER_ID = 54;
const OPT_RENEWAL_T1 = 58;
const OPT_REBINDING_T2 = 59;
const OPT_END = 255;

export interface DhcpConfig {
  serverIp: number;
  netmask: number;
  router: number;
  /** DNS server to offer; none when undefined. */
  dns?: number;
  firstLease: number;
  poolSize: number;
  leaseSeconds: number;
}

export interface DhcpLease {
  mac: string;
  ip: number;
}

interface DhcpMessage {
  type: number;
  xid: number;
  flags: number;
  ciaddr: number;
  chaddr: Uint8Array;
  requestedIp: number | undefined;
  serverId: number | undefined;
}

function parseDhcp(p: Uint8Array): DhcpMessage | undefined {
  if (p.length < BOOTP_FIXED + 4 || p[0] !== BOOTREQUEST || p[1] !== 1 || p[2] !== 6) return undefined;
  if (getIp(p, BOOTP_FIXED) !== MAGIC_COOKIE) return undefined;
  const msg: DhcpMessage = {
    type: 0,
    xid: getIp(p, 4),
    flags: (p[10]! << 8) | p[11]!,
    ciaddr: getIp(p, 12),
    chaddr: p.slice(28, 34),
    requestedIp: undefined,
    serverId: undefined,
  };
  for (let i = BOOTP_FIXED + 4; i < p.length;) {
    const code = p[i]!;
    if (code === OPT_END) break;
    if (code === OPT_PAD) {
      i++;
      continue;
    }
    const len = p[i + 1];
    if (len === undefined || i + 2 + len > p.length) return undefined;
    const v = i + 2;
    if (code === OPT_MESSAGE_TYPE && len === 1) msg.type = p[v]!;
    else if (code === OPT_REQUESTED_IP && len === 4) msg.requestedIp = getIp(p, v);
    else if (code === OPT_SERVER_ID && len === 4) msg.serverId = getIp(p, v);
    i = v + len;
  }
  return msg.type === 0 ? undefined : msg;
}

function macKey(mac: Uint8Array): string {
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':');
}

export class DhcpServer {
  private readonly cfg: DhcpConfig;
  private readonly byMac = new Map<string, number>();
  private readonly byIp = new Map<number, string>();

  constructor(cfg: DhcpConfig) {
    this.cfg = cfg;
  }

  /** The leases handed out so far. */
  leases(): DhcpLease[] {
    return [...this.byMac].map(([mac, ip]) => ({ mac, ip }));
  }

  /** The reply to one client message, or `undefined`. */
  handle(request: Uint8Array): Uint8Array | undefined {
    const msg = parseDhcp(request);
    if (!msg) return undefined;
    const mac = macKey(msg.chaddr);
    switch (msg.type) {
      case DHCPDISCOVER: {
        const ip = this.leaseFor(mac, msg.requestedIp);
        return ip === undefined ? undefined : this.reply(msg, DHCPOFFER, ip);
      }
      case DHCPREQUEST: {
        // Selecting another server's offer: forget ours.
        if (msg.serverId !== undefined && msg.serverId !== this.cfg.serverIp) return undefined;
        const wanted = msg.requestedIp ?? msg.ciaddr;
        const ip = this.leaseFor(mac, wanted);
        if (ip === undefined || ip !== wanted) return this.reply(msg, DHCPNAK, 0);
        return this.reply(msg, DHCPACK, ip);
      }
      case DHCPDECLINE:
      case DHCPRELEASE: {
        const ip = this.byMac.get(mac);
        if (ip !== undefined) {
          this.byMac.delete(mac);
          this.byIp.delete(ip);
        }
        return undefined;
      }
      case DHCPINFORM:
        return this.reply(msg, DHCPACK, 0);
      default:
        return undefined;
    }
  }

  private inPool(ip: number): boolean {
    const i = (ip - this.cfg.firstLease) | 0;
    return i >= 0 && i < this.cfg.poolSize;
  }

  /** The client's address: its lease, else `wanted` if free and in the pool, else the first free one. */
  private leaseFor(mac: string, wanted: number | undefined): number | undefined {
    const have = this.byMac.get(mac);
    if (have !== undefined) return have;
    let ip: number | undefined;
    if (wanted !== undefined && this.inPool(wanted) && !this.byIp.has(wanted)) ip = wanted;
    for (let i = 0; ip === undefined && i < this.cfg.poolSize; i++) {
      const cand = (this.cfg.firstLease + i) >>> 0;
      if (!this.byIp.has(cand)) ip = cand;
    }
    if (ip === undefined) return undefined;
    this.byMac.set(mac, ip);
    this.byIp.set(ip, mac);
    return ip;
  }

  private reply(req: DhcpMessage, type: number, yiaddr: number): Uint8Array {
    const c = this.cfg;
    const opts: number[] = [OPT_MESSAGE_TYPE, 1, type];
    const addIp = (code: number, ip: number) =>
      opts.push(code, 4, ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255);
    addIp(OPT_SERVER_ID, c.serverIp);
    if (type !== DHCPNAK) {
      addIp(OPT_SUBNET_MASK, c.netmask);
      addIp(OPT_ROUTER, c.router);
      addIp(OPT_BROADCAST, (c.router & c.netmask) | (~c.netmask >>> 0));
      if (c.dns !== undefined) addIp(OPT_DNS, c.dns);
      if (yiaddr !== 0) {
        addIp(OPT_LEASE_TIME, c.leaseSeconds);
        addIp(OPT_RENEWAL_T1, Math.floor(c.leaseSeconds / 2));
        addIp(OPT_REBINDING_T2, Math.floor((c.leaseSeconds * 7) / 8));
      }
    }
    opts.push(OPT_END);
    const p = new Uint8Array(BOOTP_FIXED + 4 + opts.length);
    p[0] = BOOTREPLY;
    p[1] = 1;
    p[2] = 6;
    putIp(p, 4, req.xid);
    p[10] = req.flags >>> 8;
    p[11] = req.flags;
    if (type === DHCPACK && yiaddr === 0) putIp(p, 12, req.ciaddr);
    putIp(p, 16, yiaddr);
    putIp(p, 20, c.serverIp);
    p.set(req.chaddr, 28);
    putIp(p, BOOTP_FIXED, MAGIC_COOKIE);
    p.set(opts, BOOTP_FIXED + 4);
    return p;
  }
}

/** For logs: `52:54:00:12:34:56 → 10.0.2.15`. */
export function leaseToString(l: DhcpLease): string {
  return `${l.mac} → ${ipToString(l.ip)}`;
}

/** Builds a client message (for tests and tools): `type` from `mac`, optionally requesting `ip`. */
export function buildDhcpRequest(
  type: number,
  mac: Uint8Array,
  xid: number,
  opts: { requestedIp?: number; serverId?: number; ciaddr?: number } = {},
): Uint8Array {
  const o: number[] = [OPT_MESSAGE_TYPE, 1, type];
  const addIp = (code: number, ip: number) =>
    o.push(code, 4, ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255);
  if (opts.requestedIp !== undefined) addIp(OPT_REQUESTED_IP, opts.requestedIp);
  if (opts.serverId !== undefined) addIp(OPT_SERVER_ID, opts.serverId);
  o.push(OPT_END);
  const p = new Uint8Array(BOOTP_FIXED + 4 + o.length);
  p[0] = BOOTREQUEST;
  p[1] = 1;
  p[2] = 6;
  putIp(p, 4, xid);
  putIp(p, 12, opts.ciaddr ?? 0);
  p.set(mac.subarray(0, 6), 28);
  putIp(p, BOOTP_FIXED, MAGIC_COOKIE);
  p.set(o, BOOTP_FIXED + 4);
  return p;
}

/** Reads a server reply (for tests): message type, yiaddr and the options as a map. */
export function parseDhcpReply(p: Uint8Array): {
  type: number;
  yiaddr: number;
  options: Map<number, Uint8Array>;
} {
  const options = new Map<number, Uint8Array>();
  for (let i = BOOTP_FIXED + 4; i < p.length;) {
    const code = p[i]!;
    if (code === OPT_END) break;
    if (code === OPT_PAD) {
      i++;
      continue;
    }
    const len = p[i + 1]!;
    options.set(code, p.slice(i + 2, i + 2 + len));
    i += 2 + len;
  }
  return { type: options.get(OPT_MESSAGE_TYPE)?.[0] ?? 0, yiaddr: getIp(p, 16), options };
}
