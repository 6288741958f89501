/**
 * virtio-console (virtio 1.2 §5.3), in two forms chosen by the constructor.
 *
 * `new VirtioConsole(onOutput)`: a single port, no feature bits (no SIZE, MULTIPORT or
 * EMERG_WRITE), configuration space reads 0. Queue 0 is receiveq (host to guest), queue 1 is
 * transmitq. This is the form the board and the domain builder use for `hvc0`.
 *
 * `new VirtioConsole({ onOutput?, console?, ports })`: VIRTIO_CONSOLE_F_MULTIPORT with
 * `max_nr_ports` = 1 + ports.length. Port 0 is the console (queues 0/1, output to `onOutput`);
 * `ports[i]` is port i+1, a named generic port on queues 2(i+1)+2 and 2(i+1)+3; the control
 * receiveq and transmitq are queues 2 and 3. With `console: false` port 0 is never announced.
 * If the driver does not accept MULTIPORT the device behaves as the single-port form and the
 * named ports stay closed.
 *
 * Control protocol (driver → device on queue 3, device → driver on queue 2, each buffer one
 * `struct virtio_console_control { le32 id; le16 event; le16 value; }`, PORT_NAME followed by
 * the name's UTF-8 bytes): DEVICE_READY(1) → DEVICE_ADD for every port; PORT_READY(1) for a
 * port → CONSOLE_PORT(1) if it is port 0, PORT_NAME if it has a name, PORT_OPEN(1) (the host
 * side is always open); PORT_OPEN(v) from the driver is the guest opening (1) or closing (0)
 * the port and is reported through the port's `onOpen`. Device messages wait in a queue of at
 * most 256 (more are dropped and counted) until the driver posts control receive buffers.
 * A driver message that is short, names a port that was not added, carries an event or value
 * the driver may not send, or repeats DEVICE_READY is ignored and counted
 * (`controlIgnored`, `lastIgnored`). A control receive buffer too small for the message due
 * is a driver bug: DEVICE_NEEDS_RESET. Nothing a driver does throws.
 *
 * Data: every transmitq chain is gathered and handed to its port's output callback as fresh
 * arrays (pieces of at most 64 KiB) and returned with length 0. Port 0 input (`receive`, or
 * `send(0, …)`) is queued without limit and survives a device reset, as it always has. A named
 * port takes host bytes (`send`) only while the guest has it open: while it is closed they are
 * dropped (`send` returns 0) — Linux itself discards data that reaches a port nobody opened,
 * and a stale command must not reach the next agent. While open, up to 64 KiB wait for receive
 * buffers; `send` returns how many bytes it took. Closing the port or resetting the device
 * discards that backlog. Guest receive buffers of a port are filled only while the guest has
 * it open (in multiport mode port 0 too: Linux opens its console itself).
 *
 * Re-entrancy: output callbacks run while their transmitq is drained, `onOpen` after the whole
 * control batch was handled; both may call `send`/`receive`, which touch only receive queues.
 */
import { UserError } from '../../common/errors.ts';
import {
  VIRTIO_ID_CONSOLE,
  readConfigBytes,
  stateBool,
  stateBytes,
  stateRecord,
  type VirtioContext,
  type VirtioDeviceModel,
} from './device.ts';
import type { DescChain, Virtqueue } from './queue.ts';

/** Feature bits (virtio 1.2 §5.3.3). */
export const VIRTIO_CONSOLE_F_SIZE = 0;
export const VIRTIO_CONSOLE_F_MULTIPORT = 1;
export const VIRTIO_CONSOLE_F_EMERG_WRITE = 2;

/** Queues (virtio 1.2 §5.3.2); port N ≥ 1 uses 2N+2 and 2N+3. */
export const VIRTIO_CONSOLE_RECEIVEQ = 0;
export const VIRTIO_CONSOLE_TRANSMITQ = 1;
export const VIRTIO_CONSOLE_CONTROL_RECEIVEQ = 2;
export const VIRTIO_CONSOLE_CONTROL_TRANSMITQ = 3;

