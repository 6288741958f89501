import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { UserError } from '../common/errors.ts';
import {
  DEFAULT_MEMORY_MIB,
  mergeSettings,
  parseCpuList,
  parseXlConfig,
  parseXlSettings,
  readXlConfig,
  resolveCpuSet,
  type XlConfig,
} from './xlcfg.ts';

function cfg(text: string, overrides: string[] = []): XlConfig {
  return parseXlConfig({ text, source: 'vm.cfg', baseDir: '/etc/xen' }, overrides, '/home/op');
}

/** Asserts that parsing fails with a UserError whose message is exactly `message`. */
function refuses(text: string, message: string, overrides: string[] = []): void {
  assert.throws(
    () => cfg(text, overrides),
    (e: unknown) => {
      assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
      assert.equal(e.message, message);
      return true;
    },
  );
}

const PVH_GUEST = `# A PVH guest with a qcow2 root disk, an ISO and two NICs.
name = "web1"
uuid = "3F2504E0-4F89-11D3-9A0C-0305E82C3301"
type = "pvh"

memory = 1024
maxmem = 0x800      # hex, as strtol reads it
vcpus = 2; maxvcpus = 4
cpus = "0-3,^1"

kernel = "images/Image"
ramdisk = "/srv/xen/initrd.cpio"
root = "/dev/vda1 ro"
extra = "console=hvc0 quiet"

disk = [
    'format=qcow2, vdev=xvda, access=rw, target=/srv/xen/web1.qcow2',
    '/srv/xen/tools.iso,,hdc,cdrom',   # read-only
]
vif = [ 'mac=00:16:3E:74:3d:76,bridge=xenbr1,ip=10.0.0.2,rate=10Mb/s',
        '' ,
      ]

on_poweroff = "destroy"
on_reboot   = 'restart'
on_crash    = "coredump-restart"
`;

test('a PVH guest config from the docs reads into a typed XlConfig', () => {
  const c = cfg(PVH_GUEST);
  assert.equal(c.name, 'web1');
  assert.equal(c.uuid, '3f2504e0-4f89-11d3-9a0c-0305e82c3301');
  assert.equal(c.type, 'pvh');
  assert.equal(c.memoryMiB, 1024);
  assert.equal(c.maxmemMiB, 2048);
  assert.equal(c.vcpus, 2);
  assert.equal(c.maxvcpus, 4);
  assert.deepEqual(c.cpus, { kind: 'all-vcpus', set: { all: false, include: [0, 1, 2, 3], exclude: [1] } });
  assert.equal(c.kernel, '/etc/xen/images/Image');
  assert.equal(c.ramdisk, '/srv/xen/initrd.cpio');
  assert.equal(c.cmdline, 'root=/dev/vda1 ro console=hvc0 quiet');
  assert.equal(c.disks.length, 2);
  assert.equal(c.disks[0]!.format, 'qcow2');
  assert.equal(c.disks[0]!.where, 'vm.cfg:17');
  assert.equal(c.disks[1]!.devtype, 'cdrom');
  assert.equal(c.disks[1]!.readonly, true);
  assert.equal(c.disks[1]!.where, 'vm.cfg:18');
  assert.equal(c.vifs.length, 2);
  assert.equal(c.vifs[0]!.mac, '00:16:3e:74:3d:76');
  assert.equal(c.vifs[0]!.bridge, 'xenbr1');
  assert.deepEqual(c.vifs[0]!.rate, { bytesPerInterval: 62500, intervalUsecs: 50000 });
  assert.equal(c.vifs[1]!.bridge, 'xenbr0');
  assert.equal(c.vifs[1]!.devid, 1);
  assert.equal(c.onPoweroff, 'destroy');
  assert.equal(c.onReboot, 'restart');
  assert.equal(c.onCrash, 'coredump-restart');
  assert.equal(c.onWatchdog, 'destroy');
  assert.equal(c.onSoftReset, 'soft-reset');
  assert.deepEqual(c.unknownKeys, []);
  assert.deepEqual(c.warnings, []);
});

