import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readInput } from './run_support.ts';

test('readInput returns the whole file in shared memory, and names the file and the fix on errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'domus-read-'));
  try {
    const bytes = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
    const file = join(dir, 'kernel');
    writeFileSync(file, bytes);
    const got = readInput(file, 'kernel');
    assert.ok(got.buffer instanceof SharedArrayBuffer, 'a pCPU thread gets it without a copy');
    assert.deepEqual(new Uint8Array(got), bytes);
    assert.throws(() => readInput(dir, 'kernel'), /kernel .* is a directory; pass a file/);
    assert.throws(
      () => readInput(join(dir, 'nope'), 'initrd'),
      /initrd .* does not exist; pass an existing file/,
    );
  } finally {
    rmSync(dir, { recursive: true });
  }
});
