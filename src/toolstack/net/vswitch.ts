/**
 * The virtual Ethernet switch between domains (Xen's `xenbr0`): a learning bridge with ports.
 *
 * A port is anything that sends and receives Ethernet frames: a guest's virtio-net device,
 * the host-side user-mode network stack, a tap. `attach(name, deliver)` gives it a
 * `SwitchPort`; `send` hands the switch a frame; the switch calls other ports' `deliver`.
 *
 * Forwarding, as an IEEE 802.1D learning bridge (and Linux's bridge) does it:
 * - the source MAC of every frame is learned on its ingress port; a MAC seen on another port
 *   moves there; entries not refreshed for `macAgeingMs` (default 300 s, Linux's
 *   `ageing_time`) are forgotten, and a port's entries go when it detaches;
 * - known unicast goes to its port only; broadcast, multicast and unknown unicast are flooded
 *   to every port but the ingress one; a frame whose destination was learned on its own
 *   ingress port is dropped (the destination already saw it on that segment);
 * - runts (< 14 bytes) and frames with a multicast or all-zero source are dropped and counted.
 * The table holds at most `MAX_MAC_ENTRIES` addresses, so a port spraying random sources costs
 * flooding, not memory.
 *
 * Delivery and re-entrancy: `send` delivers synchronously; when it returns, every port that
 * gets the frame has had `deliver` called. A `deliver` callback may itself `send` (a host stack
 * answering an ARP request at once), attach or detach ports: frames sent from inside a
 * delivery are copied and queued, then forwarded in order after the current frame, before the
 * outermost `send` returns; a port detached mid-flood gets nothing more; a port attached
 * mid-flood starts with the next frame. One outermost `send` forwards at most
 * `MAX_NESTED_FRAMES` such frames; later ones are dropped and counted, so two ports echoing
 * each other forever cost a bounded amount of time and memory instead of hanging the caller. The frame given to
 * `deliver` is shared by all receivers and valid only during the call: copy it to keep it.
 * `deliver` must not throw; if it does, the switch stays consistent and the error propagates.
 *
 * Not here: VLANs, STP (there are no loops between software ports), rate limits.
 */
import { UserError } from '../../common/errors.ts';
import { ETH_ALEN, ETH_HLEN, formatMac } from './ethernet.ts';

export interface SwitchPort {
  readonly name: string;
  send(frame: Uint8Array): void;
  detach(): void;
}

/** Per-port counters, from the switch's side: rx is what the port sent in, tx what it got. */
export type PortCounters = {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  /** Frames from this port that were not forwarded: runts, bad sources, own-segment, overflow. */
  rxDropped: number;
  /** The part of `rxDropped` that were runts. */
  runts: number;
};

export const DEFAULT_MAC_AGEING_MS = 300_000;
export const MAX_MAC_ENTRIES = 4096;
export const MAX_NESTED_FRAMES = 1024;

type MacEntry = { port: Port; seenMs: number };

class Port implements SwitchPort {
  readonly name: string;
  readonly deliver: (frame: Uint8Array) => void;
  readonly counters: PortCounters = {
    rxFrames: 0,
    rxBytes: 0,
    txFrames: 0,
    txBytes: 0,
    rxDropped: 0,
    runts: 0,
  };
  attached = true;
  private readonly sw: VSwitch;

  constructor(sw: VSwitch, name: string, deliver: (frame: Uint8Array) => void) {
    this.sw = sw;
    this.name = name;
    this.deliver = deliver;
  }

  send(frame: Uint8Array): void {
    this.sw.input(this, frame);
  }

  detach(): void {
    this.sw.remove(this);
  }
}

/** The 48-bit address at `offset` as an exact number, a cheap map key. */
function macKey(frame: Uint8Array, offset: number): number {
  const hi = ((frame[offset] as number) << 8) | (frame[offset + 1] as number);
  const lo =
    (((frame[offset + 2] as number) << 24) |
      ((frame[offset + 3] as number) << 16) |
      ((frame[offset + 4] as number) << 8) |
      (frame[offset + 5] as number)) >>>
    0;
  return hi * 0x1_0000_0000 + lo;
}

