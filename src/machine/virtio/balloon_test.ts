import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VIRTIO_BALLOON_F_MUST_TELL_HOST, VIRTIO_ID_BALLOON, VirtioBalloon } from './balloon.ts';

test('virtio-balloon: config space holds num_pages (device) and actual (driver); state round-trips', () => {
  const seen: string[] = [];
  const b = new VirtioBalloon({
    inflate: (p) => seen.push(`in ${p.join(',')}`),
    deflate: (p) => seen.push(`de ${p.join(',')}`),
  });
  assert.equal(b.deviceId, VIRTIO_ID_BALLOON);
  assert.equal(b.featuresLo, 1 << VIRTIO_BALLOON_F_MUST_TELL_HOST);
  assert.deepEqual(b.queueSizes.length, 2);
  b.setTarget(0x12345);
  assert.equal(b.readConfig(0, 4), 0x12345);
  assert.equal(b.readConfig(0, 1), 0x45);
  assert.equal(b.readConfig(1, 2), 0x0123);
  assert.equal(b.readConfig(8, 4), 0, 'nothing past the config space');
  b.writeConfig(0, 4, 7); // num_pages is the device's: ignored
  assert.equal(b.readConfig(0, 4), 0x12345);
  b.writeConfig(4, 4, 300);
  assert.equal(b.balloonPages, 300);
  assert.throws(() => b.setTarget(-1), /not a page count/);

  const copy = new VirtioBalloon({ inflate() {}, deflate() {} });
  copy.restoreState(b.saveState());
  assert.equal(copy.readConfig(0, 4), 0x12345);
  assert.equal(copy.readConfig(4, 4), 300);
  assert.throws(() => copy.restoreState({ version: 1, numPages: -3, actual: 0 }), /VirtioBalloonState/);
  assert.throws(() => copy.restoreState({ version: 2, numPages: 0, actual: 0 }), /VirtioBalloonState/);
  assert.equal(copy.readConfig(0, 4), 0x12345, 'a refused state leaves the device as it was');
  b.reset();
  assert.equal(b.balloonPages, 0);
  assert.deepEqual(seen, []);
});
