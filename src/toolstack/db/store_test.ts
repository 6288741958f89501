import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'libsql';
import { UserError } from '../../common/errors.ts';
import { needsRehash } from './password.ts';
import { crashRecord } from './store_crash_child.ts';
import { APPLICATION_ID, scalar, SCHEMA_VERSION, Store } from './store.ts';

const dir = mkdtempSync(join(tmpdir(), 'domus-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(dir, `state-${n++}.db`);

function refusesToOpen(path: string, message: string): void {
  assert.throws(
    () => Store.open(path),
    (e: unknown) => {
      assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
      assert.equal(e.message, message);
      return true;
    },
  );
}

test('a new store is a WAL-mode SQLite file with our application id and schema version', () => {
  const path = fresh();
  const s = Store.open(path);
  s.putRecord('pool', 'master', 'OpaqueRef:host0');
  assert.ok(existsSync(`${path}-wal`), 'WAL mode keeps a -wal file beside the database while it is open');
  s.close();
  const raw = new Database(path);
  assert.equal(scalar(raw, 'PRAGMA application_id'), APPLICATION_ID);
  assert.equal(scalar(raw, 'PRAGMA user_version'), SCHEMA_VERSION);
  assert.equal(scalar(raw, 'PRAGMA journal_mode'), 'wal');
  raw.close();
});

test('VMs: create, read by uuid and name, update keeps created time, unique names, delete; survives reopen', () => {
  const path = fresh();
  let s = Store.open(path);
  const a = s.putVm({ uuid: 'u-a', name: 'web1', config: { memoryMiB: 512, disks: ['/vm/a.img'] } });
  s.putVm({ uuid: 'u-b', name: 'db1', config: { memoryMiB: 1024 } });
  assert.deepEqual(s.getVm('u-a')?.config, { memoryMiB: 512, disks: ['/vm/a.img'] });
  assert.equal(s.getVmByName('db1')?.uuid, 'u-b');
  const a2 = s.putVm({ uuid: 'u-a', name: 'web1-renamed', config: { memoryMiB: 768 } });
  assert.equal(a2.createdMs, a.createdMs);
  assert.ok(a2.updatedMs >= a.updatedMs);
  assert.throws(() => s.putVm({ uuid: 'u-c', name: 'db1', config: {} }), {
    name: 'UserError',
    message: 'a VM named db1 already exists (u-b); choose another name',
  });
  s.close();
  s = Store.open(path);
  assert.deepEqual(
    s.listVms().map((v) => [v.uuid, v.name, v.config]),
    [
      ['u-a', 'web1-renamed', { memoryMiB: 768 }],
      ['u-b', 'db1', { memoryMiB: 1024 }],
    ],
  );
  assert.equal(s.deleteVm('u-a'), true);
  assert.equal(s.deleteVm('u-a'), false);
  assert.equal(s.getVm('u-a'), undefined);
  s.close();
});

test('host and pool records hold JSON values by key', () => {
  const s = Store.open(fresh());
  s.putRecord('host', 'uuid', 'h-1');
  s.putRecord('host', 'cpu_info', { count: 2, vendor: 'Domus' });
  s.putRecord('pool', 'name_label', 'lab');
  s.putRecord('host', 'uuid', 'h-2');
  assert.equal(s.getRecord('host', 'uuid'), 'h-2');
  assert.deepEqual(s.listRecords('host'), [
    { key: 'cpu_info', value: { count: 2, vendor: 'Domus' } },
    { key: 'uuid', value: 'h-2' },
  ]);
  assert.equal(s.getRecord('pool', 'missing'), undefined);
  assert.equal(s.deleteRecord('pool', 'name_label'), true);
  assert.deepEqual(s.listRecords('pool'), []);
  s.close();
});

test('transactions are all or nothing; nested ones roll back alone', () => {
  const s = Store.open(fresh());
  assert.throws(() =>
    s.transaction(() => {
      s.putVm({ uuid: 'u-1', name: 'one', config: {} });
      s.putRecord('host', 'k', 1);
      throw new Error('boom');
    }),
  );
  assert.equal(s.getVm('u-1'), undefined);
  assert.equal(s.getRecord('host', 'k'), undefined);
  s.transaction(() => {
    s.putRecord('host', 'outer', 1);
    assert.throws(() =>
      s.transaction(() => {
        s.putRecord('host', 'inner', 2);
        throw new Error('inner');
      }),
    );
  });
  assert.equal(s.getRecord('host', 'outer'), 1);
  assert.equal(s.getRecord('host', 'inner'), undefined);
  s.close();
});

test('users: scrypt hashes with per-user salt, right and wrong passwords, unknown users, duplicates', async () => {
  const path = fresh();
  const s = Store.open(path);
  await s.createUser('root', 'correct horse');
  await s.createUser('alice', 'correct horse');
  assert.equal(await s.checkPassword('root', 'correct horse'), true);
  assert.equal(await s.checkPassword('root', 'correct horsE'), false);
  assert.equal(await s.checkPassword('nobody', 'correct horse'), false);
  await assert.rejects(s.createUser('root', 'x'), {
    name: 'UserError',
    message: 'user root already exists; set a new password instead',
  });
  await assert.rejects(s.createUser('bad name', 'x'), /user name "bad name" is not allowed/);
  await assert.rejects(s.setPassword('ghost', 'x'), { message: 'there is no user ghost; create it first' });
  await s.setPassword('root', 'battery staple');
  assert.equal(await s.checkPassword('root', 'correct horse'), false);
  assert.equal(await s.checkPassword('root', 'battery staple'), true);
  assert.deepEqual(
    s.listUsers().map((u) => u.name),
    ['alice', 'root'],
  );
  s.close();
  const raw = new Database(path);
  const rows = raw.prepare('SELECT name, password FROM users ORDER BY name').all() as Array<{
    password: string;
  }>;
  raw.close();
  for (const r of rows) {
    assert.match(r.password, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    assert.equal(needsRehash(r.password), false);
    assert.ok(!r.password.includes('horse') && !r.password.includes('staple'));
  }
  const alice = Store.open(path);
  assert.equal(await alice.checkPassword('alice', 'correct horse'), true);
  assert.equal(alice.deleteUser('alice'), true);
  assert.equal(await alice.checkPassword('alice', 'correct horse'), false);
  alice.close();
  const [a, b] = rows.map((r) => r.password.split('$')[4]);
  assert.notEqual(a, b, 'the same password gets a different salt per user');
});

test('a file that is not a Domus database is refused with one sentence', () => {
  const garbage = join(dir, 'garbage.db');
  writeFileSync(garbage, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff)));
  refusesToOpen(
    garbage,
    `state database ${garbage} is not a database file (no SQLite header); move it aside or give another path`,
  );

  const text = join(dir, 'notes.txt');
  writeFileSync(text, 'name = "vm"\nmemory = 512\n');
  refusesToOpen(
    text,
    `state database ${text} is not a database file (no SQLite header); move it aside or give another path`,
  );

  const damaged = join(dir, 'damaged.db');
  const header = Buffer.alloc(8192, 0xa5);
  header.write('SQLite format 3\0', 0, 'latin1');
  writeFileSync(damaged, header);
  refusesToOpen(
    damaged,
    `state database ${damaged} is damaged (SQLITE_NOTADB: file is not a database); restore it from a backup or move it aside`,
  );

  const other = join(dir, 'other.db');
  const raw = new Database(other);
  raw.exec('CREATE TABLE photos (id INTEGER PRIMARY KEY)');
  raw.close();
  refusesToOpen(
    other,
    `state database ${other} belongs to another program (SQLite application_id 0x0); give Domus its own file`,
  );

  const newer = fresh();
  Store.open(newer).close();
  const bump = new Database(newer);
  bump.exec('PRAGMA user_version = 99');
  bump.close();
  refusesToOpen(
    newer,
    `state database ${newer} was written by a newer Domus (schema 99, this one knows ${SCHEMA_VERSION}); upgrade Domus`,
  );
});

const root = fileURLToPath(new URL('../../../', import.meta.url));
const child = fileURLToPath(new URL('./store_crash_child.ts', import.meta.url));

/** Runs the crash child from `first`, SIGKILLs it at a random moment, returns the ids it printed. */
function runAndKill(path: string, first: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, path, String(first)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let armed = false;
    p.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (!armed && out.includes('\n')) {
        armed = true;
        setTimeout(() => p.kill('SIGKILL'), 20 + Math.floor(Math.random() * 300));
      }
    });
    p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    p.on('error', reject);
    p.on('close', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`crash child ended by itself (code ${code}): ${err}`));
      else
        resolve(
          out
            .split('\n')
            .filter((l) => /^[0-9]+$/.test(l))
            .map(Number),
        );
    });
  });
}

