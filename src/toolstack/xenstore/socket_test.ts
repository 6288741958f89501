import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { XsClient } from './client.ts';
import { XsSocketServer } from './socket.ts';
import { XsError } from './wire.ts';
import { Xenstored } from './xenstored.ts';

async function withServer(body: (c: XsClient, path: string, xsd: Xenstored) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'domus-xs-'));
  const path = join(dir, 'socket');
  const xsd = new Xenstored();
  const server = await XsSocketServer.listen(xsd, path);
  const c = await XsClient.connect(path);
  try {
    await body(c, path, xsd);
  } finally {
    c.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('socket round trip through the client: read, write, mkdir, rm, directory, perms', async () => {
  await withServer(async (c) => {
    await c.write('/vm/1/name', 'guest');
    assert.equal(await c.read('/vm/1/name'), 'guest');
    await c.mkdir('/vm/1/device');
    assert.deepEqual(await c.directory('/vm/1'), ['name', 'device']);
    await c.setPerms('/vm/1', ['n1', 'r2']);
    assert.deepEqual(await c.getPerms('/vm/1'), ['n1', 'r2']);
    await c.rm('/vm/1/device');
    assert.deepEqual(await c.directory('/vm/1'), ['name']);
    await assert.rejects(c.read('/vm/2'), (e) => e instanceof XsError && e.errno === 'ENOENT');
    // Requests in flight together are matched by req_id.
    const rs = await Promise.all([c.read('/vm/1/name'), c.directory('/vm'), c.getDomainPath(4)]);
    assert.deepEqual(rs, ['guest', ['1'], '/local/domain/4']);
  });
});

test('socket: watches call back, transactions retry on EAGAIN, introduce/release', async () => {
  await withServer(async (c, path) => {
    const other = await XsClient.connect(path);
    try {
      const seen: string[] = [];
      await c.watch('/w', 'tok', async (p, t) => {
        await new Promise((r) => setTimeout(r, 1));
        seen.push(`${p} ${t}`);
      });
      await other.write('/w/x', '1');
      await c.read('/w/x'); // the event was sent before this reply
      await c.settled();
      assert.deepEqual(seen, ['/w tok', '/w/x tok']);
      await c.unwatch('/w', 'tok');

      await c.write('/counter', '0');
      let attempts = 0;
      await c.transaction(async (tx) => {
        attempts++;
        const v = Number(await c.read('/counter', tx));
        if (attempts === 1) await other.write('/counter', '10'); // a conflicting write
        await c.write('/counter', String(v + 1), tx);
      });
      assert.equal(attempts, 2);
      assert.equal(await c.read('/counter'), '11');

      const events: string[] = [];
      await c.watch('@introduceDomain', 'i', (p) => {
        events.push(p);
      });
      await c.introduce(3, 1234, 7);
      assert.equal(await c.isDomainIntroduced(3), true);
      await c.release(3);
      assert.equal(await c.isDomainIntroduced(3), false);
      await c.settled();
      assert.deepEqual(events, ['@introduceDomain', '@introduceDomain']);
    } finally {
      other.close();
    }
  });
});

test('socket: an oversized message disconnects the client', async () => {
  await withServer(async (c, path) => {
    const bad = await XsClient.connect(path);
    const h = new Uint8Array(16);
    new DataView(h.buffer).setUint32(12, 1 << 20, true);
    (bad as unknown as { send: (b: Uint8Array) => void }).send(h);
    await assert.rejects(bad.read('/'), /closed/);
    assert.equal(await c.read('/'), '', 'other clients carry on');
  });
});
