import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../../common/errors.ts';
import {
  VIRTIO_CONSOLE_CONSOLE_PORT,
  VIRTIO_CONSOLE_CONTROL_RECEIVEQ,
  VIRTIO_CONSOLE_CONTROL_TRANSMITQ,
  VIRTIO_CONSOLE_DEVICE_ADD,
  VIRTIO_CONSOLE_DEVICE_READY,
  VIRTIO_CONSOLE_F_MULTIPORT,
  VIRTIO_CONSOLE_PORT_NAME,
  VIRTIO_CONSOLE_PORT_OPEN,
  VIRTIO_CONSOLE_PORT_READY,
  VIRTIO_CONSOLE_RECEIVEQ,
  VIRTIO_CONSOLE_TRANSMITQ,
  VirtioConsole,
  virtioConsolePortQueues,
} from './console.ts';
import { VIRTIO_CONFIG_S_NEEDS_RESET } from './device.ts';
import {
  VIRTIO_MMIO_CONFIG,
  VIRTIO_MMIO_DEVICE_FEATURES,
  VIRTIO_MMIO_DEVICE_FEATURES_SEL,
  VIRTIO_MMIO_DEVICE_ID,
  VIRTIO_MMIO_STATUS,
  VirtioMmio,
} from './mmio.ts';
import { MockDriver, TestLine, TestRam } from './mock_driver.ts';

const BASE = 0x8000_0000;
const text = (s: string) => new TextEncoder().encode(s);

function setup() {
  const ram = new TestRam(BASE, 0x40000);
  const line = new TestLine();
  const output: string[] = [];
  const model = new VirtioConsole((bytes) => output.push(new TextDecoder().decode(bytes)));
  const dev = new VirtioMmio(model, ram, line);
  const drv = new MockDriver(dev, ram);
  /** Posts an rx buffer of `len` bytes and returns a reader for it. */
  const rxBuffer = (len: number) => {
    const at = drv.alloc(len);
    drv.post(VIRTIO_CONSOLE_RECEIVEQ, [{ addr: at, len, write: true }]);
    return (n: number) => new TextDecoder().decode(ram.bytes.subarray(at - BASE, at - BASE + n));
  };
  return { ram, line, output, model, dev, drv, rxBuffer };
}

test('identifies as a console; config space reads zero without features', () => {
  const { dev } = setup();
  assert.equal(dev.read(VIRTIO_MMIO_DEVICE_ID, 4), 3);
  assert.equal(dev.read(VIRTIO_MMIO_CONFIG, 4), 0);
});

test('transmitq chains reach onOutput in order and come back with length 0', () => {
  const { drv, output, line } = setup();
  drv.init({ queues: 2 });
  drv.post(VIRTIO_CONSOLE_TRANSMITQ, [{ addr: drv.place(text('hello, ')), len: 7, write: false }]);
  drv.post(VIRTIO_CONSOLE_TRANSMITQ, [
    { addr: drv.place(text('wor')), len: 3, write: false },
    { addr: drv.place(text('ld\n')), len: 3, write: false },
  ]);
  drv.kick(VIRTIO_CONSOLE_TRANSMITQ);
  assert.equal(output.join(''), 'hello, world\n');
  assert.deepEqual(drv.takeUsed(VIRTIO_CONSOLE_TRANSMITQ), [
    { id: 0, len: 0 },
    { id: 1, len: 0 },
  ]);
  assert.equal(line.level, true);
});

test('host input waits for rx buffers, then fills them as far as they go', () => {
  const { drv, model, rxBuffer, line } = setup();
  model.receive(text('early '));
  drv.init({ queues: 2 });
  assert.equal(model.pendingInputBytes(), 6, 'no buffers yet');
  model.receive(text('bird'));
  const first = rxBuffer(4);
  const second = rxBuffer(64);
  drv.kick(VIRTIO_CONSOLE_RECEIVEQ);
  assert.deepEqual(drv.takeUsed(VIRTIO_CONSOLE_RECEIVEQ), [
    { id: 0, len: 4 },
    { id: 1, len: 6 },
  ]);
  assert.equal(first(4), 'earl');
  assert.equal(second(6), 'y bird');
  assert.equal(model.pendingInputBytes(), 0);
  assert.equal(line.level, true);
  drv.ackInterrupt();

  // A buffer posted with no input pending stays with the device until input arrives.
  const third = rxBuffer(16);
  drv.kick(VIRTIO_CONSOLE_RECEIVEQ);
  assert.deepEqual(drv.takeUsed(VIRTIO_CONSOLE_RECEIVEQ), []);
  assert.equal(line.level, false);
  model.receive(text('x'));
  assert.deepEqual(drv.takeUsed(VIRTIO_CONSOLE_RECEIVEQ), [{ id: 2, len: 1 }]);
  assert.equal(third(1), 'x');
  assert.equal(line.level, true);
});

