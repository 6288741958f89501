import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { UserError } from '../../common/errors.ts';
import { openDiskImage } from './disk_image.ts';

const haveQemuImg = spawnSync('qemu-img', ['--version']).status === 0;
const skip = haveQemuImg ? false : 'qemu-img is missing; install it with apt-get install qemu-utils';
const dir = mkdtempSync(join(tmpdir(), 'domus-diskimage-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function qcow2(name: string, size: string): string {
  const path = join(dir, name);
  const r = spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', path, size], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return path;
}

function userError(re: RegExp) {
  return (e: unknown) => e instanceof UserError && re.test(e.message);
}

test('the format is probed by magic: qcow2 images show their virtual size, others are raw', { skip }, () => {
  const q = qcow2('probe.qcow2', '3M');
  const disk = openDiskImage(q, { readOnly: false });
  assert.equal(disk.sizeBytes, 3 << 20);
  disk.write(4096, new Uint8Array(512).fill(7));
  disk.close();
  const raw = join(dir, 'probe.raw');
  writeFileSync(raw, new Uint8Array(8192).fill(1));
  const r = openDiskImage(raw, { readOnly: true });
  assert.equal(r.sizeBytes, 8192);
  const got = new Uint8Array(4);
  r.read(0, got);
  assert.deepEqual([...got], [1, 1, 1, 1]);
  r.close();
  const again = openDiskImage(q, { readOnly: true, format: 'qcow2' });
  const back = new Uint8Array(512);
  again.read(4096, back);
  assert.ok(back.every((b) => b === 7));
  again.close();
});

test('format qcow2 on a raw file is refused for its bad magic', () => {
  const raw = join(dir, 'notq.raw');
  writeFileSync(raw, new Uint8Array(4096));
  assert.throws(
    () => openDiskImage(raw, { readOnly: true, format: 'qcow2' }),
    userError(/notq\.raw is not a qcow2 file \(bad magic 0x00000000\)/),
  );
});

test('format raw on a qcow2 file is allowed read-only and refused read-write', { skip }, () => {
  const q = qcow2('asraw.qcow2', '1M');
  // qemu-img leaves the file at the end of its L1 table; a raw view needs whole sectors.
  truncateSync(q, Math.ceil(statSync(q).size / 512) * 512);
  const before = readFileSync(q);
  const ro = openDiskImage(q, { readOnly: true, format: 'raw' });
  assert.equal(ro.sizeBytes, before.length);
  ro.close();
  assert.throws(
    () => openDiskImage(q, { readOnly: false, format: 'raw' }),
    userError(/is a qcow2 image attached as raw read-write, which would let the guest overwrite/),
  );
  assert.ok(readFileSync(q).equals(before));
});

test('a probed raw image may not be given the qcow2 magic by a write', () => {
  const raw = join(dir, 'guarded.raw');
  writeFileSync(raw, new Uint8Array(4096));
  const disk = openDiskImage(raw, { readOnly: false });
  const magic = Uint8Array.of(0x51, 0x46, 0x49, 0xfb);
  const sector = new Uint8Array(512);
  sector.set(magic);
  assert.throws(() => disk.write(0, sector), /qcow2 magic/);
  // Piecewise: bytes 2.. first, then 0..1 completing the magic.
  disk.write(0, Uint8Array.of(0, 0, 0x49, 0xfb));
  assert.throws(() => disk.write(0, Uint8Array.of(0x51, 0x46)), /qcow2 magic/);
  disk.write(0, Uint8Array.of(0x51, 0x47)); // anything else is fine
  disk.write(512, sector); // and the magic elsewhere is just data
  disk.close();
  assert.deepEqual([...readFileSync(raw).subarray(0, 4)], [0x51, 0x47, 0x49, 0xfb]);
  // Explicitly raw: the guest owns every byte.
  const explicit = openDiskImage(raw, { readOnly: false, format: 'raw' });
  explicit.write(0, sector);
  explicit.close();
  assert.deepEqual([...readFileSync(raw).subarray(0, 4)], [...magic]);
});
