/**
 * The toolstack's durable state: VM definitions, host and pool records, and users, in one
 * SQLite database file (through `libsql`, a maintained SQLite fork whose npm package ships
 * prebuilt binaries, so it installs offline from the registry and runs on Node 20).
 *
 * Durability: the database runs in WAL mode with `synchronous = FULL`. Every write happens in a
 * transaction (`transaction()`, or implicitly one per accessor call); when a commit returns, the
 * WAL frames of that transaction have been fsync'ed, so neither a killed daemon nor a power
 * loss can lose it, and SQLite's recovery on the next open discards any transaction that had
 * not committed. (NORMAL would already survive a killed process; FULL also survives power loss,
 * and the toolstack writes rarely enough that one fsync per commit costs nothing that matters.)
 *
 * Opening checks what the file is, and refuses with one sentence: a file that is not SQLite, a
 * damaged database (`PRAGMA quick_check`), an SQLite database of another program (our
 * `application_id` is "Domu"), or a schema newer than this build knows. The schema version is
 * `PRAGMA user_version`; `MIGRATIONS[i]` takes version i to i + 1, inside one transaction.
 *
 * Concurrency: one process, one `Store`. Calls are synchronous (SQLite is fast at this size);
 * only password hashing is async, and it happens before the write's transaction starts.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import Database from 'libsql';
import { UserError } from '../../common/errors.ts';
import { hashPassword, verifyPassword } from './password.ts';

type Db = InstanceType<typeof Database>;

/** "Domu" */
export const APPLICATION_ID = 0x446f6d75;

const MIGRATIONS: ReadonlyArray<(db: Db) => void> = [
  (db) =>
    db.exec(`
      CREATE TABLE vms (
        uuid TEXT PRIMARY KEY NOT NULL,
        name TEXT NOT NULL UNIQUE,
        config TEXT NOT NULL CHECK (json_valid(config)),
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE users (
        name TEXT PRIMARY KEY NOT NULL,
        password TEXT NOT NULL,
        created_ms INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE records (
        kind TEXT NOT NULL CHECK (kind IN ('host', 'pool')),
        key TEXT NOT NULL,
        value TEXT NOT NULL CHECK (json_valid(value)),
        PRIMARY KEY (kind, key)
      ) STRICT;
    `),
];
export const SCHEMA_VERSION = MIGRATIONS.length;

export interface VmRecord {
  uuid: string;
  name: string;
  /** The VM definition as JSON-compatible data (e.g. an XlConfig). */
  config: unknown;
  createdMs: number;
  updatedMs: number;
}

export interface UserRecord {
  name: string;
  createdMs: number;
}

export type RecordKind = 'host' | 'pool';

const SQLITE_MAGIC = 'SQLite format 3\0';

function sqliteCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

export class Store {
  private constructor(
    private readonly db: Db,
    readonly path: string,
  ) {}

