/**
 * Starting the daemons on first use, as `xl` relies on xencommons having started xenstored and
 * xenconsoled: when the CLI finds no domusd on the run directory's socket it starts one, and
 * domusd starts hostd the same way. A started daemon runs detached in its own session, with its
 * output in `<runDir>/<name>.log`, and is waited for until its socket answers.
 */
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../common/errors.ts';
import { ControlConn } from './control/conn.ts';

const START_TIMEOUT_MS = 30_000;

/**
 * Connects to `socket`; when nothing listens there, runs `domus <args>` detached and waits
 * for it to listen. `what` names the daemon in errors.
 */
export async function connectOrStart(
  socket: string,
  what: string,
  runDir: string,
  args: string[],
): Promise<ControlConn> {
  try {
    return await ControlConn.connect(socket, what);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
  }
  const logPath = join(runDir, `${args[0]}.log`);
  const log = openSync(logPath, 'a');
  const child = spawn(process.execPath, [...process.execArgv, cliEntry(), ...args], {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, DOMUS_RUN_DIR: runDir },
  });
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? 1));
  child.unref();
  const end = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      return await ControlConn.connect(socket, what);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
    }
    if (exited !== null) {
      throw new UserError(`${what} failed to start (exit status ${exited}); see ${logPath}`);
    }
    if (Date.now() > end) throw new UserError(`${what} did not start within 30 s; see ${logPath}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The script that runs the `domus` CLI in this process (the bundle, or main.ts under tsx). */
function cliEntry(): string {
  const entry = process.env['DOMUS_CLI_ENTRY'] ?? process.argv[1];
  if (!entry) throw new Error('cannot tell which script runs the domus CLI');
  return entry;
}
