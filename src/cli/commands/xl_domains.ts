/**
 * xl's domain subcommands on Domus: list, info, uptime, vcpu-list, pause, unpause, destroy,
 * rename, domid, domname, sched-credit, console. Output formats follow xl's, so scripts
 * written for xl read them unchanged: `domus list` prints xl's columns with Domain-0 (the
 * control domain: hostd, here) first, `-l` prints JSON.
 */
import { UserError } from '../../common/errors.ts';
import { attachConsoleXl } from '../../platform/node/terminal.ts';
import type { ControlConn } from '../../toolstack/control/conn.ts';
import { DOMAIN0_NAME, type DomainRecord, type HostInfo } from '../../toolstack/control/protocol.ts';
import { parseCommandArgs } from '../args.ts';
import { withToolstack, connectToolstack } from '../client.ts';
import { registerCommand } from '../command_table.ts';

type Opts = Parameters<typeof parseCommandArgs>[2];

function onlyDomain(name: string, positionals: string[]): string {
  if (positionals.length !== 1) {
    throw new UserError(`domus ${name} takes one domain (name or id); see domus help ${name}`);
  }
  return positionals[0]!;
}

/** xl's state letters: r running, b blocked, p paused, s shutdown, c crashed, d dying. */
function stateFlags(r: DomainRecord): string {
  const f = ['-', '-', '-', '-', '-', '-'];
  if (r.state === 'running') {
    if (r.blocked) f[1] = 'b';
    else f[0] = 'r';
  }
  if (r.state === 'paused') f[2] = 'p';
  if (r.state === 'shutdown')
    f[r.shutdown?.kind === 'crash' ? 4 : 3] = r.shutdown?.kind === 'crash' ? 'c' : 's';
  if (r.state === 'dying') f[5] = 'd';
  return f.join('');
}

const LIST_HEADER = 'Name                                        ID   Mem VCPUs\tState\tTime(s)';

function listLine(
  name: string,
  id: number,
  memMiB: number,
  vcpus: number,
  state: string,
  secs: number,
): string {
  return (
    `${name.padEnd(40)} ${String(id).padStart(5)} ${String(memMiB).padStart(5)} ${String(vcpus).padStart(5)}` +
    `     ${state} ${secs.toFixed(1).padStart(9)}`
  );
}

function dom0Line(info: HostInfo, doms: DomainRecord[]): string {
  const guests = doms.reduce((s, d) => s + d.cpuSeconds, 0);
  return listLine(
    DOMAIN0_NAME,
    0,
    info.dom0.memoryMiB,
    info.pcpus,
    'r-----',
    Math.max(0, info.dom0.cpuSeconds - guests),
  );
}

function simple(name: string, summary: string, usage: string, op: string): void {
  registerCommand({
    name,
    summary,
    usage,
    async run(args) {
      const { positionals } = parseCommandArgs(name, args, {});
      const dom = onlyDomain(name, positionals);
      await withToolstack((c) => c.call(op, { dom }));
      return 0;
    },
  });
}

registerCommand({
  name: 'list',
  summary: 'list domains (xl list): Name ID Mem VCPUs State Time(s)',
  usage: `usage: domus list [-l] [-v] [domain...]

Lists the control domain (Domain-0) and the guest domains in xl's format.
  -l, --long      JSON records (as xl list -l)
  -v, --verbose   also UUID and shutdown reason columns
`,
  async run(args) {
    const { values, positionals } = parseCommandArgs('list', args, {
      long: { type: 'boolean', short: 'l' },
      verbose: { type: 'boolean', short: 'v' },
    } satisfies Opts);
    const [info, all] = await withToolstack(
      async (c) =>
        [(await c.call('info')) as HostInfo, (await c.call('domain.list')) as DomainRecord[]] as const,
    );
    const wanted = positionals.length
      ? all.filter((d) => positionals.includes(d.name) || positionals.includes(String(d.id)))
      : all;
    for (const p of positionals) {
      if (p !== DOMAIN0_NAME && p !== '0' && !all.some((d) => d.name === p || String(d.id) === p)) {
        throw new UserError(`domain ${p} does not exist; domus list shows the running domains`);
      }
    }
    if (values.long) {
      const out = wanted.map((d) => ({
        domid: d.id,
        config: {
          c_info: { type: 'pvh', name: d.name, uuid: d.uuid },
          b_info: { max_vcpus: d.vcpus, max_memkb: d.memoryMiB * 1024, target_memkb: d.memoryMiB * 1024 },
          domus: d.config,
        },
        state: d.state,
        sched: { weight: d.weight, cap: d.cap },
        cpu_time: d.cpuSeconds,
        steal_time: d.stealSeconds,
        pcpu: d.pcpu,
      }));
      process.stdout.write(JSON.stringify(out, null, 4) + '\n');
      return 0;
    }
    const showDom0 =
      positionals.length === 0 || positionals.includes(DOMAIN0_NAME) || positionals.includes('0');
    const verbose = values.verbose === true;
    process.stdout.write(LIST_HEADER + (verbose ? '\tReason\tUUID' : '') + '\n');
    if (showDom0)
      process.stdout.write(
        dom0Line(info, all) + (verbose ? '\t-\t00000000-0000-0000-0000-000000000000' : '') + '\n',
      );
    for (const d of wanted) {
      const line = listLine(d.name, d.id, d.memoryMiB, d.vcpus, stateFlags(d), d.cpuSeconds);
      const reason = d.shutdown ? (d.shutdown.kind === 'poweroff' ? 'poweroff' : d.shutdown.kind) : '-';
      process.stdout.write(line + (verbose ? `\t${reason}\t${d.uuid}` : '') + '\n');
    }
    return 0;
  },
});

