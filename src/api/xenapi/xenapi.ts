/**
 * The XenAPI method layer: sessions, the classes' records and field accessors, VM lifecycle
 * (with `Async.*` forms as tasks) and events, over the object database (objects.ts) and the
 * toolstack (toolstack_port.ts). Wire formats (XML-RPC, JSON-RPC) are the server's business;
 * here a call is a method name and a parameter array, and a result is a value or a
 * `XenApiError`. The XenAPI reference (xapi-project/xen-api, doc/) is the model; what Domus
 * leaves out answers MESSAGE_METHOD_UNKNOWN rather than pretending.
 *
 * Ordering: records are refreshed from the toolstack's change notifications, and once more
 * after each lifecycle call returns, so a client that sees a call's task succeed and then reads
 * the VM sees the new power state.
 */
import { randomUUID } from 'node:crypto';
import type { DomainRecord, HostInfo } from '../../toolstack/control/protocol.ts';
import {
  HANDLE_INVALID,
  INTERNAL_ERROR,
  MESSAGE_METHOD_UNKNOWN,
  MESSAGE_PARAMETER_COUNT_MISMATCH,
  SESSION_AUTHENTICATION_FAILED,
  SESSION_INVALID,
  VM_BAD_POWER_STATE,
  XenApiError,
  FIELD_TYPE_ERROR,
} from './errors.ts';
import { CLASSES, isClass, ObjectStore, type XClass, type XRecord } from './objects.ts';
import type { ToolstackPort, VmDefinition } from './toolstack_port.ts';

const MiB = 1 << 20;
const API_VERSION_MAJOR = 2;
const API_VERSION_MINOR = 21;

function ref(): string {
  return `OpaqueRef:${randomUUID()}`;
}

