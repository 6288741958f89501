import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DomainConfig, DomainRecord, HostInfo } from '../../toolstack/control/protocol.ts';
import { XenApiError } from './errors.ts';
import type { ToolstackPort, VmDefinition } from './toolstack_port.ts';
import { XenApi } from './xenapi.ts';

/** A toolstack held in memory: domains appear and change state as the calls say. */
class MemoryToolstack implements ToolstackPort {
  doms: DomainRecord[] = [];
  defs: VmDefinition[] = [];
  private nextId = 1;
  private listeners: ((r: DomainRecord) => void)[] = [];
  hostInfo(): Promise<HostInfo> {
    return Promise.resolve({
      hostname: 'h',
      version: '0.1.0',
      pid: 1,
      pcpus: 2,
      hostCores: 2,
      totalMemoryMiB: 1024,
      freeMemoryMiB: 1000,
      startedAtMs: 0,
      runDir: '/tmp',
      dom0: { memoryMiB: 100, cpuSeconds: 1 },
    });
  }
  listDomains(): Promise<DomainRecord[]> {
    return Promise.resolve(this.doms.map((d) => ({ ...d })));
  }
  createDomain(config: DomainConfig): Promise<DomainRecord> {
    const r: DomainRecord = {
      id: this.nextId++,
      uuid: config.uuid!,
      name: config.name,
      state: config.paused ? 'paused' : 'running',
      memoryMiB: config.memoryMiB,
      vcpus: config.vcpus,
      pcpu: 0,
      weight: 256,
      cap: 0,
      cpuSeconds: 0,
      stealSeconds: 0,
      instructions: 0,
      blocked: false,
      targetMiB: config.memoryMiB,
      maxMemMiB: config.memoryMiB,
      onlineVcpus: config.vcpus,
      createdAtMs: Date.now(),
      config,
    };
    this.doms.push(r);
    for (const f of this.listeners) f(r);
    return Promise.resolve(r);
  }
  migrated: { domid: number; to: string }[] = [];
  migrate(domid: number, to: string): Promise<void> {
    this.migrated.push({ domid, to });
    this.doms = this.doms.filter((x) => x.id !== domid);
    return Promise.resolve();
  }
  domainOp(op: 'pause' | 'unpause' | 'destroy' | 'shutdown' | 'reboot', domid: number): Promise<void> {
    const d = this.doms.find((x) => x.id === domid)!;
    if (op === 'pause') d.state = 'paused';
    if (op === 'unpause') d.state = 'running';
    if (op === 'destroy' || op === 'shutdown') this.doms = this.doms.filter((x) => x !== d);
    for (const f of this.listeners) f(d);
    return Promise.resolve();
  }
  onDomainChange(f: (r: DomainRecord) => void): void {
    this.listeners.push(f);
  }
  definitions(): Promise<VmDefinition[]> {
    return Promise.resolve(this.defs);
  }
  saveDefinition(def: VmDefinition): Promise<void> {
    this.defs = [...this.defs.filter((d) => d.uuid !== def.uuid), def];
    return Promise.resolve();
  }
  authenticate(user: string, password: string): Promise<boolean> {
    return Promise.resolve(user === 'root' && password === 'secret');
  }
}

async function setup(): Promise<{ api: XenApi; ts: MemoryToolstack; s: string }> {
  const ts = new MemoryToolstack();
  ts.defs.push({
    uuid: '11111111-2222-3333-4444-555555555555',
    name: 'web',
    description: 'a web server',
    config: { name: 'web', memoryMiB: 128, vcpus: 1, kernel: '/k', cmdline: '' },
    otherConfig: {},
  });
  const api = new XenApi(ts);
  await api.start();
  const s = (await api.call('session.login_with_password', ['root', 'secret'])) as string;
  return { api, ts, s };
}

async function failure(p: Promise<unknown>): Promise<string[]> {
  try {
    await p;
  } catch (e) {
    if (e instanceof XenApiError) return e.description;
    throw e;
  }
  assert.fail('expected a XenAPI failure');
}

test('sessions: a wrong password and an unknown session fail with XenAPI codes', async () => {
  const { api, s } = await setup();
  assert.deepEqual(await failure(api.call('session.login_with_password', ['root', 'nope'])), [
    'SESSION_AUTHENTICATION_FAILED',
    'root',
    'Authentication failure',
  ]);
  assert.equal((await failure(api.call('VM.get_all', ['OpaqueRef:bogus'])))[0], 'SESSION_INVALID');
  await api.call('session.logout', [s]);
  assert.equal((await failure(api.call('VM.get_all', [s])))[0], 'SESSION_INVALID');
});

