/**
 * xl's resource subcommands on Domus: mem-set, mem-max, vcpu-set, network-attach,
 * network-detach, dmesg.
 *
 * As in xl, mem-set and vcpu-set change the domain's targets in xenstore (memory/target,
 * cpu/N/availability); mem-set also sets the target of the domain's virtio-balloon, whose guest
 * driver gives memory back or takes it again; vcpu-set asks the guest agent to bring vCPUs on- or
 * offline (CPU hotplug).
 */
import { UserError } from '../../common/errors.ts';
import { parseVifSpec } from '../../toolstack/xlcfg_vif.ts';
import { parseCommandArgs } from '../args.ts';
import { withToolstack } from '../client.ts';
import { registerCommand } from '../command_table.ts';

/** xl's memory arguments: a number of MiB, or with a unit suffix b/k/m/g. */
export function parseMemoryMiB(text: string): number {
  const m = /^(\d+)([bBkKmMgGtT]?)$/.exec(text);
  if (!m)
    throw new UserError(`${text} is not an amount of memory; write MiB (512) or with a unit (512m, 1g)`);
  const n = Number(m[1]);
  const unit = (m[2] || 'm').toLowerCase();
  const bytes = n * { b: 1, k: 1024, m: 1 << 20, g: 1 << 30, t: 2 ** 40 }[unit]!;
  const mib = Math.floor(bytes / (1 << 20));
  if (mib < 16) throw new UserError(`${text} is less than 16 MiB, too little for a domain`);
  return mib;
}

function twoArgs(name: string, args: string[]): [string, string] {
  const { positionals } = parseCommandArgs(name, args, {});
  if (positionals.length !== 2)
    throw new UserError(`domus ${name} takes a domain and a value; see domus help ${name}`);
  return positionals as [string, string];
}

registerCommand({
  name: 'mem-set',
  summary: 'set a domain’s memory target (xl mem-set)',
  usage: `usage: domus mem-set <domain> <mem>

Sets the domain's memory target (MiB, or with a unit: 512m, 1g), written to xenstore's
memory/target as xl does and given to the domain's virtio-balloon: the guest's balloon driver
hands memory back to the host (domus list shows it shrink) or takes it again, up to the
domain's memory at creation. The target may not exceed mem-max.
`,
  async run(args) {
    const [dom, mem] = twoArgs('mem-set', args);
    const r = await withToolstack(
      (c) => c.call('domain.mem-set', { dom, memoryMiB: parseMemoryMiB(mem) }) as Promise<{ note?: string }>,
    );
    if (r.note) process.stderr.write(`${r.note}\n`);
    return 0;
  },
});

registerCommand({
  name: 'mem-max',
  summary: 'set a domain’s maximum memory (xl mem-max)',
  usage:
    'usage: domus mem-max <domain> <mem>\n\nSets the most memory the domain may be given (MiB, or 512m, 1g).\n',
  async run(args) {
    const [dom, mem] = twoArgs('mem-max', args);
    await withToolstack((c) => c.call('domain.mem-max', { dom, memoryMiB: parseMemoryMiB(mem) }));
    return 0;
  },
});

registerCommand({
  name: 'vcpu-set',
  summary: 'set the number of a domain’s online vCPUs (xl vcpu-set)',
  usage: `usage: domus vcpu-set <domain> <count>

Brings vCPUs online or offline, up to the number the domain was created with: xenstore's
cpu/N/availability is updated as xl does and the guest agent hotplugs the CPUs.
`,
  async run(args) {
    const [dom, count] = twoArgs('vcpu-set', args);
    const n = Number(count);
    if (!Number.isInteger(n) || n < 1) throw new UserError(`${count} is not a number of vCPUs (1 or more)`);
    await withToolstack((c) => c.call('domain.vcpu-set', { dom, count: n }));
    return 0;
  },
});

registerCommand({
  name: 'network-attach',
  summary: 'attach a network interface to a running domain (xl network-attach)',
  usage: `usage: domus network-attach <domain> [vif-spec...]

Attaches a virtio-net interface described in xl's vif syntax (e.g. 'mac=00:16:3e:01:02:03,
bridge=xenbr0'; default bridge xenbr0, a random MAC) and has the guest agent bind it.
`,
  async run(args) {
    const { positionals } = parseCommandArgs('network-attach', args, {});
    if (positionals.length < 1)
      throw new UserError('domus network-attach takes a domain; see domus help network-attach');
    const [dom, ...rest] = positionals;
    const vif = parseVifSpec(rest.join(','), { where: 'command line', index: 0, warnings: [] });
    const r = await withToolstack(
      (c) =>
        c.call('domain.network-attach', {
          dom,
          vif: { ...(vif.mac !== undefined && { mac: vif.mac }), bridge: vif.bridge },
        }) as Promise<{ devid: number; mac: string }>,
    );
    process.stderr.write(`attached vif ${r.devid} (${r.mac})\n`);
    return 0;
  },
});

registerCommand({
  name: 'network-detach',
  summary: 'detach a network interface from a running domain (xl network-detach)',
  usage: 'usage: domus network-detach <domain> <devid|mac>\n',
  async run(args) {
    const [dom, dev] = twoArgs('network-detach', args);
    await withToolstack((c) => c.call('domain.network-detach', { dom, device: dev }));
    return 0;
  },
});

registerCommand({
  name: 'dmesg',
  summary: 'the hypervisor host’s message log (xl dmesg)',
  usage:
    "usage: domus dmesg [-c]\n\nPrints hostd's log: domains created, shut down, destroyed, and errors.\n  -c, --clear   clear the log after printing it\n",
  async run(args) {
    const { values, positionals } = parseCommandArgs('dmesg', args, {
      clear: { type: 'boolean', short: 'c' },
    });
    if (positionals.length) throw new UserError('domus dmesg takes no arguments; see domus help dmesg');
    const lines = await withToolstack(
      (c) => c.call('dmesg', { clear: values.clear === true }) as Promise<string[]>,
    );
    for (const l of lines) process.stdout.write(l + '\n');
    return 0;
  },
});