function isoNow(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Fields a client may set with `set_<field>`, per class. */
const WRITABLE: Partial<Record<XClass, string[]>> = {
  VM: ['name_label', 'name_description', 'other_config', 'tags'],
  pool: ['name_label', 'name_description', 'other_config', 'tags'],
  host: ['name_label', 'name_description', 'other_config', 'tags'],
  SR: ['name_label', 'name_description', 'other_config', 'tags'],
  VDI: ['name_label', 'name_description', 'other_config', 'tags'],
  network: ['name_label', 'name_description', 'other_config', 'tags'],
  VBD: ['other_config'],
  VIF: ['other_config'],
  console: ['other_config'],
  task: ['other_config'],
  VM_metrics: ['other_config'],
  VM_guest_metrics: ['other_config'],
};

const VM_OPS = [
  'start',
  'clean_shutdown',
  'hard_shutdown',
  'clean_reboot',
  'hard_reboot',
  'pause',
  'unpause',
  'pool_migrate',
] as const;
type VmOp = (typeof VM_OPS)[number];

interface Session {
  user: string;
  created: string;
}

interface VmRefs {
  vm: string;
  metrics: string;
  guestMetrics: string;
  console: string;
  vbds: string[];
  vdis: string[];
}

export class XenApi {
  readonly store = new ObjectStore();
  private readonly sessions = new Map<string, Session>();
  private readonly vmRefs = new Map<string, VmRefs>();
  private readonly poolRef = ref();
  private readonly hostRef = ref();
  private readonly srRef = ref();
  private readonly networkRef = ref();
  private readonly dom0Ref = ref();
  private host: HostInfo | undefined;
  private refreshing: Promise<void> | undefined;

  constructor(private readonly port: ToolstackPort) {}

  /** Builds the initial records and follows the toolstack's changes. */
  async start(): Promise<void> {
    this.host = await this.port.hostInfo();
    const h = this.host;
    this.store.put('pool', this.poolRef, {
      uuid: randomUUID(),
      name_label: '',
      name_description: '',
      master: this.hostRef,
      default_SR: this.srRef,
      suspend_image_SR: this.srRef,
      crash_dump_SR: this.srRef,
      ha_enabled: false,
      other_config: {},
      gui_config: {},
      tags: [],
      allowed_operations: [],
      current_operations: {},
    });
    this.store.put('host', this.hostRef, {
      uuid: randomUUID(),
      name_label: h.hostname,
      name_description: 'Domus host',
      hostname: h.hostname,
      address: '127.0.0.1',
      enabled: true,
      API_version_major: String(API_VERSION_MAJOR),
      API_version_minor: String(API_VERSION_MINOR),
      API_version_vendor: 'Domus',
      software_version: {
        product_brand: 'Domus',
        product_version: h.version,
        xen: `4.19-domus-${h.version}`,
      },
      cpu_info: { cpu_count: String(h.pcpus), vendor: 'domus', modelname: 'riscv64 (emulated)' },
      memory_overhead: '0',
      resident_VMs: [this.dom0Ref],
      PIFs: [],
      PBDs: [],
      host_CPUs: [],
      other_config: {},
      tags: [],
      allowed_operations: [],
      current_operations: {},
      metrics: 'OpaqueRef:NULL',
    });
    this.store.put('SR', this.srRef, {
      uuid: randomUUID(),
      name_label: 'Local storage',
      name_description: 'Disk image files on the Domus host',
      type: 'file',
      content_type: 'user',
      shared: false,
      VDIs: [],
      PBDs: [],
      physical_size: '0',
      physical_utilisation: '0',
      virtual_allocation: '0',
      other_config: {},
      sm_config: {},
      tags: [],
      allowed_operations: [],
      current_operations: {},
    });
    this.store.put('network', this.networkRef, {
      uuid: randomUUID(),
      name_label: 'xenbr0',
      name_description: 'The Domus virtual switch',
      bridge: 'xenbr0',
      MTU: '1500',
      VIFs: [],
      PIFs: [],
      other_config: {},
      tags: [],
      allowed_operations: [],
      current_operations: {},
    });
    this.store.put('VM', this.dom0Ref, {
      ...this.vmBase(),
      uuid: '00000000-0000-0000-0000-000000000000',
      name_label: 'Control domain on host: ' + h.hostname,
      name_description: 'The Domus toolstack (Domain-0)',
      is_control_domain: true,
      power_state: 'Running',
      domid: '0',
      resident_on: this.hostRef,
      VCPUs_max: String(h.pcpus),
      VCPUs_at_startup: String(h.pcpus),
      memory_static_max: String(h.totalMemoryMiB * MiB),
      memory_dynamic_max: String(h.totalMemoryMiB * MiB),
      memory_target: String(h.totalMemoryMiB * MiB),
    });
    this.port.onDomainChange(() => void this.refresh());
    await this.refresh();
  }

  /** Re-reads definitions and domains and brings the VM records (and their children) up to date. */
  refresh(): Promise<void> {
    const run = async () => {
      const [defs, doms] = await Promise.all([this.port.definitions(), this.port.listDomains()]);
      const seen = new Set<string>();
      for (const def of defs) {
        seen.add(def.uuid);
        this.syncVm(
          def.uuid,
          def,
          doms.find((d) => d.uuid === def.uuid),
        );
      }
      for (const d of doms) {
        if (seen.has(d.uuid)) continue;
        seen.add(d.uuid);
        this.syncVm(d.uuid, undefined, d);
      }
      for (const uuid of [...this.vmRefs.keys()]) if (!seen.has(uuid)) this.dropVm(uuid);
      this.store.patch('host', this.hostRef, {
        resident_VMs: [
          this.dom0Ref,
          ...[...this.vmRefs.values()]
            .filter((r) => this.store.get('VM', r.vm)['power_state'] !== 'Halted')
            .map((r) => r.vm),
        ],
      });
    };
    // One refresh at a time; a request during one runs again after it.
    const next = (this.refreshing ?? Promise.resolve()).then(run, run);
    this.refreshing = next.catch(() => {});
    return next;
  }

  private vmBase(): XRecord {
    return {
      uuid: '',
      name_label: '',
      name_description: '',
      power_state: 'Halted',
      is_a_template: false,
      is_a_snapshot: false,
      is_control_domain: false,
      domid: '-1',
      resident_on: 'OpaqueRef:NULL',
      affinity: 'OpaqueRef:NULL',
      memory_static_min: '0',
      memory_static_max: '0',
      memory_dynamic_min: '0',
      memory_dynamic_max: '0',
      memory_target: '0',
      VCPUs_max: '1',
      VCPUs_at_startup: '1',
      VCPUs_params: {},
      actions_after_shutdown: 'destroy',
      actions_after_reboot: 'restart',
      actions_after_crash: 'destroy',
      PV_kernel: '',
      PV_ramdisk: '',
      PV_args: '',
      PV_bootloader: '',
      HVM_boot_policy: '',
      domain_type: 'pvh',
      VBDs: [],
      VIFs: [],
      consoles: [],
      metrics: 'OpaqueRef:NULL',
      guest_metrics: 'OpaqueRef:NULL',
      other_config: {},
      platform: {},
      blocked_operations: {},
      allowed_operations: [],
      current_operations: {},
      tags: [],
      snapshots: [],
      snapshot_of: 'OpaqueRef:NULL',
      parent: 'OpaqueRef:NULL',
      children: [],
      user_version: '1',
      ha_restart_priority: '',
      start_time: '19700101T00:00:00Z',
    };
  }

  private syncVm(uuid: string, def: VmDefinition | undefined, dom: DomainRecord | undefined): void {
    let refs = this.vmRefs.get(uuid);
    if (!refs) {
      refs = { vm: ref(), metrics: ref(), guestMetrics: ref(), console: ref(), vbds: [], vdis: [] };
      this.vmRefs.set(uuid, refs);
    }
    const cfg = def?.config ?? dom!.config;
    const running = dom && (dom.state === 'running' || dom.state === 'paused');
    const power = !running ? 'Halted' : dom.state === 'paused' ? 'Paused' : 'Running';
    const memBytes = String(cfg.memoryMiB * MiB);
    // Disks: one VDI and VBD per configured disk, rebuilt when the count changes.
    const disks = cfg.disks ?? [];
    if (refs.vbds.length !== disks.length) {
      for (const r of refs.vbds) this.store.remove('VBD', r);
      for (const r of refs.vdis) this.store.remove('VDI', r);
      refs.vbds = disks.map(() => ref());
      refs.vdis = disks.map(() => ref());
    }
    disks.forEach((d, i) => {
      this.store.put('VDI', refs.vdis[i]!, {
        uuid: this.stableUuid('VDI', refs.vdis[i]!),
        name_label: d.path.split('/').pop() ?? d.path,
        name_description: d.path,
        SR: this.srRef,
        VBDs: [refs.vbds[i]!],
        virtual_size: '0',
        physical_utilisation: '0',
        type: 'user',
        read_only: d.readOnly,
        sharable: false,
        location: d.path,
        other_config: {},
        sm_config: { type: d.format ?? 'raw' },
        tags: [],
        allowed_operations: [],
        current_operations: {},
      });
      this.store.put('VBD', refs.vbds[i]!, {
        uuid: this.stableUuid('VBD', refs.vbds[i]!),
        VM: refs.vm,
        VDI: refs.vdis[i]!,
        device: d.vdev ?? `xvd${String.fromCharCode(97 + i)}`,
        userdevice: String(i),
        bootable: i === 0,
        mode: d.readOnly ? 'RO' : 'RW',
        type: 'Disk',
        empty: false,
        currently_attached: !!running,
        other_config: {},
        allowed_operations: [],
        current_operations: {},
      });
    });
    this.store.patch('SR', this.srRef, {
      VDIs: this.store.table('VDI').size ? [...this.store.table('VDI').keys()] : [],
    });
    if (running) {
      this.store.put('VM_metrics', refs.metrics, {
        uuid: this.stableUuid('VM_metrics', refs.metrics),
        memory_actual: String(dom.memoryMiB * MiB),
        VCPUs_number: String(dom.vcpus),
        VCPUs_utilisation: {},
        VCPUs_CPU: {},
        VCPUs_params: {},
        VCPUs_flags: {},
        state: [],
        start_time: new Date(dom.createdAtMs).toISOString().replace(/\.\d+Z$/, 'Z'),
        install_time: '19700101T00:00:00Z',
        last_updated: isoNow(),
        other_config: {},
        hvm: false,
        nested_virt: false,
        nomigrate: false,
        current_domain_type: 'pvh',
      });
      this.store.put('VM_guest_metrics', refs.guestMetrics, {
        uuid: this.stableUuid('VM_guest_metrics', refs.guestMetrics),
        os_version: {},
        PV_drivers_version: {},
        PV_drivers_up_to_date: false,
        memory: {},
        disks: {},
        networks: {},
        other: {},
        last_updated: isoNow(),
        other_config: {},
        live: true,
      });
      this.store.put('console', refs.console, {
        uuid: this.stableUuid('console', refs.console),
        protocol: 'vt100',
        location: `domus console ${dom.id}`,
        VM: refs.vm,
        other_config: {},
      });
    } else {
      this.store.remove('VM_metrics', refs.metrics);
      this.store.remove('VM_guest_metrics', refs.guestMetrics);
      this.store.remove('console', refs.console);
    }
    const prev = this.store.has('VM', refs.vm) ? this.store.get('VM', refs.vm) : this.vmBase();
    this.store.put('VM', refs.vm, {
      ...prev,
      uuid,
      name_label: def?.name ?? dom!.name,
      name_description: def?.description ?? '',
      power_state: power,
      domid: running ? String(dom.id) : '-1',
      resident_on: running ? this.hostRef : 'OpaqueRef:NULL',
      memory_static_max: memBytes,
      memory_dynamic_max: memBytes,
      memory_dynamic_min: memBytes,
      memory_static_min: memBytes,
      memory_target: memBytes,
      VCPUs_max: String(cfg.vcpus),
      VCPUs_at_startup: String(cfg.vcpus),
      VCPUs_params: {
        weight: String(dom?.weight ?? cfg.weight ?? 256),
        cap: String(dom?.cap ?? cfg.cap ?? 0),
      },
      actions_after_shutdown: cfg.onPoweroff ?? 'destroy',
      actions_after_reboot: cfg.onReboot ?? 'restart',
      actions_after_crash: cfg.onCrash ?? 'destroy',
      PV_kernel: cfg.kernel,
      PV_ramdisk: cfg.ramdisk ?? '',
      PV_args: cfg.cmdline,
      VBDs: refs.vbds,
      consoles: running ? [refs.console] : [],
      metrics: running ? refs.metrics : 'OpaqueRef:NULL',
      guest_metrics: running ? refs.guestMetrics : 'OpaqueRef:NULL',
      other_config: def?.otherConfig ?? (prev['other_config'] as Record<string, string>),
      allowed_operations: allowedOps(power),
      start_time: running
        ? new Date(dom.createdAtMs).toISOString().replace(/\.\d+Z$/, 'Z')
        : prev['start_time'],
    });
  }

  private readonly uuids = new Map<string, string>();
  private stableUuid(cls: string, r: string): string {
    const k = `${cls}/${r}`;
    let u = this.uuids.get(k);
    if (!u) this.uuids.set(k, (u = randomUUID()));
    return u;
  }

  private dropVm(uuid: string): void {
    const refs = this.vmRefs.get(uuid);
    if (!refs) return;
    this.vmRefs.delete(uuid);
    for (const r of refs.vbds) this.store.remove('VBD', r);
    for (const r of refs.vdis) this.store.remove('VDI', r);
    this.store.remove('VM_metrics', refs.metrics);
    this.store.remove('VM_guest_metrics', refs.guestMetrics);
    this.store.remove('console', refs.console);
    this.store.remove('VM', refs.vm);
  }

  // ---- dispatch --------------------------------------------------------------------------------

  /** Every method name this server answers (system.listMethods). */
  methods(): string[] {
    const out = [
      'session.login_with_password',
      'session.logout',
      'session.get_this_host',
      'session.get_this_user',
      'system.listMethods',
      'event.from',
      'event.inject',
      'event.get_current_id',
    ];
    for (const c of CLASSES) {
      for (const m of ['get_all', 'get_all_records', 'get_record', 'get_by_uuid']) out.push(`${c}.${m}`);
      if (c !== 'VBD' && c !== 'VIF' && c !== 'console' && !c.endsWith('metrics'))
        out.push(`${c}.get_by_name_label`);
      const sample = this.store.table(c).values().next().value as XRecord | undefined;
      for (const f of Object.keys(sample ?? {})) out.push(`${c}.get_${f}`);
      for (const f of WRITABLE[c] ?? []) out.push(`${c}.set_${f}`);
      if ((WRITABLE[c] ?? []).includes('other_config'))
        out.push(`${c}.add_to_other_config`, `${c}.remove_from_other_config`);
    }
    for (const op of VM_OPS) out.push(`VM.${op}`, `Async.VM.${op}`);
    out.push('task.cancel', 'task.destroy');
    return [...new Set(out)].sort();
  }

  /** Performs one call. Throws `XenApiError` for XenAPI failures. */
  async call(method: string, params: unknown[]): Promise<unknown> {
    if (method === 'system.listMethods') return this.methods();
    if (method === 'session.login_with_password') {
      const [user, pw] = params;
      if (typeof user !== 'string' || typeof pw !== 'string') {
        throw new XenApiError(MESSAGE_PARAMETER_COUNT_MISMATCH, [method, '2', String(params.length)]);
      }
      if (!(await this.port.authenticate(user, pw))) {
        throw new XenApiError(SESSION_AUTHENTICATION_FAILED, [user, 'Authentication failure']);
      }
      const s = ref();
      this.sessions.set(s, { user, created: isoNow() });
      return s;
    }
    const session = params[0];
    if (typeof session !== 'string' || !this.sessions.has(session)) {
      throw new XenApiError(SESSION_INVALID, [String(session)]);
    }
    const args = params.slice(1);
    if (method === 'session.logout') {
      this.sessions.delete(session);
      return '';
    }
    if (method === 'session.get_this_host') return this.hostRef;
    if (method === 'session.get_this_user') return this.sessions.get(session)!.user;
    if (method === 'event.from') return this.eventFrom(args);
    if (method === 'event.get_current_id') return this.store.currentToken();
    if (method === 'event.inject') {
      const [cls, r] = args;
      if (typeof cls !== 'string' || !isClass(cls) || typeof r !== 'string') {
        throw new XenApiError(HANDLE_INVALID, [String(cls), String(r)]);
      }
      return this.store.inject(cls, r);
    }
    if (method.startsWith('Async.')) return this.async(method.slice('Async.'.length), args);
    const dot = method.indexOf('.');
    const cls = method.slice(0, dot);
    const name = method.slice(dot + 1);
    if (dot < 0 || !isClass(cls)) throw new XenApiError(MESSAGE_METHOD_UNKNOWN, [method]);
    if (cls === 'VM' && (VM_OPS as readonly string[]).includes(name)) {
      await this.vmOp(name as VmOp, args);
      return '';
    }
    if (cls === 'task' && (name === 'cancel' || name === 'destroy')) {
      const r = String(args[0]);
      this.store.get('task', r);
      if (name === 'destroy') this.store.remove('task', r);
      return '';
    }
    return this.classCall(cls, name, method, args);
  }

  private classCall(cls: XClass, name: string, method: string, args: unknown[]): unknown {
    const t = this.store.table(cls);
    switch (name) {
      case 'get_all':
        return [...t.keys()];
      case 'get_all_records':
        return Object.fromEntries(t);
      case 'get_record':
        return this.store.get(cls, String(args[0]));
      case 'get_by_uuid':
        return this.store.byUuid(cls, String(args[0]));
      case 'get_by_name_label':
        return this.store.byNameLabel(cls, String(args[0]));
      case 'add_to_other_config':
      case 'remove_from_other_config': {
        if (!(WRITABLE[cls] ?? []).includes('other_config')) break;
        const r = String(args[0]);
        const oc = { ...(this.store.get(cls, r)['other_config'] as Record<string, string>) };
        if (name === 'add_to_other_config') oc[String(args[1])] = String(args[2]);
        else delete oc[String(args[1])];
        this.setField(cls, r, 'other_config', oc);
        return '';
      }
    }
    if (name.startsWith('get_')) {
      const rec = this.store.get(cls, String(args[0]));
      const field = name.slice(4);
      if (field in rec) return rec[field];
    }
    if (name.startsWith('set_')) {
      const field = name.slice(4);
      if ((WRITABLE[cls] ?? []).includes(field)) {
        this.setField(cls, String(args[0]), field, args[1]);
        return '';
      }
    }
    throw new XenApiError(MESSAGE_METHOD_UNKNOWN, [method]);
  }

  private setField(cls: XClass, r: string, field: string, value: unknown): void {
    const old = this.store.get(cls, r)[field];
    const ok =
      (typeof old === 'string' && typeof value === 'string') ||
      (Array.isArray(old) && Array.isArray(value)) ||
      (typeof old === 'object' &&
        old !== null &&
        !Array.isArray(old) &&
        typeof value === 'object' &&
        value !== null &&
        !Array.isArray(value));
    if (!ok) throw new XenApiError(FIELD_TYPE_ERROR, [field]);
    this.store.patch(cls, r, { [field]: value });
    if (cls === 'VM') void this.persistVm(r);
  }

  /** Writes a VM's user-settable fields back to its durable definition. */
  private async persistVm(vmRef: string): Promise<void> {
    const uuid = String(this.store.get('VM', vmRef)['uuid']);
    const defs = await this.port.definitions();
    const def = defs.find((d) => d.uuid === uuid);
    if (!def) return;
    const rec = this.store.get('VM', vmRef);
    await this.port.saveDefinition({
      ...def,
      name: String(rec['name_label']),
      description: String(rec['name_description']),
      otherConfig: rec['other_config'] as Record<string, string>,
    });
  }

  private async vmOp(op: VmOp, args: unknown[]): Promise<void> {
    const vmRef = String(args[0]);
    const rec = this.store.get('VM', vmRef);
    if (rec['is_control_domain'] === true) {
      throw new XenApiError('OPERATION_NOT_ALLOWED', [
        'The control domain cannot be ' + op.replace('_', ' ') + 'ed',
      ]);
    }
    const power = String(rec['power_state']);
    const need = (expected: string) => {
      if (power !== expected)
        throw new XenApiError(VM_BAD_POWER_STATE, [vmRef, expected.toLowerCase(), power.toLowerCase()]);
    };
    const domid = Number(rec['domid']);
    switch (op) {
      case 'start': {
        need('Halted');
        const def = (await this.port.definitions()).find((d) => d.uuid === rec['uuid']);
        if (!def) throw new XenApiError(HANDLE_INVALID, ['VM', vmRef]);
        const paused = args[1] === true;
        await this.port.createDomain({ ...def.config, name: def.name, uuid: def.uuid, paused });
        break;
      }
      case 'pause':
        need('Running');
        await this.port.domainOp('pause', domid);
        break;
      case 'unpause':
        need('Paused');
        await this.port.domainOp('unpause', domid);
        break;
      case 'clean_shutdown':
      case 'clean_reboot':
        need('Running');
        await this.port.domainOp(op === 'clean_shutdown' ? 'shutdown' : 'reboot', domid);
        break;
      case 'hard_shutdown':
        if (power === 'Halted') need('Running');
        await this.port.domainOp('destroy', domid);
        break;
      case 'pool_migrate': {
        // VM.pool_migrate(session, vm, host, options): the pool has one host, so the other
        // Domus host is named in options.destination ("host:port"; Domus's extension).
        need('Running');
        const options = (args[2] ?? {}) as Record<string, unknown>;
        const to = options['destination'];
        if (typeof to !== 'string' || to === '') {
          throw new XenApiError('VM_MIGRATE_FAILED', [
            vmRef,
            this.hostRef,
            String(args[1] ?? ''),
            'options.destination must name the other Domus host as HOST:PORT',
          ]);
        }
        try {
          await this.port.migrate(domid, to);
        } catch (e) {
          throw new XenApiError('VM_MIGRATE_FAILED', [
            vmRef,
            this.hostRef,
            to,
            e instanceof Error ? e.message : String(e),
          ]);
        }
        break;
      }
      case 'hard_reboot': {
        if (power === 'Halted') need('Running');
        const def = (await this.port.definitions()).find((d) => d.uuid === rec['uuid']);
        await this.port.domainOp('destroy', domid);
        if (def) await this.port.createDomain({ ...def.config, name: def.name, uuid: def.uuid });
        break;
      }
    }
    await this.refresh();
  }

  private async(method: string, args: unknown[]): string {
    const taskRef = ref();
    const created = isoNow();
    this.store.put('task', taskRef, {
      uuid: randomUUID(),
      name_label: `Async.${method}`,
      name_description: '',
      status: 'pending',
      progress: 0,
      created,
      finished: '19700101T00:00:00Z',
      type: '<none/>',
      result: '',
      error_info: [],
      resident_on: this.hostRef,
      allowed_operations: [],
      current_operations: {},
      other_config: {},
      subtask_of: 'OpaqueRef:NULL',
      subtasks: [],
      backtrace: '()',
    });
    // The session was checked by the caller; the call itself runs after we return the task.
    setImmediate(() => {
      this.call(method, [this.anySession(), ...args]).then(
        (value) => {
          const result =
            typeof value === 'string' && value.startsWith('OpaqueRef:') ? `<value>${value}</value>` : '';
          this.store.patch('task', taskRef, { status: 'success', progress: 1, finished: isoNow(), result });
        },
        (e: unknown) => {
          const info =
            e instanceof XenApiError
              ? e.description
              : [INTERNAL_ERROR, e instanceof Error ? e.message : String(e)];
          this.store.patch('task', taskRef, {
            status: 'failure',
            progress: 1,
            finished: isoNow(),
            error_info: info,
          });
        },
      );
    });
    return taskRef;
  }

  /** A session for the internal call of an Async task (the caller's was valid when it asked). */
  private anySession(): string {
    const internal = 'OpaqueRef:domus-internal-session';
    if (!this.sessions.has(internal)) this.sessions.set(internal, { user: 'domus', created: isoNow() });
    return internal;
  }

  private async eventFrom(args: unknown[]): Promise<unknown> {
    const [classes, token, timeout] = args;
    if (!Array.isArray(classes) || typeof token !== 'string') {
      throw new XenApiError(MESSAGE_PARAMETER_COUNT_MISMATCH, ['event.from', '3', String(args.length)]);
    }
    const cls = classes.map(String);
    const seconds = typeof timeout === 'number' ? timeout : Number(timeout ?? 0);
    const deadline = Date.now() + Math.max(0, Math.min(seconds, 3600)) * 1000;
    for (;;) {
      const r = this.store.from(cls, token);
      if (r.events.length > 0 || token === '' || Date.now() >= deadline) return r;
      // Wakes on any newer event (or the deadline); events of other classes loop back here.
      await this.store.wait(r.token, deadline - Date.now());
    }
  }

  close(): void {
    this.store.wakeAll();
  }
}

function allowedOps(power: string): string[] {
  switch (power) {
    case 'Halted':
      return ['start', 'destroy'];
    case 'Running':
      return ['clean_shutdown', 'hard_shutdown', 'clean_reboot', 'hard_reboot', 'pause'];
    case 'Paused':
      return ['unpause', 'hard_shutdown', 'hard_reboot'];
    default:
      return [];
  }
}
