import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { UserError } from '../../common/errors.ts';
import { openQcow2 } from './qcow2.ts';
import { ImageFile } from './qcow2_file.ts';
import { Xorshift32 } from '../../common/rng.ts';

const haveQemuImg = spawnSync('qemu-img', ['--version']).status === 0;
const skip = haveQemuImg ? false : 'qemu-img is missing; install it with apt-get install qemu-utils';
const dir = mkdtempSync(join(tmpdir(), 'domus-qcow2-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(cmd: string, args: string[]): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function qemuImg(...args: string[]): string {
  const r = run('qemu-img', args);
  assert.equal(r.status, 0, `qemu-img ${args.join(' ')}: ${r.out}`);
  return r.out;
}

/** `qemu-img check` must find no errors and no leaks. */
function assertClean(path: string): void {
  const r = run('qemu-img', ['check', path]);
  assert.equal(r.status, 0, `qemu-img check ${path} exited ${r.status}: ${r.out}`);
  assert.match(r.out, /No errors were found on the image/);
}

function asRaw(path: string): Uint8Array {
  const raw = `${path}.raw`;
  qemuImg('convert', '-O', 'raw', path, raw);
  return new Uint8Array(readFileSync(raw));
}

/** Seeded integers in [0, n) (xorshift32). */
function rng(seed: number): (n: number) => number {
  const r = new Xorshift32(seed);
  return (n) => r.int(n);
}

function pattern(bytes: number, seed: number): Uint8Array {
  const b = new Uint8Array(bytes);
  const r = rng(seed);
  for (let i = 0; i < bytes; i += 4) {
    const v = r(0x1_0000_0000);
    b[i] = v & 0xff;
    b[i + 1] = (v >>> 8) & 0xff;
    b[i + 2] = (v >>> 16) & 0xff;
    b[i + 3] = v >>> 24;
  }
  return b;
}

/** Data that deflate shrinks (so qemu-img -c really stores compressed clusters) but that differs per sector. */
function compressible(bytes: number, seed: number): Uint8Array {
  const b = new Uint8Array(bytes);
  const text = new TextEncoder();
  for (let at = 0; at < bytes; at += 512) {
    b.set(text.encode(`sector ${at / 512} of seed ${seed} `.repeat(20)).subarray(0, 512), at);
  }
  return b;
}

function compressedPercent(path: string): number {
  const m = /([\d.]+)% compressed clusters/.exec(run('qemu-img', ['check', path]).out);
  return m ? Number(m[1]) : 0;
}

function userError(re: RegExp) {
  return (e: unknown) => e instanceof UserError && re.test(e.message);
}

function equalBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) assert.fail(`${what}: first difference at byte ${i}`);
  }
}

/** Random sector-aligned writes through our implementation, mirrored in `shadow`, with reads checked. */
function randomWrites(path: string, shadow: Uint8Array, count: number, seed: number, maxBytes: number): void {
  const r = rng(seed);
  const disk = openQcow2(path, { readOnly: false });
  assert.equal(disk.sizeBytes, shadow.length);
  const sectors = shadow.length / 512;
  for (let k = 0; k < count; k++) {
    const start = r(sectors);
    const n = Math.min(1 + r(maxBytes / 512), sectors - start);
    const data = pattern(n * 512, seed * 1000 + k);
    disk.write(start * 512, data);
    shadow.set(data, start * 512);
    const rs = r(sectors);
    const rn = Math.min(1 + r(maxBytes / 512), sectors - rs);
    const got = new Uint8Array(rn * 512);
    disk.read(rs * 512, got);
    equalBytes(got, shadow.subarray(rs * 512, (rs + rn) * 512), `read after write ${k}`);
  }
  disk.flush();
  disk.close();
}

function readAll(path: string): Uint8Array {
  const disk = openQcow2(path, { readOnly: true });
  const all = new Uint8Array(disk.sizeBytes);
  disk.read(0, all);
  disk.close();
  return all;
}

function header(path: string): DataView {
  const b = readFileSync(path);
  return new DataView(b.buffer, b.byteOffset, 512);
}

