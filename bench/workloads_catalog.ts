/**
 * The workloads of `npm run bench -- --suite workloads` and what is known about them.
 *
 * Each workload is one invocation of the in-guest runner (guests/workloads/run) on the
 * workloads image, which prints exactly one result line:
 *
 *   DOMUS-WORKLOAD name=lua-fib seconds=1.355 check=fib29:514229:1664079 [key=value…]
 *
 * `seconds` is the measured part as the guest's clock sees it; `check` is a value every
 * correct machine computes the same (a checksum, `ok`, `verified`). `expect` below holds the
 * check of the committed image, measured under QEMU: the suite compares every run against
 * the others and against it, so a wrong result is a failure and not a slow run.
 * The parameters themselves (sizes, counts) live in the runner, next to the commands.
 *
 * stress-ng and iperf3 are in the catalog but not in the committed image: Debian's archive
 * here does not serve their source, so they are not built, and the suite shows their
 * workloads as NOT_BUILT rows (see PROGRAM_SOURCE).
 *
 * This module is pure data and parsing; launching guests is workloads_run.ts.
 */

export type WorkloadGroup = 'lua' | 'sqlite' | 'stress-ng' | 'fio' | 'busybox' | 'network';

/** The host's part in a workload: nothing, an iperf3 server, or ssh logins. */
export type HostSide = 'none' | 'iperf3-server' | 'ssh-client';

export interface Workload {
  readonly name: string;
  readonly group: WorkloadGroup;
  /** One line for the docs: what runs, with its fixed parameters. */
  readonly what: string;
  /** The runner's workload name (usually `name`). */
  readonly runnerName: string;
  /**
   * The program in the image's bin/ it needs. A workload whose program was not built (see
   * PROGRAM_SOURCE) is reported as such; one whose program is absent for no stated reason fails.
   */
  readonly program: string;
  /** Needs a virtio-net device with host forwarding (QEMU user networking today). */
  readonly needsNet: boolean;
  /** Needs a scratch raw disk as the second virtio-blk device. */
  readonly needsScratch: boolean;
  readonly host: HostSide;
  /** The check value of the committed image; every run must print exactly this. */
  readonly expect: string;
}

function w(
  name: string,
  group: WorkloadGroup,
  program: string,
  what: string,
  expect: string,
  more: Partial<Pick<Workload, 'runnerName' | 'needsNet' | 'needsScratch' | 'host'>> = {},
): Workload {
  return {
    name,
    group,
    what,
    program,
    expect,
    runnerName: more.runnerName ?? name,
    needsNet: more.needsNet ?? false,
    needsScratch: more.needsScratch ?? false,
    host: more.host ?? 'none',
  };
}

/** How many ssh logins the ssh-login workload times (each runs SSH_COMMAND). */
export const SSH_LOGINS = 10;
/** What each ssh login runs in the guest; its output must be SSH_EXPECTED_OUTPUT. */
export const SSH_COMMAND = 'cat /proc/sys/kernel/ostype; echo $((6 * 7))';
export const SSH_EXPECTED_OUTPUT = 'Linux\n42\n';

export const WORKLOADS: readonly Workload[] = [
  w('lua-fib', 'lua', 'lua', 'recursive fib(29), 1.7 M calls', 'fib29:514229:1664079'),
  w(
    'lua-nbody',
    'lua',
    'lua',
    'n-body, 5 bodies, 30 000 steps (energy before:after)',
    '-116.545168005105:-116.545457171401',
  ),
  w('lua-spectral', 'lua', 'lua', 'spectral norm, n = 120, 10 power iterations', '1.274221700305'),
  w(
    'lua-strings',
    'lua',
    'lua',
    'string building: format, concat, gsub, gmatch; 100 rounds',
    '649034:581b65fa',
  ),
  w(
    'lua-tables',
    'lua',
    'lua',
    'table churn: hash inserts/deletes, sorts; 6 rounds of 5000',
    '9544:293166376',
  ),
  w(
    'sqlite-speedtest1',
    'sqlite',
    'speedtest1',
    "SQLite's speedtest1 --size 2 --verify (result hash)",
    '244592:28e6676ac610b0067f7b48634a7665a3ccf4f1ef8d7fd374',
  ),
  w(
    'sqlite-integrity',
    'sqlite',
    'sqlite3',
    'sqlite3 shell: 60 000 rows, 2 indexes, PRAGMA integrity_check',
    'ok:60000:3000039700:row-00060000-36c0',
  ),
  w('stress-cpu', 'stress-ng', 'stress-ng', 'stress-ng --cpu 1 --cpu-ops 50 --verify', 'verified'),
  w(
    'stress-vm',
    'stress-ng',
    'stress-ng',
    'stress-ng --vm 1 --vm-bytes 16m --vm-ops 2000 --verify',
    'verified',
  ),
  w(
    'fio-seq-write',
    'fio',
    'fio',
    'fio sequential write, 1 MiB blocks, 128 MiB, O_DIRECT',
    'verified:128MiB',
    {
      needsScratch: true,
    },
  ),
  w('fio-seq-read', 'fio', 'fio', 'fio sequential read, 1 MiB blocks, 128 MiB, O_DIRECT', 'verified:128MiB', {
    needsScratch: true,
  }),
  w('fio-rand-write', 'fio', 'fio', 'fio random write, 4 KiB blocks, 16 MiB, O_DIRECT', 'verified:16.0MiB', {
    needsScratch: true,
  }),
  w('fio-rand-read', 'fio', 'fio', 'fio random read, 4 KiB blocks, 16 MiB, O_DIRECT', 'verified:16.0MiB', {
    needsScratch: true,
  }),
  w(
    'gzip',
    'busybox',
    'domus-wl',
    'busybox gzip of 6 MiB of seeded text in tmpfs (sha256 of the stream)',
    'a2ffe584938890185681fb935377b04ad11cdb571dc94b6fd7a9436db3081ba6',
  ),
  w(
    'sha256sum',
    'busybox',
    'domus-wl',
    'busybox sha256sum of 64 MiB of seeded text in tmpfs',
    'cfff5ef866cb923a5ff7604f7d7eb9e2dd0be2e91d1e12b666f2edd5e4076984',
  ),
  w('iperf3-up', 'network', 'iperf3', 'iperf3 guest → host, 64 MiB over TCP (bytes sent)', '64.0MBytes', {
    needsNet: true,
    host: 'iperf3-server',
  }),
  w('iperf3-down', 'network', 'iperf3', 'iperf3 host → guest (-R), 64 MiB over TCP', '64.0MBytes', {
    needsNet: true,
    host: 'iperf3-server',
  }),
  w(
    'ssh-login',
    'network',
    'dropbearmulti',
    `${SSH_LOGINS} logins from the host's OpenSSH client to dropbear, each running a command`,
    `${SSH_LOGINS}x:Linux:42`,
    { runnerName: 'ssh-server', needsNet: true, host: 'ssh-client' },
  ),
];

