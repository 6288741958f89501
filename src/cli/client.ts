/**
 * The CLI's connection to the toolstack: domusd on the run directory's socket, started (with
 * hostd behind it) on first use, as xl relies on the daemons xencommons starts.
 */
import { ControlConn } from '../toolstack/control/conn.ts';
import { Domusd } from '../toolstack/domusd.ts';
import { connectOrStart } from '../toolstack/launcher.ts';
import { ensureDir, runDir } from '../toolstack/paths.ts';

export async function connectToolstack(): Promise<ControlConn> {
  const dir = ensureDir(runDir());
  return connectOrStart(Domusd.socketPath(dir), 'domusd', dir, 'domusd', []);
}

/** Runs `f` with a toolstack connection and closes it afterwards. */
export async function withToolstack<T>(f: (c: ControlConn) => Promise<T>): Promise<T> {
  const c = await connectToolstack();
  try {
    return await f(c);
  } finally {
    c.close();
  }
}