for (const [clusterSize, options] of [
  ['512', ''],
  ['4096', ''],
  ['65536', ''],
  ['2M', ''],
  ['4096', 'refcount_bits=1'],
  ['4096', 'refcount_bits=64'],
  ['65536', 'compat=0.10'],
] as const) {
  test(
    `random writes on a ${clusterSize}-byte-cluster image ${options} match a shadow copy and qemu-img`,
    { skip },
    () => {
      const path = join(dir, `rand-${clusterSize}-${options.replace(/\W/g, '')}.qcow2`);
      qemuImg(
        'create',
        '-q',
        '-f',
        'qcow2',
        '-o',
        `cluster_size=${clusterSize}${options ? ',' + options : ''}`,
        path,
        '4M',
      );
      const shadow = new Uint8Array(4 << 20);
      randomWrites(path, shadow, 60, clusterSize.length * 7 + options.length, 3 * 65536);
      assertClean(path);
      equalBytes(asRaw(path), shadow, 'qemu-img convert');
      equalBytes(readAll(path), shadow, 'reopened read-only');
    },
  );
}

test(
  'filling an image needs new refcount blocks and a larger refcount table; qemu-img check stays clean',
  { skip },
  () => {
    const path = join(dir, 'grow.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', '-o', 'cluster_size=512', path, '8M');
    const before = header(path);
    const disk = openQcow2(path, { readOnly: false });
    const shadow = new Uint8Array(8 << 20);
    for (let at = 0; at < shadow.length; at += 256 << 10) {
      const data = pattern(256 << 10, at);
      disk.write(at, data);
      shadow.set(data, at);
    }
    disk.close();
    const afterGrow = header(path);
    // The refcount table moved (offset at byte 48) and grew (clusters at byte 56).
    assert.notEqual(afterGrow.getUint32(52), before.getUint32(52));
    assert.ok(afterGrow.getUint32(56) > before.getUint32(56));
    assertClean(path);
    equalBytes(asRaw(path), shadow, 'qemu-img convert');
  },
);

test('a crash after any single metadata write leaves an image with at most leaks', { skip }, () => {
  const path = join(dir, 'crash.qcow2');
  qemuImg('create', '-q', '-f', 'qcow2', '-o', 'cluster_size=512', path, '12M');
  // Fill the file up to a few clusters below what the first refcount table covers (16384 clusters
  // of 512 bytes), so that the observed writes need a new refcount block and a larger table.
  const disk = openQcow2(path, { readOnly: false });
  const limit = header(path).getUint32(56) * (512 / 8) * 256 * 512;
  assert.equal(limit, 16384 * 512);
  let at = 0;
  for (; at < 7 << 20; at += 256 << 10) disk.write(at, pattern(256 << 10, at));
  for (; statSync(path).size < limit - 24 * 512; at += 4096) disk.write(at, pattern(4096, at));
  disk.flush();
  const grownBefore = header(path).getUint32(56);
  const snapshots: string[] = [];
  const { write, writeParts } = ImageFile.prototype;
  const snapshot = () => {
    const copy = join(dir, `crash-${snapshots.length}.qcow2`);
    copyFileSync(path, copy);
    snapshots.push(copy);
  };
  ImageFile.prototype.write = function (this: ImageFile, offset: number, src: Uint8Array) {
    write.call(this, offset, src);
    snapshot();
  };
  ImageFile.prototype.writeParts = function (this: ImageFile, offset: number, parts: Uint8Array[]) {
    writeParts.call(this, offset, parts);
    snapshot();
  };
  try {
    for (let k = 0; k < 6; k++, at += 4096) disk.write(at, pattern(4096, at));
    disk.write(512, pattern(512, 1)); // in place: data only
    disk.write(at + (64 << 10), pattern(1024, 2)); // a new L2 table
    // Past the refcount blocks the growth made: new blocks through the table's spare entries.
    for (let k = 0; k < 4; k++, at += 64 << 10) disk.write(at + (80 << 10), pattern(64 << 10, at));
  } finally {
    ImageFile.prototype.write = write;
    ImageFile.prototype.writeParts = writeParts;
  }
  disk.close();
  assert.ok(snapshots.length > 20, `only ${snapshots.length} writes observed`);
  assert.ok(header(path).getUint32(56) > grownBefore, 'the refcount table grew during the crash test');
  for (const s of snapshots) {
    const r = run('qemu-img', ['check', s]);
    // 0: clean; 3: leaked clusters only. 2 would be corruption.
    assert.ok(
      r.status === 0 || r.status === 3,
      `crash state ${s}: qemu-img check exited ${r.status}: ${r.out}`,
    );
    rmSync(s);
  }
  assertClean(path);
});

