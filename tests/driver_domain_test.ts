/**
 * A disk backend in a driver domain, killed and restarted under a running guest (issue 5's
 * acceptance): a default-guest domain's qcow2 disk says `backend=dd0`, so hostd starts driver
 * domain dd0 (a thread of its own) to serve it. The guest makes an ext4 file system on it and
 * writes a file; `domus driver-domain destroy dd0` kills the backend where it stands; the guest's
 * next reads fail with I/O errors (dd's status, the kernel's "I/O error" line), while the guest
 * and hostd carry on; `domus driver-domain restart dd0` gives the disk a new backend; the guest
 * reads its file back intact (page cache dropped), writes another and unmounts cleanly. On the
 * host, `qemu-img check` finds no errors and `e2fsck -fn` a clean file system holding both files.
 * On the way, a save and restore puts the disk back on the driver domain.
 * Needs Debian's qemu-utils and e2fsprogs on the host (scripts/install-test-deps.sh).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { GuestShell, TestHost } from './toolstack_host.ts';

const host = new TestHost();
const image = join(host.runDir, 'dd.qcow2');

after(() => host.stop());

function tool(cmd: string, ...args: string[]): { status: number; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) assert.fail(`${cmd} could not run (${r.error.message}); run scripts/install-test-deps.sh`);
  return { status: r.status ?? -1, out: r.stdout + r.stderr };
}

function domus(...args: string[]): string {
  const r = host.domus(args);
  assert.equal(r.status, 0, `domus ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const shaOf = (out: string, file: string): string => {
  const m = new RegExp(`^([0-9a-f]{64}) {2}${file}$`, 'm').exec(out);
  assert.ok(m, `no sha256 of ${file} in:\n${out}`);
  return m[1]!;
};

test('killing the driver domain gives the guest I/O errors, not a crash; after a restart its disk is intact and consistent', async () => {
  assert.equal(tool('qemu-img', 'create', '-f', 'qcow2', image, '64M').status, 0);
  host.createGuest('dd-guest', {
    more: [`disk = [ 'format=qcow2, vdev=xvda, access=rw, backend=dd0, target=${image}' ]`],
  });
  const vm = new GuestShell(host, 'dd-guest');
  await vm.waitFor(/DOMUS-GUEST-READY/, 120_000, 'the ready marker');
  assert.match(domus('driver-domain', 'list'), /^dd0 +running +0 .*dd\.qcow2$/m);

  const made = await vm.run(
    [
      'mkfs.ext4 -q -F -L domus-dd /dev/vda 2>&1',
      'mkdir -p /mnt && mount -o noatime -t ext4 /dev/vda /mnt',
      'dd if=/dev/urandom of=/mnt/before.bin bs=65536 count=32 2>/dev/null',
      'sync',
      'sha256sum /mnt/before.bin',
    ].join(' && '),
    180_000,
  );
  const before = shaOf(made, '/mnt/before.bin');

  // The backend dies where it stands; the guest's next reads of the disk fail.
  domus('driver-domain', 'destroy', 'dd0');
  assert.match(domus('driver-domain', 'list'), /^dd0 +dead +0 .*dd\.qcow2 \(down\)$/m);
  const failed = await vm.run(
    'dd if=/dev/vda of=/dev/null bs=4096 count=8 skip=3000 iflag=direct 2>&1; echo DD-STATUS=$?; dmesg | grep -c "I/O error"',
  );
  assert.match(failed, /DD-STATUS=[1-9]/, `dd read the disk with its backend dead:\n${failed}`);
  assert.match(failed, /I\/O error|Input\/output error/, failed);
  assert.match(domus('list'), /^dd-guest /m, 'the guest is still running');
  assert.match(domus('dmesg'), /driver domain dd0 destroyed; its 1 disk\(s\) fail with I\/O errors/);

  domus('driver-domain', 'restart', 'dd0');
  assert.match(domus('driver-domain', 'list'), /^dd0 +running +1 .*dd\.qcow2$/m);
  const after = await vm.run(
    [
      'echo 3 >/proc/sys/vm/drop_caches',
      'dd if=/dev/vda of=/dev/null bs=4096 count=8 skip=3000 iflag=direct 2>/dev/null && echo READ-OK',
      'sha256sum /mnt/before.bin',
      'seq 1 100000 >/mnt/after.txt',
      'sync',
      'umount /mnt && echo UMOUNT-OK',
    ].join('; '),
    120_000,
  );
  assert.match(after, /^READ-OK$/m, after);
  assert.equal(shaOf(after, '/mnt/before.bin'), before, 'the file written before the kill reads back intact');
  assert.match(after, /^UMOUNT-OK$/m, after);

  // Saved and restored, the domain's disk goes back to the driver domain its configuration names.
  const saveFile = join(host.runDir, 'dd.save');
  domus('save', 'dd-guest', saveFile);
  domus('restore', saveFile);
  assert.match(domus('driver-domain', 'list'), /^dd0 +running +1 .*dd\.qcow2$/m);
  const restored = await vm.run(
    'dd if=/dev/vda of=/dev/null bs=4096 count=8 skip=3000 iflag=direct 2>/dev/null && echo READ-AGAIN-OK',
  );
  assert.match(restored, /^READ-AGAIN-OK$/m, restored);

  const r = host.domus(['destroy', 'dd-guest']);
  assert.equal(r.status, 0, r.stderr);
  // The guest is gone: the driver domain lets the image go (lock released) and it can be checked.
  let check = tool('qemu-img', 'check', image);
  for (let i = 0; i < 50 && check.status !== 0; i++) {
    await new Promise((res) => setTimeout(res, 100));
    check = tool('qemu-img', 'check', image);
  }
  assert.equal(check.status, 0, `qemu-img check: ${check.out}`);
  assert.match(check.out, /No errors were found on the image/);

  const raw = join(host.runDir, 'dd.raw');
  assert.equal(tool('qemu-img', 'convert', '-O', 'raw', image, raw).status, 0);
  const fsck = tool('e2fsck', '-fn', raw);
  assert.equal(fsck.status, 0, `e2fsck -fn reports problems:\n${fsck.out}`);
  const out = join(host.runDir, 'before.bin');
  assert.equal(tool('debugfs', '-R', `dump /before.bin ${out}`, raw).status, 0);
  assert.equal(sha256(readFileSync(out)), before, 'before.bin as the host reads it');
  let seq = '';
  for (let i = 1; i <= 100_000; i++) seq += `${i}\n`;
  assert.equal(tool('debugfs', '-R', `dump /after.txt ${out}`, raw).status, 0);
  assert.equal(readFileSync(out, 'utf8'), seq, 'after.txt, written after the restart, as the host reads it');
});
