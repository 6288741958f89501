/**
 * Starting the daemons on first use, as `xl` relies on xencommons having started xenstored and
 * xenconsoled: when the CLI finds no domusd on the run directory's socket it starts one, and
 * domusd starts hostd the same way. A started daemon runs detached in its own session, with its
 * output in `<runDir>/<name>.log`, and is waited for until its socket answers.
 */
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
  program: Program,
  args: string[],
): Promise<ControlConn> {
  try {
    return await ControlConn.connect(socket, what);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
  }
  const logPath = join(runDir, `${what}.log`);
  const log = openSync(logPath, 'a');
  const child = spawn(process.execPath, [...programArgs(program), ...args], {
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

/** The two programs of a Domus host: the `domus` CLI (whose `hostd` command is hostd) and domusd. */
export type Program = 'domus' | 'domusd';

/**
 * Node arguments that run `program`: the bundles side by side in dist/ (domus.mjs, domusd.mjs),
 * or, when this module runs from source, the TypeScript entries through tsx.
 */
export function programArgs(program: Program): string[] {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const src = program === 'domus' ? '../cli/main.ts' : '../api/domusd_main.ts';
    return ['--import', 'tsx', fileURLToPath(new URL(src, here))];
  }
  return [fileURLToPath(new URL(program === 'domus' ? './domus.mjs' : './domusd.mjs', here))];
}