test('images written by qemu-img read correctly: plain, compressed and with zero clusters', { skip }, () => {
  const raw = join(dir, 'src.raw');
  const data = pattern(3 << 20, 42);
  data.set(compressible(1 << 20, 42), 2 << 20);
  data.fill(0, 1 << 20, (1 << 20) + (200 << 10)); // a hole qemu-img leaves unallocated
  writeFileSync(raw, data);
  for (const extra of [[], ['-c'], ['-c', '-o', 'cluster_size=4096']]) {
    const path = join(dir, `qemu-${extra.join('')}.qcow2`);
    qemuImg('convert', ...extra, '-O', 'qcow2', raw, path);
    if (extra.length > 0) assert.ok(compressedPercent(path) > 10, `${path} has compressed clusters`);
    equalBytes(readAll(path), data, `read of qemu-img convert ${extra.join(' ')}`);
  }
  // Zero clusters: qemu-io write -z over allocated data sets QCOW_OFLAG_ZERO.
  const z = join(dir, 'zero.qcow2');
  qemuImg('convert', '-O', 'qcow2', raw, z);
  const io = run('qemu-io', ['-f', 'qcow2', '-c', 'write -z 65536 131072', z]);
  assert.equal(io.status, 0, io.out);
  assert.match(qemuImg('map', '--output=json', z), /"zero": true, "data": false/);
  const expected = data.slice();
  expected.fill(0, 65536, 65536 + 131072);
  equalBytes(readAll(z), expected, 'zero clusters');
});

test(
  'writes over compressed and zero clusters allocate new clusters; qemu-img check stays clean',
  { skip },
  () => {
    const raw = join(dir, 'cow-src.raw');
    const shadow = pattern(2 << 20, 7);
    writeFileSync(raw, shadow);
    const path = join(dir, 'cow.qcow2');
    qemuImg('convert', '-c', '-O', 'qcow2', raw, path);
    const io = run('qemu-io', ['-f', 'qcow2', '-c', 'write -z 0 131072', path]);
    assert.equal(io.status, 0, io.out);
    shadow.fill(0, 0, 131072);
    randomWrites(path, shadow, 40, 99, 4096);
    assertClean(path);
    equalBytes(asRaw(path), shadow, 'qemu-img convert');
  },
);

test('a backing chain reads through, copies on write, and leaves its bases untouched', { skip }, () => {
  const base = join(dir, 'base.raw');
  const baseData = pattern(2 << 20, 3);
  writeFileSync(base, baseData);
  const mid = join(dir, 'mid.qcow2');
  qemuImg('create', '-q', '-f', 'qcow2', '-b', 'base.raw', '-F', 'raw', mid, '3M');
  const io = run('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x5a 1048576 65536', mid]);
  assert.equal(io.status, 0, io.out);
  const midBytes = readFileSync(mid);
  const top = join(dir, 'top.qcow2');
  qemuImg(
    'create',
    '-q',
    '-f',
    'qcow2',
    '-o',
    'cluster_size=4096',
    '-b',
    'mid.qcow2',
    '-F',
    'qcow2',
    top,
    '4M',
  );

  const shadow = new Uint8Array(4 << 20);
  shadow.set(baseData);
  shadow.fill(0x5a, 1 << 20, (1 << 20) + 65536);
  equalBytes(readAll(top), shadow, 'top before writes');
  // Partial writes into unallocated clusters must copy the rest of the cluster from the chain,
  // including past the end of the raw base (zeros) and past the end of mid (zeros).
  const disk = openQcow2(top, { readOnly: false });
  for (const at of [100 * 512, (1 << 20) + 4096 + 1024, (2 << 20) + 512, (3 << 20) + 2048, (4 << 20) - 512]) {
    const data = pattern(512, at);
    disk.write(at, data);
    shadow.set(data, at);
  }
  disk.close();
  randomWrites(top, shadow, 30, 5, 8192);
  assertClean(top);
  equalBytes(asRaw(top), shadow, 'qemu-img convert of top');
  equalBytes(new Uint8Array(readFileSync(base)), baseData, 'base.raw');
  equalBytes(new Uint8Array(readFileSync(mid)), new Uint8Array(midBytes), 'mid.qcow2');
});

