import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtioMmio } from '../../machine/virtio/mmio.ts';
import { MockDriver, TestLine, TestRam } from '../../machine/virtio/mock_driver.ts';
import {
  VIRTIO_NET_HDR_BYTES,
  VIRTIO_NET_RECEIVEQ,
  VIRTIO_NET_TRANSMITQ,
  VirtioNet,
} from '../../machine/virtio/net.ts';
import {
  BROADCAST_MAC,
  ETH_P_8021Q,
  ETH_P_ARP,
  ETH_P_IPV6,
  buildFrame,
  etherType,
  formatMac,
  frameDst,
  frameSrc,
  innerEtherType,
  isBroadcastMac,
  isLocallyAdministeredMac,
  isMulticastMac,
  isValidUnicastMac,
  parseMac,
  randomXenMac,
} from './ethernet.ts';
import { MAX_NESTED_FRAMES, VSwitch, type SwitchPort } from './vswitch.ts';

const A = '00:16:3e:00:00:0a';
const B = '00:16:3e:00:00:0b';
const C = '00:16:3e:00:00:0c';
const MCAST = '01:00:5e:00:00:01';

function eth(dst: string, src: string, tag = 0): Uint8Array {
  return buildFrame(parseMac(dst), parseMac(src), ETH_P_ARP, Uint8Array.of(tag, 1, 2, 3));
}

/** A switch with ports a, b, c that record what they get, and a settable clock. */
function rig(opts: { macAgeingMs?: number } = {}) {
  let clock = 1000;
  const sw = new VSwitch({ name: 'br-test', now: () => clock, ...opts });
  const got: Record<string, Uint8Array[]> = { a: [], b: [], c: [] };
  const port = (name: string) =>
    sw.attach(name, (f) => {
      (got[name] as Uint8Array[]).push(f.slice());
    });
  const ports = { a: port('a'), b: port('b'), c: port('c') };
  /** Names of the ports that got something since the last call, and clears the record. */
  const receivers = () => {
    const names = Object.keys(got).filter((k) => (got[k] as Uint8Array[]).length > 0);
    for (const k of Object.keys(got)) got[k] = [];
    return names.sort();
  };
  return { sw, got, ports, receivers, setClock: (t: number) => (clock = t) };
}

test('unknown unicast, broadcast and multicast flood to every port but the ingress', () => {
  const { ports, receivers, got } = rig();
  ports.a.send(eth(B, A));
  assert.deepEqual(receivers(), ['b', 'c']);
  ports.b.send(eth(BROADCAST_MAC, B));
  assert.deepEqual(receivers(), ['a', 'c']);
  ports.c.send(eth(MCAST, C));
  assert.equal(got['a']?.length, 1);
  assert.deepEqual(receivers(), ['a', 'b']);
});

test('learned unicast goes to its port only; the table lists what was learned', () => {
  const { sw, ports, receivers, setClock } = rig();
  ports.a.send(eth(BROADCAST_MAC, A));
  receivers();
  setClock(1250);
  ports.b.send(eth(A, B, 7));
  assert.deepEqual(receivers(), ['a']);
  ports.c.send(eth(B, C));
  assert.deepEqual(receivers(), ['b']);
  ports.a.send(eth(C, A));
  assert.deepEqual(receivers(), ['c']);
  assert.deepEqual(sw.macTable(), [
    { mac: A, port: 'a', ageMs: 0 },
    { mac: B, port: 'b', ageMs: 0 },
    { mac: C, port: 'c', ageMs: 0 },
  ]);
});

test('a frame to a MAC learned on its own ingress port is dropped and counted', () => {
  const { sw, ports, receivers } = rig();
  ports.a.send(eth(BROADCAST_MAC, A));
  ports.a.send(eth(BROADCAST_MAC, B)); // two stations behind port a
  receivers();
  ports.a.send(eth(B, A));
  assert.deepEqual(receivers(), []);
  assert.equal(sw.portCounters('a')?.rxDropped, 1);
});