test('defaults: pvh, 256 MiB, one vCPU, maxmem = memory, empty cmdline, no devices', () => {
  const c = cfg('name="tiny"\n');
  assert.equal(c.type, 'pvh');
  assert.equal(c.memoryMiB, DEFAULT_MEMORY_MIB);
  assert.equal(c.maxmemMiB, DEFAULT_MEMORY_MIB);
  assert.equal(c.vcpus, 1);
  assert.equal(c.maxvcpus, 1);
  assert.equal(c.cmdline, '');
  assert.equal(c.kernel, undefined);
  assert.equal('uuid' in c, false);
  assert.deepEqual([c.disks, c.vifs], [[], []]);
});

test('syntax: later settings win, += appends to strings and lists, quoted numbers count', () => {
  const c = cfg(
    [
      'name = "a"',
      'name = "b"',
      'memory = "512"',
      'extra = "console=hvc0"',
      'extra += " loglevel=8"',
      "disk = ['/d/a.img,raw,xvda']",
      "disk += [ '/d/b.img,raw,xvdb' ]",
      'cmdline = "x\\ty\\\\z\\"q\\x41\\101"',
    ].join('\n'),
  );
  assert.equal(c.name, 'b');
  assert.equal(c.memoryMiB, 512);
  assert.equal(c.cmdline, 'x\ty\\z"qAA');
  assert.deepEqual(
    c.disks.map((d) => d.vdev),
    ['xvda', 'xvdb'],
  );
  const extra = mergeSettings(
    parseXlSettings({ text: 'extra = "a"\nextra += "b"', source: 's', baseDir: '/' }),
  );
  assert.deepEqual(extra.get('extra')!.value, { kind: 'string', text: 'ab', quoted: true, line: 2 });
});

test('syntax: nested lists, empty lists, comments and newlines inside lists', () => {
  const s = parseXlSettings({
    text: "x = [ # first\n  'a',\n  [ 1, 0x2 ],\n  [],\n]\ny=[]",
    source: 's',
    baseDir: '/',
  });
  assert.equal(s.length, 2);
  const x = s[0]!.value;
  assert.equal(x.kind, 'list');
  assert.deepEqual(x.kind === 'list' && x.items.map((v) => (v.kind === 'list' ? v.items.length : v.text)), [
    'a',
    2,
    0,
  ]);
  assert.deepEqual(s[1]!.value, { kind: 'list', items: [], line: 6 });
});

test('numbers are read as C strtol base 0 reads them: hex and leading-zero octal', () => {
  assert.equal(cfg('name="a"\nmemory = 0x200').memoryMiB, 512);
  assert.equal(cfg('name="a"\nmemory = 0400').memoryMiB, 256);
});

test('type = "pv" becomes pvh with a warning; builder = "generic" is deprecated', () => {
  const c = cfg('name="a"\ntype="pv"\nbuilder="generic"');
  assert.equal(c.type, 'pvh');
  assert.deepEqual(c.warnings, [
    'vm.cfg:2: type = "pv" is converted to "pvh": Domus guests are PVH, as Arm guests are in Xen',
    'vm.cfg:3: builder is deprecated; write type = "pvh"',
  ]);
});

test('unknown keys are warned about, collected, and do not fail the parse', () => {
  const c = cfg('name="a"\nvnc = 1\nmemroy = 512\nserial = "pty"');
  assert.deepEqual(c.unknownKeys, ['vnc', 'memroy', 'serial']);
  assert.deepEqual(c.warnings, [
    'vm.cfg:2: key "vnc" is not used by Domus and is ignored',
    'vm.cfg:3: key "memroy" is not used by Domus and is ignored (did you mean memory?)',
    'vm.cfg:4: key "serial" is not used by Domus and is ignored',
  ]);
});

test('cmdline wins over root and extra, with a warning', () => {
  const c = cfg('name="a"\nroot="/dev/vda"\ncmdline="console=hvc0"');
  assert.equal(c.cmdline, 'console=hvc0');
  assert.deepEqual(c.warnings, ['vm.cfg:3: root= and extra= are ignored in favour of cmdline=']);
  assert.equal(cfg('name="a"\nroot="/dev/vda"').cmdline, 'root=/dev/vda');
});

