/**
 * The xl lifecycle, end to end (issue 6): an xl.cfg written for Xen — kernel, ramdisk, extra,
 * memory, vcpus, a qcow2 disk and a vif — becomes a running Linux domain with `domus create -c`,
 * and xl's subcommands act on it as they do on Xen: list (xl's columns and state letters),
 * pause/unpause, sched-credit, block-attach/-list/-detach (the guest sees the new disk), reboot
 * (a new domain id, a second boot), console (attach, type, detach with Ctrl-]), shutdown and
 * destroy. The guest writes to its qcow2 disk, and qemu-img afterwards finds the image clean
 * and the data in it. Bad input gets xl's exit status 2 and one sentence.
 *
 * Everything goes through the real bundled CLI (`domus …` child processes); the guest is the
 * default one (busybox, /init prints DOMUS-GUEST-READY, a guest agent takes shutdown, reboot
 * and bind requests).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { defaultGuest } from '../src/platform/node/guest_image.ts';
import { TestHost, until } from './toolstack_host.ts';

const root = new URL('..', import.meta.url).pathname;
const host = new TestHost();
const dir = host.runDir;
const domus = (...args: string[]) => host.domus(args);
const qcow2 = join(dir, 'disk.qcow2');
const extraImg = join(dir, 'extra.img');
/** What the guest writes to sector 100 of its qcow2 disk. */
const GUEST_PATTERN = 'DOMUS-QCOW2-WRITTEN-BY-GUEST';
/** What the host writes at the start of the raw disk attached later. */
const HOST_PATTERN = 'HOST-WROTE-THIS-4242';
const DETACH = '\x1d';
const NAME = 'xlvm';
const BOOT_MS = 120_000;

after(() => host.stop());

function qemuImg(...args: string[]): string {
  const r = spawnSync('qemu-img', args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `qemu-img ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A `domus` child process with piped stdio, collecting what it prints. */
class Cli {
  readonly child: ChildProcessWithoutNullStreams;
  out = '';
  err = '';
  readonly exited: Promise<number>;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [join(root, 'bin/domus.mjs'), ...args], { env: host.env });
    this.child.stdout.on('data', (b: Buffer) => (this.out += b.toString('latin1')));
    this.child.stderr.on('data', (b: Buffer) => (this.err += b.toString('latin1')));
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code ?? -1)));
  }

  type(text: string): void {
    this.child.stdin.write(text);
  }

  /** Waits until stdout (after `from`) matches `re`; returns the match. */
  async expect(re: RegExp, ms: number, from = 0): Promise<RegExpExecArray> {
    return until(
      () => re.exec(this.out.slice(from)) ?? undefined,
      ms,
      `${re} on the console; tail:\n${this.out.slice(-1500)}\nstderr: ${this.err}`,
    );
  }

  /** Exit status, failing if the process does not end within `ms`. */
  async status(ms: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(new Error(`domus did not exit in ${ms} ms; stderr: ${this.err}`));
      }, ms);
    });
    try {
      return await Promise.race([this.exited, t]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Types `cmd` into the domain's console through a control connection (as `domus console` does). */
async function typeInto(dom: string, cmd: string): Promise<void> {
  const c = await host.connect();
  try {
    await c.call('console.attach', { dom, scrollback: false });
    await c.call('console.input', { dom, data: Buffer.from(cmd + '\n').toString('base64') });
  } finally {
    c.close();
  }
}

/** Waits until the scrollback (after `from` characters) matches `re`; returns the match. */
async function consoleMatch(dom: string, re: RegExp, from = 0, ms = 60_000): Promise<RegExpExecArray> {
  let last = '';
  return until(
    async () => {
      last = await host.console(dom);
      return re.exec(last.slice(from)) ?? undefined;
    },
    ms,
    `${re} in ${dom}'s console; tail:\n${last.slice(-1500)}`,
  );
}

/** Runs a shell command in the guest and returns what it printed between two markers. */
let runs = 0;
async function inGuest(dom: string, cmd: string): Promise<string> {
  const n = ++runs;
  const from = (await host.console(dom)).length;
  // $((…)) keeps the echoed command line from matching the markers.
  await typeInto(dom, `echo BEGIN-$((${n}*1000)); ${cmd}; echo END-$((${n}*1000))`);
  const m = await consoleMatch(dom, new RegExp(`BEGIN-${n * 1000}\\r?\\n([^]*?)END-${n * 1000}`), from);
  return m[1]!.replace(/\r/g, '');
}

/** The guest's block devices, from /proc/partitions. */
async function partitions(dom: string): Promise<string[]> {
  const text = await inGuest(dom, 'cat /proc/partitions');
  return [...text.matchAll(/^\s*\d+\s+\d+\s+\d+\s+(\S+)$/gm)].map((m) => m[1]!).sort();
}

function listLine(name: string): string | undefined {
  const r = domus('list');
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').find((l) => l.startsWith(name + ' '));
}

