/**
 * A Domus host for whole-system tests of the toolstack: its own run and state directories, the
 * XenAPI on a free port, the real `domus` CLI (the bundle) to drive it, and `stop()` to shut
 * hostd and domusd down and remove everything. The daemons start on the first CLI call.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultGuest } from '../src/platform/node/guest_image.ts';
import { ControlConn } from '../src/toolstack/control/conn.ts';

const root = new URL('..', import.meta.url).pathname;

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

export class TestHost {
  readonly runDir = mkdtempSync(join(tmpdir(), 'domus-host-'));
  readonly env: NodeJS.ProcessEnv = {
    ...process.env,
    DOMUS_RUN_DIR: this.runDir,
    DOMUS_STATE_DIR: join(this.runDir, 'state'),
    DOMUS_XENAPI: '127.0.0.1:0',
  };

  /** Runs `domus ARGS…` (with `input` on stdin) and returns its status and output. */
  domus(args: string[], input?: string): CliResult {
    const r = spawnSync(process.execPath, [join(root, 'bin/domus.mjs'), ...args], {
      env: this.env,
      encoding: 'utf8',
      timeout: 60_000,
      ...(input !== undefined && { input }),
    });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /**
   * Creates domain `name` running the default guest (console on ttyS0) from an xl.cfg written in
   * the run directory; `more` adds xl.cfg lines (disk, vif, on_*). Fails the test if it cannot.
   */
  createGuest(name: string, o: { memoryMiB?: number; vcpus?: number; more?: string[] } = {}): void {
    const guest = defaultGuest();
    const cfg = join(this.runDir, `${name}.cfg`);
    writeFileSync(
      cfg,
      [
        `name = "${name}"`,
        `memory = ${o.memoryMiB ?? 128}`,
        `vcpus = ${o.vcpus ?? 1}`,
        `kernel = "${guest.kernel}"`,
        `ramdisk = "${guest.initrd}"`,
        'extra = "console=ttyS0"',
        ...(o.more ?? []),
        '',
      ].join('\n'),
    );
    const r = this.domus(['create', cfg]);
    assert.equal(r.status, 0, `domus create ${name}: ${r.stderr}`);
  }

  pid(name: 'hostd' | 'domusd'): number {
    return Number(readFileSync(join(this.runDir, `${name}.pid`), 'utf8'));
  }

  /** A control connection to domusd (or hostd). */
  connect(to: 'domusd' | 'hostd' = 'domusd'): Promise<ControlConn> {
    return ControlConn.connect(join(this.runDir, `${to}.sock`), to);
  }

  /** What the domain wrote to its console so far (hostd's scrollback). */
  async console(dom: string): Promise<string> {
    const c = await this.connect();
    try {
      const a = (await c.call('console.attach', { dom })) as { scrollback: string };
      return Buffer.from(a.scrollback, 'base64').toString('latin1');
    } finally {
      c.close();
    }
  }

  /** Shuts hostd (and its domains) and domusd down and removes the directories. */
  async stop(): Promise<void> {
    try {
      const c = await this.connect('hostd');
      await c.call('host.shutdown');
      c.close();
    } catch {
      // not running
    }
    try {
      process.kill(this.pid('domusd'), 'SIGTERM');
    } catch {
      // gone
    }
    await new Promise((r) => setTimeout(r, 300));
    rmSync(this.runDir, { recursive: true, force: true });
  }
}

/**
 * A shell command (ending in `&`) that counts in the background, ten times a second, into
 * /tmp/count (written whole: a reader never sees a half-written number).
 */
export const COUNTER_LOOP =
  '(i=0; while true; do i=$((i+1)); echo $i >/tmp/count.new; mv /tmp/count.new /tmp/count; usleep 100000; done) &';

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `f` until it returns something truthy, failing after `ms` with `what` in the message. */
export async function until<T>(
  f: () => T | undefined | false | Promise<T | undefined | false>,
  ms: number,
  what: string,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * A shell on a domain's console: `run` types a command and returns what it printed between two
 * markers made by shell arithmetic (`M-B$((N+0))`), so the echo of the typed line never matches.
 */
export class GuestShell {
  private marks = 0;

  constructor(
    readonly host: TestHost,
    public dom: string,
  ) {}

  /** Waits for `re` in the console output after byte `from`; a timeout shows the console's tail. */
  async waitFor(re: RegExp, ms: number, what: string, from = 0): Promise<RegExpExecArray> {
    return until(
      async () => re.exec((await this.host.console(this.dom)).slice(from)) ?? undefined,
      ms,
      `${what} in ${this.dom}'s console`,
    ).catch(async (e: Error) => {
      const tail = (await this.host.console(this.dom).catch(() => '')).slice(-2000);
      throw new Error(`${e.message}\nits console's tail:\n${tail}`);
    });
  }

  /**
   * The guest's uptime (s), the counter COUNTER_LOOP keeps in /tmp/count, and this shell's pid:
   * what shows that a guest carried on (same shell) without a gap (counter, uptime).
   */
  async probe(): Promise<{ uptime: number; count: number; pid: number }> {
    const out = await this.run('cat /proc/uptime; cat /tmp/count; echo pid=$$');
    const m = /^(\d+\.\d+) [^\n]*\n(\d+)\npid=(\d+)$/m.exec(out);
    assert.ok(m, `unexpected probe output:\n${out}`);
    return { uptime: Number(m[1]), count: Number(m[2]), pid: Number(m[3]) };
  }

  /**
   * Writes `text` at 512-byte sector `sector` of the guest's /dev/vda (conv=fsync) and checks
   * that the host's image file `disk` holds it there: the guest's disk writes reach the host.
   */
  async writeSector(disk: string, sector: number, text: string): Promise<void> {
    await this.run(`echo ${text} | dd of=/dev/vda bs=512 seek=${sector} conv=fsync 2>/dev/null`);
    const at = sector * 512;
    assert.equal(
      readFileSync(disk)
        .subarray(at, at + text.length)
        .toString(),
      text,
      `${disk} at sector ${sector}`,
    );
  }

  /** Runs `cmd` in the guest's shell; resolves with what it printed between the markers. */
  async run(cmd: string, ms = 90_000): Promise<string> {
    const n = ++this.marks;
    const before = (await this.host.console(this.dom)).length;
    const c = await this.host.connect();
    try {
      const typed = `echo M-B$((${n}+0)); ${cmd}; echo M-E$((${n}+0))\n`;
      await c.call('console.input', { dom: this.dom, data: Buffer.from(typed).toString('base64') });
    } finally {
      c.close();
    }
    const m = await this.waitFor(new RegExp(`M-B${n}\\r?\\n([^]*?)M-E${n}\\r?\\n`), ms, `"${cmd}"`, before);
    return m[1]!.replace(/\r/g, '');
  }
}