test('the host buffer passed to receive() may be reused at once', () => {
  const { drv, model, rxBuffer } = setup();
  drv.init({ queues: 2 });
  const buf = text('abc');
  model.receive(buf);
  buf.fill(0x7a);
  const rx = rxBuffer(8);
  drv.kick(VIRTIO_CONSOLE_RECEIVEQ);
  assert.equal(rx(3), 'abc');
});

test('reset drops the rings but keeps host input; save/restore keeps it too', () => {
  const { drv, model } = setup();
  drv.init({ queues: 2 });
  model.receive(text('pending'));
  drv.setReg(VIRTIO_MMIO_STATUS, 0);
  assert.equal(model.pendingInputBytes(), 7);
  const saved = JSON.parse(JSON.stringify(model.saveState())) as unknown;
  assert.deepEqual(saved, { version: 1, pendingInput: [...text('pending')] });

  const other = new VirtioConsole(() => {});
  other.restoreState(saved);
  assert.equal(other.pendingInputBytes(), 7);
  assert.throws(
    () => other.restoreState({ version: 1, pendingInput: [300] }),
    /pendingInput must be an array of bytes/,
  );
  assert.equal(other.pendingInputBytes(), 7, 'a refused state changes nothing');
});

// ---- multiport (VIRTIO_CONSOLE_F_MULTIPORT) ----------------------------------------------------

const CONTROL = 'org.domus.control';
const BAD_ID = 0xffffffff;
type Msg = { id: number; event: number; value: number; name?: string };

