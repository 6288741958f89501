/**
 * Real XenAPI clients against domusd: Xen Orchestra's `xen-api` package (JSON-RPC, with its
 * default event watching) lists VMs, starts one with Async.VM.start and stops it with
 * VM.clean_shutdown; Python's xmlrpc.client (Debian's python3) logs in and lists VMs over
 * XML-RPC. The VM is a real Linux domain; its clean shutdown goes through the guest agent.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createClient } from 'xen-api';
import { defaultGuest } from '../src/platform/node/guest_image.ts';
import { TestHost, until } from './toolstack_host.ts';

const PASSWORD = 'correct horse battery staple';
const host = new TestHost();
const runDir = host.runDir;
const domus = (args: string[], input?: string) => host.domus(args, input);
const consoleText = (dom: string) => host.console(dom);

after(() => host.stop());

test('xen-api (JSON-RPC, event watching) starts and cleanly stops a VM; python xmlrpc.client lists VMs', async () => {
  assert.equal(domus(['user-add', 'root'], PASSWORD + '\n').status, 0);
  // A VM definition: created from an xl.cfg, then destroyed, so it is a Halted XenAPI VM.
  const guest = defaultGuest();
  const cfg = join(runDir, 'web.cfg');
  writeFileSync(
    cfg,
    `name = "web"\nmemory = 64\nvcpus = 1\nkernel = "${guest.kernel}"\nramdisk = "${guest.initrd}"\nextra = "console=ttyS0"\n`,
  );
  assert.equal(domus(['create', cfg]).status, 0);
  assert.equal(domus(['destroy', 'web']).status, 0);
  const url = readFileSync(join(runDir, 'xenapi.url'), 'utf8').trim();

  const xapi = createClient({ url, auth: { user: 'root', password: PASSWORD }, allowUnauthorized: true });
  await xapi.connect();
  try {
    await xapi.objectsFetched;
    type Rec = {
      $type: string;
      $ref: string;
      name_label: string;
      power_state: string;
      is_control_domain: boolean;
    };
    const vms = () => Object.values(xapi.objects.all as Record<string, Rec>).filter((o) => o.$type === 'VM');
    assert.ok(
      vms().some((v) => v.is_control_domain),
      'the control domain is a VM',
    );
    const web = vms().find((v) => v.name_label === 'web');
    assert.ok(
      web,
      `no VM named web in ${vms()
        .map((v) => v.name_label)
        .join(', ')}`,
    );
    assert.equal(web.power_state, 'Halted');

    const task = (await xapi.call('Async.VM.start', web.$ref, false, false)) as string;
    assert.match(task, /^OpaqueRef:/);
    assert.equal(await xapi.watchTask(task), '');
    await until(
      () => vms().find((v) => v.$ref === web.$ref)?.power_state === 'Running',
      10_000,
      'the Running event',
    );
    await until(
      async () => (await consoleText('web')).includes('DOMUS-GUEST-READY'),
      90_000,
      'the guest to boot',
    );

    // Python's XML-RPC client sees the same VMs.
    const py = spawnSync(
      'python3',
      [
        '-c',
        [
          'import sys, xmlrpc.client',
          's = xmlrpc.client.ServerProxy(sys.argv[1])',
          'r = s.session.login_with_password("root", sys.argv[2], "1.0", "test")',
          'assert r["Status"] == "Success", r',
          'vms = s.VM.get_all_records(r["Value"])["Value"]',
          'print("\\n".join(sorted(v["name_label"] + " " + v["power_state"] for v in vms.values())))',
          'bad = s.session.login_with_password("root", "wrong")',
          'print(bad["ErrorDescription"][0])',
        ].join('\n'),
        url,
        PASSWORD,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(py.status, 0, py.stderr);
    assert.match(py.stdout, /^web Running$/m);
    assert.match(py.stdout, /^Control domain on host: .* Running$/m);
    assert.match(py.stdout, /^SESSION_AUTHENTICATION_FAILED$/m);

    await xapi.call('VM.clean_shutdown', web.$ref);
    await until(
      () => vms().find((v) => v.$ref === web.$ref)?.power_state === 'Halted',
      30_000,
      'the Halted event',
    );
    assert.match(await xapi.call('VM.get_power_state', web.$ref), /^Halted$/);
  } finally {
    await xapi.disconnect();
  }
});
