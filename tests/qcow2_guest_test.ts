/**
 * A qcow2 disk formatted ext4 by a guest (issue 5's acceptance): `qemu-img create -f qcow2` makes
 * an empty 128 MiB image; a default-guest domain (`disk = [ 'format=qcow2, vdev=xvda, …' ]`) runs
 * e2fsprogs' `mkfs.ext4` on /dev/vda, mounts it and writes files; after `domus shutdown -w`,
 * `qemu-img check` finds no errors and no leaks; a fresh domain on the same image mounts it and
 * reads the files back with the same sha256; on the host, the image converted to raw passes
 * `e2fsck -fn`, `dumpe2fs -h` shows ext4's features, and `debugfs` dumps the same files.
 *
 * The guest is driven through its console (console.input) and reports between markers printed
 * by shell arithmetic (`Q-B$((N+1))`), so the echo of the typed command never matches them.
 * Needs Debian's qemu-utils (qemu-img) and e2fsprogs on the host (scripts/install-test-deps.sh).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { GuestShell, TestHost } from './toolstack_host.ts';

const host = new TestHost();
const dir = host.runDir;
const image = join(dir, 'disk.qcow2');
const BOOT_MS = 120_000;

after(() => host.stop());

/** Runs a host tool; returns its status and output (never throws on a non-zero status). */
function tool(cmd: string, ...args: string[]): { status: number; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) assert.fail(`${cmd} could not run (${r.error.message}); run scripts/install-test-deps.sh`);
  return { status: r.status ?? -1, out: r.stdout + r.stderr };
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/**
 * The files the guest writes whose contents the host knows: 3 MiB of `yes`, the numbers 1 to
 * 250000 (`seq`, 1.6 MB) and one line in a subdirectory. A fourth file, 1 MiB from
 * /dev/urandom, is known only by the sha256 the guest prints.
 */
const line = 'DOMUS-QCOW2-EXT4\n';
const yesBin = line.repeat(Math.ceil((3 << 20) / line.length)).slice(0, 3 << 20);
let seqTxt = '';
for (let i = 1; i <= 250_000; i++) seqTxt += `${i}\n`;
const known: Record<string, string> = {
  '/data/yes.bin': sha256(yesBin),
  '/data/seq.txt': sha256(seqTxt),
  '/data/sub/hello.txt': sha256('hello from a Domus guest\n'),
};

/** A domain running the default guest with the qcow2 image as its only disk. */
class Domain extends GuestShell {
  constructor(readonly name: string) {
    super(host, name);
  }

  create(): void {
    host.createGuest(this.name, {
      more: [`disk = [ 'format=qcow2, vdev=xvda, access=rw, target=${image}' ]`, 'on_poweroff = "destroy"'],
    });
  }

  async ready(): Promise<void> {
    await this.waitFor(/DOMUS-GUEST-READY/, BOOT_MS, 'the ready marker');
  }

  shutdown(): void {
    const r = host.domus(['shutdown', '-w', this.name]);
    assert.equal(r.status, 0, `domus shutdown -w ${this.name}: ${r.stderr}`);
    const list = host.domus(['list']);
    assert.doesNotMatch(
      list.stdout,
      new RegExp(`^${this.name} `, 'm'),
      'the domain is gone after shutdown -w',
    );
  }
}

/** `sha256sum` lines (hash, two spaces, path) as a map from path to hash. */
function parseSums(text: string, prefix: string): Record<string, string> {
  const sums: Record<string, string> = {};
  for (const m of text.matchAll(/^([0-9a-f]{64}) {2}(\S+)$/gm)) sums[m[2]!.slice(prefix.length)] = m[1]!;
  return sums;
}

const FILES = ['/data/yes.bin', '/data/seq.txt', '/data/sub/hello.txt', '/data/rand.bin'];
const sumCmd = `sha256sum ${FILES.map((f) => '/mnt' + f).join(' ')}`;
let randSha = '';