test('a MAC that moves is re-learned on its new port', () => {
  const { sw, ports, receivers } = rig();
  ports.a.send(eth(BROADCAST_MAC, A));
  receivers();
  ports.c.send(eth(A, C));
  assert.deepEqual(receivers(), ['a']);
  ports.b.send(eth(BROADCAST_MAC, A)); // A is now behind b (a migrated guest's gratuitous ARP)
  receivers();
  ports.c.send(eth(A, C));
  assert.deepEqual(receivers(), ['b']);
  assert.equal(sw.macTable().find((e) => e.mac === A)?.port, 'b');
});

test('entries age out after macAgeingMs (300 s by default) and unicast floods again', () => {
  const { sw, ports, receivers, setClock } = rig();
  ports.a.send(eth(BROADCAST_MAC, A));
  setClock(1000 + 299_999);
  assert.deepEqual(sw.macTable(), [{ mac: A, port: 'a', ageMs: 299_999 }]);
  receivers();
  ports.b.send(eth(A, B));
  assert.deepEqual(receivers(), ['a'], 'still known');
  setClock(1000 + 300_000);
  ports.c.send(eth(A, C));
  assert.deepEqual(receivers(), ['a', 'b'], 'forgotten: flooded');
  assert.deepEqual(
    sw.macTable().map((e) => e.mac),
    [B, C],
  );

  const short = rig({ macAgeingMs: 10 });
  short.ports.a.send(eth(BROADCAST_MAC, A));
  short.setClock(1009);
  assert.equal(short.sw.macTable().length, 1);
  short.setClock(1010);
  assert.equal(short.sw.macTable().length, 0);
  assert.throws(() => new VSwitch({ macAgeingMs: -1 }), /MAC ageing time -1 ms is not a non-negative number/);
});

test('detach removes the port and forgets its MACs; names are unique while attached', () => {
  const { sw, ports, receivers } = rig();
  ports.a.send(eth(BROADCAST_MAC, A));
  ports.b.send(eth(BROADCAST_MAC, B));
  receivers();
  ports.a.detach();
  assert.deepEqual([...sw.ports.keys()], ['b', 'c']);
  assert.deepEqual(
    sw.macTable().map((e) => e.port),
    ['b'],
  );
  ports.c.send(eth(A, C));
  assert.deepEqual(receivers(), ['b'], 'unknown again, and a is gone');
  ports.a.send(eth(BROADCAST_MAC, A));
  assert.deepEqual(receivers(), [], 'a detached port sends nothing');
  assert.throws(() => sw.attach('b', () => {}), /switch br-test already has a port named b/);
  const again = sw.attach('a', () => {});
  assert.equal(sw.ports.get('a'), again);
  assert.equal(sw.portCounters('a')?.rxFrames, 0, 'a new port starts with fresh counters');
});

test('runts and frames from a multicast or zero source are dropped and counted', () => {
  const { sw, ports, receivers } = rig();
  ports.a.send(new Uint8Array(13));
  ports.a.send(eth(BROADCAST_MAC, MCAST));
  ports.a.send(eth(BROADCAST_MAC, '00:00:00:00:00:00'));
  assert.deepEqual(receivers(), []);
  assert.deepEqual(sw.macTable(), []);
  assert.deepEqual(sw.portCounters('a'), {
    rxFrames: 3,
    rxBytes: 13 + 18 + 18,
    txFrames: 0,
    txBytes: 0,
    rxDropped: 3,
    runts: 1,
  });
});

test('per-port counters count frames and bytes both ways', () => {
  const { sw, ports } = rig();
  ports.a.send(eth(BROADCAST_MAC, A));
  ports.b.send(eth(A, B));
  assert.deepEqual(sw.portCounters('a'), {
    rxFrames: 1,
    rxBytes: 18,
    txFrames: 1,
    txBytes: 18,
    rxDropped: 0,
    runts: 0,
  });
  assert.equal(sw.portCounters('c')?.txFrames, 1);
  assert.equal(sw.portCounters('nope'), undefined);
});

