import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { UserError } from '../../common/errors.ts';
import { defaultGuest, prebuiltDir, verifyChecksums } from './guest_image.ts';

test('guests/prebuilt/SHA256SUMS verifies', () => {
  assert.deepEqual(verifyChecksums(prebuiltDir()).sort(), [
    'Image.gz',
    'VERSIONS',
    'initramfs.cpio.gz',
    'linux.config',
  ]);
});

test('a flipped byte in a prebuilt file is refused with a clear error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'domus-prebuilt-'));
  try {
    cpSync(prebuiltDir(), dir, { recursive: true });
    const f = join(dir, 'initramfs.cpio.gz');
    const bytes = readFileSync(f);
    bytes[1000] = (bytes[1000] ?? 0) ^ 1;
    writeFileSync(f, bytes);
    assert.throws(
      () => verifyChecksums(dir),
      (e: unknown) =>
        e instanceof UserError &&
        /initramfs\.cpio\.gz does not match its checksum in SHA256SUMS/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('defaultGuest() yields a RISC-V Linux Image', () => {
  process.env['DOMUS_CACHE_DIR'] ??= mkdtempSync(join(tmpdir(), 'domus-cache-'));
  const { kernel } = defaultGuest();
  const head = readFileSync(kernel).subarray(0, 64);
  // The riscv Image header: magic "RISCV\0\0\0" at 48 and "RSC\x05" at 56.
  assert.equal(head.subarray(48, 53).toString('latin1'), 'RISCV');
  assert.equal(head.readUInt32LE(56), 0x05435352);
});
