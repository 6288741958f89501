import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../common/errors.ts';
import { parseDiskSpec, type XlDisk } from './xlcfg_disk.ts';

const ctx = { where: 'vm.cfg:9', baseDir: '/etc/xen' };
const disk = (spec: string): XlDisk => parseDiskSpec(spec, ctx);
const brief = (d: XlDisk): string =>
  `${d.target}|${d.format}|${d.vdev}|${d.readonly ? 'ro' : 'rw'}|${d.devtype}`;

function refuses(spec: string, message: string): void {
  assert.throws(
    () => disk(spec),
    (e: unknown) => {
      assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
      assert.equal(e.message, `vm.cfg:9: disk '${spec}' ${message}`);
      return true;
    },
  );
}

test('the equivalent forms of xl-disk-configuration give the same disk', () => {
  const forms = [
    '/dev/vg/guest-volume,,hda',
    '/dev/vg/guest-volume,raw,hda,rw',
    'format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume',
    'raw:/dev/vg/guest-volume,hda,w',
  ];
  for (const f of forms) assert.equal(brief(disk(f)), '/dev/vg/guest-volume|raw|hda|rw|disk', f);
});

test('the equivalent cdrom forms give the same read-only cdrom', () => {
  const forms = [
    '/root/image.iso,,hdc,cdrom',
    '/root/image.iso,,hdc,,cdrom',
    '/root/image.iso,raw,hdc,devtype=cdrom',
    'format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/root/image.iso',
    'raw:/root/image.iso,hdc:cdrom,ro',
  ];
  for (const f of forms) assert.equal(brief(disk(f)), '/root/image.iso|raw|hdc|ro|cdrom', f);
});

test('qcow2 in both styles; access r/ro/w/rw; relative targets resolve against the config directory', () => {
  assert.equal(
    brief(disk('format=qcow2, vdev=xvda, access=rw, target=/vm/a.qcow2')),
    '/vm/a.qcow2|qcow2|xvda|rw|disk',
  );
  assert.equal(brief(disk('/vm/a.qcow2,qcow2,xvda,r')), '/vm/a.qcow2|qcow2|xvda|ro|disk');
  assert.equal(brief(disk('qcow2:images/a.qcow2,xvdb,w')), '/etc/xen/images/a.qcow2|qcow2|xvdb|rw|disk');
  assert.equal(brief(disk('a.img,,sda')), '/etc/xen/a.img|raw|sda|rw|disk');
});

test('target= swallows the rest of the spec, commas included', () => {
  const d = disk('vdev=xvda, target=/vm/odd,name.img');
  assert.equal(d.target, '/vm/odd,name.img');
});

test('deprecated prefixes are stripped; phy: puts a bare device name under /dev', () => {
  assert.equal(brief(disk('phy:/dev/vg0/root,xvda,w')), '/dev/vg0/root|raw|xvda|rw|disk');
  assert.equal(brief(disk('phy:sdb,xvdb,r')), '/dev/sdb|raw|xvdb|ro|disk');
  assert.equal(brief(disk('tap:aio:/vm/a.img,xvda,w')), '/vm/a.img|raw|xvda|rw|disk');
  assert.equal(brief(disk('file:/vm/a.img,xvda,w')), '/vm/a.img|raw|xvda|rw|disk');
  assert.equal(disk('/dev/sdc,raw,xvdc,backendtype=phy').backendtype, 'phy');
});

test('flags and keyed options are kept', () => {
  const d = disk(
    '/vm/a.img,raw,xvda,rw,backendtype=qdisk,backend=driverdom,specification=virtio,no-discard,direct-io-safe,untrusted',
  );
  assert.equal(d.backendtype, 'qdisk');
  assert.equal(d.backend, 'driverdom');
  assert.equal(d.specification, 'virtio');
  assert.equal(d.discard, false);
  assert.equal(d.directIoSafe, true);
  assert.equal(d.trusted, false);
  assert.equal(d.where, 'vm.cfg:9');
});

test('each refused or malformed disk spec gives one sentence with the fix', () => {
  refuses(
    '/vm/a.vhd,vhd,xvda',
    'has format vhd, which Domus cannot read; convert it with qemu-img convert -O qcow2 and use format=qcow2',
  );
  refuses('/vm/a.img,vmdk,xvda', 'has unknown format "vmdk"; write format=raw or format=qcow2');
  refuses('/vm/a.img,raw', 'has no vdev; add the guest device name, e.g. vdev=xvda');
  refuses(
    '/vm/a.img,raw,floppy0',
    'has vdev "floppy0", which is not a Xen virtual disk name; write e.g. xvda, hdc or sdb',
  );
  refuses(
    ',,hdc,cdrom',
    'is an empty cdrom drive; Domus has no removable media, so give the ISO image as target',
  );
  refuses(
    ',hdc:cdrom,r',
    'is an empty cdrom drive; Domus has no removable media, so give the ISO image as target',
  );
  refuses('vdev=xvda', 'has no target; give the image path first or as target=/path/to/image');
  refuses('/vm/a.img,raw,xvda,rx', 'has unknown access "rx"; write access=ro or access=rw');
  refuses(
    '/vm/a.img,raw,xvda,rw,extra',
    'has too many positional parameters at "extra"; the order is target,format,vdev,access',
  );
  refuses('/vm/a.img,raw,xvda,vdev=xvdb', 'gives vdev twice; give it once');
  refuses('/vm/a.img,raw,xvda,format=qcow2', 'gives format twice (raw and qcow2); give it once');
  refuses(
    '/vm/a.img,raw,xvda,cache=none',
    'has unknown parameter "cache"; see docs/xlcfg.md for the disk keys',
  );
  refuses(
    '/vm/a.img,raw,xvda,script=block-iscsi',
    'names the hotplug script "block-iscsi"; Domus runs no host scripts, so give an image file or block device path',
  );
  refuses(
    'iscsi:iqn.2001-05.com.example:disk,xvda,w',
    'uses the iscsi: prefix, which runs the block-iscsi hotplug script; Domus runs no host scripts, so give an image file or block device path',
  );
  refuses('weird:/vm/a.img,xvda,w', 'has unknown prefix "weird:"; drop it and write the path alone');
  refuses(
    '/vm/a.img,raw,xvda,colo',
    'asks for COLO replication, which Domus does not implement; drop "colo"',
  );
  refuses(
    '/vm/a.img,raw,xvda,colo-host=10.0.0.1',
    'sets colo-host, a COLO parameter; Domus does not implement COLO, drop it',
  );
  refuses(
    '/vm/a.qcow2,qcow2,xvda,backendtype=phy',
    'uses backendtype=phy with format qcow2; phy serves raw devices only, drop backendtype',
  );
  refuses(
    '/vm/a.img,raw,xvda,backendtype=nbd',
    'has unknown backendtype "nbd"; write backendtype=phy, tap, qdisk or standalone, or drop it',
  );
  refuses(
    '/vm/a.iso,raw,hdc,rw,cdrom',
    'is a cdrom opened read-write; a cdrom is read-only, drop the access',
  );
  refuses(
    '/vm/a.img,raw,xvda,devtype=floppy',
    'has unknown devtype "floppy"; write devtype=cdrom or drop it',
  );
  refuses('/vm/a.img,raw,hdc:tape', 'has unknown device type "tape"; write devtype=cdrom');
  refuses(
    '/vm/a=b.img,raw,xvda',
    'has "/vm/a=b.img", which is neither key=value nor a path; use target=… for paths with "=" or ","',
  );
});
