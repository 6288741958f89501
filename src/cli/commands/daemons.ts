/**
 * `domus hostd`: the hypervisor host process in the foreground (the CLI starts it detached on
 * first use, through domusd). Its partner, the management daemon, is its own program,
 * `domusd` (src/api/domusd_main.ts), because it also serves the XenAPI; `domus daemon` runs that
 * program in the foreground.
 */
import { spawn } from 'node:child_process';
import { UserError } from '../../common/errors.ts';
import { Hostd } from '../../toolstack/hostd.ts';
import { programArgs } from '../../toolstack/launcher.ts';
import type { PortForward } from '../../toolstack/net/usernet.ts';
import { ensureDir, runDir, stateDir } from '../../toolstack/paths.ts';
import { parseCommandArgs } from '../args.ts';
import { registerCommand } from '../command_table.ts';

const DEFAULT_HOST_MEMORY_MIB = 2048;

function parse<T extends Parameters<typeof parseCommandArgs>[2]>(name: string, args: string[], options: T) {
  const r = parseCommandArgs(name, args, options);
  if (r.positionals.length) throw new UserError(`domus ${name} takes no arguments; see domus help ${name}`);
  return r.values;
}

/** A --forward spec: tcp:[HOSTADDR:]HOSTPORT:[GUESTADDR:]GUESTPORT. */
export function parseForward(spec: string): PortForward {
  const m = /^tcp:(?:([\d.]+):)?(\d+):(?:([\d.]+):)?(\d+)$/.exec(spec);
  const port = (s: string | undefined) => (s !== undefined && Number(s) <= 65535 ? Number(s) : NaN);
  if (!m || Number.isNaN(port(m[2])) || Number.isNaN(port(m[4]))) {
    throw new UserError(
      `--forward ${spec} is not tcp:[HOSTADDR:]HOSTPORT:[GUESTADDR:]GUESTPORT; write e.g. tcp:8080:80`,
    );
  }
  return {
    proto: 'tcp',
    hostPort: port(m[2]),
    guestPort: port(m[4]),
    ...(m[1] !== undefined && { hostAddr: m[1] }),
    ...(m[3] !== undefined && { guestAddr: m[3] }),
  };
}

function untilSignal(close: () => Promise<void>, closed: Promise<void>): Promise<number> {
  const stop = () => void close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return closed.then(() => 0);
}

registerCommand({
  name: 'hostd',
  summary: 'run the hypervisor host process (domains, pCPUs, backends) in the foreground',
  usage: `usage: domus hostd [--memory MiB] [--pcpus N]

Runs the hypervisor host process: the machine memory, one pCPU thread per host core and the
domains on them, served on <run dir>/hostd.sock (DOMUS_RUN_DIR, default /run/domus for root).
Domains keep running here when domusd or the CLI exits. The CLI starts it on first use.

  --memory MiB         machine memory for all domains together (default ${DEFAULT_HOST_MEMORY_MIB})
  --pcpus N            pCPU threads (default: host cores)
  --forward SPEC       forward a host port to a guest on bridge xenbr0, as QEMU's hostfwd:
                       tcp:[HOSTADDR:]HOSTPORT:[GUESTADDR:]GUESTPORT (repeatable; also
                       DOMUS_FORWARDS, comma-separated). The guest address defaults to
                       10.0.2.15, the first DHCP lease of the user-mode network
  --no-usernet         no user-mode network (NAT, DHCP) on xenbr0
  --jit                translate guests' hot code to WebAssembly (also DOMUS_JIT=on)
  --migrate-listen HOST:PORT
                       accept live migrations there (also DOMUS_MIGRATE_LISTEN); the
                       sending host must hold the same migration key (DOMUS_MIGRATION_KEY,
                       else <state dir>/migration.key)
`,
  async run(args) {
    const v = parse('hostd', args, {
      'migrate-listen': { type: 'string' },
      memory: { type: 'string' },
      pcpus: { type: 'string' },
      forward: { type: 'string', multiple: true },
      'no-usernet': { type: 'boolean' },
      jit: { type: 'boolean' },
    });
    const specs = [...(v.forward ?? []), ...(process.env['DOMUS_FORWARDS'] ?? '').split(',').filter(Boolean)];
    const forwards = specs.map(parseForward);
    const memoryMiB = v.memory === undefined ? DEFAULT_HOST_MEMORY_MIB : Number(v.memory);
    if (!Number.isInteger(memoryMiB) || memoryMiB < 64 || memoryMiB > 4000) {
      throw new UserError(`--memory ${String(v.memory)} is not a whole number of MiB from 64 to 4000`);
    }
    const pcpus = v.pcpus === undefined ? undefined : Number(v.pcpus);
    const listen = v['migrate-listen'] ?? process.env['DOMUS_MIGRATE_LISTEN'];
    const d = await Hostd.start({
      runDir: ensureDir(runDir()),
      memoryMiB,
      ...(pcpus !== undefined && { pcpus }),
      forwards,
      usernet: v['no-usernet'] !== true,
      jit: v.jit === true || process.env['DOMUS_JIT'] === 'on',
      stateDir: stateDir(),
      ...(listen !== undefined && listen !== '' && { migrateListen: listen }),
    });
    process.stderr.write(`hostd: pid ${process.pid}, listening on ${Hostd.socketPath(d.opts.runDir)}\n`);
    return untilSignal(() => d.close(), d.closed);
  },
});

registerCommand({
  name: 'daemon',
  summary: 'run domusd, the management daemon (CLI server, state, XenAPI), in the foreground',
  usage: `usage: domus daemon [--xenapi HOST:PORT|off] [--hostd-memory MiB]

Runs domusd in the foreground (the same as the domusd program): the domus CLI's server, VM
definitions and users in the state database, and the XenAPI (default 127.0.0.1:9363). It starts
hostd when none runs. The CLI starts domusd on first use, so this is for running it by hand.
`,
  run(args) {
    const child = spawn(process.execPath, [...programArgs('domusd'), ...args], { stdio: 'inherit' });
    const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
    process.on('SIGINT', forward('SIGINT'));
    process.on('SIGTERM', forward('SIGTERM'));
    return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  },
});
