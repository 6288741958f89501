/**
 * The toolstack's two processes, as in Xen: hostd (domains, pCPUs) and domusd (the management
 * daemon). The CLI starts both on first use; killing domusd with SIGKILL leaves the domains
 * running in hostd, and a new domusd finds them with their console scrollback.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { defaultGuest } from '../src/platform/node/guest_image.ts';
import { XsClient } from '../src/toolstack/xenstore/client.ts';
import { alive, TestHost, until } from './toolstack_host.ts';

const host = new TestHost();
const runDir = host.runDir;
const domus = (...args: string[]) => host.domus(args);
const pid = (name: 'hostd' | 'domusd') => host.pid(name);

after(() => host.stop());

test('the CLI starts domusd and hostd; domains survive domusd being SIGKILLed', async () => {
  const first = domus('list');
  assert.equal(first.status, 0, first.stderr);
  assert.match(
    first.stdout,
    /^Name +ID +Mem VCPUs\tState\tTime\(s\)\nDomain-0 +0 +\d+ +\d+ +r----- +\d+\.\d\n$/,
  );
  const hostdPid = pid('hostd');
  const domusdPid = pid('domusd');
  assert.ok(alive(hostdPid) && alive(domusdPid));

  // An xl.cfg as written for Xen; relative paths resolve against the file's directory.
  const guest = defaultGuest();
  const cfg = join(runDir, 'survivor.cfg');
  writeFileSync(
    cfg,
    [
      '# written for xl',
      'name = "survivor"',
      'memory = 64',
      'vcpus = 1',
      `kernel = "${guest.kernel}"`,
      `ramdisk = "${guest.initrd}"`,
      'extra = "console=ttyS0"',
      'on_poweroff = "destroy"',
      '',
    ].join('\n'),
  );
  const created = domus('create', cfg);
  assert.equal(created.status, 0, created.stderr);
  const badCfg = domus('create', cfg, 'name=other', 'memory=lots');
  assert.equal(badCfg.status, 2);
  assert.match(badCfg.stderr, /memory = "lots" is not a number of MiB/);

  // The ready marker shows up in the console scrollback, read by a later connection.
  const scrollback = () => host.console('survivor');
  const end = Date.now() + 60_000;
  while (!(await scrollback()).includes('DOMUS-GUEST-READY')) {
    if (Date.now() > end) assert.fail(`no ready marker; console:\n${(await scrollback()).slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 300));
  }

  // hostd's xenstored has the domain's entries, as libxl writes them.
  const xs = await XsClient.connect(join(runDir, 'xenstored.sock'));
  assert.equal(await xs.read('/local/domain/1/name'), 'survivor');
  assert.deepEqual(await xs.getPerms('/local/domain/1'), ['n0', 'r1']);
  assert.equal(await xs.read(`${await xs.read('/local/domain/1/vm')}/name`), 'survivor');
  xs.close();

  process.kill(domusdPid, 'SIGKILL');
  await until(() => !alive(domusdPid), 5000, 'domusd to die');
  assert.ok(alive(hostdPid), 'hostd must outlive domusd');

  // A new CLI call starts a new domusd, which finds the domain and its console.
  const again = domus('list');
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /\nsurvivor +1 +64 +1 +(r-----|-b----) +\d+\.\d\n/);
  assert.notEqual(pid('domusd'), domusdPid);
  assert.equal(pid('hostd'), hostdPid);
  assert.match(await scrollback(), /DOMUS-GUEST-READY/);

  // xl's subcommands act on it.
  assert.equal(domus('pause', 'survivor').status, 0);
  assert.match(domus('list', 'survivor').stdout, /survivor +1 +64 +1 +--p--- /);
  assert.equal(domus('unpause', '1').status, 0);
  assert.equal(domus('sched-credit', '-d', 'survivor', '-w', '512', '-c', '50').status, 0);
  assert.match(domus('sched-credit', '-d', 'survivor').stdout, /survivor +1 +512 +50\n/);
  assert.equal(domus('rename', 'survivor', 'renamed').status, 0);
  assert.equal(domus('domid', 'renamed').stdout, '1\n');
  assert.equal(domus('domname', '1').stdout, 'renamed\n');
  const xsr = await XsClient.connect(join(runDir, 'xenstored.sock'));
  assert.equal(await xsr.read('/local/domain/1/name'), 'renamed', 'xenstore follows the rename');
  assert.equal(await xsr.read(`${await xsr.read('/local/domain/1/vm')}/name`), 'renamed');
  xsr.close();
  const long = JSON.parse(domus('list', '-l').stdout) as {
    domid: number;
    config: { c_info: { name: string } };
  }[];
  assert.deepEqual(
    long.map((d) => [d.domid, d.config.c_info.name]),
    [[1, 'renamed']],
  );
  const bad = domus('pause', 'nosuch');
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, 'domus: domain nosuch does not exist; domus list shows the running domains\n');
  assert.equal(domus('destroy', 'renamed').status, 0);
  assert.doesNotMatch(domus('list').stdout, /renamed/);
  const xs2 = await XsClient.connect(join(runDir, 'xenstored.sock'));
  await until(
    async () => !(await xs2.directory('/local/domain').catch((): string[] => [])).includes('1'),
    5000,
    'xenstore cleanup',
  );
  xs2.close();
});
