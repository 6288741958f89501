/**
 * Where the toolstack keeps its files: the run directory (sockets, pid files, daemon logs —
 * gone at reboot) and the state directory (the database — kept). `DOMUS_RUN_DIR` and
 * `DOMUS_STATE_DIR` override the defaults, which follow the FHS for root and the XDG base
 * directories for other users.
 */
import { mkdirSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function runDir(): string {
  const env = process.env['DOMUS_RUN_DIR'];
  if (env) return env;
  if (isRoot()) return '/run/domus';
  const xdg = process.env['XDG_RUNTIME_DIR'];
  return xdg ? join(xdg, 'domus') : join(tmpdir(), `domus-${process.getuid?.() ?? 'user'}`);
}

export function stateDir(): string {
  const env = process.env['DOMUS_STATE_DIR'];
  if (env) return env;
  if (isRoot()) return '/var/lib/domus';
  return join(process.env['XDG_DATA_HOME'] ?? join(homedir(), '.local', 'share'), 'domus');
}

/** Creates `dir` (and parents) readable only by its owner; returns it. */
export function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}