test('an xl.cfg written for Xen runs a Linux domain through xl’s whole lifecycle', async () => {
  qemuImg('create', '-q', '-f', 'qcow2', qcow2, '64M');
  const extra = Buffer.alloc(1 << 20);
  extra.write(HOST_PATTERN, 0, 'latin1');
  writeFileSync(extraImg, extra);
  const guest = defaultGuest();
  const cfg = join(dir, `${NAME}.cfg`);
  writeFileSync(
    cfg,
    [
      '# /etc/xen/xlvm.cfg, as written for xl',
      `name = "${NAME}"`,
      `kernel = "${guest.kernel}"`,
      `ramdisk = "${guest.initrd}"`,
      'extra = "console=ttyS0"',
      'memory = 128',
      'vcpus = 2',
      `disk = [ 'format=qcow2, vdev=xvda, access=rw, target=${qcow2}' ]`,
      "vif = [ 'bridge=xenbr0' ]",
      '',
    ].join('\n'),
  );

  // create -c: the console is this process's stdio; Ctrl-] detaches and leaves the domain running.
  const create = new Cli(['create', '-c', cfg]);
  await create.expect(/DOMUS-GUEST-READY/, BOOT_MS);
  let mark = create.out.length;
  create.type('echo NCPU=$(grep -c processor /proc/cpuinfo) NET=$(ls /sys/class/net | tr "\\n" " ")\n');
  const cpus = await create.expect(/NCPU=(\d+) NET=([^\r\n]*)/, 30_000, mark);
  assert.equal(cpus[1], '2', 'vcpus = 2 gives the guest two processors');
  assert.match(cpus[2]!, /\beth0\b/, 'the vif is a network interface in the guest');
  mark = create.out.length;
  create.type(
    `echo ${GUEST_PATTERN} > /tmp/p && dd if=/tmp/p of=/dev/vda bs=512 seek=100 conv=sync 2>/dev/null && sync && echo DD-$((6*7))\n`,
  );
  await create.expect(/DD-42/, 30_000, mark);
  create.type(DETACH);
  assert.equal(await create.status(10_000), 0, `create -c exits 0 on Ctrl-]; stderr: ${create.err}`);
  assert.equal(create.err, `Parsing config from ${cfg}\n`);

  // list: xl's columns; the domain is still running.
  const line = listLine(NAME);
  assert.ok(line, 'the domain is listed after the console detached');
  assert.match(line, /^xlvm {36} +1 +128 +2 {5}(r-----|-b----) +\d+\.\d$/);
  const header = domus('list').stdout.split('\n')[0];
  assert.equal(header, 'Name                                        ID   Mem VCPUs\tState\tTime(s)');

  assert.equal(domus('pause', NAME).status, 0);
  assert.match(listLine(NAME)!, /^xlvm +1 +128 +2 +--p--- /);
  assert.equal(domus('unpause', NAME).status, 0);
  assert.match(listLine(NAME)!, /^xlvm +1 +128 +2 +(r-----|-b----) /);

  const set = domus('sched-credit', '-d', NAME, '-w', '512', '-c', '50');
  assert.equal(set.status, 0, set.stderr);
  const sched = domus('sched-credit', '-d', NAME);
  assert.equal(sched.status, 0, sched.stderr);
  assert.match(sched.stdout, /^Name +ID Weight +Cap\nxlvm +1 +512 +50$/m);

  // block-attach: a raw disk the host wrote a pattern to appears in the guest.
  const before = await partitions(NAME);
  assert.ok(before.includes('vda'), `the qcow2 disk is /dev/vda: ${before.join(' ')}`);
  const attach = domus('block-attach', NAME, `${extraImg},raw,xvdb,w`);
  assert.equal(attach.status, 0, attach.stderr);
  const afterAttach = await until(
    async () => {
      const p = await partitions(NAME);
      return p.length > before.length && p;
    },
    20_000,
    'a new disk in /proc/partitions',
  );
  const added = afterAttach.filter((p) => !before.includes(p));
  assert.equal(added.length, 1, `one new disk: ${added.join(' ')}`);
  const seen = await inGuest(NAME, `head -c ${HOST_PATTERN.length} /dev/${added[0]}; echo`);
  assert.equal(seen.trim(), HOST_PATTERN);

  const blocks = domus('block-list', NAME);
  assert.equal(blocks.status, 0, blocks.stderr);
  assert.match(blocks.stdout, /^Vdev +Slot Mode Target\n/);
  assert.match(blocks.stdout, new RegExp(`^xvda +\\d+ w +${qcow2}$`, 'm'));
  assert.match(blocks.stdout, new RegExp(`^xvdb +\\d+ w +${extraImg}$`, 'm'));

  const detach = domus('block-detach', NAME, 'xvdb');
  assert.equal(detach.status, 0, detach.stderr);
  await until(
    async () => !(await partitions(NAME)).includes(added[0]!),
    20_000,
    `${added[0]} to leave /proc/partitions`,
  );
  assert.doesNotMatch(domus('block-list', NAME).stdout, /xvdb/);

  // Mistakes against a running domain: one sentence, exit 2, and the domain runs on.
  const mistakes: [string[], RegExp][] = [
    [
      ['block-detach', NAME, 'xvdq'],
      /^domus: domain xlvm has no attached disk xvdq; domus block-list shows them\n$/,
    ],
    [['block-attach', NAME, `${join(dir, 'nosuch.img')},raw,xvdc,w`], /nosuch\.img/],
    // As xl, create names the file it parsed before it tries to build the domain.
    [['create', cfg], /^Parsing config from .*xlvm\.cfg\ndomus: a domain named xlvm already exists; /],
  ];
  for (const [args, re] of mistakes) {
    const r = domus(...args);
    assert.equal(r.status, 2, `domus ${args.join(' ')}: status ${r.status}, stderr ${r.stderr}`);
    assert.match(r.stderr, re, `domus ${args.join(' ')}`);
    const lines = r.stderr
      .trimEnd()
      .split('\n')
      .filter((l) => !l.startsWith('Parsing config from '));
    assert.equal(lines.length, 1, `one sentence from domus ${args.join(' ')}: ${r.stderr}`);
  }
  assert.deepEqual(await partitions(NAME), before, 'the failed attach left no disk behind');

  // reboot -w: the domain comes back under a new id and boots again.
  const reboot = domus('reboot', '-w', NAME);
  assert.equal(reboot.status, 0, reboot.stderr);
  const rebooted = listLine(NAME);
  assert.ok(rebooted, 'the domain is listed after reboot');
  const newId = Number(rebooted.split(/ +/)[1]);
  assert.ok(newId > 1, `a new domain id after reboot: ${rebooted}`);
  await consoleMatch(NAME, /Linux version[^]*Linux version[^]*DOMUS-GUEST-READY/, 0, BOOT_MS);
  assert.equal(domus('domid', NAME).stdout, `${newId}\n`);

  // console: the scrollback first, then live input and output; Ctrl-] detaches.
  const con = new Cli(['console', NAME]);
  await con.expect(/DOMUS-GUEST-READY/, 20_000);
  const at = con.out.length;
  con.type('echo CONSOLE-$((3+4))\n');
  await con.expect(/CONSOLE-7/, 30_000, at);
  con.type(DETACH);
  assert.equal(await con.status(10_000), 0, `console exits 0 on Ctrl-]; stderr: ${con.err}`);
  assert.ok(listLine(NAME), 'the domain runs on after the console detached');

  // shutdown -w: the guest agent powers off cleanly; the domain leaves the list.
  const shut = domus('shutdown', '-w', NAME);
  assert.equal(shut.status, 0, shut.stderr);
  assert.equal(listLine(NAME), undefined);

  // The qcow2 image is consistent and holds what the guest wrote.
  assert.match(qemuImg('check', qcow2), /No errors were found on the image/);
  const raw = join(dir, 'disk.raw');
  qemuImg('convert', '-O', 'raw', qcow2, raw);
  const bytes = readFileSync(raw);
  assert.equal(bytes.subarray(100 * 512, 100 * 512 + GUEST_PATTERN.length).toString('latin1'), GUEST_PATTERN);
});

