/**
 * `domus create [-c] [-p] cfg [KEY=VALUE…]`: xl create. The CLI reads and checks the xl.cfg
 * itself (errors cite file:line), turns it into the toolstack's DomainConfig and asks domusd to
 * build the domain; `-c` then attaches this terminal to its console, `-p` leaves it paused.
 */
import { UserError } from '../../common/errors.ts';
import type {
  DomainConfig,
  DomainRecord,
  HostInfo,
  LifecycleAction,
} from '../../toolstack/control/protocol.ts';
import { readXlConfig, resolveCpuSet, type ShutdownAction, type XlConfig } from '../../toolstack/xlcfg.ts';
import { parseCommandArgs } from '../args.ts';
import { connectToolstack } from '../client.ts';
import { registerCommand } from '../command_table.ts';
import { consoleSession } from './xl_domains.ts';

/** xl's shutdown actions that Domus performs, and what the others become. */
function action(a: ShutdownAction, key: string, cfg: XlConfig): LifecycleAction {
  switch (a) {
    case 'destroy':
    case 'restart':
    case 'preserve':
      return a;
    case 'rename-restart':
    case 'coredump-restart':
    case 'soft-reset':
      cfg.warnings.push(`${key} = "${a}" runs as "restart" on Domus`);
      return 'restart';
    case 'coredump-destroy':
      cfg.warnings.push(`${key} = "${a}" runs as "destroy" on Domus (no core dumps yet)`);
      return 'destroy';
  }
}

/** The toolstack's DomainConfig for an xl.cfg; `pcpus` is the host's pCPU count (for `cpus=`). */
export function domainConfigOf(cfg: XlConfig, source: string, pcpus: number): DomainConfig {
  if (!cfg.kernel) {
    throw new UserError(
      `${source} has no kernel = "…"; Domus boots a kernel directly (no bootloader), so name one`,
    );
  }
  const out: DomainConfig = {
    name: cfg.name,
    memoryMiB: cfg.memoryMiB,
    vcpus: cfg.vcpus,
    kernel: cfg.kernel,
    cmdline: cfg.cmdline,
    disks: cfg.disks.map((d) => ({
      path: d.target,
      readOnly: d.readonly,
      format: d.format,
      vdev: d.vdev,
      ...(d.backend !== undefined && { backend: d.backend }),
    })),
    onPoweroff: action(cfg.onPoweroff, 'on_poweroff', cfg),
    onReboot: action(cfg.onReboot, 'on_reboot', cfg),
    onCrash: action(cfg.onCrash, 'on_crash', cfg),
  };
  if (cfg.uuid) out.uuid = cfg.uuid;
  if (cfg.ramdisk) out.ramdisk = cfg.ramdisk;
  if (cfg.cpus) {
    // A domain runs whole on one pCPU (docs/hypervisor.md): the first CPU its set allows.
    const set = cfg.cpus.kind === 'all-vcpus' ? cfg.cpus.set : cfg.cpus.sets[0]!;
    const allowed = resolveCpuSet(set, pcpus);
    if (allowed.length === 0)
      throw new UserError(`${source}: cpus allows none of this host's pCPUs 0..${pcpus - 1}`);
    out.pcpu = allowed[0]!;
  }
  if (cfg.vifs.length > 0)
    out.vifs = cfg.vifs.map((v) => ({ ...(v.mac !== undefined && { mac: v.mac }), bridge: v.bridge }));
  return out;
}

registerCommand({
  name: 'create',
  summary: 'create a domain from an xl.cfg file (xl create)',
  usage: `usage: domus create [-c] [-p] <cfg> [KEY=VALUE...]

Creates a domain from an xl.cfg file (Xen's syntax; see docs/xlcfg.md). KEY=VALUE arguments
are added to the file's settings, as with xl create.
  -c, --console   attach to the domain's console (Ctrl-] detaches)
  -p, --paused    leave the domain paused (domus unpause starts it)
  -q, --quiet     no warnings and no "Parsing config from" line
`,
  async run(args) {
    const { values, positionals } = parseCommandArgs('create', args, {
      console: { type: 'boolean', short: 'c' },
      paused: { type: 'boolean', short: 'p' },
      quiet: { type: 'boolean', short: 'q' },
    });
    const [file, ...overrides] = positionals;
    if (file === undefined) throw new UserError('domus create needs a config file; see domus help create');
    const cfg = readXlConfig(file, overrides);
    const c = await connectToolstack();
    try {
      const info = (await c.call('info')) as HostInfo;
      const dc = domainConfigOf(cfg, file, info.pcpus);
      if (values.paused) dc.paused = true;
      if (!values.quiet) for (const w of cfg.warnings) process.stderr.write(`warning: ${w}\n`);
      // xl says this before it builds the domain, with or without -c (not with -q).
      if (!values.quiet) process.stderr.write(`Parsing config from ${file}\n`);
      const rec = (await c.call('domain.create', { config: dc })) as DomainRecord;
      if (!values.console) return 0;
      return await consoleSession(c, String(rec.id));
    } finally {
      c.close();
    }
  },
});
