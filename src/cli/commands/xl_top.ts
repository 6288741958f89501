/**
 * `domus top` (xl top / xentop): the domains' CPU use, refreshed every `-d` seconds, and
 * `domus vcpu-pin`, which on Domus can only confirm a placement: a domain runs whole on one pCPU
 * (docs/hypervisor.md), so a pin that includes that pCPU is accepted and one that excludes it is
 * refused with the reason.
 */
import { UserError } from '../../common/errors.ts';
import { DOMAIN0_NAME, type DomainRecord, type HostInfo } from '../../toolstack/control/protocol.ts';
import { parseCpuList, resolveCpuSet } from '../../toolstack/xlcfg.ts';
import { parseCommandArgs } from '../args.ts';
import { connectToolstack, withToolstack } from '../client.ts';
import { registerCommand } from '../command_table.ts';

registerCommand({
  name: 'top',
  summary: 'domains’ CPU use, refreshed (xl top)',
  usage: `usage: domus top [-d SECONDS] [-i ITERATIONS] [-b]

Shows each domain's state, CPU time, CPU% over the last interval, memory and vCPUs, as xentop does.
  -d, --delay SECONDS   between refreshes (default 3)
  -i, --iterations N    stop after N refreshes
  -b, --batch           no screen clearing (for logs and scripts)
`,
  async run(args) {
    const { values, positionals } = parseCommandArgs('top', args, {
      delay: { type: 'string', short: 'd' },
      iterations: { type: 'string', short: 'i' },
      batch: { type: 'boolean', short: 'b' },
    });
    if (positionals.length) throw new UserError('domus top takes no arguments; see domus help top');
    const delay = values.delay === undefined ? 3 : Number(values.delay);
    if (!(delay > 0 && delay <= 3600))
      throw new UserError(`--delay ${values.delay} is not a number of seconds from 0 to 3600`);
    const iterations = values.iterations === undefined ? Infinity : Number(values.iterations);
    if (!(iterations >= 1))
      throw new UserError(`--iterations ${values.iterations} is not a whole number of at least 1`);
    const c = await connectToolstack();
    try {
      let prev = new Map<number, { cpu: number; at: number }>();
      for (let i = 0; i < iterations; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, delay * 1000));
        const info = (await c.call('info')) as HostInfo;
        const doms = (await c.call('domain.list')) as DomainRecord[];
        const now = Date.now();
        const lines = [
          `domus top - ${new Date(now).toISOString().slice(11, 19)}   ${doms.length + 1} domains, ${info.pcpus} pCPUs, ` +
            `${info.totalMemoryMiB} MiB machine memory (${info.freeMemoryMiB} free)`,
          '      NAME  STATE   CPU(sec) CPU(%)     MEM(k) VCPUS  STEAL(sec)',
        ];
        const next = new Map<number, { cpu: number; at: number }>();
        for (const d of doms) {
          const p = prev.get(d.id);
          const pct = p ? ((d.cpuSeconds - p.cpu) / ((now - p.at) / 1000)) * 100 : 0;
          next.set(d.id, { cpu: d.cpuSeconds, at: now });
          const state = d.state === 'running' ? '--b---' : d.state === 'paused' ? '---p--' : '----s-';
          lines.push(
            `${d.name.slice(0, 10).padStart(10)} ${state} ${d.cpuSeconds.toFixed(0).padStart(10)} ${pct.toFixed(1).padStart(6)} ` +
              `${String(d.memoryMiB * 1024).padStart(10)} ${String(d.vcpus).padStart(5)} ${d.stealSeconds.toFixed(1).padStart(11)}`,
          );
        }
        lines.push(
          `${DOMAIN0_NAME.padStart(10)} -----r ${info.dom0.cpuSeconds.toFixed(0).padStart(10)}      - ${String(info.dom0.memoryMiB * 1024).padStart(10)} ${String(info.pcpus).padStart(5)}           -`,
        );
        prev = next;
        process.stdout.write((values.batch || i === 0 ? '' : '\x1b[H\x1b[2J') + lines.join('\n') + '\n');
      }
      return 0;
    } finally {
      c.close();
    }
  },
});

registerCommand({
  name: 'vcpu-pin',
  summary: 'pin vCPUs to pCPUs (xl vcpu-pin); Domus keeps a domain on one pCPU',
  usage: `usage: domus vcpu-pin <domain> <vcpu|all> <cpus>

Domus runs all vCPUs of a domain on the one pCPU it was placed on (xl.cfg cpus= chooses it at
create time), so a pin is accepted when <cpus> (xl's syntax: 0-3,^1, all) includes that pCPU and
refused otherwise.
`,
  async run(args) {
    const { positionals } = parseCommandArgs('vcpu-pin', args, {});
    if (positionals.length !== 3)
      throw new UserError('domus vcpu-pin takes a domain, a vCPU and a CPU list; see domus help vcpu-pin');
    const [dom, vcpu, cpus] = positionals as [string, string, string];
    const [info, all] = await withToolstack(
      async (c) =>
        [(await c.call('info')) as HostInfo, (await c.call('domain.list')) as DomainRecord[]] as const,
    );
    const d = all.find((x) => x.name === dom || String(x.id) === dom);
    if (!d) throw new UserError(`domain ${dom} does not exist; domus list shows the running domains`);
    if (vcpu !== 'all' && !(Number.isInteger(Number(vcpu)) && Number(vcpu) >= 0 && Number(vcpu) < d.vcpus)) {
      throw new UserError(`vCPU ${vcpu} is not one of domain ${d.name}'s (0..${d.vcpus - 1} or all)`);
    }
    const allowed = resolveCpuSet(parseCpuList(cpus, 'command line'), info.pcpus);
    if (!allowed.includes(d.pcpu)) {
      throw new UserError(
        `domain ${d.name} runs on pCPU ${d.pcpu} and Domus does not move a running domain's vCPUs; include ${d.pcpu} in the list, or recreate the domain with cpus = "${allowed[0] ?? 0}"`,
      );
    }
    return 0;
  },
});