  /** Opens (creating if absent) the database at `path`, checking and migrating it. */
  static open(path: string): Store {
    if (existsSync(path) && statSync(path).isFile() && statSync(path).size > 0) {
      const head = Buffer.alloc(16);
      const fd = openSync(path, 'r');
      try {
        readSync(fd, head, 0, 16, 0);
      } finally {
        closeSync(fd);
      }
      if (head.toString('latin1') !== SQLITE_MAGIC) {
        throw new UserError(
          `state database ${path} is not a database file (no SQLite header); move it aside or give another path`,
        );
      }
    }
    let db: Db;
    try {
      db = new Database(path);
    } catch (e) {
      throw new UserError(
        `state database ${path} cannot be opened (${(e as Error).message}); check the path and its permissions`,
      );
    }
    try {
      db.exec('PRAGMA busy_timeout = 5000');
      db.pragma('journal_mode = WAL');
      db.exec('PRAGMA synchronous = FULL');
      const check = scalar(db, 'PRAGMA quick_check');
      if (check !== 'ok') throw Object.assign(new Error(String(check)), { code: 'SQLITE_CORRUPT' });
      migrate(db, path);
      return new Store(db, path);
    } catch (e) {
      db.close();
      const code = sqliteCode(e);
      if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
        throw new UserError(
          `state database ${path} is damaged (${code}: ${(e as Error).message}); restore it from a backup or move it aside`,
        );
      }
      throw e;
    }
  }

  close(): void {
    this.db.close();
  }

  /**
   * Runs `fn` as one atomic, durable transaction: all of its writes commit together when it
   * returns, none if it throws. Nested calls become savepoints. `fn` must be synchronous.
   */
  transaction<T>(fn: () => T): T {
    const nested = this.db.inTransaction;
    this.db.exec(nested ? 'SAVEPOINT domus_tx' : 'BEGIN IMMEDIATE');
    let result: T;
    try {
      result = fn();
      if (result instanceof Promise) throw new TypeError('Store.transaction needs a synchronous function');
    } catch (e) {
      this.db.exec(nested ? 'ROLLBACK TO domus_tx; RELEASE domus_tx' : 'ROLLBACK');
      throw e;
    }
    this.db.exec(nested ? 'RELEASE domus_tx' : 'COMMIT');
    return result;
  }

  // ---- VMs ----

  /** Creates or replaces the VM with `vm.uuid`; names are unique across VMs. */
  putVm(vm: { uuid: string; name: string; config: unknown }): VmRecord {
    const now = Date.now();
    const config = JSON.stringify(vm.config);
    if (config === undefined) throw new TypeError('a VM config must be JSON data');
    return this.transaction(() => {
      const clash = this.db
        .prepare('SELECT uuid FROM vms WHERE name = ? AND uuid != ?')
        .get(vm.name, vm.uuid) as { uuid: string } | undefined;
      if (clash)
        throw new UserError(`a VM named ${vm.name} already exists (${clash.uuid}); choose another name`);
      this.db
        .prepare(
          `INSERT INTO vms (uuid, name, config, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (uuid) DO UPDATE SET name = excluded.name, config = excluded.config, updated_ms = excluded.updated_ms`,
        )
        .run(vm.uuid, vm.name, config, now, now);
      return this.getVm(vm.uuid)!;
    });
  }

  getVm(uuid: string): VmRecord | undefined {
    const row = this.db.prepare('SELECT * FROM vms WHERE uuid = ?').get(uuid);
    return row === undefined ? undefined : vmFromRow(row);
  }

  getVmByName(name: string): VmRecord | undefined {
    const row = this.db.prepare('SELECT * FROM vms WHERE name = ?').get(name);
    return row === undefined ? undefined : vmFromRow(row);
  }

  listVms(): VmRecord[] {
    return this.db.prepare('SELECT * FROM vms ORDER BY created_ms, uuid').all().map(vmFromRow);
  }

  deleteVm(uuid: string): boolean {
    return this.db.prepare('DELETE FROM vms WHERE uuid = ?').run(uuid).changes > 0;
  }

  // ---- host and pool records (key -> JSON value) ----

  putRecord(kind: RecordKind, key: string, value: unknown): void {
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError(`record ${kind}/${key} must be JSON data`);
    this.db
      .prepare(
        'INSERT INTO records (kind, key, value) VALUES (?, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value',
      )
      .run(kind, key, json);
  }

  getRecord(kind: RecordKind, key: string): unknown {
    const row = this.db.prepare('SELECT value FROM records WHERE kind = ? AND key = ?').get(kind, key) as
      { value: string } | undefined;
    return row === undefined ? undefined : JSON.parse(row.value);
  }

  listRecords(kind: RecordKind): Array<{ key: string; value: unknown }> {
    const rows = this.db
      .prepare('SELECT key, value FROM records WHERE kind = ? ORDER BY key')
      .all(kind) as Array<{ key: string; value: string }>;
    return rows.map((r) => ({ key: r.key, value: JSON.parse(r.value) }));
  }

  deleteRecord(kind: RecordKind, key: string): boolean {
    return this.db.prepare('DELETE FROM records WHERE kind = ? AND key = ?').run(kind, key).changes > 0;
  }

  // ---- users ----

  async createUser(name: string, password: string): Promise<void> {
    if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(name)) {
      throw new UserError(
        `user name "${name}" is not allowed; use 1 to 64 letters, digits, "_", ".", "@" or "-"`,
      );
    }
    if (this.userPassword(name) !== undefined)
      throw new UserError(`user ${name} already exists; set a new password instead`);
    const hash = await hashPassword(password);
    try {
      this.db
        .prepare('INSERT INTO users (name, password, created_ms) VALUES (?, ?, ?)')
        .run(name, hash, Date.now());
    } catch (e) {
      if (sqliteCode(e)?.startsWith('SQLITE_CONSTRAINT'))
        throw new UserError(`user ${name} already exists; set a new password instead`);
      throw e;
    }
  }

  async setPassword(name: string, password: string): Promise<void> {
    if (this.userPassword(name) === undefined)
      throw new UserError(`there is no user ${name}; create it first`);
    const hash = await hashPassword(password);
    if (this.db.prepare('UPDATE users SET password = ? WHERE name = ?').run(hash, name).changes === 0) {
      throw new UserError(`there is no user ${name}; create it first`);
    }
  }

  /** True when the user exists and the password is theirs; takes the same time either way. */
  async checkPassword(name: string, password: string): Promise<boolean> {
    return verifyPassword(password, this.userPassword(name));
  }

  listUsers(): UserRecord[] {
    const rows = this.db.prepare('SELECT name, created_ms FROM users ORDER BY name').all() as Array<{
      name: string;
      created_ms: number;
    }>;
    return rows.map((r) => ({ name: r.name, createdMs: Number(r.created_ms) }));
  }

  deleteUser(name: string): boolean {
    return this.db.prepare('DELETE FROM users WHERE name = ?').run(name).changes > 0;
  }

  private userPassword(name: string): string | undefined {
    const row = this.db.prepare('SELECT password FROM users WHERE name = ?').get(name) as
      { password: string } | undefined;
    return row?.password;
  }
}