test('command-line overrides are appended lines: they replace, append, and take bare words', () => {
  const c = cfg('name="a"\nmemory=512\nkernel="Image"\nextra="quiet"', [
    'memory=1024',
    'name=web2',
    'kernel=build/Image',
    'extra+= debug',
    "vif=['bridge=xenbr9']",
    'vcpus=2; maxvcpus=3',
  ]);
  assert.equal(c.memoryMiB, 1024);
  assert.equal(c.name, 'web2');
  assert.equal(c.kernel, '/home/op/build/Image');
  assert.equal(c.cmdline, 'quietdebug');
  assert.equal(c.vifs[0]!.bridge, 'xenbr9');
  assert.deepEqual([c.vcpus, c.maxvcpus], [2, 3]);
});

test('cpus: one set for all vCPUs, or one per vCPU; resolveCpuSet applies it to a host', () => {
  const c = cfg('name="a"\nvcpus=2\ncpus = ["2", "3-8,^5"]');
  assert.deepEqual(c.cpus, {
    kind: 'per-vcpu',
    sets: [
      { all: false, include: [2], exclude: [] },
      { all: false, include: [3, 4, 5, 6, 7, 8], exclude: [5] },
    ],
  });
  assert.deepEqual(resolveCpuSet(parseCpuList('all,^1', 'x'), 4), [0, 2, 3]);
  assert.deepEqual(resolveCpuSet(parseCpuList('0-3,5,^1', 'x'), 4), [0, 2, 3]);
  assert.deepEqual(cfg('name="a"\ncpus=2').cpus, {
    kind: 'all-vcpus',
    set: { all: false, include: [2], exclude: [] },
  });
});