/**
 * The Debian source package each program of the image is built from (domus-wl is ours and
 * always there). guests/workloads/build.sh builds only Debian's own source: a package whose
 * source files the archive does not serve is left out, and the image's VERSIONS says so in a
 * line `PACKAGE: not built: WHY`. On this project's machines that is stress-ng and iperf3.
 */
export const PROGRAM_SOURCE: Readonly<Record<string, string>> = {
  sqlite3: 'sqlite3',
  speedtest1: 'sqlite3',
  lua: 'lua5.4',
  'stress-ng': 'stress-ng',
  fio: 'fio',
  iperf3: 'iperf3',
  dropbearmulti: 'dropbear',
};

/** What the table says for a workload whose program was not built for want of Debian's source. */
export const NOT_BUILT = "not built: Debian's archive here does not serve the source";

/** The packages an image's VERSIONS says were not built, each with why. */
export function parseNotBuilt(versions: string): Map<string, string> {
  const notBuilt = new Map<string, string>();
  for (const line of versions.split('\n')) {
    const m = /^(\S+): not built: (.+)$/.exec(line.trim());
    if (m) notBuilt.set(m[1]!, m[2]!);
  }
  return notBuilt;
}

export function workloadByName(name: string): Workload | undefined {
  return WORKLOADS.find((x) => x.name === name);
}

/** A parsed result line. */
export interface WorkloadResult {
  name: string;
  seconds: number;
  check: string;
  /** Any further key=value pairs (e.g. mbits=153). */
  extra: Record<string, string>;
}

const RESULT_RE = /^DOMUS-WORKLOAD name=(\S+) seconds=(\d+(?:\.\d+)?) check=(\S+)((?: \S+=\S*)*)\s*$/;
const FAIL_RE = /^DOMUS-WORKLOAD-FAIL name=(\S+) reason=(\S*)/;

/** Parses one console line; undefined when it is not a result line. */
export function parseResultLine(line: string): WorkloadResult | undefined {
  const m = RESULT_RE.exec(line.replace(/\r$/, ''));
  if (!m) return undefined;
  const extra: Record<string, string> = {};
  for (const kv of (m[4] ?? '').trim().split(' ')) {
    const eq = kv.indexOf('=');
    if (eq > 0) extra[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return { name: m[1]!, seconds: Number(m[2]), check: m[3]!, extra };
}

/** The runner's failure line (`DOMUS-WORKLOAD-FAIL name=… reason=…`), if this is one. */
export function parseFailLine(line: string): { name: string; reason: string } | undefined {
  const m = FAIL_RE.exec(line);
  return m ? { name: m[1]!, reason: m[2]! } : undefined;
}

/**
 * Selects workloads by a comma-separated list of names or groups (`lua,fio-seq-read`);
 * all of them when `only` is empty. An unknown name is an error that lists the known ones.
 */
export function selectWorkloads(only: string | undefined): Workload[] {
  if (!only) return [...WORKLOADS];
  const picked = new Set<Workload>();
  for (const raw of only.split(',')) {
    const key = raw.trim();
    if (!key) continue;
    const hits = WORKLOADS.filter((x) => x.name === key || x.group === key);
    if (hits.length === 0) {
      const groups = [...new Set(WORKLOADS.map((x) => x.group))];
      throw new Error(
        `--only ${key}: no such workload or group; known: ${WORKLOADS.map((x) => x.name).join(', ')} ` +
          `(groups: ${groups.join(', ')})`,
      );
    }
    for (const h of hits) picked.add(h);
  }
  return WORKLOADS.filter((x) => picked.has(x));
}
