/**
 * The advisory lock that keeps two Domus processes from writing one disk image (raw or qcow2):
 * a read-write attach creates `<path>.lock` with O_EXCL holding its pid and removes it on
 * release; a lock whose pid no longer runs is stale and is taken over; a read-only attach takes
 * no lock but is refused while a live process holds one (it would read a disk being written).
 */
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { UserError, isErrnoError } from '../../common/errors.ts';

/** How long a lock file without a pid counts as being created rather than abandoned. */
const FRESH_LOCK_MS = 5000;

/** Takes `<path>.lock` for a read-write attach; checks that nobody holds it for a read-only one. */
export function takeImageLock(path: string, readOnly: boolean): { release(): void } | null {
  const lockPath = `${path}.lock`;
  if (readOnly) {
    const owner = liveOwner(lockPath);
    if (owner !== null) {
      throw new UserError(
        `disk image ${path} is attached read-write by another Domus process (${owner}); stop that domain first`,
      );
    }
    return null;
  }
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(lockPath, 'wx', 0o644);
    } catch (e) {
      if (!isErrnoError(e)) throw e;
      if (e.code === 'EEXIST') {
        const owner = liveOwner(lockPath);
        if (owner !== null || attempt > 0) {
          throw new UserError(
            `disk image ${path} is in use by another Domus process (${owner ?? 'see ' + lockPath}); ` +
              `stop that domain first`,
          );
        }
        // Stale: its owner is gone. Remove it and try once more; a racing opener wins fairly.
        try {
          unlinkSync(lockPath);
        } catch (u) {
          if (!(isErrnoError(u) && u.code === 'ENOENT')) throw u;
        }
        continue;
      }
      if (e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'EROFS') {
        throw new UserError(
          `disk image ${path} cannot be locked because ${lockPath} cannot be created; ` +
            `make its directory writable or attach it with ,ro`,
        );
      }
      throw e;
    }
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
    return {
      release() {
        try {
          // Only our own lock: a lock taken over from us as stale is someone else's now.
          if (lockOwner(lockPath) === process.pid) unlinkSync(lockPath);
        } catch (e) {
          if (!(isErrnoError(e) && e.code === 'ENOENT')) throw e;
        }
      },
    };
  }
}

/**
 * Who holds a lock file: "pid N" if that process runs, null if the lock is absent or stale.
 * A lock without a pid is taken as held while it is young: its creator may be about to write it.
 */
function liveOwner(lockPath: string): string | null {
  const pid = lockOwner(lockPath);
  if (pid !== null) return isRunning(pid) ? `pid ${pid}` : null;
  try {
    const ageMs = Date.now() - statSync(lockPath).mtimeMs;
    return ageMs < FRESH_LOCK_MS ? 'a process still creating its lock' : null;
  } catch (e) {
    if (isErrnoError(e) && e.code === 'ENOENT') return null;
    throw e;
  }
}

/** The pid in a lock file, or null if it holds none (a half-written or foreign file). */
function lockOwner(lockPath: string): number | null {
  let text: string;
  try {
    text = readFileSync(lockPath, 'utf8');
  } catch (e) {
    if (isErrnoError(e) && e.code === 'ENOENT') return null;
    throw e;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else, which still means the image is in use.
    return isErrnoError(e) && e.code === 'EPERM';
  }
}