/**
 * The first column of the first row. (libsql 0.5's `pluck()` and `pragma(…, {simple})` return
 * the whole row, and rows carry an extra enumerable `_metadata` member; `raw()` works.)
 */
export function scalar(db: Db, sql: string): unknown {
  const row = db.prepare(sql).raw().get() as unknown[] | undefined;
  return row?.[0];
}

function vmFromRow(row: unknown): VmRecord {
  const r = row as { uuid: string; name: string; config: string; created_ms: number; updated_ms: number };
  return {
    uuid: r.uuid,
    name: r.name,
    config: JSON.parse(r.config),
    createdMs: Number(r.created_ms),
    updatedMs: Number(r.updated_ms),
  };
}

function migrate(db: Db, path: string): void {
  const appId = Number(scalar(db, 'PRAGMA application_id'));
  const version = Number(scalar(db, 'PRAGMA user_version'));
  if (appId !== APPLICATION_ID) {
    const tables = Number(scalar(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"));
    if (appId !== 0 || version !== 0 || tables !== 0) {
      throw new UserError(
        `state database ${path} belongs to another program (SQLite application_id 0x${appId.toString(16)}); give Domus its own file`,
      );
    }
  }
  if (version > SCHEMA_VERSION) {
    throw new UserError(
      `state database ${path} was written by a newer Domus (schema ${version}, this one knows ${SCHEMA_VERSION}); upgrade Domus`,
    );
  }
  for (let v = version; v < SCHEMA_VERSION; v++) {
    db.exec('BEGIN IMMEDIATE');
    try {
      MIGRATIONS[v]!(db);
      db.exec(`PRAGMA application_id = ${APPLICATION_ID}; PRAGMA user_version = ${v + 1}`);
      db.exec('COMMIT');
    } catch (e) {
      db.exec('ROLLBACK');
      throw e;
    }
  }
}