/** A multiport device with the console and the given named ports, driven like Linux does. */
function multiport(opts: { names?: string[]; console?: boolean } = {}) {
  const names = opts.names ?? [CONTROL];
  const ram = new TestRam(BASE, 0x100000);
  const line = new TestLine();
  const consoleOut: string[] = [];
  const portOut = new Map<string, string[]>(names.map((n) => [n, []]));
  const opens: [string, boolean][] = [];
  const model = new VirtioConsole({
    onOutput: (b) => consoleOut.push(new TextDecoder().decode(b)),
    ...(opts.console !== undefined && { console: opts.console }),
    ports: names.map((name) => ({
      name,
      onOutput: (b: Uint8Array) => portOut.get(name)?.push(new TextDecoder().decode(b)),
      onOpen: (open: boolean) => opens.push([name, open]),
    })),
  });
  const dev = new VirtioMmio(model, ram, line);
  const drv = new MockDriver(dev, ram);
  const queues = 2 * (names.length + 1) + 2;
  /** Guest address of every posted receive buffer, by queue and head. */
  const rxAt = new Map<string, number>();
  const postRx = (queue: number, len: number) => {
    const at = drv.alloc(len);
    rxAt.set(`${queue}:${drv.post(queue, [{ addr: at, len, write: true }])}`, at);
  };
  /** Driver → device control message (Linux waits for it to be used); returns the used entries. */
  const control = (id: number, event: number, value: number, bytes = 8) => {
    const msg = new Uint8Array(bytes);
    const view = new DataView(msg.buffer);
    if (bytes >= 8) {
      view.setUint32(0, id, true);
      view.setUint16(4, event, true);
      view.setUint16(6, value, true);
    }
    drv.post(VIRTIO_CONSOLE_CONTROL_TRANSMITQ, [{ addr: drv.place(msg), len: bytes, write: false }]);
    drv.kick(VIRTIO_CONSOLE_CONTROL_TRANSMITQ);
    return drv.takeUsed(VIRTIO_CONSOLE_CONTROL_TRANSMITQ);
  };
  /** Device → driver control messages used since the last call, decoded. */
  const received = (): Msg[] =>
    drv.takeUsed(VIRTIO_CONSOLE_CONTROL_RECEIVEQ).map((u) => {
      const at = rxAt.get(`${VIRTIO_CONSOLE_CONTROL_RECEIVEQ}:${u.id}`) ?? -1;
      const view = new DataView(ram.bytes.buffer, at - BASE, u.len);
      const m: Msg = {
        id: view.getUint32(0, true),
        event: view.getUint16(4, true),
        value: view.getUint16(6, true),
      };
      if (u.len > 8) m.name = new TextDecoder().decode(ram.bytes.subarray(at - BASE + 8, at - BASE + u.len));
      return m;
    });
  /** Data the device put into receive buffers of `queue` since the last call. */
  const data = (queue: number) =>
    drv
      .takeUsed(queue)
      .map((u) => {
        const at = (rxAt.get(`${queue}:${u.id}`) ?? -1) - BASE;
        return new TextDecoder().decode(ram.bytes.subarray(at, at + u.len));
      })
      .join('');
  const postControlRx = (n: number) => {
    for (let i = 0; i < n; i++) postRx(VIRTIO_CONSOLE_CONTROL_RECEIVEQ, 64);
    drv.kick(VIRTIO_CONSOLE_CONTROL_RECEIVEQ);
  };
  /** Linux's probe and port setup: up to the point where every port is announced and ready. */
  const handshake = () => {
    drv.init({ queues });
    postControlRx(8);
    control(BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
    const adds = received();
    postControlRx(3 * adds.length);
    for (const a of adds) {
      const [rx] = virtioConsolePortQueues(a.id);
      for (let i = 0; i < 4; i++) postRx(rx, 32);
      drv.kick(rx);
      control(a.id, VIRTIO_CONSOLE_PORT_READY, 1);
    }
    const afterReady = received();
    postControlRx(8);
    return { adds, afterReady };
  };
  return {
    ram,
    line,
    consoleOut,
    portOut,
    opens,
    model,
    dev,
    drv,
    queues,
    postRx,
    control,
    received,
    data,
    postControlRx,
    handshake,
  };
}

test('multiport: offers MULTIPORT, max_nr_ports in config and the queues of §5.3.2', () => {
  const { dev, drv, queues } = multiport({ names: ['a', 'b'] });
  assert.equal(queues, 8);
  dev.write(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 4, 0);
  assert.equal(dev.read(VIRTIO_MMIO_DEVICE_FEATURES, 4) & 7, 1 << VIRTIO_CONSOLE_F_MULTIPORT);
  assert.equal(dev.read(VIRTIO_MMIO_CONFIG + 4, 4), 3, 'max_nr_ports = console + 2 named ports');
  assert.equal(dev.read(VIRTIO_MMIO_CONFIG, 4), 0, 'no SIZE: cols and rows are 0');
  drv.init({ queues: 8 });
  assert.throws(() => drv.setupQueue(8), /does not exist/);
  assert.deepEqual(virtioConsolePortQueues(0), [0, 1]);
  assert.deepEqual(virtioConsolePortQueues(2), [6, 7]);
});

test('multiport: DEVICE_READY → DEVICE_ADD for each port; PORT_READY → CONSOLE_PORT, PORT_NAME, PORT_OPEN', () => {
  const { handshake, model } = multiport({ names: [CONTROL, 'second'] });
  const { adds, afterReady } = handshake();
  assert.deepEqual(adds, [
    { id: 0, event: VIRTIO_CONSOLE_DEVICE_ADD, value: 0 },
    { id: 1, event: VIRTIO_CONSOLE_DEVICE_ADD, value: 0 },
    { id: 2, event: VIRTIO_CONSOLE_DEVICE_ADD, value: 0 },
  ]);
  assert.deepEqual(afterReady, [
    { id: 0, event: VIRTIO_CONSOLE_CONSOLE_PORT, value: 1 },
    { id: 0, event: VIRTIO_CONSOLE_PORT_OPEN, value: 1 },
    { id: 1, event: VIRTIO_CONSOLE_PORT_NAME, value: 0, name: CONTROL },
    { id: 1, event: VIRTIO_CONSOLE_PORT_OPEN, value: 1 },
    { id: 2, event: VIRTIO_CONSOLE_PORT_NAME, value: 0, name: 'second' },
    { id: 2, event: VIRTIO_CONSOLE_PORT_OPEN, value: 1 },
  ]);
  assert.equal(model.controlIgnored, 0, String(model.lastIgnored));
  assert.equal(model.isOpen(CONTROL), false, 'announced is not opened');
  // `received` decodes le32 id, le16 event, le16 value and takes the name as the used length
  // minus 8, so a NUL terminator or a wrong length would show up in the names above.
});

test('multiport: console: false announces only the named ports and never CONSOLE_PORT', () => {
  const { handshake } = multiport({ console: false });
  const { adds, afterReady } = handshake();
  assert.deepEqual(
    adds.map((m) => m.id),
    [1],
  );
  assert.ok(afterReady.every((m) => m.event !== VIRTIO_CONSOLE_CONSOLE_PORT));
});

test('multiport: data both ways on a named port, only while the guest has it open', () => {
  const { handshake, control, model, data, drv, opens, portOut, line } = multiport();
  handshake();
  const [rx, tx] = virtioConsolePortQueues(1);
  assert.equal(model.send(CONTROL, text('early')), 0, 'closed: dropped');
  assert.equal(model.bytesDropped, 5);
  assert.equal(data(rx), '');

  control(1, VIRTIO_CONSOLE_PORT_OPEN, 1);
  assert.deepEqual(opens, [[CONTROL, true]]);
  assert.equal(model.isOpen(CONTROL), true);
  drv.ackInterrupt();
  assert.equal(model.send(CONTROL, text('shutdown\n')), 9);
  assert.equal(line.level, true);
  assert.equal(data(rx), 'shutdown\n');
  assert.equal(model.send(1, text('x'.repeat(200))), 200, 'by port number; more than the 4 buffers hold');
  assert.equal(data(rx), 'x'.repeat(96));
  assert.equal(model.pendingBytes(CONTROL), 104);

  drv.post(tx, [{ addr: drv.place(text('ack ')), len: 4, write: false }]);
  drv.post(tx, [{ addr: drv.place(text('shutdown')), len: 8, write: false }]);
  drv.kick(tx);
  assert.equal(portOut.get(CONTROL)?.join(''), 'ack shutdown');
  assert.deepEqual(drv.takeUsed(tx), [
    { id: 0, len: 0 },
    { id: 1, len: 0 },
  ]);

  control(1, VIRTIO_CONSOLE_PORT_OPEN, 0);
  assert.deepEqual(opens.at(-1), [CONTROL, false]);
  assert.equal(model.pendingBytes(CONTROL), 0, 'closing discards the backlog');
  assert.equal(model.send(CONTROL, text('late')), 0);
});

test('multiport: a named port backlog is bounded at 64 KiB', () => {
  const { handshake, control, model } = multiport();
  handshake();
  control(1, VIRTIO_CONSOLE_PORT_OPEN, 1);
  const big = new Uint8Array(70000).fill(0x41);
  assert.equal(model.send(CONTROL, big), 65536);
  assert.equal(model.bytesDropped, 70000 - 65536);
  // 4 × 32 bytes went straight into the posted buffers; the rest waits.
  assert.equal(model.pendingBytes(CONTROL), 65536 - 128);
  assert.equal(model.send(CONTROL, big), 128, 'only the room the guest made');
});

test('multiport: console port 0 still carries hvc data both ways', () => {
  const { handshake, control, model, data, drv, consoleOut } = multiport();
  handshake();
  model.receive(text('ls\n'));
  assert.equal(data(0), '', 'Linux would discard input before it opens its console');
  assert.equal(model.pendingInputBytes(), 3);
  control(0, VIRTIO_CONSOLE_PORT_OPEN, 1);
  assert.equal(data(0), 'ls\n');
  drv.post(1, [{ addr: drv.place(text('# ')), len: 2, write: false }]);
  drv.kick(1);
  assert.deepEqual(consoleOut, ['# ']);
  assert.equal(model.send(0, text('y')), 1);
  assert.equal(data(0), 'y');
});

test('multiport: control messages wait until the driver posts control receive buffers', () => {
  const { drv, queues, control, received, postControlRx, line, model } = multiport({
    names: ['a', 'b', 'c'],
  });
  drv.init({ queues });
  control(BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
  assert.deepEqual(received(), [], 'nowhere to put them yet');
  drv.ackInterrupt();
  postControlRx(1);
  assert.deepEqual(received(), [{ id: 0, event: VIRTIO_CONSOLE_DEVICE_ADD, value: 0 }]);
  assert.equal(line.level, true);
  postControlRx(8);
  assert.deepEqual(
    received().map((m) => m.id),
    [1, 2, 3],
  );
  control(BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
  assert.deepEqual(received(), [], 'a repeated DEVICE_READY adds nothing');
  assert.equal(model.lastIgnored, 'DEVICE_READY repeated');
});

test('multiport: malformed or out-of-place driver messages are ignored, never thrown', () => {
  const { drv, queues, control, received, postControlRx, model, opens, dev } = multiport();
  drv.init({ queues });
  postControlRx(4);
  assert.deepEqual(control(0, 0, 0, 4), [{ id: 0, len: 0 }], 'a short message is returned');
  assert.match(String(model.lastIgnored), /4 bytes is shorter than 8/);
  control(1, VIRTIO_CONSOLE_PORT_READY, 1);
  assert.match(String(model.lastIgnored), /port 1, which was not added/);
  control(BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
  received();
  control(7, VIRTIO_CONSOLE_PORT_READY, 1);
  assert.match(String(model.lastIgnored), /port 7/);
  control(BAD_ID, VIRTIO_CONSOLE_PORT_OPEN, 1);
  control(1, VIRTIO_CONSOLE_PORT_OPEN, 1);
  assert.match(String(model.lastIgnored), /before PORT_READY/);
  control(1, VIRTIO_CONSOLE_DEVICE_ADD, 0);
  assert.match(String(model.lastIgnored), /event 1 is not one a driver sends/);
  control(1, 99, 0);
  control(1, VIRTIO_CONSOLE_PORT_READY, 0);
  assert.match(String(model.lastIgnored), /could not set up port 1/);
  assert.deepEqual(received(), [], 'a failed PORT_READY gets no name and no open');
  assert.equal(model.controlIgnored, 8);
  assert.deepEqual(opens, []);
  assert.equal(dev.read(VIRTIO_MMIO_STATUS, 4) & VIRTIO_CONFIG_S_NEEDS_RESET, 0, 'the device still works');
  control(1, VIRTIO_CONSOLE_PORT_READY, 1);
  assert.equal(received().length, 2);
});

test('multiport: a control receive buffer too small for PORT_NAME fails the device', () => {
  const { drv, queues, control, received, postRx, dev } = multiport();
  drv.init({ queues });
  postRx(VIRTIO_CONSOLE_CONTROL_RECEIVEQ, 8);
  postRx(VIRTIO_CONSOLE_CONTROL_RECEIVEQ, 8);
  postRx(VIRTIO_CONSOLE_CONTROL_RECEIVEQ, 8);
  drv.kick(VIRTIO_CONSOLE_CONTROL_RECEIVEQ);
  control(BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
  assert.equal(received().length, 2);
  control(1, VIRTIO_CONSOLE_PORT_READY, 1);
  assert.notEqual(dev.read(VIRTIO_MMIO_STATUS, 4) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
  assert.match(String(dev.failure), /8 bytes is too small for a 25-byte message/);
});

test('multiport: a driver that declines MULTIPORT gets a single-port console', () => {
  const { drv, model, consoleOut, dev } = multiport();
  drv.init({ queues: 2, acceptLo: ~(1 << VIRTIO_CONSOLE_F_MULTIPORT) });
  drv.post(1, [{ addr: drv.place(text('hi')), len: 2, write: false }]);
  drv.kick(1);
  assert.deepEqual(consoleOut, ['hi']);
  model.receive(text('k'));
  const at = drv.alloc(8);
  drv.post(0, [{ addr: at, len: 8, write: true }]);
  drv.kick(0);
  assert.deepEqual(drv.takeUsed(0), [{ id: 0, len: 1 }]);
  assert.equal(model.send(CONTROL, text('x')), 0);
  assert.equal(model.isOpen(0), true);
  drv.kick(VIRTIO_CONSOLE_CONTROL_TRANSMITQ);
  assert.equal(dev.read(VIRTIO_MMIO_STATUS, 4) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
});

test('multiport: device reset closes every port and tells the host', () => {
  const { handshake, control, model, opens, drv } = multiport({ names: ['a', 'b'] });
  handshake();
  control(1, VIRTIO_CONSOLE_PORT_OPEN, 1);
  control(2, VIRTIO_CONSOLE_PORT_OPEN, 1);
  model.send('a', text('stale'));
  model.receive(text('kept'));
  drv.setReg(VIRTIO_MMIO_STATUS, 0);
  assert.deepEqual(opens.slice(2), [
    ['a', false],
    ['b', false],
  ]);
  assert.equal(model.isOpen('a'), false);
  assert.equal(model.pendingBytes('a'), 0);
  assert.equal(model.pendingInputBytes(), 4, 'console input survives a reset as before');
});

test('multiport: save → JSON → restore mid-handshake continues where it stopped', () => {
  const s = multiport({ names: ['a', 'b'] });
  s.drv.init({ queues: s.queues });
  s.control(BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
  s.postControlRx(1);
  assert.equal(s.received().length, 1);
  const saved = JSON.parse(JSON.stringify(s.dev.saveState())) as { model: unknown };
  assert.equal((saved.model as { control: unknown[] }).control.length, 2, 'two DEVICE_ADDs still queued');

  const opens: boolean[] = [];
  const model2 = new VirtioConsole({
    ports: ['a', 'b'].map((name) => ({ name, onOutput: () => {}, onOpen: (o: boolean) => opens.push(o) })),
  });
  const dev2 = new VirtioMmio(model2, s.ram, s.line);
  dev2.restoreState(saved);
  // The same guest, now talking to the restored device.
  (s.drv as { dev: unknown }).dev = dev2;
  s.postControlRx(4);
  assert.deepEqual(
    s.received().map((m) => [m.id, m.event]),
    [
      [1, VIRTIO_CONSOLE_DEVICE_ADD],
      [2, VIRTIO_CONSOLE_DEVICE_ADD],
    ],
  );
  s.control(2, VIRTIO_CONSOLE_PORT_READY, 1);
  s.control(2, VIRTIO_CONSOLE_PORT_OPEN, 1);
  assert.deepEqual(opens, [true]);
  assert.equal(model2.isOpen('b'), true);
});

test('multiport: restore validates every field and a refused state changes nothing', () => {
  const { handshake, control, model } = multiport({ names: ['a'] });
  handshake();
  control(1, VIRTIO_CONSOLE_PORT_OPEN, 1);
  const good = JSON.parse(JSON.stringify(model.saveState())) as Record<string, unknown>;
  const ports = good['ports'] as Record<string, unknown>[];
  const bad: [unknown, RegExp][] = [
    [{ ...good, version: 3 }, /version must be 2/],
    [{ ...good, ports: ports.slice(1) }, /ports must be an array of 2/],
    [
      { ...good, ports: [ports[0], { ...ports[1], ready: false }] },
      /ready but not added, or open but not ready/,
    ],
    [{ ...good, ports: [ports[0], { ...ports[1], pending: new Array(65537).fill(0) }] }, /more than 65536/],
    [{ ...good, control: [[1, 0, 0, 0, 9, 0, 0, 0]] }, /event 9/],
    [{ ...good, control: [[5, 0, 0, 0, 1, 0, 0, 0]] }, /port 5/],
    [{ ...good, deviceReady: 'yes' }, /deviceReady must be a boolean/],
  ];
  for (const [state, message] of bad) assert.throws(() => model.restoreState(state), message);
  assert.equal(model.isOpen('a'), true, 'unchanged');
  model.restoreState(good);
  assert.deepEqual(JSON.parse(JSON.stringify(model.saveState())), good);
  model.restoreState({ version: 1, pendingInput: [104, 105] });
  assert.equal(model.pendingInputBytes(), 2, 'a single-port state restores port 0 input');
  assert.equal(model.isOpen('a'), false);
});

test('multiport: port names and host calls are checked with one-sentence errors', () => {
  const port = (name: string) => ({ name, onOutput: () => {} });
  assert.throws(() => new VirtioConsole({ ports: [port('a/b')] }), UserError);
  assert.throws(() => new VirtioConsole({ ports: [port('')] }), /without "\/" or control characters/);
  assert.throws(() => new VirtioConsole({ ports: [port('x\n')] }), UserError);
  assert.throws(() => new VirtioConsole({ ports: [port('a'), port('a')] }), /used twice/);
  assert.throws(
    () => new VirtioConsole({ ports: Array.from({ length: 32 }, (_, i) => port(`p${i}`)) }),
    /at most 31/,
  );
  const con = new VirtioConsole({ ports: [port('a')] });
  assert.throws(() => con.send('nope', text('x')), /no port named "nope"; its ports are 0 \(console\) and a/);
  assert.throws(() => con.send(2, text('x')), UserError);
});
