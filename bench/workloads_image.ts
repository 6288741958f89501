/**
 * The workloads image (guests/workloads/out/workloads.img) and the scratch disks beside it.
 *
 * `ensureWorkloadsImage()` returns the image, (re)assembling it with guests/workloads/build.sh
 * when it is missing or older than anything it is made of: the runner, the Lua scripts, the
 * recipe, and the programs. The programs come from a source build in guests/workloads/out/
 * when there is one (build.sh leaves out/VERSIONS), otherwise from the committed
 * guests/workloads/prebuilt/programs.tar.xz, which needs only mke2fs (e2fsprogs) and xz, and takes
 * a second. With neither, it runs the full build from Debian sources (a few minutes, root).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../src/common/errors.ts';
import { projectRoot } from '../src/platform/node/guest_image.ts';
import { parseNotBuilt } from './workloads_catalog.ts';

export function workloadsDir(): string {
  return join(projectRoot(), 'guests', 'workloads');
}

export function workloadsImagePath(): string {
  return join(workloadsDir(), 'out', 'workloads.img');
}

/** The staging tree the image was made from (to see which programs it holds). */
function stageDir(): string {
  return join(workloadsDir(), 'out', 'image');
}

function mtimeMs(path: string): number {
  return statSync(path).mtimeMs;
}

/** The files the image is made of, for the staleness check. */
function imageInputs(fromSource: boolean): string[] {
  const dir = workloadsDir();
  const inputs = [join(dir, 'run'), join(dir, 'build.sh')];
  for (const f of readdirSync(join(dir, 'lua'))) if (f.endsWith('.lua')) inputs.push(join(dir, 'lua', f));
  if (fromSource) {
    const bin = join(dir, 'out', 'bin');
    for (const f of readdirSync(bin)) inputs.push(join(bin, f));
  } else {
    inputs.push(join(dir, 'prebuilt', 'programs.tar.xz'), join(dir, 'prebuilt', 'SHA256SUMS'));
  }
  return inputs;
}

/**
 * Returns the path of an up-to-date workloads image, building it first when needed.
 * Progress of a build goes to `log` and build.sh's own output to stderr.
 */
export function ensureWorkloadsImage(
  log: (msg: string) => void = (m) => process.stderr.write(m + '\n'),
): string {
  const dir = workloadsDir();
  const img = workloadsImagePath();
  const fromSource = existsSync(join(dir, 'out', 'VERSIONS')) && existsSync(join(dir, 'out', 'bin'));
  const havePrebuilt = existsSync(join(dir, 'prebuilt', 'programs.tar.xz'));
  const args = [join(dir, 'build.sh')];
  if (!fromSource && havePrebuilt) args.push('--prebuilt');
  if (existsSync(img) && existsSync(stageDir())) {
    const built = mtimeMs(img);
    const inputs = fromSource || havePrebuilt ? imageInputs(fromSource) : [];
    if (inputs.every((f) => !existsSync(f) || mtimeMs(f) <= built)) return img;
  }
  if (fromSource || havePrebuilt) {
    log(
      `workloads: assembling ${img} from the ${fromSource ? 'programs built in guests/workloads/out' : 'committed programs'} (seconds)…`,
    );
  } else {
    log(
      `workloads: ${img} is missing and there are no prebuilt programs: building them from Debian sources ` +
        `with guests/workloads/build.sh (a few minutes; needs root for apt)…`,
    );
  }
  const r = spawnSync('bash', args, { stdio: ['ignore', process.stderr, process.stderr] });
  if (r.status !== 0 || !existsSync(img)) {
    throw new UserError(
      `building the workloads image failed (bash ${args.join(' ')} exited with ${r.status ?? r.signal}); ` +
        `see its output above`,
    );
  }
  return img;
}

/** Whether the assembled image holds `program` in its bin/ (some may be left out for want of source). */
export function imageHasProgram(program: string): boolean {
  return existsSync(join(stageDir(), 'bin', program));
}

/** The packages the assembled image's VERSIONS says were not built, each with why. */
export function imageNotBuilt(): Map<string, string> {
  const versions = join(stageDir(), 'VERSIONS');
  return existsSync(versions) ? parseNotBuilt(readFileSync(versions, 'utf8')) : new Map();
}

/** Creates a sparse raw disk of `sizeMiB` at `path` (the fio workloads' scratch disk). */
export function createScratchDisk(path: string, sizeMiB: number): void {
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, sizeMiB * 1024 * 1024);
  } finally {
    closeSync(fd);
  }
}
