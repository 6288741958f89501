import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../common/errors.ts';
import { parseVifSpec, randomXenMac, type XlVif } from './xlcfg_vif.ts';

function vif(spec: string, index = 0): { v: XlVif; warnings: string[] } {
  const warnings: string[] = [];
  return { v: parseVifSpec(spec, { where: 'vm.cfg:12', index, warnings }), warnings };
}

function refuses(spec: string, message: string): void {
  assert.throws(
    () => vif(spec),
    (e: unknown) => {
      assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
      assert.equal(e.message, `vm.cfg:12: vif '${spec}' ${message}`);
      return true;
    },
  );
}

test('the empty spec gives xl defaults: bridge xenbr0, devid = index, no MAC yet', () => {
  const { v, warnings } = vif('', 3);
  assert.deepEqual(v, { where: 'vm.cfg:12', devid: 3, bridge: 'xenbr0', type: 'vif' });
  assert.deepEqual(warnings, []);
});

test('the documented keys are read and normalised', () => {
  const { v, warnings } = vif(
    'mac=00:16:3E:74:3d:76, bridge=xenbr1,ip=10.0.0.2 fd00::2/64,vifname=web1-eth0,rate=1MB/s@20ms,mtu=9000,vlan=10p/100+10x4,backend=netdom,gatewaydev=eth0,devid=7,trusted',
  );
  assert.equal(v.mac, '00:16:3e:74:3d:76');
  assert.equal(v.bridge, 'xenbr1');
  assert.equal(v.ip, '10.0.0.2 fd00::2/64');
  assert.equal(v.vifname, 'web1-eth0');
  assert.deepEqual(v.rate, { bytesPerInterval: 20000, intervalUsecs: 20000 });
  assert.equal(v.mtu, 9000);
  assert.equal(v.vlan, '10p/100+10x4');
  assert.equal(v.backend, 'netdom');
  assert.equal(v.gatewaydev, 'eth0');
  assert.equal(v.devid, 7);
  assert.equal(v.trusted, true);
  assert.deepEqual(warnings, []);
});

test('rates follow xl: bytes or bits per second, default 50 ms interval', () => {
  assert.deepEqual(vif('rate=10Mb/s').v.rate, { bytesPerInterval: 62500, intervalUsecs: 50000 });
  assert.deepEqual(vif('rate=250KB/s').v.rate, { bytesPerInterval: 12500, intervalUsecs: 50000 });
  assert.deepEqual(vif('rate=1GB/s@1s').v.rate, { bytesPerInterval: 1e9, intervalUsecs: 1e6 });
  assert.deepEqual(vif('rate=8b/s@500us').v.rate, { bytesPerInterval: 0, intervalUsecs: 500 });
});

test('HVM-only and script keys are kept with a warning; unknown keys warn as in xl', () => {
  const { v, warnings } = vif(
    'model=e1000,type=ioemu,script=vif-bridge,netdev=eth1,speed=fast,accel=x,bogus',
  );
  assert.equal(v.model, 'e1000');
  assert.equal(v.type, 'ioemu');
  assert.equal(v.script, 'vif-bridge');
  assert.equal(v.gatewaydev, 'eth1');
  const p = "vm.cfg:12: vif 'model=e1000,type=ioemu,script=vif-bridge,netdev=eth1,speed=fast,accel=x,bogus'";
  assert.deepEqual(warnings, [
    `${p} sets model=e1000, which is ignored: Domus guests always see a virtio-net device`,
    `${p} sets type=ioemu, which Domus treats as type=vif: there are no emulated NICs`,
    `${p} names the hotplug script "vif-bridge", which is ignored: Domus joins the switch named by bridge= itself`,
    `${p} uses netdev=, which is deprecated; write gatewaydev=`,
    `${p} has unknown key "speed", which is ignored`,
    `${p} sets accel=, which is not supported (xl ignores it too)`,
    `${p} has unknown flag "bogus", which is ignored`,
  ]);
});

test('randomXenMac stays in Xen OUI 00:16:3e', () => {
  assert.equal(
    randomXenMac((d) => d.set([0xab, 0x01, 0xff])),
    '00:16:3e:ab:01:ff',
  );
});

test('each bad vif value gives one sentence with the fix', () => {
  refuses('mac=00:16:3e:74:3d', 'has mac "00:16:3e:74:3d"; write six hex bytes like mac=00:16:3e:12:34:56');
  refuses(
    'mac=01:16:3e:74:3d:76',
    'has mac "01:16:3e:74:3d:76", a multicast address; clear the low bit of the first byte, e.g. 00:16:3e:…',
  );
  refuses('bridge=', 'has an empty bridge; name the virtual switch, e.g. bridge=xenbr0');
  refuses('ip=10.0.0.300', 'has ip "10.0.0.300", which is not an IP address; write e.g. ip=10.0.0.2');
  refuses(
    'vifname=much-too-long-a-name',
    'has vifname "much-too-long-a-name"; use 1 to 15 letters, digits, "_", "-", "." or ":"',
  );
  refuses('rate=fast', 'has rate "fast"; write e.g. rate=10Mb/s or rate=1MB/s@20ms');
  refuses('rate=0MB/s', 'has rate "0MB/s", which is out of range; give 1 to 4294967295 per second');
  refuses('rate=1MB/s@soon', 'has rate interval "soon"; write e.g. @20ms, @500us or @1s');
  refuses('rate=1MB/s@0ms', 'has rate interval "0ms", which is out of range');
  refuses('type=e1000', 'has type "e1000"; write type=vif or drop it');
  refuses('mtu=20', 'has mtu=20; give a whole number from 68 to 65535');
  refuses('devid=-1', 'has devid=-1; give a whole number from 0 to 65535');
  refuses('vlan=5000', 'has vlan "5000"; write VLAN ids 1-4094 like vlan=10p/20 or vlan=100-110');
  refuses('vlan=20-10', 'has vlan "20-10"; write VLAN ids 1-4094 like vlan=10p/20 or vlan=100-110');
  refuses(
    'colo_sock_mirror_id=1',
    'sets colo_sock_mirror_id, a COLO parameter; Domus does not implement COLO, drop it',
  );
});
