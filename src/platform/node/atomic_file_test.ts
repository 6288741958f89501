import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeFileAtomically } from './atomic_file.ts';

const root = mkdtempSync(join(tmpdir(), 'domus-atomic-'));
after(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
function freshDir(): string {
  const d = join(root, `d${n++}`);
  mkdirSync(d);
  return d;
}

function bytes(length: number, seed: number): Uint8Array {
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

test('writes a new file in pieces, private to its owner, and leaves no temporary file', async () => {
  const dir = freshDir();
  const path = join(dir, 'vm.save');
  const a = bytes(100_000, 1);
  const b = bytes(3, 2);
  await writeFileAtomically(path, async (sink) => {
    await sink.write(a);
    assert.equal(sink.bytesWritten, a.length);
    await sink.write(b);
  });
  const got = readFileSync(path);
  assert.equal(got.length, a.length + b.length);
  assert.deepEqual(got.subarray(0, a.length), Buffer.from(a));
  assert.deepEqual(got.subarray(a.length), Buffer.from(b));
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['vm.save']);
});

test('replaces an existing file only at the end: during the write the old one is still whole', async () => {
  const dir = freshDir();
  const path = join(dir, 'vm.save');
  writeFileSync(path, 'old contents');
  await writeFileAtomically(
    path,
    async (sink) => {
      await sink.write(bytes(50_000, 3));
      assert.equal(readFileSync(path, 'utf8'), 'old contents');
      assert.equal(readdirSync(dir).length, 2, 'the temporary file sits beside the target');
      await sink.write(bytes(10, 4));
    },
    { mode: 0o644 },
  );
  assert.equal(readFileSync(path).length, 50_010);
  assert.equal(statSync(path).mode & 0o777, 0o644);
  assert.deepEqual(readdirSync(dir), ['vm.save']);
});

test('a failure in the middle keeps the previous file and removes the temporary one', async () => {
  const dir = freshDir();
  const path = join(dir, 'vm.save');
  writeFileSync(path, 'the good save');
  const boom = new Error('guest memory could not be read');
  await assert.rejects(
    writeFileAtomically(path, async (sink) => {
      await sink.write(bytes(1 << 20, 5));
      await sink.write(bytes(1 << 20, 6));
      throw boom;
    }),
    (e: unknown) => e === boom,
  );
  assert.equal(readFileSync(path, 'utf8'), 'the good save');
  assert.deepEqual(readdirSync(dir), ['vm.save']);
});

test('a failure with no previous file leaves nothing behind', async () => {
  const dir = freshDir();
  await assert.rejects(
    writeFileAtomically(join(dir, 'new.save'), async (sink) => {
      await sink.write(bytes(10, 7));
      throw new Error('stop');
    }),
    /stop/,
  );
  assert.deepEqual(readdirSync(dir), []);
});

test('a rename that fails (the target is a directory) removes the temporary file', async () => {
  const dir = freshDir();
  const target = join(dir, 'taken');
  mkdirSync(target);
  writeFileSync(join(target, 'keep'), 'x');
  await assert.rejects(
    writeFileAtomically(target, (sink) => sink.write(bytes(10, 8))),
    (e: unknown) => e instanceof Error && /EISDIR|ENOTEMPTY|EEXIST/.test((e as { code?: string }).code ?? ''),
  );
  assert.deepEqual(readdirSync(dir), ['taken']);
  assert.equal(readFileSync(join(target, 'keep'), 'utf8'), 'x');
});

test('a missing directory is an error and creates nothing', async () => {
  const dir = freshDir();
  await assert.rejects(
    writeFileAtomically(join(dir, 'no', 'such', 'vm.save'), (sink) => sink.write(bytes(1, 9))),
    (e: unknown) => (e as { code?: string }).code === 'ENOENT',
  );
  assert.deepEqual(readdirSync(dir), []);
});

test('a writer killed in the middle (SIGKILL) leaves the previous file whole', async () => {
  const dir = freshDir();
  const path = join(dir, 'vm.save');
  writeFileSync(path, 'the good save');
  const moduleUrl = new URL('./atomic_file.ts', import.meta.url).href;
  const script = `
    import { writeFileAtomically } from ${JSON.stringify(moduleUrl)};
    await writeFileAtomically(${JSON.stringify(path)}, async (sink) => {
      await sink.write(new Uint8Array(1 << 20).fill(0x41));
      process.stdout.write('midway\\n');
      await new Promise(() => {});
    });
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('midway')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`the writer exited early with ${code}`)));
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  assert.equal(readFileSync(path, 'utf8'), 'the good save');
  const names = readdirSync(dir).sort();
  assert.equal(names.length, 2);
  assert.match(names[0]!, /^\.vm\.save\.tmp-\d+-[0-9a-f]{12}$/);
  assert.equal(statSync(join(dir, names[0]!)).size, 1 << 20);
});