test('a second read-write open of the same image is refused while the first holds it', { skip }, () => {
  const path = join(dir, 'lock.qcow2');
  qemuImg('create', '-q', '-f', 'qcow2', path, '1M');
  const a = openQcow2(path, { readOnly: false });
  assert.throws(() => openQcow2(path, { readOnly: false }), userError(/is in use by another Domus process/));
  assert.throws(
    () => openQcow2(path, { readOnly: true }),
    userError(/is attached read-write by another Domus process/),
  );
  a.close();
  openQcow2(path, { readOnly: false }).close();
});

/** An image made by qemu-img, then patched; the open must be refused and the file left unchanged. */
function refused(
  name: string,
  create: string[],
  patch: (b: Buffer, v: DataView) => void,
  message: RegExp,
  readOnly = false,
): void {
  const path = join(dir, name);
  qemuImg('create', '-q', '-f', 'qcow2', ...create, path, '1M');
  const b = readFileSync(path);
  patch(b, new DataView(b.buffer, b.byteOffset, b.byteLength));
  writeFileSync(path, b);
  assert.throws(() => openQcow2(path, { readOnly }), userError(message));
  assert.ok(readFileSync(path).equals(b), `${name} was modified by a refused open`);
}

/** Stores a u64; `copied` also sets bit 63 (QCOW_OFLAG_COPIED) of an L1 or L2 entry. */
const setU64 = (v: DataView, at: number, n: number, copied = false) => {
  v.setUint32(at, (copied ? 0x80000000 : 0) | Math.floor(n / 0x1_0000_0000));
  v.setUint32(at + 4, n >>> 0);
};

test('malformed and unsupported images are refused with one sentence naming the fix', { skip }, () => {
  refused('magic.qcow2', [], (b) => b.fill(0, 0, 4), /is not a qcow2 file \(bad magic 0x00000000\)/);
  refused(
    'v4.qcow2',
    [],
    (_, v) => v.setUint32(4, 4),
    /is qcow2 version 4, which Domus cannot open; convert it/,
  );
  refused('crypt.qcow2', [], (_, v) => v.setUint32(32, 2), /is encrypted \(LUKS\).*qemu-img convert/);
  refused(
    'dirty.qcow2',
    [],
    (_, v) => v.setUint32(76, 1),
    /dirty bit set\); run qemu-img check -r all .*dirty/,
  );
  refused(
    'corrupt.qcow2',
    [],
    (_, v) => v.setUint32(76, 2),
    /is marked corrupt by QEMU; run qemu-img check -r all/,
  );
  refused('datafile.qcow2', [], (_, v) => v.setUint32(76, 4), /external data file.*convert it/);
  refused(
    'unknown.qcow2',
    [],
    (_, v) => v.setUint32(76, 1 << 5),
    /unknown incompatible qcow2 feature bit 5,/,
  );
  refused(
    'unknown-hi.qcow2',
    [],
    (_, v) => v.setUint32(72, 1 << 8),
    /unknown incompatible qcow2 feature bit 40,/,
  );
  refused('extl2.qcow2', ['-o', 'extended_l2=on'], () => {}, /uses extended L2 entries \(subclusters\)/);
  refused(
    'zstd.qcow2',
    ['-o', 'compression_type=zstd'],
    () => {},
    /uses zstd compression.*compression_type=zlib/,
  );
  refused('zstd-patched.qcow2', [], (b, v) => (v.setUint32(76, 8), (b[104] = 1)), /uses zstd compression/);
  refused('cbits.qcow2', [], (_, v) => v.setUint32(20, 22), /has cluster_bits 22, outside 512 B to 2 MiB/);
  refused('rorder.qcow2', [], (_, v) => v.setUint32(96, 7), /refcount_order 7/);
  refused(
    'l1-unaligned.qcow2',
    [],
    (_, v) => setU64(v, 40, 0x30000 + 8),
    /L1 table at offset 196616.*not cluster-aligned/,
  );
  refused(
    'l1-past.qcow2',
    [],
    (_, v) => setU64(v, 40, 1 << 30),
    /L1 table at offset 1073741824, past the end/,
  );
  refused(
    'rt-unaligned.qcow2',
    [],
    (_, v) => setU64(v, 48, 0x10000 + 512),
    /refcount table at offset.*not cluster-aligned/,
  );
  refused('rt-past.qcow2', [], (_, v) => setU64(v, 48, 1 << 30), /refcount table at offset .* past the end/);
  // An L1 entry (L1 table at 0x30000 in a fresh 1M image) pointing past the end, and unaligned.
  refused(
    'l2-past.qcow2',
    [],
    (_, v) => setU64(v, 0x30000, 1 << 30, true),
    /L2 table \(L1 entry 0\) at offset 1073741824, past/,
  );
  refused(
    'l2-unaligned.qcow2',
    [],
    (_, v) => setU64(v, 0x30000, 0x10200),
    /L2 table \(L1 entry 0\).*not cluster-aligned/,
  );
  // A refcount table entry pointing past the end.
  refused(
    'rb-past.qcow2',
    [],
    (_, v) => setU64(v, 0x10000, 1 << 30),
    /refcount block at offset 1073741824, past/,
  );
  refused(
    'missing-backing.qcow2',
    ['-u', '-b', 'nope.raw', '-F', 'raw'],
    () => {},
    /backing file nope\.raw .*does not exist; restore it or rebase/,
    true,
  );
});

