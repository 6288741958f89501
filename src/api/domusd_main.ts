/**
 * `domusd`: the management daemon's program. It runs the toolstack's Domusd (the CLI's socket,
 * VM definitions and users in the state database, hostd started on demand) and the XenAPI
 * server next to it, in one process; hostd stays a separate process, so domains outlive this
 * one. Started by the CLI on first use, or by hand:
 *
 *   domusd [--xenapi HOST:PORT | --xenapi off] [--hostd-memory MiB]
 *
 * Run directory and state directory come from DOMUS_RUN_DIR and DOMUS_STATE_DIR (paths.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { UserError } from '../common/errors.ts';
import { Domusd } from '../toolstack/domusd.ts';
import { ensureDir, runDir, stateDir } from '../toolstack/paths.ts';
import { DomusdPort } from './xenapi/port_domusd.ts';
import { XenApiServer } from './xenapi/server.ts';
import { XenApi } from './xenapi/xenapi.ts';

/** XenAPI's default listening address: loopback only; use --xenapi 0.0.0.0:PORT to open it. */
export const DEFAULT_XENAPI = '127.0.0.1:9363';

const USAGE = `usage: domusd [--xenapi HOST:PORT|off] [--hostd-memory MiB]

The Domus management daemon: the domus CLI's server (<run dir>/domusd.sock), VM definitions and
users in <state dir>/domus.db, and the XenAPI (JSON-RPC at /jsonrpc, XML-RPC at /) on
${DEFAULT_XENAPI} by default. Starts hostd when none runs; killing domusd leaves domains running.
`;

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        xenapi: { type: 'string' },
        'hostd-memory': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new UserError(`${(e as Error).message}; see domusd --help`);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const listen = values.xenapi ?? process.env['DOMUS_XENAPI'] ?? DEFAULT_XENAPI;
  let host = '';
  let port = 0;
  if (listen !== 'off') {
    const m = /^(.*):(\d+)$/.exec(listen);
    if (!m || Number(m[2]) > 65535)
      throw new UserError(`--xenapi ${listen} is not HOST:PORT; write e.g. --xenapi 127.0.0.1:9363 or off`);
    host = m[1]!;
    port = Number(m[2]);
  }
  const hm = values['hostd-memory'];
  const d = await Domusd.start({
    runDir: ensureDir(runDir()),
    stateDir: stateDir(),
    ...(hm !== undefined && { hostdArgs: ['--memory', hm] }),
  });
  let server: XenApiServer | undefined;
  let api: XenApi | undefined;
  if (listen !== 'off') {
    api = new XenApi(new DomusdPort(d));
    await api.start();
    try {
      server = await XenApiServer.listen(api, { host, port });
    } catch (e) {
      await d.close();
      throw new UserError(
        `the XenAPI cannot listen on ${listen} (${(e as Error).message}); pass --xenapi HOST:PORT or off`,
      );
    }
  }
  // Where clients find the XenAPI (tests and scripts that let it pick a free port).
  if (server) writeFileSync(join(d.opts.runDir, 'xenapi.url'), `http://${host}:${server.port}/\n`);
  process.stderr.write(
    `domusd: pid ${process.pid}, listening on ${Domusd.socketPath(d.opts.runDir)}` +
      (server ? `, XenAPI on http://${host}:${server.port}/` : '') +
      '\n',
  );
  const stop = () => void d.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await d.closed;
  api?.close();
  await server?.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UserError) {
      process.stderr.write(`domusd: ${e.message}\n`);
      process.exitCode = e.exitCode;
      return;
    }
    process.stderr.write(
      `domusd: internal error (please report): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
    process.exitCode = 70;
  },
);