registerCommand({
  name: 'info',
  summary: 'information about the host (xl info)',
  usage: 'usage: domus info\n\nPrints host facts as `key : value` lines, as xl info does.\n',
  async run(args) {
    parseCommandArgs('info', args, {});
    const info = await withToolstack(async (c) => (await c.call('info')) as HostInfo);
    const rows: [string, string | number][] = [
      ['host', info.hostname],
      ['release', 'domus'],
      ['machine', 'riscv64'],
      ['nr_cpus', info.pcpus],
      ['nr_nodes', 1],
      ['cores_per_socket', info.pcpus],
      ['threads_per_core', 1],
      ['host_cores', info.hostCores],
      ['virt_caps', 'hap'],
      ['total_memory', info.totalMemoryMiB],
      ['free_memory', info.freeMemoryMiB],
      ['xen_major', 4],
      ['xen_minor', 19],
      ['xen_extra', `-domus-${info.version}`],
      ['xen_version', `4.19-domus-${info.version}`],
      ['xen_caps', 'riscv64-hvm'],
      ['xen_scheduler', 'credit'],
      ['hostd_pid', info.pid],
      ['run_dir', info.runDir],
      ['xl_version', info.version],
    ];
    for (const [k, v] of rows) process.stdout.write(`${k.padEnd(23)}: ${v}\n`);
    return 0;
  },
});

