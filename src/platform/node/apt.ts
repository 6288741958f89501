/**
 * Debian packages on demand: what `domus run --bare` (OpenSBI) and the benchmarks (QEMU, the
 * network workloads' host tools) install when they run as root and something is missing.
 */
import { spawnSync } from 'node:child_process';

/** Is `cmd` on the PATH? */
export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Are we root (allowed to install packages)? */
export function canInstallPackages(): boolean {
  return process.getuid?.() === 0;
}

/**
 * `apt-get install`s `pkgs` (without recommends), retrying once after `apt-get update` when the
 * package lists are stale. Progress goes to stderr (`quiet`: only apt's errors). Returns whether
 * apt succeeded; the caller checks that what it needed is now there.
 */
export function aptInstall(pkgs: readonly string[], opts: { quiet?: boolean } = {}): boolean {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const stdio = opts.quiet ? (['ignore', 'ignore', 'inherit'] as const) : (['ignore', 2, 'inherit'] as const);
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...pkgs], {
      stdio: [...stdio],
      env,
    });
  let r = install();
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-q'], { stdio: [...stdio], env });
    r = install();
  }
  return r.status === 0;
}
