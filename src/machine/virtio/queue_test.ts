import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TestRam } from './mock_driver.ts';
import {
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  Virtqueue,
} from './queue.ts';

const BASE = 0x8000_0000;
const DESC = BASE + 0x1000;
const AVAIL = BASE + 0x2000;
const USED = BASE + 0x3000;

function setup(size = 8, maxSize = 8) {
  const ram = new TestRam(BASE, 0x10000);
  const failures: string[] = [];
  const q = new Virtqueue(0, maxSize, ram, (r) => failures.push(r));
  q.size = size;
  q.descAddr = DESC;
  q.driverAddr = AVAIL;
  q.deviceAddr = USED;
  q.ready = q.validate() === null;
  const desc = (i: number, addr: number, len: number, flags: number, next = 0, table = DESC) => {
    ram.writeU32(table + 16 * i, addr);
    ram.writeU32(table + 16 * i + 4, 0);
    ram.writeU32(table + 16 * i + 8, len);
    ram.writeU16(table + 16 * i + 12, flags);
    ram.writeU16(table + 16 * i + 14, next);
  };
  const avail = (...heads: number[]) => {
    for (const h of heads) {
      const idx = ram.readU16(AVAIL + 2) ?? 0;
      ram.writeU16(AVAIL + 4 + 2 * (idx % size), h);
      ram.writeU16(AVAIL + 2, (idx + 1) & 0xffff);
    }
  };
  return { ram, q, failures, desc, avail };
}