test('a guest formats a qcow2 image ext4 with mkfs.ext4 and writes files to it', async () => {
  const made = tool('qemu-img', 'create', '-f', 'qcow2', image, '128M');
  assert.equal(made.status, 0, made.out);

  const vm = new Domain('q1');
  vm.create();
  await vm.ready();

  // e2fsprogs' mke2fs (not busybox's, which makes only ext2) answers to mkfs.ext4.
  const version = await vm.run('mkfs.ext4 -V 2>&1');
  assert.match(version, /mke2fs 1\.\d+\.\d+/, 'mkfs.ext4 is e2fsprogs');

  const mkfs = await vm.run('mkfs.ext4 -F -L domus-qcow2 /dev/vda 2>&1; echo MKFS-STATUS=$?', 180_000);
  assert.match(mkfs, /MKFS-STATUS=0\n/, `mkfs.ext4 failed:\n${mkfs}`);
  assert.match(mkfs, /Creating journal/);

  const mounted = await vm.run('mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && grep " /mnt " /proc/mounts');
  assert.match(mounted, /^\/dev\/vda \/mnt ext4 rw/m, `the disk is not mounted ext4:\n${mounted}`);

  const wrote = await vm.run(
    [
      'mkdir -p /mnt/data/sub',
      'yes DOMUS-QCOW2-EXT4 | head -c 3145728 >/mnt/data/yes.bin',
      'seq 1 250000 >/mnt/data/seq.txt',
      'echo "hello from a Domus guest" >/mnt/data/sub/hello.txt',
      'dd if=/dev/urandom of=/mnt/data/rand.bin bs=65536 count=16 2>/dev/null',
      'sync',
      sumCmd,
      'umount /mnt && echo UMOUNT-OK',
    ].join('; '),
    180_000,
  );
  assert.match(wrote, /^UMOUNT-OK$/m, `the guest could not unmount:\n${wrote}`);
  const sums = parseSums(wrote, '/mnt');
  for (const [f, want] of Object.entries(known)) assert.equal(sums[f], want, `${f} as the guest wrote it`);
  assert.match(sums['/data/rand.bin'] ?? '', /^[0-9a-f]{64}$/, `no sha256 of rand.bin in:\n${wrote}`);
  randSha = sums['/data/rand.bin']!;

  vm.shutdown();

  // The image is a consistent qcow2: no corruptions, no leaked clusters, data allocated.
  const check = tool('qemu-img', 'check', '--output=json', image);
  assert.equal(check.status, 0, `qemu-img check: ${check.out}`);
  const report = JSON.parse(check.out) as Record<string, unknown>;
  assert.equal(report['check-errors'], 0);
  assert.equal(report['corruptions'] ?? 0, 0);
  assert.equal(report['leaks'] ?? 0, 0);
  assert.ok(Number(report['allocated-clusters']) > 0, 'the guest allocated clusters');
  assert.match(tool('qemu-img', 'check', image).out, /No errors were found on the image/);
});

test('a fresh domain mounts the ext4 image and reads the same files', async () => {
  assert.ok(randSha, 'the first test wrote the files');
  const vm = new Domain('q2');
  vm.create();
  await vm.ready();
  const read = await vm.run(
    `mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && ${sumCmd}; cat /mnt/data/sub/hello.txt; umount /mnt`,
  );
  const sums = parseSums(read, '/mnt');
  for (const [f, want] of Object.entries(known))
    assert.equal(sums[f], want, `${f} after a fresh boot:\n${read}`);
  assert.equal(sums['/data/rand.bin'], randSha, 'rand.bin after a fresh boot');
  assert.match(read, /^hello from a Domus guest$/m);
  vm.shutdown();
  const check = tool('qemu-img', 'check', image);
  assert.equal(check.status, 0, `qemu-img check after the second boot: ${check.out}`);
});

test('the host finds a clean ext4 file system with the files in the converted image', () => {
  assert.ok(randSha, 'the first test wrote the files');
  const raw = join(dir, 'disk.raw');
  const conv = tool('qemu-img', 'convert', '-O', 'raw', image, raw);
  assert.equal(conv.status, 0, conv.out);

  const fsck = tool('e2fsck', '-fn', raw);
  assert.equal(fsck.status, 0, `e2fsck -fn reports problems:\n${fsck.out}`);
  assert.match(fsck.out, /domus-qcow2: \d+\/\d+ files/);

  const dump = tool('dumpe2fs', '-h', raw);
  assert.equal(dump.status, 0, dump.out);
  const features = /^Filesystem features:\s+(.*)$/m.exec(dump.out)?.[1]?.split(/\s+/) ?? [];
  for (const f of ['has_journal', 'extent', 'flex_bg', '64bit', 'metadata_csum', 'huge_file', 'dir_nlink']) {
    assert.ok(features.includes(f), `ext4 feature ${f} missing from: ${features.join(' ')}`);
  }
  assert.match(dump.out, /^Filesystem state:\s+clean$/m);
  assert.match(dump.out, /^Filesystem volume name:\s+domus-qcow2$/m);

  // debugfs reads every file out of the image; their contents are what the guest wrote.
  for (const f of FILES) {
    const out = join(dir, f.replaceAll('/', '_'));
    const r = tool('debugfs', '-R', `dump ${f} ${out}`, raw);
    assert.equal(r.status, 0, r.out);
    assert.equal(sha256(readFileSync(out)), known[f] ?? randSha, `${f} read by debugfs`);
  }
  const stat = tool('debugfs', '-R', 'stat /data/yes.bin', raw);
  assert.match(stat.out, /Flags: 0x80000/, 'yes.bin is stored in extents');
  assert.match(stat.out, /Size: 3145728/);
});