function keyToMac(key: number): string {
  const bytes = new Uint8Array(ETH_ALEN);
  let v = key;
  for (let i = ETH_ALEN - 1; i >= 0; i--) {
    bytes[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return formatMac(bytes);
}

export class VSwitch {
  readonly name: string;
  readonly macAgeingMs: number;
  private readonly now: () => number;
  private readonly portMap = new Map<string, Port>();
  private readonly table = new Map<number, MacEntry>();
  /** Frames sent from inside a delivery, waiting for the current one to finish. */
  private readonly pending: { port: Port; frame: Uint8Array }[] = [];
  private forwarding = false;
  /** Frames sent from inside deliveries since the outermost `send` began. */
  private nested = 0;

  constructor(opts: { name?: string; macAgeingMs?: number; now?: () => number } = {}) {
    this.name = opts.name ?? 'xenbr0';
    const ageing = opts.macAgeingMs ?? DEFAULT_MAC_AGEING_MS;
    if (!Number.isFinite(ageing) || ageing < 0) {
      throw new UserError(
        `switch ${this.name}: MAC ageing time ${ageing} ms is not a non-negative number; pass 0 or more milliseconds`,
      );
    }
    this.macAgeingMs = ageing;
    this.now = opts.now ?? (() => Date.now());
  }

  get ports(): ReadonlyMap<string, SwitchPort> {
    return this.portMap;
  }

  /** Connects a port; `deliver` receives the frames the switch forwards to it. */
  attach(name: string, deliver: (frame: Uint8Array) => void): SwitchPort {
    if (name === '') throw new UserError(`switch ${this.name}: a port needs a name; pass one such as vif1.0`);
    if (this.portMap.has(name)) {
      throw new UserError(
        `switch ${this.name} already has a port named ${name}; detach it first or pick another name`,
      );
    }
    const port = new Port(this, name, deliver);
    this.portMap.set(name, port);
    return port;
  }

  /** Learned MAC → port name, live entries only, sorted by MAC. */
  macTable(): { mac: string; port: string; ageMs: number }[] {
    const now = this.now();
    this.expire(now);
    const rows: { key: number; port: string; ageMs: number }[] = [];
    for (const [key, e] of this.table) rows.push({ key, port: e.port.name, ageMs: now - e.seenMs });
    rows.sort((a, b) => a.key - b.key);
    return rows.map((r) => ({ mac: keyToMac(r.key), port: r.port, ageMs: r.ageMs }));
  }

  /** A copy of a port's counters, or undefined if no port has that name. */
  portCounters(name: string): PortCounters | undefined {
    const p = this.portMap.get(name);
    return p === undefined ? undefined : { ...p.counters };
  }

  /** Called by `Port.send`. */
  input(port: Port, frame: Uint8Array): void {
    if (!port.attached) return;
    if (this.forwarding) {
      if (++this.nested > MAX_NESTED_FRAMES) {
        port.counters.rxFrames++;
        port.counters.rxBytes += frame.length;
        port.counters.rxDropped++;
        return;
      }
      // The sender may reuse its buffer as soon as send() returns, before we get to it.
      this.pending.push({ port, frame: frame.slice() });
      return;
    }
    this.forwarding = true;
    this.nested = 0;
    try {
      this.forward(port, frame);
      for (let next = this.pending.shift(); next !== undefined; next = this.pending.shift()) {
        this.forward(next.port, next.frame);
      }
    } finally {
      this.forwarding = false;
      this.pending.length = 0;
    }
  }

  /** Called by `Port.detach`. */
  remove(port: Port): void {
    if (!port.attached) return;
    port.attached = false;
    this.portMap.delete(port.name);
    for (const [key, e] of this.table) if (e.port === port) this.table.delete(key);
  }

  private forward(ingress: Port, frame: Uint8Array): void {
    const c = ingress.counters;
    // A port detached while its frame waited in the queue: the frame dies with the port.
    if (!ingress.attached) return;
    c.rxFrames++;
    c.rxBytes += frame.length;
    if (frame.length < ETH_HLEN) {
      c.runts++;
      c.rxDropped++;
      return;
    }
    // Group bit set, or all zero: no station has this address (Linux's bridge drops these too).
    const src = macKey(frame, ETH_ALEN);
    if ((frame[ETH_ALEN] as number) & 1 || src === 0) {
      c.rxDropped++;
      return;
    }
    const now = this.now();
    this.learn(src, ingress, now);

    if (((frame[0] as number) & 1) === 0) {
      const dst = this.lookup(macKey(frame, 0), now);
      if (dst !== undefined) {
        if (dst === ingress) c.rxDropped++;
        else this.deliverTo(dst, frame);
        return;
      }
    }
    // Flood over a snapshot, so ports attached or detached by a callback do not upset the walk.
    for (const p of Array.from(this.portMap.values())) {
      if (p !== ingress && p.attached) this.deliverTo(p, frame);
    }
  }

  private deliverTo(p: Port, frame: Uint8Array): void {
    p.counters.txFrames++;
    p.counters.txBytes += frame.length;
    p.deliver(frame);
  }

  private learn(key: number, port: Port, now: number): void {
    const e = this.table.get(key);
    if (e !== undefined) {
      e.port = port;
      e.seenMs = now;
      return;
    }
    if (this.table.size >= MAX_MAC_ENTRIES) {
      this.expire(now);
      if (this.table.size >= MAX_MAC_ENTRIES) return;
    }
    this.table.set(key, { port, seenMs: now });
  }

  private lookup(key: number, now: number): Port | undefined {
    const e = this.table.get(key);
    if (e === undefined) return undefined;
    if (now - e.seenMs >= this.macAgeingMs) {
      this.table.delete(key);
      return undefined;
    }
    return e.port;
  }

  private expire(now: number): void {
    for (const [key, e] of this.table) if (now - e.seenMs >= this.macAgeingMs) this.table.delete(key);
  }
}