test('crash: a child committing in a loop and SIGKILLed at random moments loses nothing committed', async () => {
  const path = fresh();
  let next = 0;
  for (let round = 0; round < 3; round++) {
    const printed = await runAndKill(path, next);
    assert.ok(printed.length > 0, 'the child committed something before it was killed');
    assert.equal(printed[0], next);
    const s = Store.open(path);
    const vms = s.listVms();
    const ids = vms.map((v) => (v.config as { i: number }).i).sort((a, b) => a - b);
    // Every commit that returned (and so was printed) is there, byte for byte.
    for (const i of printed)
      assert.deepEqual(s.getVm(crashRecord(i).uuid)?.config, crashRecord(i).config, `record ${i}`);
    // What is there is exactly 0..k: transactions commit in order, and none is half there.
    assert.deepEqual(
      ids,
      Array.from({ length: ids.length }, (_, j) => j),
    );
    for (const v of vms) {
      const want = crashRecord((v.config as { i: number }).i);
      assert.deepEqual([v.uuid, v.name, v.config], [want.uuid, want.name, want.config]);
    }
    const last = ids[ids.length - 1]!;
    assert.ok(
      last <= printed[printed.length - 1]! + 1,
      'at most one commit can have finished without being printed',
    );
    assert.deepEqual(
      s.getRecord('host', 'last'),
      { i: last },
      'the VM and the host record of a transaction land together',
    );
    s.close();
    next = last + 1;
  }
});
