import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { FrameBatcher, isNetFrames, type NetFrames } from './frame_batch.ts';

const tick = () => new Promise((r) => setImmediate(r));

function frame(n: number, fill: number): Uint8Array {
  return new Uint8Array(n).fill(fill);
}

test('frames queued in one turn leave as one message, in order, with their ids', async () => {
  const posted: NetFrames[] = [];
  const b = new FrameBatcher((m) => posted.push(m));
  b.push(1, 0, frame(60, 1));
  b.push(2, 1, frame(61, 2));
  b.push(1, 0, frame(62, 3));
  assert.equal(b.pending, 3);
  assert.equal(posted.length, 0, 'nothing leaves before the microtask');
  await tick();
  assert.equal(posted.length, 1);
  const m = posted[0]!;
  assert.ok(isNetFrames(m));
  assert.deepEqual(m.domids, [1, 2, 1]);
  assert.deepEqual(m.devids, [0, 1, 0]);
  assert.deepEqual(
    m.frames.map((f) => [f.length, f[0]]),
    [
      [60, 1],
      [61, 2],
      [62, 3],
    ],
  );
  assert.equal(b.pending, 0);
  // The next frame starts a new batch.
  b.push(3, 0, frame(60, 4));
  await tick();
  assert.equal(posted.length, 2);
  assert.deepEqual(posted[1]!.domids, [3]);
});

test('flush posts at once; an empty batcher posts nothing', async () => {
  const posted: NetFrames[] = [];
  const b = new FrameBatcher((m) => posted.push(m));
  b.flush();
  assert.equal(posted.length, 0);
  b.push(1, 0, frame(60, 1));
  b.flush();
  assert.equal(posted.length, 1);
  await tick();
  assert.equal(posted.length, 1, 'the microtask finds nothing left');
});

test('whole buffers are transferred; views into a larger buffer are copied', async () => {
  const ch = new MessageChannel();
  const got = new Promise<NetFrames>((resolve) => (ch.port2 as MessagePort).once('message', resolve));
  const b = new FrameBatcher((m, transfer) => ch.port1.postMessage(m, transfer));
  const own = frame(100, 7);
  const big = new Uint8Array(4096).fill(9);
  const view = big.subarray(100, 200);
  b.push(1, 0, own);
  b.push(1, 0, view);
  b.flush();
  assert.equal(own.byteLength, 0, 'the owned frame was transferred (detached here)');
  assert.equal(big.byteLength, 4096, 'the larger buffer stays');
  const m = await got;
  assert.deepEqual([...m.frames[0]!].slice(0, 3), [7, 7, 7]);
  assert.equal(m.frames[1]!.length, 100);
  assert.equal(m.frames[1]![0], 9);
  ch.port1.close();
});

test('isNetFrames tells batches from other messages', () => {
  assert.equal(isNetFrames({ t: 'net-frames', domids: [], devids: [], frames: [] }), true);
  assert.equal(isNetFrames({ t: 'console', domid: 1 }), false);
  assert.equal(isNetFrames(null), false);
  assert.equal(isNetFrames('net-frames'), false);
});
