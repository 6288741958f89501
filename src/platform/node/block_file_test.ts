import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { UserError } from '../../common/errors.ts';
import { openBlockFile } from './block_file.ts';

const dir = mkdtempSync(join(tmpdir(), 'domus-blockfile-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function image(name: string, bytes: number): string {
  const path = join(dir, name);
  writeFileSync(path, new Uint8Array(bytes));
  return path;
}

function userError(pattern: RegExp) {
  return (e: unknown) => e instanceof UserError && pattern.test(e.message);
}

/** A pid that certainly ran and has certainly exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

test('reads and writes go to the file at their offset; flush works', () => {
  const path = image('a.img', 4096);
  const disk = openBlockFile(path, { readOnly: false });
  assert.equal(disk.sizeBytes, 4096);
  assert.equal(disk.readOnly, false);
  disk.write(1000, Uint8Array.of(1, 2, 3));
  disk.flush();
  assert.deepEqual([...readFileSync(path).subarray(999, 1004)], [0, 1, 2, 3, 0]);
  const got = new Uint8Array(4);
  disk.read(1001, got);
  assert.deepEqual([...got], [2, 3, 0, 0]);
  assert.throws(() => disk.read(4094, new Uint8Array(4)), RangeError);
  disk.close();
  disk.close();
});

test('a missing file is named with the fix', () => {
  assert.throws(
    () => openBlockFile(join(dir, 'nope.img'), { readOnly: true }),
    userError(/^disk image .*nope\.img does not exist; check the path/),
  );
});

test('a size that is not a multiple of 512 is refused with the padding command', () => {
  const path = image('odd.img', 1000);
  assert.throws(
    () => openBlockFile(path, { readOnly: true }),
    userError(/is 1000 bytes, not a multiple of 512; pad it with truncate -s 1024 /),
  );
});

test('a directory is not a disk image', () => {
  assert.throws(() => openBlockFile(dir, { readOnly: true }), userError(/is not a regular file/));
});

test('a file that is not writable must be attached ,ro', () => {
  const path = image('locked.img', 512);
  chmodSync(path, 0o444);
  // Root may write anything, so the attempt runs as an unprivileged user when we are root.
  const attempt = (readOnly: boolean): string => {
    if (process.getuid?.() !== 0) {
      try {
        openBlockFile(path, { readOnly }).close();
        return 'opened';
      } catch (e) {
        return e instanceof UserError ? e.message : `unexpected ${String(e)}`;
      }
    }
    chmodSync(dir, 0o755);
    const script = [
      `import { openBlockFile } from ${JSON.stringify(new URL('./block_file.ts', import.meta.url).pathname)};`,
      `try { openBlockFile(${JSON.stringify(path)}, { readOnly: ${readOnly} }).close(); console.log('opened'); }`,
      `catch (e) { console.log(e.message); }`,
    ].join('\n');
    const r = spawnSync(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        process.execPath,
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        script,
      ],
      { encoding: 'utf8' },
    );
    return r.stdout.trim() || r.stderr.trim();
  };
  assert.equal(attempt(false), `disk image ${path} is read-only; attach it with ,ro or make it writable`);
  assert.equal(existsSync(`${path}.lock`), false, 'no lock is left behind');
  assert.equal(attempt(true), 'opened');
});

test('a read-only attach refuses writes', () => {
  const disk = openBlockFile(image('ro.img', 512), { readOnly: true });
  assert.equal(disk.readOnly, true);
  assert.throws(() => disk.write(0, Uint8Array.of(1)), /attached read-only/);
  disk.close();
});

test('the lock: a second read-write attach is refused until the first closes', () => {
  const path = image('shared.img', 512);
  const first = openBlockFile(path, { readOnly: false });
  assert.equal(readFileSync(`${path}.lock`, 'utf8').trim(), String(process.pid));
  assert.throws(
    () => openBlockFile(path, { readOnly: false }),
    userError(
      new RegExp(
        `shared\\.img is in use by another Domus process \\(pid ${process.pid}\\); stop that domain first`,
      ),
    ),
  );
  assert.throws(
    () => openBlockFile(path, { readOnly: true }),
    userError(/is attached read-write by another Domus/),
  );
  first.close();
  assert.equal(existsSync(`${path}.lock`), false);
  openBlockFile(path, { readOnly: false }).close();
});

test('read-only attaches share an image and take no lock', () => {
  const path = image('base.img', 512);
  const a = openBlockFile(path, { readOnly: true });
  const b = openBlockFile(path, { readOnly: true });
  assert.equal(existsSync(`${path}.lock`), false);
  a.close();
  b.close();
});

test('a stale lock whose pid is gone is taken over', () => {
  const path = image('stale.img', 512);
  writeFileSync(`${path}.lock`, `${deadPid()}\n`);
  const disk = openBlockFile(path, { readOnly: false });
  assert.equal(readFileSync(`${path}.lock`, 'utf8').trim(), String(process.pid));
  disk.close();
  assert.equal(existsSync(`${path}.lock`), false);
});

test('a fresh lock without a pid counts as held', () => {
  const path = image('fresh.img', 512);
  writeFileSync(`${path}.lock`, '');
  assert.throws(() => openBlockFile(path, { readOnly: false }), userError(/in use by another Domus process/));
});