test('re-entrancy: a port may send, detach others and attach new ones from inside deliver', () => {
  const sw = new VSwitch();
  const log: string[] = [];
  let c: SwitchPort | null = null;
  let late: SwitchPort | null = null;
  const a = sw.attach('a', (f) => log.push(`a<-${frameSrc(f)}>${frameDst(f)}`));
  const b = sw.attach('b', (f) => {
    log.push(`b<-${frameSrc(f)}`);
    if (frameDst(f) === BROADCAST_MAC) {
      // Reply at once from a reused buffer, then scribble on it: the switch must have copied.
      const reply = eth(A, B);
      b.send(reply);
      reply.fill(0);
      c?.detach();
      late ??= sw.attach('late', (g) => log.push(`late<-${frameSrc(g)}`));
    }
  });
  c = sw.attach('c', (f) => log.push(`c<-${frameSrc(f)}`));
  a.send(eth(BROADCAST_MAC, A));
  // b is served first, detaches c before c's turn; 'late' missed the broadcast; b's reply is
  // forwarded after the broadcast is done, to a only (A was learned on a).
  assert.deepEqual(log, [`b<-${A}`, `a<-${B}>${A}`]);
  assert.deepEqual([...sw.ports.keys()], ['a', 'b', 'late']);
  log.length = 0;
  a.send(eth(BROADCAST_MAC, A));
  assert.deepEqual(log, [`b<-${A}`, `late<-${A}`, `a<-${B}>${A}`]);
});

test('two ports echoing each other forever cost a bounded number of frames', () => {
  const sw = new VSwitch();
  let delivered = 0;
  const echo = (self: () => SwitchPort) => (f: Uint8Array) => {
    delivered++;
    self().send(f);
  };
  const p: SwitchPort = sw.attach(
    'p',
    echo(() => p),
  );
  const q: SwitchPort = sw.attach(
    'q',
    echo(() => q),
  );
  p.send(eth(BROADCAST_MAC, A));
  assert.equal(delivered, MAX_NESTED_FRAMES + 1);
  const dropped = (sw.portCounters('p')?.rxDropped ?? 0) + (sw.portCounters('q')?.rxDropped ?? 0);
  assert.equal(dropped, 1);
});

/** A guest: VirtioNet behind a mock driver, plugged into a switch port. */
function guest(sw: VSwitch, name: string, mac: string) {
  const ram = new TestRam(0x8000_0000, 0x40000);
  let port: SwitchPort | null = null;
  const model = new VirtioNet({ mac: parseMac(mac), onTransmit: (f) => port?.send(f) });
  const dev = new VirtioMmio(model, ram, new TestLine());
  const drv = new MockDriver(dev, ram);
  /** What the guest's "driver" does right after a frame lands, if anything. */
  const hooks: { afterReceive: ((f: Uint8Array) => void) | null } = { afterReceive: null };
  port = sw.attach(name, (f) => {
    model.receive(f);
    hooks.afterReceive?.(f);
  });
  drv.init({ queues: 2 });
  const rxBufs: number[] = [];
  const postRx = (n: number) => {
    for (let i = 0; i < n; i++) {
      const at = drv.alloc(1530);
      rxBufs.push(at);
      drv.post(VIRTIO_NET_RECEIVEQ, [{ addr: at, len: 1530, write: true }]);
    }
    drv.kick(VIRTIO_NET_RECEIVEQ);
  };
  const send = (frame: Uint8Array) => {
    drv.post(VIRTIO_NET_TRANSMITQ, [
      { addr: drv.place(new Uint8Array(VIRTIO_NET_HDR_BYTES)), len: VIRTIO_NET_HDR_BYTES, write: false },
      { addr: drv.place(frame), len: frame.length, write: false },
    ]);
    drv.kick(VIRTIO_NET_TRANSMITQ);
  };
  /** Frames received since the last call, header stripped. */
  const received = () =>
    drv.takeUsed(VIRTIO_NET_RECEIVEQ).map(({ id, len }) => {
      const at = (rxBufs[id] ?? 0) - ram.base;
      return ram.bytes.slice(at + VIRTIO_NET_HDR_BYTES, at + len);
    });
  return { model, dev, drv, postRx, send, received, hooks };
}