test('a chain is walked into readable then writable segments', () => {
  const { q, desc, avail, failures } = setup();
  desc(3, BASE + 0x5000, 16, VIRTQ_DESC_F_NEXT, 5);
  desc(5, BASE + 0x6000, 100, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
  desc(1, BASE + 0x7000, 1, VIRTQ_DESC_F_WRITE);
  avail(3);
  assert.equal(q.hasAvailable(), true);
  const c = q.pop();
  assert.ok(c);
  assert.equal(c.head, 3);
  assert.equal(c.count, 3);
  assert.equal(c.readableCount, 1);
  assert.equal(c.readableBytes, 16);
  assert.equal(c.writableBytes, 101);
  assert.deepEqual([...c.addr.subarray(0, 3)], [BASE + 0x5000, BASE + 0x6000, BASE + 0x7000]);
  assert.equal(q.pop(), null);
  assert.equal(q.hasAvailable(), false);
  assert.deepEqual(failures, []);
});

test('readFrom and writeTo cross segment boundaries', () => {
  const { ram, q, desc, avail } = setup();
  ram.write(BASE + 0x5000, Uint8Array.of(1, 2, 3));
  ram.write(BASE + 0x5100, Uint8Array.of(4, 5));
  desc(0, BASE + 0x5000, 3, VIRTQ_DESC_F_NEXT, 1);
  desc(1, BASE + 0x5100, 2, VIRTQ_DESC_F_NEXT, 2);
  desc(2, BASE + 0x6000, 2, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 3);
  desc(3, BASE + 0x6100, 4, VIRTQ_DESC_F_WRITE);
  avail(0);
  const c = q.pop();
  assert.ok(c);
  const got = new Uint8Array(4);
  assert.equal(c.readFrom(ram, 1, got), true);
  assert.deepEqual([...got], [2, 3, 4, 5]);
  assert.equal(c.readFrom(ram, 2, new Uint8Array(4)), false, 'past the readable part');
  assert.equal(c.writeTo(ram, 1, Uint8Array.of(9, 8, 7)), true);
  assert.deepEqual([...ram.bytes.subarray(0x6000, 0x6002)], [0, 9]);
  assert.deepEqual([...ram.bytes.subarray(0x6100, 0x6103)], [8, 7, 0]);
});

test('push publishes used elements and wraps the 16-bit index', () => {
  const { ram, q, desc, avail } = setup(4, 4);
  desc(0, BASE + 0x5000, 8, VIRTQ_DESC_F_WRITE);
  // Drive the indices across 0xffff -> 0 with one descriptor reused each time.
  for (let n = 0; n < 0x10003; n++) {
    avail(0);
    const c = q.pop();
    assert.ok(c, `pop ${n}`);
    assert.equal(q.push(c.head, 8), true);
  }
  assert.equal(ram.readU16(USED + 2), 3);
  const slot = USED + 4 + 8 * (2 % 4);
  assert.equal(ram.readU32(slot), 0);
  assert.equal(ram.readU32(slot + 4), 8);
});

test('a descriptor loop is caught by the chain length bound', () => {
  const { q, desc, avail, failures } = setup();
  desc(0, BASE + 0x5000, 8, VIRTQ_DESC_F_NEXT, 1);
  desc(1, BASE + 0x5000, 8, VIRTQ_DESC_F_NEXT, 0);
  avail(0);
  assert.equal(q.pop(), null);
  assert.equal(q.broken, true);
  assert.match(failures[0] ?? '', /longer than the queue size 8/);
  // A broken queue stays broken and reports once.
  assert.equal(q.pop(), null);
  assert.equal(failures.length, 1);
});

test('driver mistakes fail the queue, each with its reason', () => {
  const cases: [string, (s: ReturnType<typeof setup>) => void, RegExp | null][] = [
    [
      'next out of range',
      (s) => s.desc(0, BASE + 0x5000, 8, VIRTQ_DESC_F_NEXT, 9),
      /index 9 is outside a table of 8/,
    ],
    [
      'readable after writable',
      (s) => {
        s.desc(0, BASE + 0x5000, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
        s.desc(1, BASE + 0x5000, 8, 0);
      },
      /readable descriptor follows a device-writable/,
    ],
    ['buffer outside RAM', (s) => s.desc(0, 0x1000, 8, 0), null],
    [
      'indirect not negotiated',
      (s) => s.desc(0, BASE + 0x5000, 32, VIRTQ_DESC_F_INDIRECT),
      /without VIRTIO_F_INDIRECT_DESC/,
    ],
  ];
  for (const [name, plant, reason] of cases) {
    const s = setup();
    plant(s);
    s.avail(0);
    if (reason === null) {
      // The walk records addresses; it is the copy that finds them outside RAM.
      const c = s.q.pop();
      assert.ok(c, name);
      assert.equal(c.readFrom(s.ram, 0, new Uint8Array(8)), false, name);
      continue;
    }
    assert.equal(s.q.pop(), null, name);
    assert.match(s.failures[0] ?? '', reason, name);
  }
});

test('avail idx running ahead by more than the size fails the queue', () => {
  const { ram, q, failures } = setup();
  ram.writeU16(AVAIL + 2, 9);
  assert.equal(q.pop(), null);
  assert.match(failures[0] ?? '', /9 entries ahead of the device, more than the size 8/);
});

test('indirect tables are followed when negotiated, and nested ones refused', () => {
  const { q, desc, avail, failures } = setup();
  q.indirect = true;
  const table = BASE + 0x4000;
  desc(0, BASE + 0x5000, 16, VIRTQ_DESC_F_NEXT, 1, table);
  desc(1, BASE + 0x6000, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2, table);
  desc(2, BASE + 0x7000, 1, VIRTQ_DESC_F_WRITE, 0, table);
  desc(6, table, 48, VIRTQ_DESC_F_INDIRECT);
  avail(6);
  const c = q.pop();
  assert.ok(c);
  assert.equal(c.head, 6);
  assert.equal(c.count, 3);
  assert.equal(c.readableBytes, 16);
  assert.equal(c.writableBytes, 513);

  desc(0, table, 16, VIRTQ_DESC_F_INDIRECT, 0, table);
  avail(6);
  assert.equal(q.pop(), null);
  assert.match(failures[0] ?? '', /indirect table contains an INDIRECT descriptor/);
});

test('interrupt suppression: NO_INTERRUPT flag, then used_event with EVENT_IDX', () => {
  const { ram, q, desc, avail } = setup();
  desc(0, BASE + 0x5000, 8, VIRTQ_DESC_F_WRITE);
  const complete = () => {
    avail(0);
    const c = q.pop();
    assert.ok(c);
    q.push(c.head, 0);
  };
  assert.equal(q.needsInterrupt(), false, 'nothing used yet');
  complete();
  assert.equal(q.needsInterrupt(), true);
  assert.equal(q.needsInterrupt(), false, 'already signalled');
  ram.writeU16(AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
  complete();
  assert.equal(q.needsInterrupt(), false);

  q.eventIdx = true;
  ram.writeU16(AVAIL, 0);
  // used_event = 4: interrupt only once used idx passes 4 (the entry with index 4 is used).
  ram.writeU16(AVAIL + 4 + 2 * 8, 4);
  complete(); // used idx 3
  assert.equal(q.needsInterrupt(), false);
  complete(); // 4
  assert.equal(q.needsInterrupt(), false);
  complete(); // 5: entry 4 now used
  assert.equal(q.needsInterrupt(), true);
  // The device publishes avail_event = its next avail index.
  assert.equal(ram.readU16(USED + 4 + 8 * 8), 5);
});

test('validate checks size, alignment and that rings are in guest memory', () => {
  const { q } = setup();
  assert.equal(q.validate(), null);
  q.size = 6;
  assert.match(q.validate() ?? '', /QueueNum 6 is not a power of two/);
  q.size = 8;
  q.descAddr = DESC + 8;
  assert.match(q.validate() ?? '', /descriptor table at 0x80001008 is not 16-aligned/);
  q.descAddr = DESC;
  q.deviceAddr = BASE + 0x10000 - 8;
  assert.match(q.validate() ?? '', /used ring .* is outside guest memory/);
});

test('saved state round-trips, and a bad field is named', () => {
  const { ram, q, desc, avail } = setup();
  desc(0, BASE + 0x5000, 8, VIRTQ_DESC_F_WRITE);
  avail(0, 0);
  const c = q.pop();
  assert.ok(c);
  q.push(c.head, 1);
  const saved = JSON.parse(JSON.stringify(q.saveState())) as unknown;
  const q2 = new Virtqueue(0, 8, ram, () => {});
  q2.restoreState(saved);
  assert.deepEqual(q2.saveState(), q.saveState());
  assert.ok(q2.pop(), 'the second posted chain is still there');
  assert.throws(
    () => q2.restoreState({ ...(saved as object), usedIdx: 70000 }),
    /VirtqueueState\[0\]\.usedIdx must be an integer in 0\.\.65535/,
  );
  assert.throws(
    () => q2.restoreState({ ...(saved as object), size: 16 }),
    /size must be an integer in 1\.\.8/,
  );
});
