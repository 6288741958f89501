import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { UserError } from '../common/errors.ts';
import { DriverDisk } from './driver_channel.ts';
import { DriverDomain } from './driver_domain.ts';

const dir = mkdtempSync(join(tmpdir(), 'domus-dd-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const pattern = (n: number, seed: number): Uint8Array => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
};

test('a disk served by a driver domain: writes reach the image, reads come back, across a destroy and a restart', async () => {
  const path = join(dir, 'a.img');
  writeFileSync(path, new Uint8Array(4 << 20));
  const logs: string[] = [];
  const dd = await DriverDomain.start('dd0', (l) => logs.push(l));
  try {
    const { id, spec } = await dd.attach({ path, readOnly: false, format: 'raw' });
    assert.equal(spec.sizeBytes, 4 << 20);
    assert.ok(existsSync(`${path}.lock`), 'the toolstack holds the image lock for the driver domain');
    const disk = new DriverDisk(spec, false);

    // 1.5 MiB crosses the channel's 1 MiB data area.
    const data = pattern(3 << 19, 7);
    disk.write(4096, data);
    disk.flush();
    assert.deepEqual(readFileSync(path).subarray(4096, 4096 + data.length), Buffer.from(data));
    const back = new Uint8Array(data.length);
    disk.read(4096, back);
    assert.deepEqual(back, data);

    await dd.destroy();
    assert.equal(dd.info().state, 'dead');
    assert.throws(() => disk.read(0, new Uint8Array(512)), /driver domain dd0 serving this disk is down/);
    assert.throws(() => disk.write(0, new Uint8Array(512)), /is down/);
    assert.ok(
      logs.some((l) => /dd0 destroyed; its 1 disk\(s\) fail with I\/O errors/.test(l)),
      logs.join('\n'),
    );

    await dd.restart();
    assert.deepEqual(dd.info().disks, [{ path, served: true }]);
    assert.equal(dd.info().restarts, 1);
    const again = new Uint8Array(data.length);
    disk.read(4096, again);
    assert.deepEqual(again, data, 'the same channel works again after the restart');
    disk.write(0, pattern(512, 1));
    disk.flush();
    assert.deepEqual(readFileSync(path).subarray(0, 512), Buffer.from(pattern(512, 1)));

    await dd.detach(id);
    assert.ok(!existsSync(`${path}.lock`), 'detaching releases the lock');
    assert.throws(() => disk.read(0, new Uint8Array(512)), /is down/);
  } finally {
    await dd.close();
  }
});

test('a driver domain refuses an image it cannot open with the image’s own error, and one already in use', async () => {
  const dd = await DriverDomain.start('dd1', () => {});
  try {
    await assert.rejects(
      dd.attach({ path: join(dir, 'missing.img'), readOnly: false }),
      (e: unknown) => e instanceof UserError && /missing\.img does not exist/.test(e.message),
    );
    assert.ok(!existsSync(join(dir, 'missing.img.lock')), 'a failed attach leaves no lock');
    const path = join(dir, 'b.img');
    writeFileSync(path, new Uint8Array(1 << 20));
    await dd.attach({ path, readOnly: false });
    await assert.rejects(dd.attach({ path, readOnly: false }), /is in use by another Domus process/);
    await dd.destroy();
    await assert.rejects(
      dd.attach({ path: join(dir, 'c.img'), readOnly: true }),
      /is not running; start it with/,
    );
  } finally {
    await dd.close();
  }
});