test('an L2 entry that points past the end of the file fails the read with a UserError', { skip }, () => {
  const path = join(dir, 'l2bad.qcow2');
  qemuImg('create', '-q', '-f', 'qcow2', path, '1M');
  assert.equal(run('qemu-io', ['-f', 'qcow2', '-c', 'write -P 1 0 4096', path]).status, 0);
  const b = readFileSync(path);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const l1 = v.getUint32(44);
  const l2 = v.getUint32(l1 + 4) & ~0x1ff;
  setU64(v, l2, 1 << 30, true);
  writeFileSync(path, b);
  const disk = openQcow2(path, { readOnly: true });
  assert.throws(
    () => disk.read(0, new Uint8Array(512)),
    userError(/whose entry 0 points to host offset 1073741824, past/),
  );
  disk.close();
});

test('a backing chain that loops is refused', { skip }, () => {
  const a = join(dir, 'loop-a.qcow2');
  const b = join(dir, 'loop-b.qcow2');
  qemuImg('create', '-q', '-f', 'qcow2', b, '1M');
  qemuImg('create', '-q', '-f', 'qcow2', '-b', 'loop-b.qcow2', '-F', 'qcow2', a, '1M');
  qemuImg('rebase', '-u', '-b', 'loop-a.qcow2', '-F', 'qcow2', b);
  const bytes = readFileSync(a);
  assert.throws(
    () => openQcow2(a, { readOnly: false }),
    userError(/which forms a loop in its backing chain; rebase/),
  );
  assert.ok(readFileSync(a).equals(bytes));
  const self = join(dir, 'loop-self.qcow2');
  qemuImg('create', '-q', '-f', 'qcow2', self, '1M');
  qemuImg('rebase', '-u', '-b', 'loop-self.qcow2', '-F', 'qcow2', self);
  assert.throws(() => openQcow2(self, { readOnly: true }), userError(/forms a loop/));
});

test('an image with internal snapshots opens read-only but not read-write', { skip }, () => {
  const path = join(dir, 'snap.qcow2');
  qemuImg('create', '-q', '-f', 'qcow2', path, '1M');
  assert.equal(run('qemu-io', ['-f', 'qcow2', '-c', 'write -P 9 0 4096', path]).status, 0);
  qemuImg('snapshot', '-c', 's1', path);
  assert.throws(
    () => openQcow2(path, { readOnly: false }),
    userError(/has 1 internal snapshots.*qemu-img snapshot -d/),
  );
  const disk = openQcow2(path, { readOnly: true });
  const got = new Uint8Array(4096);
  disk.read(0, got);
  assert.ok(got.every((x) => x === 9));
  disk.close();
});