/** Control events (virtio 1.2 §5.3.6.2). */
export const VIRTIO_CONSOLE_DEVICE_READY = 0;
export const VIRTIO_CONSOLE_DEVICE_ADD = 1;
export const VIRTIO_CONSOLE_DEVICE_REMOVE = 2;
export const VIRTIO_CONSOLE_PORT_READY = 3;
export const VIRTIO_CONSOLE_CONSOLE_PORT = 4;
export const VIRTIO_CONSOLE_RESIZE = 5;
export const VIRTIO_CONSOLE_PORT_OPEN = 6;
export const VIRTIO_CONSOLE_PORT_NAME = 7;

/** sizeof(struct virtio_console_control). */
export const VIRTIO_CONSOLE_CONTROL_BYTES = 8;
/** Named ports per device (so max_nr_ports ≤ 32, 66 queues). */
export const VIRTIO_CONSOLE_MAX_NAMED_PORTS = 31;
export const VIRTIO_CONSOLE_PORT_NAME_MAX_BYTES = 255;
/** Host bytes a named port holds for the guest while it has no receive buffer posted. */
export const VIRTIO_CONSOLE_PORT_BACKLOG_BYTES = 65536;
export const VIRTIO_CONSOLE_CONTROL_BACKLOG = 256;

const CONSOLE_QUEUE_SIZE = 128;
const PORT_QUEUE_SIZE = 32;
const OUTPUT_PIECE_BYTES = 65536;
/** cols le16, rows le16, max_nr_ports le32, emerg_wr le32. */
const CONFIG_BYTES = 12;

/** The receiveq and transmitq of port `id` (virtio 1.2 §5.3.2). */
export function virtioConsolePortQueues(id: number): [rx: number, tx: number] {
  return id === 0 ? [0, 1] : [2 * id + 2, 2 * id + 3];
}

/** A named port: the guest finds `name` in /sys/class/virtio-ports/vportNpM/name. */
export type VirtioConsolePortOptions = {
  readonly name: string;
  /** Bytes the guest wrote to the port, as a fresh array the host may keep. */
  onOutput(bytes: Uint8Array): void;
  /** The guest opened (true) or closed (false) the port; false also at device reset. */
  onOpen?(open: boolean): void;
};

export type VirtioConsoleOptions = {
  /** Port 0 (console) output. */
  readonly onOutput?: (bytes: Uint8Array) => void;
  /** Announce port 0 and nominate it CONSOLE_PORT (default true). */
  readonly console?: boolean;
  readonly ports: readonly VirtioConsolePortOptions[];
};

export type VirtioConsoleState = { version: 1; pendingInput: number[] };

/** Device-side view of one port; `pending` is host → guest bytes. */
export type VirtioConsolePortState = {
  added: boolean;
  ready: boolean;
  guestOpen: boolean;
  pending: number[];
};

export type VirtioConsoleMultiportState = {
  version: 2;
  deviceReady: boolean;
  /** Index is the port id; ports[0].pending is port 0's input. */
  ports: VirtioConsolePortState[];
  /** Device → driver control messages not yet delivered, as raw bytes. */
  control: number[][];
};