test('end to end: two virtio-net guests on one switch exchange frames both ways', () => {
  const sw = new VSwitch();
  const ga = guest(sw, 'vif1.0', A);
  const gb = guest(sw, 'vif2.0', B);
  const host: Uint8Array[] = [];
  sw.attach('host', (f) => host.push(f.slice()));
  ga.postRx(4);
  gb.postRx(4);

  const who = eth(BROADCAST_MAC, A, 1);
  ga.send(who);
  assert.deepEqual(gb.received(), [who]);
  assert.deepEqual(host, [who], 'the broadcast reaches the host port too');
  assert.deepEqual(ga.received(), [], 'never back to the sender');

  const reply = eth(A, B, 2);
  gb.send(reply);
  assert.deepEqual(ga.received(), [reply]);
  assert.equal(host.length, 1, 'learned unicast does not flood');

  const data = buildFrame(parseMac(B), parseMac(A), 0x0800, new Uint8Array(1500).fill(0x5a));
  ga.send(data);
  assert.deepEqual(gb.received(), [data]);
  assert.deepEqual(
    sw.macTable().map((e) => `${e.mac}@${e.port}`),
    [`${A}@vif1.0`, `${B}@vif2.0`],
  );
  assert.equal(ga.model.counters.txFrames, 2);
  assert.equal(gb.model.counters.rxFrames, 2);
  assert.equal(gb.model.counters.rxBytes, who.length + data.length);
  assert.equal(ga.dev.failure, null);
  assert.equal(gb.dev.failure, null);
  assert.equal(formatMac(ga.model.mac), A);
});

test('end to end: a guest answering from inside delivery reaches the sender during its own transmit', () => {
  const sw = new VSwitch();
  const ga = guest(sw, 'vif1.0', A);
  const gb = guest(sw, 'vif2.0', B);
  ga.postRx(2);
  gb.postRx(2);
  // b's "driver" answers as soon as the frame lands: a transmit inside a's transmit.
  const pong = eth(A, B, 9);
  gb.hooks.afterReceive = (f) => {
    if (frameDst(f) === BROADCAST_MAC) gb.send(pong);
  };
  let aTransmitting = false;
  ga.hooks.afterReceive = () => assert.equal(aTransmitting, true, "delivered inside a's transmit");
  const ping = eth(BROADCAST_MAC, A, 8);
  aTransmitting = true;
  ga.send(ping);
  aTransmitting = false;
  assert.deepEqual(ga.received(), [pong]);
  assert.deepEqual(gb.received(), [ping]);
  assert.equal(gb.model.counters.txFrames, 1);
});

test('ethernet helpers: MAC text both ways, Xen-style random MACs, group bits, ethertypes', () => {
  assert.equal(formatMac(parseMac('00-16-3E-0A-b0-FF')), '00:16:3e:0a:b0:ff');
  assert.throws(() => parseMac('00:16:3e:0a:b0'), /MAC address '00:16:3e:0a:b0' is not six hex bytes/);
  // The top bit of the fourth byte is cleared, as libxl does.
  const mac = randomXenMac((dst) => dst.set([0xff, 0xab, 0xcd]));
  assert.equal(formatMac(mac), '00:16:3e:7f:ab:cd');
  assert.equal(isValidUnicastMac(mac), true);
  assert.equal(isLocallyAdministeredMac(mac), false);
  const real = randomXenMac();
  assert.deepEqual([...real.subarray(0, 3)], [0x00, 0x16, 0x3e]);
  assert.ok((real[3] as number) < 0x80);
  assert.equal(isMulticastMac(parseMac(MCAST)), true);
  assert.equal(isBroadcastMac(parseMac(BROADCAST_MAC)), true);
  assert.equal(isBroadcastMac(parseMac(MCAST)), false);
  assert.equal(isValidUnicastMac(new Uint8Array(6)), false);
  const tagged = buildFrame(parseMac(A), parseMac(B), ETH_P_8021Q, Uint8Array.of(0, 5, 0x86, 0xdd));
  assert.equal(etherType(tagged), ETH_P_8021Q);
  assert.equal(innerEtherType(tagged), ETH_P_IPV6);
  assert.equal(etherType(new Uint8Array(13)), -1);
  assert.equal(frameSrc(tagged), B);
  assert.equal(frameDst(tagged), A);
});