test('records: VMs by uuid and name, fields, setters; bad handles and uuids', async () => {
  const { api, s } = await setup();
  const all = (await api.call('VM.get_all_records', [s])) as Record<string, Record<string, unknown>>;
  const vms = Object.values(all);
  assert.equal(vms.filter((v) => v['is_control_domain'] === true).length, 1);
  const [web] = (await api.call('VM.get_by_name_label', [s, 'web'])) as string[];
  assert.equal(await api.call('VM.get_power_state', [s, web]), 'Halted');
  assert.equal(await api.call('VM.get_by_uuid', [s, '11111111-2222-3333-4444-555555555555']), web);
  assert.deepEqual(await failure(api.call('VM.get_by_uuid', [s, 'nope'])), ['UUID_INVALID', 'VM', 'nope']);
  assert.deepEqual(await failure(api.call('VM.get_record', [s, 'OpaqueRef:x'])), [
    'HANDLE_INVALID',
    'VM',
    'OpaqueRef:x',
  ]);
  await api.call('VM.set_name_description', [s, web, 'changed']);
  assert.equal(await api.call('VM.get_name_description', [s, web]), 'changed');
  assert.deepEqual(await failure(api.call('VM.frobnicate', [s, web])), [
    'MESSAGE_METHOD_UNKNOWN',
    'VM.frobnicate',
  ]);
  const pool = Object.values(
    (await api.call('pool.get_all_records', [s])) as Record<string, Record<string, unknown>>,
  )[0]!;
  assert.ok(String(pool['master']).startsWith('OpaqueRef:'));
  assert.deepEqual(pool['other_config'], {});
  assert.ok(((await api.call('system.listMethods', [])) as string[]).includes('Async.VM.start'));
});

test('lifecycle: Async.VM.start gives a task that succeeds; power state checks answer VM_BAD_POWER_STATE', async () => {
  const { api, s } = await setup();
  const [web] = (await api.call('VM.get_by_name_label', [s, 'web'])) as string[];
  assert.deepEqual(await failure(api.call('VM.pause', [s, web])), [
    'VM_BAD_POWER_STATE',
    web!,
    'running',
    'halted',
  ]);
  const task = (await api.call('Async.VM.start', [s, web, false, false])) as string;
  let status = 'pending';
  for (let i = 0; i < 50 && status === 'pending'; i++) {
    await new Promise((r) => setTimeout(r, 10));
    status = (await api.call('task.get_status', [s, task])) as string;
  }
  assert.equal(status, 'success');
  assert.equal(await api.call('VM.get_power_state', [s, web]), 'Running');
  assert.equal(await api.call('VM.get_domid', [s, web]), '1');
  await api.call('VM.pause', [s, web]);
  assert.equal(await api.call('VM.get_power_state', [s, web]), 'Paused');
  await api.call('VM.unpause', [s, web]);
  await api.call('VM.clean_shutdown', [s, web]);
  assert.equal(await api.call('VM.get_power_state', [s, web]), 'Halted');
});

test('VM.pool_migrate: needs a running VM and options.destination; hands the domain to the toolstack', async () => {
  const { api, ts, s } = await setup();
  const [web] = (await api.call('VM.get_by_name_label', [s, 'web'])) as string[];
  const [host] = (await api.call('host.get_all', [s])) as string[];
  assert.deepEqual((await failure(api.call('VM.pool_migrate', [s, web, host, {}])))[0], 'VM_BAD_POWER_STATE');
  await api.call('VM.start', [s, web, false, false]);
  const noDest = await failure(api.call('VM.pool_migrate', [s, web, host, {}]));
  assert.equal(noDest[0], 'VM_MIGRATE_FAILED');
  assert.match(noDest[4]!, /options\.destination/);
  assert.deepEqual(ts.migrated, []);
  await api.call('VM.pool_migrate', [s, web, host, { destination: '192.0.2.7:8002' }]);
  assert.deepEqual(ts.migrated, [{ domid: 1, to: '192.0.2.7:8002' }]);
  assert.ok(((await api.call('system.listMethods', [])) as string[]).includes('Async.VM.pool_migrate'));
});

test('events: event.from returns a snapshot, blocks until a change, and counts every class asked for', async () => {
  const { api, s } = await setup();
  const first = (await api.call('event.from', [s, ['*'], '', 30])) as {
    events: { class: string; operation: string }[];
    token: string;
    valid_ref_counts: Record<string, number>;
  };
  assert.ok(first.events.some((e) => e.class === 'vm' && e.operation === 'add'));
  assert.equal(first.valid_ref_counts['task'], 0);
  const t0 = Date.now();
  const quiet = (await api.call('event.from', [s, ['vm'], first.token, 0.3])) as { events: unknown[] };
  assert.equal(quiet.events.length, 0);
  assert.ok(Date.now() - t0 >= 250, 'event.from must block until its timeout');
  const [web] = (await api.call('VM.get_by_name_label', [s, 'web'])) as string[];
  const waiting = api.call('event.from', [s, ['vm'], first.token, 30]) as Promise<{
    events: { ref: string; operation: string }[];
  }>;
  setTimeout(() => void api.call('VM.set_name_label', [s, web, 'web2']), 50);
  const got = await waiting;
  assert.ok(got.events.some((e) => e.ref === web && e.operation === 'mod'));
  const injected = (await api.call('event.inject', [s, 'VM', web])) as string;
  assert.match(injected, /^\d+$/);
});