registerCommand({
  name: 'uptime',
  summary: 'domains’ uptimes (xl uptime)',
  usage: 'usage: domus uptime [-s] [domain...]\n\n  -s  short format\n',
  async run(args) {
    const { values, positionals } = parseCommandArgs('uptime', args, {
      short: { type: 'boolean', short: 's' },
    } satisfies Opts);
    const [info, all] = await withToolstack(
      async (c) =>
        [(await c.call('info')) as HostInfo, (await c.call('domain.list')) as DomainRecord[]] as const,
    );
    const now = Date.now();
    const fmt = (ms: number): string => {
      const s = Math.floor(ms / 1000);
      const d = Math.floor(s / 86400);
      const hms = `${Math.floor((s % 86400) / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
      return d ? `${d} day${d > 1 ? 's' : ''}, ${hms}` : hms;
    };
    const rows: [string, number, number][] = [[DOMAIN0_NAME, 0, now - info.startedAtMs]];
    for (const d of all) rows.push([d.name, d.id, now - d.createdAtMs]);
    const pick = positionals.length
      ? rows.filter(([n, id]) => positionals.includes(n) || positionals.includes(String(id)))
      : rows;
    if (!values.short) process.stdout.write('Name                                ID Uptime\n');
    for (const [n, id, ms] of pick) {
      process.stdout.write(
        values.short ? `${fmt(ms)} ${n}\n` : `${n.padEnd(32)} ${String(id).padStart(5)} ${fmt(ms)}\n`,
      );
    }
    return 0;
  },
});

registerCommand({
  name: 'vcpu-list',
  summary: 'vCPUs of domains (xl vcpu-list)',
  usage: 'usage: domus vcpu-list [domain...]\n',
  async run(args) {
    const { positionals } = parseCommandArgs('vcpu-list', args, {});
    const [info, all] = await withToolstack(
      async (c) =>
        [(await c.call('info')) as HostInfo, (await c.call('domain.list')) as DomainRecord[]] as const,
    );
    const pick = positionals.length
      ? all.filter((d) => positionals.includes(d.name) || positionals.includes(String(d.id)))
      : all;
    process.stdout.write(
      'Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)\n',
    );
    const allCpus = info.pcpus === 1 ? '0' : `0-${info.pcpus - 1}`;
    if (positionals.length === 0) {
      for (let i = 0; i < info.pcpus; i++) {
        process.stdout.write(
          `${DOMAIN0_NAME.padEnd(32)} ${'0'.padStart(5)} ${String(i).padStart(5)} ${String(i).padStart(5)}   r--  ${'-'.padStart(9)} ${i} / all\n`,
        );
      }
    }
    for (const d of pick) {
      for (let v = 0; v < d.vcpus; v++) {
        const st = d.state === 'running' ? '-b-' : d.state === 'paused' ? '--p' : '---';
        // Domains are placed whole on one pCPU (docs/hypervisor.md): every vCPU's CPU and hard affinity is it.
        const t = (d.cpuSeconds / d.vcpus).toFixed(1);
        process.stdout.write(
          `${d.name.padEnd(32)} ${String(d.id).padStart(5)} ${String(v).padStart(5)} ${String(d.pcpu).padStart(5)}   ${st}  ${t.padStart(9)} ${d.pcpu} / ${allCpus}\n`,
        );
      }
    }
    return 0;
  },
});

simple('pause', 'pause a domain (xl pause)', 'usage: domus pause <domain>\n', 'domain.pause');
simple('unpause', 'unpause a domain (xl unpause)', 'usage: domus unpause <domain>\n', 'domain.unpause');
simple(
  'destroy',
  'destroy a domain at once, as pulling its power cord (xl destroy)',
  'usage: domus destroy <domain>\n\nStops the domain immediately and frees its resources; the guest is not told.\n',
  'domain.destroy',
);

registerCommand({
  name: 'rename',
  summary: 'rename a domain (xl rename)',
  usage: 'usage: domus rename <domain> <new-name>\n',
  async run(args) {
    const { positionals } = parseCommandArgs('rename', args, {});
    if (positionals.length !== 2)
      throw new UserError('domus rename takes a domain and a new name; see domus help rename');
    await withToolstack((c) => c.call('domain.rename', { dom: positionals[0], name: positionals[1] }));
    return 0;
  },
});

registerCommand({
  name: 'domid',
  summary: 'print the id of a domain by name (xl domid)',
  usage: 'usage: domus domid <name>\n',
  async run(args) {
    const { positionals } = parseCommandArgs('domid', args, {});
    const name = onlyDomain('domid', positionals);
    if (name === DOMAIN0_NAME) {
      process.stdout.write('0\n');
      return 0;
    }
    const all = await withToolstack(async (c) => (await c.call('domain.list')) as DomainRecord[]);
    const d = all.find((x) => x.name === name);
    if (!d) throw new UserError(`domain ${name} does not exist; domus list shows the running domains`);
    process.stdout.write(`${d.id}\n`);
    return 0;
  },
});

registerCommand({
  name: 'domname',
  summary: 'print the name of a domain by id (xl domname)',
  usage: 'usage: domus domname <id>\n',
  async run(args) {
    const { positionals } = parseCommandArgs('domname', args, {});
    const id = onlyDomain('domname', positionals);
    if (!/^\d+$/.test(id))
      throw new UserError(`${id} is not a domain id; pass a number (domus domid NAME gives one)`);
    if (id === '0') {
      process.stdout.write(`${DOMAIN0_NAME}\n`);
      return 0;
    }
    const all = await withToolstack(async (c) => (await c.call('domain.list')) as DomainRecord[]);
    const d = all.find((x) => x.id === Number(id));
    if (!d) throw new UserError(`domain ${id} does not exist; domus list shows the running domains`);
    process.stdout.write(`${d.name}\n`);
    return 0;
  },
});

registerCommand({
  name: 'sched-credit',
  summary: 'get or set credit scheduler parameters (xl sched-credit)',
  usage: `usage: domus sched-credit [-d domain [-w weight] [-c cap]]

Without -w/-c prints the weight and cap of the domain (or of every domain).
  -d, --domain   the domain
  -w, --weight   relative share, 1..65535 (default 256)
  -c, --cap      most CPU it may use, in percent of one pCPU (0 = no cap)
`,
  async run(args) {
    const { values } = parseCommandArgs('sched-credit', args, {
      domain: { type: 'string', short: 'd' },
      weight: { type: 'string', short: 'w' },
      cap: { type: 'string', short: 'c' },
    } satisfies Opts);
    const num = (v: string | undefined, what: string, lo: number, hi: number): number | undefined => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n < lo || n > hi) {
        throw new UserError(`--${what} ${v} is not a whole number from ${lo} to ${hi}`);
      }
      return n;
    };
    const weight = num(values.weight, 'weight', 1, 65535);
    const cap = num(values.cap, 'cap', 0, 6400);
    if ((weight !== undefined || cap !== undefined) && values.domain === undefined) {
      throw new UserError('setting -w or -c needs a domain; add -d DOMAIN');
    }
    return withToolstack(async (c) => {
      let recs: DomainRecord[];
      if (values.domain !== undefined) {
        const args2: Record<string, unknown> = { dom: values.domain };
        if (weight !== undefined) args2['weight'] = weight;
        if (cap !== undefined) args2['cap'] = cap;
        const r = (await c.call('domain.sched', args2)) as DomainRecord;
        if (weight !== undefined || cap !== undefined) return 0;
        recs = [r];
      } else {
        recs = (await c.call('domain.list')) as DomainRecord[];
      }
      process.stdout.write('Cpupool Pool-0: tslice=30ms ratelimit=1000us migration-delay=0us\n');
      process.stdout.write('Name                                ID Weight  Cap\n');
      for (const r of recs) {
        process.stdout.write(
          `${r.name.padEnd(32)} ${String(r.id).padStart(5)} ${String(r.weight).padStart(6)} ${String(r.cap).padStart(4)}\n`,
        );
      }
      return 0;
    });
  },
});

/**
 * Attaches this terminal to a domain's console until Ctrl-] (or the domain goes away), after
 * printing the scrollback kept since the domain started. Resolves with 0.
 */
export async function consoleSession(c: ControlConn, dom: string): Promise<number> {
  const att = (await c.call('console.attach', { dom })) as { domid: number; scrollback: string };
  const domid = att.domid;
  if (att.scrollback) process.stdout.write(Buffer.from(att.scrollback, 'base64'));
  return new Promise<number>((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      term.detach();
      resolve(0);
    };
    c.onEvent = (e) => {
      if (e.ev === 'console' && e.domid === domid) process.stdout.write(Buffer.from(e.data, 'base64'));
      if (e.ev === 'domain' && e.record.state === 'gone') finish();
    };
    c.onClose(() => finish());
    const term = attachConsoleXl({
      send: (bytes) =>
        void c
          .call('console.input', { dom: String(domid), data: Buffer.from(bytes).toString('base64') })
          .catch(() => {}),
      detach: finish,
    });
  });
}

registerCommand({
  name: 'console',
  summary: 'attach to a domain’s console (xl console); Ctrl-] detaches',
  usage: `usage: domus console <domain>

Attaches this terminal to the domain's console, first printing what the guest wrote since it
started (up to 256 KiB). Ctrl-] detaches and leaves the domain running.
`,
  async run(args) {
    const { positionals } = parseCommandArgs('console', args, {});
    const dom = onlyDomain('console', positionals);
    const c = await connectToolstack();
    try {
      return await consoleSession(c, dom);
    } finally {
      c.close();
    }
  },
});

for (const [name, op, what] of [
  ['shutdown', 'domain.shutdown', 'shut down'],
  ['reboot', 'domain.reboot', 'reboot'],
] as const) {
  registerCommand({
    name,
    summary: `ask a domain to ${what} cleanly (xl ${name})`,
    usage: `usage: domus ${name} [-w] <domain>

Asks the guest to ${what} cleanly: the request goes to xenstore's control/shutdown, as xl writes
it, and to the guest agent on the domain's control channel (the default guest runs one). A guest
without an agent cannot be asked; use domus destroy.
  -w, --wait   wait until the domain has ${name === 'shutdown' ? 'gone' : 'restarted'}
`,
    async run(args) {
      const { values, positionals } = parseCommandArgs(name, args, { wait: { type: 'boolean', short: 'w' } });
      const dom = onlyDomain(name, positionals);
      await withToolstack((c) => c.call(op, { dom, wait: values.wait === true }));
      return 0;
    },
  });
}