test('destroy ends a second domain at once', async () => {
  const guest = defaultGuest();
  const cfg = join(dir, 'second.cfg');
  writeFileSync(
    cfg,
    `name = "second"\nmemory = 64\nvcpus = 1\nkernel = "${guest.kernel}"\nramdisk = "${guest.initrd}"\nextra = "console=ttyS0"\n`,
  );
  const created = domus('create', cfg);
  assert.equal(created.status, 0, created.stderr);
  assert.match(listLine('second')!, /^second +\d+ +64 +1 +(r-----|-b----) /);
  await consoleMatch('second', /Linux version/, 0, BOOT_MS);
  const d = domus('destroy', 'second');
  assert.equal(d.status, 0, d.stderr);
  assert.equal(listLine('second'), undefined);
  assert.equal(domus('destroy', 'second').status, 2, 'a destroyed domain is gone');
});

test('bad input: exit status 2 and one sentence naming the thing', () => {
  const cases: [string[], RegExp][] = [
    [['shutdown', 'nosuch'], /^domus: domain nosuch does not exist; domus list shows the running domains\n$/],
    [['reboot', 'nosuch'], /^domus: domain nosuch does not exist; /],
    [['console', 'nosuch'], /^domus: domain nosuch does not exist; /],
    [['block-attach', 'nosuch'], /^domus: domus block-attach takes a domain and a disk spec; /],
    [['block-detach', 'Domain-0'], /^domus: domus block-detach takes a domain and a device; /],
    [['sched-credit', '-w', '512'], /^domus: setting -w or -c needs a domain; add -d DOMAIN\n$/],
    [['sched-credit', '-d', NAME, '-w', '0'], /^domus: --weight 0 is not a whole number from 1 to 65535\n$/],
    [['create', join(dir, 'missing.cfg')], /missing\.cfg/],
  ];
  for (const [args, re] of cases) {
    const r = domus(...args);
    assert.equal(r.status, 2, `domus ${args.join(' ')}: status ${r.status}, stderr ${r.stderr}`);
    assert.match(r.stderr, re, `domus ${args.join(' ')}`);
    assert.equal(
      r.stderr.trimEnd().split('\n').length,
      1,
      `one line from domus ${args.join(' ')}: ${r.stderr}`,
    );
  }
});
