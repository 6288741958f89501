import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openBlockFile } from '../../platform/node/block_file.ts';
import {
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_F_RO,
  VIRTIO_BLK_F_SEG_MAX,
  VIRTIO_BLK_S_IOERR,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_S_UNSUPP,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
  VirtioBlk,
  type BlockBackend,
} from './blk.ts';
import { VIRTIO_CONFIG_S_NEEDS_RESET } from './device.ts';
import { VIRTIO_MMIO_CONFIG, VIRTIO_MMIO_DEVICE_ID, VIRTIO_MMIO_STATUS, VirtioMmio } from './mmio.ts';
import { MockDriver, TestLine, TestRam } from './mock_driver.ts';

const BASE = 0x8000_0000;
const dir = mkdtempSync(join(tmpdir(), 'domus-blk-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A disk image whose sector n is filled with the byte n & 0xff. */
function makeImage(name: string, sectors: number): string {
  const path = join(dir, name);
  const bytes = new Uint8Array(sectors * 512);
  for (let s = 0; s < sectors; s++) bytes.fill(s & 0xff, s * 512, (s + 1) * 512);
  writeFileSync(path, bytes);
  return path;
}

function attach(backend: BlockBackend, opts: { indirect?: boolean } = {}) {
  const ram = new TestRam(BASE, 0x40000);
  const line = new TestLine();
  const dev = new VirtioMmio(new VirtioBlk(backend), ram, line);
  const drv = new MockDriver(dev, ram);
  const [lo] = drv.init({ queues: 1, acceptLo: opts.indirect === true ? ~0 : ~(1 << 28) });
  const indirect = opts.indirect === true;

  /** Posts one request as Linux's virtio_blk does: header, data, status. Returns the status byte. */
  const request = (
    type: number,
    sector: number,
    data: { len: number; write: boolean; bytes?: Uint8Array }[],
  ) => {
    const hdr = new Uint8Array(16);
    const view = new DataView(hdr.buffer);
    view.setUint32(0, type, true);
    view.setUint32(8, sector % 0x1_0000_0000, true);
    view.setUint32(12, Math.floor(sector / 0x1_0000_0000), true);
    const bufs = data.map((d) => (d.bytes ? drv.place(d.bytes) : drv.alloc(d.len)));
    const status = drv.alloc(1);
    ram.bytes[status - BASE] = 0xee;
    drv.post(
      0,
      [
        { addr: drv.place(hdr), len: 16, write: false },
        ...data.map((d, i) => ({ addr: bufs[i] ?? 0, len: d.len, write: d.write })),
        { addr: status, len: 1, write: true },
      ],
      { indirect },
    );
    drv.kick(0);
    const used = drv.takeUsed(0);
    const read = (i: number) =>
      ram.bytes.slice((bufs[i] ?? 0) - BASE, (bufs[i] ?? 0) - BASE + (data[i]?.len ?? 0));
    return { status: ram.bytes[status - BASE], used, read };
  };
  return { ram, line, dev, drv, lo, request };
}

test('config space: capacity in sectors, seg_max; features FLUSH and SEG_MAX', () => {
  const disk = openBlockFile(makeImage('cfg.img', 2048 + 3), { readOnly: false });
  try {
    const { dev, lo } = attach(disk);
    assert.equal(dev.read(VIRTIO_MMIO_DEVICE_ID, 4), 2);
    assert.equal(dev.read(VIRTIO_MMIO_CONFIG, 4), 2051);
    assert.equal(dev.read(VIRTIO_MMIO_CONFIG + 4, 4), 0);
    assert.equal(dev.read(VIRTIO_MMIO_CONFIG + 12, 4), 254);
    assert.equal(lo & (1 << VIRTIO_BLK_F_FLUSH), 1 << VIRTIO_BLK_F_FLUSH);
    assert.equal(lo & (1 << VIRTIO_BLK_F_SEG_MAX), 1 << VIRTIO_BLK_F_SEG_MAX);
    assert.equal(lo & (1 << VIRTIO_BLK_F_RO), 0);
  } finally {
    disk.close();
  }
});

for (const indirect of [false, true]) {
  test(`IN, OUT and FLUSH against a file (${indirect ? 'indirect' : 'direct'} descriptors)`, () => {
    const path = makeImage(`rw-${indirect}.img`, 64);
    const disk = openBlockFile(path, { readOnly: false });
    try {
      const { request, line } = attach(disk, { indirect });
      // Read sectors 5..7 into two buffers (the data spans descriptors, as with a scatterlist).
      const r = request(VIRTIO_BLK_T_IN, 5, [
        { len: 1024, write: true },
        { len: 512, write: true },
      ]);
      assert.equal(r.status, VIRTIO_BLK_S_OK);
      assert.deepEqual(r.used, [{ id: 0, len: 1024 + 512 + 1 }]);
      assert.deepEqual([...new Set(r.read(0).subarray(0, 512))], [5]);
      assert.deepEqual([...new Set(r.read(0).subarray(512))], [6]);
      assert.deepEqual([...new Set(r.read(1))], [7]);
      assert.equal(line.level, true);

      // Write two sectors at 10 and check the file itself.
      const data = new Uint8Array(1024).map((_, i) => (i * 7) & 0xff);
      const w = request(VIRTIO_BLK_T_OUT, 10, [{ len: 1024, write: false, bytes: data }]);
      assert.equal(w.status, VIRTIO_BLK_S_OK);
      assert.equal(w.used[0]?.len, 1);
      const file = readFileSync(path);
      assert.deepEqual(file.subarray(10 * 512, 12 * 512), Buffer.from(data));
      assert.equal(file[12 * 512], 12, 'the next sector is untouched');

      assert.equal(request(VIRTIO_BLK_T_FLUSH, 0, []).status, VIRTIO_BLK_S_OK);
      // And read back what was written, through the device.
      const back = request(VIRTIO_BLK_T_IN, 10, [{ len: 1024, write: true }]);
      assert.deepEqual(back.read(0), data);
    } finally {
      disk.close();
    }
  });
}

test('GET_ID returns "domus" zero-padded to 20 bytes', () => {
  const disk = openBlockFile(makeImage('id.img', 8), { readOnly: true });
  try {
    const { request } = attach(disk);
    const r = request(VIRTIO_BLK_T_GET_ID, 0, [
      { len: 20, write: true, bytes: new Uint8Array(20).fill(0xaa) },
    ]);
    assert.equal(r.status, VIRTIO_BLK_S_OK);
    const id = r.read(0);
    assert.equal(new TextDecoder().decode(id.subarray(0, 5)), 'domus');
    assert.deepEqual([...new Set(id.subarray(5))], [0]);
  } finally {
    disk.close();
  }
});

test('errors: out of range, partial sector, read-only write, unknown type', () => {
  const path = makeImage('ro.img', 16);
  const before = readFileSync(path);
  const disk = openBlockFile(path, { readOnly: true });
  try {
    const { request, lo } = attach(disk);
    assert.equal(lo & (1 << VIRTIO_BLK_F_RO), 1 << VIRTIO_BLK_F_RO);
    assert.equal(request(VIRTIO_BLK_T_IN, 15, [{ len: 1024, write: true }]).status, VIRTIO_BLK_S_IOERR);
    assert.equal(request(VIRTIO_BLK_T_IN, 2 ** 52, [{ len: 512, write: true }]).status, VIRTIO_BLK_S_IOERR);
    assert.equal(request(VIRTIO_BLK_T_IN, 0, [{ len: 100, write: true }]).status, VIRTIO_BLK_S_IOERR);
    const w = request(VIRTIO_BLK_T_OUT, 0, [{ len: 512, write: false, bytes: new Uint8Array(512).fill(1) }]);
    assert.equal(w.status, VIRTIO_BLK_S_IOERR);
    assert.equal(request(99, 0, []).status, VIRTIO_BLK_S_UNSUPP);
    assert.equal(request(VIRTIO_BLK_T_FLUSH, 0, []).status, VIRTIO_BLK_S_OK);
    // The last sector is still readable.
    assert.equal(request(VIRTIO_BLK_T_IN, 15, [{ len: 512, write: true }]).status, VIRTIO_BLK_S_OK);
  } finally {
    disk.close();
  }
  assert.deepEqual(readFileSync(path), before);
});

test('a backend error is an IOERR for the guest, not a crash', () => {
  const failing: BlockBackend = {
    sizeBytes: 4096,
    readOnly: false,
    read() {
      throw new Error('EIO: i/o error');
    },
    write() {},
    flush() {
      throw new Error('EIO: fsync failed');
    },
  };
  const { request } = attach(failing);
  assert.equal(request(VIRTIO_BLK_T_IN, 0, [{ len: 512, write: true }]).status, VIRTIO_BLK_S_IOERR);
  assert.equal(request(VIRTIO_BLK_T_FLUSH, 0, []).status, VIRTIO_BLK_S_IOERR);
  assert.equal(request(VIRTIO_BLK_T_OUT, 0, [{ len: 512, write: false }]).status, VIRTIO_BLK_S_OK);
});

test('a request without a status byte breaks the device instead of throwing', () => {
  const mem: BlockBackend = {
    sizeBytes: 4096,
    readOnly: false,
    read: () => {},
    write: () => {},
    flush: () => {},
  };
  const { drv, dev, line } = attach(mem);
  const hdr = drv.place(new Uint8Array(16));
  drv.post(0, [{ addr: hdr, len: 16, write: false }]);
  drv.kick(0);
  assert.equal(drv.reg(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, VIRTIO_CONFIG_S_NEEDS_RESET);
  assert.match(dev.failure ?? '', /lacks its 16-byte header or its status byte/);
  assert.equal(line.level, true);
});

test('a header split across descriptors is read correctly', () => {
  const disk = openBlockFile(makeImage('split.img', 8), { readOnly: false });
  try {
    const { drv, ram } = attach(disk);
    const hdr = new Uint8Array(16);
    new DataView(hdr.buffer).setUint32(8, 3, true); // IN, sector 3
    const a = drv.place(hdr.subarray(0, 5));
    const b = drv.place(hdr.subarray(5));
    const data = drv.alloc(512);
    const status = drv.alloc(1);
    drv.post(0, [
      { addr: a, len: 5, write: false },
      { addr: b, len: 11, write: false },
      { addr: data, len: 512, write: true },
      { addr: status, len: 1, write: true },
    ]);
    drv.kick(0);
    assert.equal(ram.bytes[status - BASE], VIRTIO_BLK_S_OK);
    assert.equal(ram.bytes[data - BASE + 100], 3);
  } finally {
    disk.close();
  }
});