/** Bytes in order, consumed from the front; pushes copy, so callers may reuse their arrays. */
class ByteQueue {
  private chunks: Uint8Array[] = [];
  private offset = 0;
  size = 0;

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.chunks.push(bytes.slice());
    this.size += bytes.length;
  }

  clear(): void {
    this.chunks = [];
    this.offset = 0;
    this.size = 0;
  }

  /** Moves as many bytes as fit into the chain's writable part; -1 if guest memory refused. */
  drainInto(chain: DescChain, ctx: VirtioContext): number {
    let written = 0;
    while (written < chain.writableBytes && this.chunks.length > 0) {
      const first = this.chunks[0] as Uint8Array;
      const part = first.subarray(this.offset, this.offset + chain.writableBytes - written);
      if (!chain.writeTo(ctx.mem, written, part)) return -1;
      written += part.length;
      this.offset += part.length;
      this.size -= part.length;
      if (this.offset === first.length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
    return written;
  }

  toArray(): number[] {
    const all: number[] = [];
    this.chunks.forEach((c, i) => {
      for (const b of i === 0 ? c.subarray(this.offset) : c) all.push(b);
    });
    return all;
  }
}

type Port = {
  readonly id: number;
  /** UTF-8 name for PORT_NAME; null for port 0. */
  readonly name: Uint8Array | null;
  readonly label: string;
  readonly onOutput: (bytes: Uint8Array) => void;
  readonly onOpen: ((open: boolean) => void) | undefined;
  /** Announced with DEVICE_ADD. */
  added: boolean;
  /** The driver answered PORT_READY(1). */
  ready: boolean;
  /** The driver said PORT_OPEN(1) and not yet PORT_OPEN(0). */
  guestOpen: boolean;
  readonly pending: ByteQueue;
};

export class VirtioConsole implements VirtioDeviceModel {
  readonly deviceId = VIRTIO_ID_CONSOLE;
  readonly queueSizes: readonly number[];
  readonly featuresLo: number;
  readonly featuresHi = 0;
  /** Driver control messages ignored as malformed or out of place, and why the last one was. */
  controlIgnored = 0;
  lastIgnored: string | null = null;
  /** Device control messages dropped because the driver left the queue full. */
  controlDropped = 0;
  /** Host bytes refused by `send` (port closed or backlog full). */
  bytesDropped = 0;

  private readonly offersMultiport: boolean;
  private readonly consolePort: boolean;
  private readonly ports: Port[];
  private readonly config = new Uint8Array(CONFIG_BYTES);
  private control: Uint8Array[] = [];
  private deviceReady = false;
  private multiport = false;
  private ctx: VirtioContext | null = null;

  constructor(options: ((bytes: Uint8Array) => void) | VirtioConsoleOptions) {
    const opts: VirtioConsoleOptions =
      typeof options === 'function' ? { onOutput: options, ports: [] } : options;
    this.offersMultiport = typeof options !== 'function';
    this.consolePort = opts.console ?? true;
    const named = checkPorts(opts.ports);
    this.ports = [
      makePort(0, null, 'console', opts.onOutput ?? (() => {}), undefined),
      ...named.map((p, i) => makePort(i + 1, p.utf8, p.name, p.onOutput, p.onOpen)),
    ];
    const sizes = [CONSOLE_QUEUE_SIZE, CONSOLE_QUEUE_SIZE];
    if (this.offersMultiport) {
      // Control queues, then two per named port.
      for (let q = 2; q < 2 * this.ports.length + 2; q++) sizes.push(PORT_QUEUE_SIZE);
      new DataView(this.config.buffer).setUint32(4, this.ports.length, true);
    }
    this.queueSizes = sizes;
    this.featuresLo = this.offersMultiport ? 1 << VIRTIO_CONSOLE_F_MULTIPORT : 0;
  }

  /** Host input for port 0, queued without limit until the guest posts receive buffers. */
  receive(bytes: Uint8Array): void {
    const port0 = this.ports[0] as Port;
    port0.pending.push(bytes);
    this.deliver(port0);
  }

  /**
   * Host bytes for port `port` (its id, or a named port's name). Port 0 is `receive`. A named
   * port takes them only while the guest has it open, and at most what fits its 64 KiB backlog;
   * returns the number of bytes taken (the rest are dropped and counted in `bytesDropped`).
   */
  send(port: number | string, bytes: Uint8Array): number {
    const p = this.port(port);
    if (p.id === 0) {
      this.receive(bytes);
      return bytes.length;
    }
    const room = this.multiport && p.guestOpen ? VIRTIO_CONSOLE_PORT_BACKLOG_BYTES - p.pending.size : 0;
    const taken = Math.min(room, bytes.length);
    this.bytesDropped += bytes.length - taken;
    p.pending.push(bytes.subarray(0, taken));
    this.deliver(p);
    return taken;
  }

  /** Whether the guest has the port open (port 0: whenever the driver runs it). */
  isOpen(port: number | string): boolean {
    const p = this.port(port);
    if (p.id === 0 && !this.multiport) return this.ctx !== null;
    return this.multiport && p.guestOpen;
  }

  /** Bytes received from the host for port 0 and not yet given to the guest. */
  pendingInputBytes(): number {
    return (this.ports[0] as Port).pending.size;
  }

  /** Host bytes waiting for guest receive buffers on a port. */
  pendingBytes(port: number | string): number {
    return this.port(port).pending.size;
  }

  readConfig(offset: number, width: 1 | 2 | 4): number {
    // Without MULTIPORT (or SIZE, EMERG_WRITE) no field means anything: all zero.
    return readConfigBytes(this.config, offset, width);
  }

  writeConfig(): void {}

  activate(ctx: VirtioContext): void {
    this.ctx = ctx;
    this.multiport = this.offersMultiport && (ctx.negotiatedLo & (1 << VIRTIO_CONSOLE_F_MULTIPORT)) !== 0;
    if (this.multiport) {
      this.controlTransmit();
      this.controlDeliver();
    }
    for (const p of this.multiport ? this.ports : this.ports.slice(0, 1)) {
      this.transmit(p);
      this.deliver(p);
    }
  }

  notify(index: number): void {
    if (index === VIRTIO_CONSOLE_CONTROL_RECEIVEQ || index === VIRTIO_CONSOLE_CONTROL_TRANSMITQ) {
      if (!this.multiport) return;
      if (index === VIRTIO_CONSOLE_CONTROL_TRANSMITQ) this.controlTransmit();
      else this.controlDeliver();
      return;
    }
    const id = index < 2 ? 0 : (index >> 1) - 1;
    const p = this.ports[id];
    if (p === undefined || (id > 0 && !this.multiport)) return;
    if ((index & 1) === 1) this.transmit(p);
    else this.deliver(p);
  }

  reset(): void {
    for (const p of this.clear()) p.onOpen?.(false);
  }

  saveState(): VirtioConsoleState | VirtioConsoleMultiportState {
    const port0 = this.ports[0] as Port;
    if (!this.offersMultiport) return { version: 1, pendingInput: port0.pending.toArray() };
    return {
      version: 2,
      deviceReady: this.deviceReady,
      ports: this.ports.map((p) => ({
        added: p.added,
        ready: p.ready,
        guestOpen: p.guestOpen,
        pending: p.pending.toArray(),
      })),
      control: this.control.map((m) => Array.from(m)),
    };
  }

  /**
   * Replaces the state with a saved one: version 1 (port 0 input only) for either form,
   * version 2 for the multiport form with the same number of ports. Does not call `onOpen`;
   * the host asks `isOpen` after a restore.
   */
  restoreState(state: unknown): void {
    const version = (state as { version?: unknown } | null)?.version;
    if (version === 1 || !this.offersMultiport) {
      const kind = 'VirtioConsoleState';
      const pending = stateBytes(stateRecord(state, kind, 1), kind, 'pendingInput');
      this.clear();
      (this.ports[0] as Port).pending.clear();
      (this.ports[0] as Port).pending.push(pending);
      return;
    }
    const kind = 'VirtioConsoleMultiportState';
    const rec = stateRecord(state, kind, 2);
    const deviceReady = stateBool(rec, kind, 'deviceReady');
    const ports = rec['ports'];
    if (!Array.isArray(ports) || ports.length !== this.ports.length) {
      throw new Error(`${kind}.ports must be an array of ${this.ports.length} port states`);
    }
    const saved = ports.map((p: unknown, id) => {
      const pk = `${kind}.ports[${id}]`;
      if (typeof p !== 'object' || p === null || Array.isArray(p)) throw new Error(`${pk} must be an object`);
      const pr = p as Record<string, unknown>;
      const s = {
        added: stateBool(pr, pk, 'added'),
        ready: stateBool(pr, pk, 'ready'),
        guestOpen: stateBool(pr, pk, 'guestOpen'),
        pending: stateBytes(pr, pk, 'pending'),
      };
      if ((s.ready && !s.added) || (s.guestOpen && !s.ready)) {
        throw new Error(`${pk} is ready but not added, or open but not ready`);
      }
      if (id > 0 && s.pending.length > VIRTIO_CONSOLE_PORT_BACKLOG_BYTES) {
        throw new Error(`${pk}.pending holds more than ${VIRTIO_CONSOLE_PORT_BACKLOG_BYTES} bytes`);
      }
      return s;
    });
    const control = rec['control'];
    if (!Array.isArray(control) || control.length > VIRTIO_CONSOLE_CONTROL_BACKLOG) {
      throw new Error(
        `${kind}.control must be an array of at most ${VIRTIO_CONSOLE_CONTROL_BACKLOG} messages`,
      );
    }
    const messages = control.map((m: unknown, i) => {
      const bytes = stateBytes({ m }, `${kind}.control[${i}]`, 'm');
      const problem = this.badDeviceMessage(bytes);
      if (problem !== null) throw new Error(`${kind}.control[${i}] ${problem}`);
      return bytes;
    });
    this.clear();
    this.deviceReady = deviceReady;
    this.control = messages;
    saved.forEach((s, id) => {
      const p = this.ports[id] as Port;
      p.added = s.added;
      p.ready = s.ready;
      p.guestOpen = s.guestOpen;
      p.pending.clear();
      p.pending.push(s.pending);
    });
  }

  /** Back to the state after reset, port 0 input kept; returns the ports the guest had open. */
  private clear(): Port[] {
    this.ctx = null;
    this.multiport = false;
    this.deviceReady = false;
    this.control = [];
    const wasOpen = this.ports.filter((p) => p.guestOpen);
    for (const p of this.ports) {
      p.added = p.ready = p.guestOpen = false;
      if (p.id !== 0) p.pending.clear();
    }
    return wasOpen;
  }

  // ---- data queues -------------------------------------------------------------------------

  private transmit(p: Port): void {
    const ctx = this.ctx;
    const q = ctx?.queues[virtioConsolePortQueues(p.id)[1]];
    if (ctx === null || q === undefined) return;
    for (let chain = q.pop(); chain !== null; chain = q.pop()) {
      for (let done = 0; done < chain.readableBytes;) {
        const piece = new Uint8Array(Math.min(OUTPUT_PIECE_BYTES, chain.readableBytes - done));
        if (!chain.readFrom(ctx.mem, done, piece)) {
          ctx.fail(`virtio-console: a transmit buffer of port ${p.id} is outside guest memory`);
          return;
        }
        p.onOutput(piece);
        done += piece.length;
      }
      if (!q.push(chain.head, 0)) break;
    }
    if (q.needsInterrupt()) ctx.interrupt();
  }

  private deliver(p: Port): void {
    const ctx = this.ctx;
    const q = ctx?.queues[virtioConsolePortQueues(p.id)[0]];
    if (ctx === null || q === undefined || p.pending.size === 0) return;
    if (this.multiport && !p.guestOpen) return;
    this.fill(
      q,
      ctx,
      (chain) => {
        const n = p.pending.drainInto(chain, ctx);
        if (n < 0) ctx.fail(`virtio-console: a receive buffer of port ${p.id} is outside guest memory`);
        return n;
      },
      () => p.pending.size > 0,
    );
  }

  /** Pops chains while `more()`, writes each with `write` (-1: stop), pushes, interrupts once. */
  private fill(q: Virtqueue, ctx: VirtioContext, write: (c: DescChain) => number, more: () => boolean): void {
    while (more()) {
      const chain = q.pop();
      if (chain === null) break;
      const written = write(chain);
      if (written < 0 || !q.push(chain.head, written)) return;
    }
    if (q.needsInterrupt()) ctx.interrupt();
  }

  // ---- control queues ----------------------------------------------------------------------

  private controlTransmit(): void {
    const ctx = this.ctx;
    const q = ctx?.queues[VIRTIO_CONSOLE_CONTROL_TRANSMITQ];
    if (ctx === null || q === undefined) return;
    const header = new Uint8Array(VIRTIO_CONSOLE_CONTROL_BYTES);
    const view = new DataView(header.buffer);
    const opened: [Port, boolean][] = [];
    for (let chain = q.pop(); chain !== null; chain = q.pop()) {
      if (chain.readableBytes < VIRTIO_CONSOLE_CONTROL_BYTES) {
        this.ignore(`a control message of ${chain.readableBytes} bytes is shorter than 8`);
      } else if (!chain.readFrom(ctx.mem, 0, header)) {
        ctx.fail('virtio-console: a control transmit buffer is outside guest memory');
        return;
      } else {
        this.controlMessage(
          view.getUint32(0, true),
          view.getUint16(4, true),
          view.getUint16(6, true),
          opened,
        );
      }
      if (!q.push(chain.head, 0)) break;
    }
    if (q.needsInterrupt()) ctx.interrupt();
    this.controlDeliver();
    for (const [p, open] of opened) {
      if (open) this.deliver(p);
      p.onOpen?.(open);
    }
  }

  /** One driver → device message; open/close changes are collected for callbacks afterwards. */
  private controlMessage(id: number, event: number, value: number, opened: [Port, boolean][]): void {
    if (event === VIRTIO_CONSOLE_DEVICE_READY) {
      if (value !== 1) return this.ignore(`DEVICE_READY with value ${value}: the driver failed`);
      if (this.deviceReady) return this.ignore('DEVICE_READY repeated');
      this.deviceReady = true;
      for (const p of this.ports) {
        if (p.id === 0 && !this.consolePort) continue;
        p.added = true;
        this.queueControl(p.id, VIRTIO_CONSOLE_DEVICE_ADD, 0);
      }
      return;
    }
    const p = this.ports[id];
    if (p === undefined || !p.added) return this.ignore(`event ${event} for port ${id}, which was not added`);
    switch (event) {
      case VIRTIO_CONSOLE_PORT_READY:
        if (value !== 1) {
          return this.ignore(`PORT_READY with value ${value}: the driver could not set up port ${id}`);
        }
        p.ready = true;
        if (p.id === 0) this.queueControl(0, VIRTIO_CONSOLE_CONSOLE_PORT, 1);
        if (p.name !== null) this.queueControl(p.id, VIRTIO_CONSOLE_PORT_NAME, 0, p.name);
        this.queueControl(p.id, VIRTIO_CONSOLE_PORT_OPEN, 1);
        return;
      case VIRTIO_CONSOLE_PORT_OPEN: {
        if (!p.ready) return this.ignore(`PORT_OPEN for port ${id} before PORT_READY`);
        if (value > 1) return this.ignore(`PORT_OPEN with value ${value}`);
        const open = value === 1;
        if (open === p.guestOpen) return;
        p.guestOpen = open;
        // Linux discards what reaches a closed port; a backlog for the old reader is stale.
        if (!open && p.id !== 0) p.pending.clear();
        opened.push([p, open]);
        return;
      }
      default:
        return this.ignore(`event ${event} is not one a driver sends`);
    }
  }

  private ignore(reason: string): void {
    this.controlIgnored++;
    this.lastIgnored = reason;
  }

  private queueControl(id: number, event: number, value: number, extra?: Uint8Array): void {
    if (this.control.length >= VIRTIO_CONSOLE_CONTROL_BACKLOG) {
      this.controlDropped++;
      return;
    }
    const msg = new Uint8Array(VIRTIO_CONSOLE_CONTROL_BYTES + (extra?.length ?? 0));
    const view = new DataView(msg.buffer);
    view.setUint32(0, id, true);
    view.setUint16(4, event, true);
    view.setUint16(6, value, true);
    if (extra !== undefined) msg.set(extra, VIRTIO_CONSOLE_CONTROL_BYTES);
    this.control.push(msg);
  }

  private controlDeliver(): void {
    const ctx = this.ctx;
    const q = ctx?.queues[VIRTIO_CONSOLE_CONTROL_RECEIVEQ];
    if (ctx === null || q === undefined) return;
    this.fill(
      q,
      ctx,
      (chain) => {
        const msg = this.control[0] as Uint8Array;
        if (chain.writableBytes < msg.length) {
          ctx.fail(
            `virtio-console: a control receive buffer of ${chain.writableBytes} bytes is too small for a ${msg.length}-byte message`,
          );
          return -1;
        }
        if (!chain.writeTo(ctx.mem, 0, msg)) {
          ctx.fail('virtio-console: a control receive buffer is outside guest memory');
          return -1;
        }
        this.control.shift();
        return msg.length;
      },
      () => this.control.length > 0,
    );
  }

  /** Why a saved device → driver message is not one this device would send, or null. */
  private badDeviceMessage(m: Uint8Array): string | null {
    if (m.length < VIRTIO_CONSOLE_CONTROL_BYTES) return 'is shorter than 8 bytes';
    const view = new DataView(m.buffer, m.byteOffset, m.length);
    const id = view.getUint32(0, true);
    const event = view.getUint16(4, true);
    if (id >= this.ports.length) return `names port ${id}, which does not exist`;
    const sendable = [
      VIRTIO_CONSOLE_DEVICE_ADD,
      VIRTIO_CONSOLE_CONSOLE_PORT,
      VIRTIO_CONSOLE_PORT_OPEN,
      VIRTIO_CONSOLE_PORT_NAME,
    ];
    if (!sendable.includes(event)) return `has event ${event}, which this device does not send`;
    if (event !== VIRTIO_CONSOLE_PORT_NAME && m.length !== VIRTIO_CONSOLE_CONTROL_BYTES)
      return 'has trailing bytes';
    if (m.length > VIRTIO_CONSOLE_CONTROL_BYTES + VIRTIO_CONSOLE_PORT_NAME_MAX_BYTES) return 'is too long';
    return null;
  }

  private port(port: number | string): Port {
    const p =
      typeof port === 'number' ? this.ports[port] : this.ports.find((q) => q.id > 0 && q.label === port);
    if (p === undefined) {
      const names = this.ports.slice(1).map((q) => q.label);
      throw new UserError(
        `virtio-console has no port ${typeof port === 'number' ? port : `named "${port}"`}; ` +
          (names.length > 0
            ? `its ports are 0 (console) and ${names.join(', ')}`
            : 'it has only port 0 (console)'),
      );
    }
    return p;
  }
}

function makePort(
  id: number,
  name: Uint8Array | null,
  label: string,
  onOutput: (bytes: Uint8Array) => void,
  onOpen: ((open: boolean) => void) | undefined,
): Port {
  const flags = { added: false, ready: false, guestOpen: false };
  return { id, name, label, onOutput, onOpen, ...flags, pending: new ByteQueue() };
}

/** Validates the named ports of an options form and encodes their names. */
function checkPorts(ports: readonly VirtioConsolePortOptions[]) {
  if (ports.length > VIRTIO_CONSOLE_MAX_NAMED_PORTS) {
    throw new UserError(
      `virtio-console is given ${ports.length} named ports; give it at most ${VIRTIO_CONSOLE_MAX_NAMED_PORTS}`,
    );
  }
  const seen = new Set<string>();
  return ports.map((p) => {
    const utf8 = new TextEncoder().encode(p.name);
    // The name becomes a sysfs attribute and, through udev, /dev/virtio-ports/<name>.
    const bad = [...p.name].some((c) => c === '/' || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
    if (utf8.length === 0 || utf8.length > VIRTIO_CONSOLE_PORT_NAME_MAX_BYTES || bad) {
      throw new UserError(
        `virtio-console port name "${p.name}" is not 1..${VIRTIO_CONSOLE_PORT_NAME_MAX_BYTES} bytes without "/" or control characters; pick a name like org.domus.control`,
      );
    }
    if (seen.has(p.name))
      throw new UserError(`virtio-console port name "${p.name}" is used twice; give each port its own name`);
    seen.add(p.name);
    return { ...p, utf8 };
  });
}