test('readXlConfig resolves relative paths against the config file directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'domus-xlcfg-'));
  try {
    writeFileSync(join(dir, 'vm.cfg'), 'name="f"\nkernel="Image"\ndisk=["root.img,raw,xvda"]\n');
    const c = readXlConfig('vm.cfg', [], dir);
    assert.equal(c.kernel, join(dir, 'Image'));
    assert.equal(c.disks[0]!.target, join(dir, 'root.img'));
    assert.equal(c.disks[0]!.where, 'vm.cfg:3');
    assert.throws(() => readXlConfig('missing.cfg', [], dir), {
      name: 'UserError',
      message: 'config file missing.cfg cannot be read (ENOENT); give the path of an xl.cfg file',
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('each error names file:line, the key or value, and the fix', () => {
  const n = 'name="a"\n';
  refuses(`${n}memory = "lots"`, 'vm.cfg:2: memory = "lots" is not a number of MiB; write memory = 512');
  refuses(`${n}memory = 512M`, 'vm.cfg:2: memory = 512M is not a number of MiB; write memory = 512');
  refuses(
    `${n}memory = 08`,
    'vm.cfg:2: memory = 08 is not a number of MiB (a leading 0 makes it octal, as in xl); write memory = 512',
  );
  refuses(`${n}memory = 0`, 'vm.cfg:2: memory = 0 is out of range (1 to 4032 MiB); write memory = 512');
  refuses(`${n}memory = 512\nmemory += 1`, 'vm.cfg:3: memory += cannot add to a number; write memory = 512');
  refuses(`${n}vcpus = 1.5`, 'vm.cfg:2: vcpus = 1.5 is not a number of vCPUs; write vcpus = 2');
  refuses(`${n}memory = [512]`, 'vm.cfg:2: memory is a list but takes one value; write memory = "…"');
  refuses(
    `${n}memory=512\nmaxmem=256`,
    'vm.cfg:3: maxmem = 256 is less than memory = 512; raise maxmem or drop it',
  );
  refuses(
    `${n}vcpus=4\nmaxvcpus=2`,
    'vm.cfg:3: maxvcpus = 2 is less than vcpus = 4; raise maxvcpus or drop it',
  );
  refuses('memory = 512', 'the config has no name; add a line name = "myvm"');
  refuses(
    'name = "42"',
    'vm.cfg:1: name = "42" is not a usable domain name; use 1 to 64 printable characters, not all digits (xl would read it as a domain id)',
  );
  refuses(
    `${n}uuid = "nope"`,
    'vm.cfg:2: uuid = "nope" is not a UUID; write uuid = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" or drop it',
  );
  refuses(
    `${n}type = "hvm"`,
    'vm.cfg:2: type = "hvm" asks for an HVM guest with emulated firmware, which Domus does not have; write type = "pvh" and give kernel =',
  );
  refuses(
    `${n}builder = "hvm"`,
    'vm.cfg:2: builder = "hvm" asks for an HVM guest with emulated firmware, which Domus does not have; write type = "pvh" and give kernel =',
  );
  refuses(`${n}type = "xen"`, 'vm.cfg:2: type = "xen" is not a domain type; write type = "pvh"');
  refuses(
    `${n}on_crash = "explode"`,
    'vm.cfg:2: on_crash = "explode" is not an action; write one of destroy, restart, rename-restart, preserve, coredump-destroy, coredump-restart, soft-reset',
  );
  refuses(`${n}kernel = ""`, 'vm.cfg:2: kernel is empty; give the path of the file or drop the line');
  refuses(
    `${n}disk = "/x.img,raw,xvda"`,
    "vm.cfg:2: disk must be a list; write disk = [ '/path/disk.img,raw,xvda,rw' ]",
  );
  refuses(
    `${n}disk = [ ['/x.img,raw,xvda'] ]`,
    'vm.cfg:2: disk item 0 is a list; write each disk as one quoted string',
  );
  refuses(
    `${n}disk = ['/a,raw,xvda',\n '/b,raw,xvda']`,
    'vm.cfg:3: disk vdev xvda is also used at vm.cfg:2; give each disk its own vdev',
  );
  refuses(
    `${n}vif = ['devid=1', 'bridge=x']`,
    'vm.cfg:2: vif devid 1 is also used at vm.cfg:2; give each vif its own devid',
  );
  refuses(
    `${n}cpus = "node:0"`,
    'vm.cfg:2: cpus = "node:0" names NUMA nodes; a Domus host has one node, so list CPU numbers',
  );
  refuses(
    `${n}cpus = "3-1"`,
    'vm.cfg:2: cpus = "3-1" has "3-1", which is not a CPU or range; write e.g. cpus = "0-3,^1" or "all"',
  );
  refuses(
    `${n}cpus = ["1", "2"]`,
    'vm.cfg:2: cpus lists 2 vCPUs but the domain has 1; give one entry per vCPU',
  );
  refuses(
    `${n}extra = "a"\nextra += ["b"]`,
    'vm.cfg:3: extra += cannot add a list to a string; use the same kind on both',
  );
});

test('syntax errors name file:line and the fix', () => {
  const n = 'name="a"\n';
  refuses(
    `${n}on_crash = destroy`,
    'vm.cfg:2: on_crash = destroy needs quotes around the string; write on_crash = "destroy"',
  );
  refuses(
    `${n}Memory = 512`,
    'vm.cfg:2: "Memory" is not an xl.cfg key; keys are lower case (a-z, 0-9, "." and "_"), e.g. memory',
  );
  refuses(`${n}memory 512`, 'vm.cfg:2: memory needs "=" after it; write memory = VALUE');
  refuses(`${n}memory =`, 'vm.cfg:2: memory has no value; write memory = "…", a number or a [list]');
  refuses(
    `${n}extra = "abc`,
    'vm.cfg:2: the string starting with " is not closed on its line; add the closing "',
  );
  refuses(`${n}extra = "a\\qb"`, 'vm.cfg:2: a string has the unknown escape \\q; write \\\\ for a backslash');
  refuses(
    `${n}disk = [ 'a' 'b' ]`,
    'vm.cfg:2: the list of disk needs a "," or "]" here; separate items with commas',
  );
  refuses(
    `${n}memory = 512 vcpus = 2`,
    'vm.cfg:2: memory has more after its value; put one setting per line or separate them with ";"',
  );
  refuses(
    `${n}memory = (512)`,
    'vm.cfg:2: unexpected character "(" (xl.cfg is not Python: values are quoted strings, numbers and [lists]); quote the value',
  );
  refuses(`${n}= 3`, 'vm.cfg:2: a setting must start with a key; write KEY = VALUE on each line');
  refuses(`${n}x = ${'['.repeat(20)}`, 'vm.cfg:2: x nests lists more than 16 deep; flatten it');
  refuses(n, 'command line argument 1 "memory" is not KEY=VALUE; write e.g. memory=512', ['memory']);
  refuses(n, 'command line argument 1:1: memory = "x" is not a number of MiB; write memory = 512', [
    'memory="x"',
  ]);
});
