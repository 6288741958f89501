/**
 * Entry module of a driver domain's thread (started by driver_domain.ts): the disk backends.
 *
 * It opens the images the toolstack attaches (raw or qcow2, without taking the image lock: the
 * toolstack holds it for the driver domain, so that a driver domain that dies does not leave a
 * lock that looks alive) and serves their block channels (driver_channel.ts). It never holds a
 * guest's memory: only each channel's data area, into which the guest's side copies a request's
 * bytes. The doorbell wakes it (Atomics.waitAsync, so messages from the toolstack still arrive);
 * on each ring it answers every channel whose REQ is ahead of its RSP.
 *
 * A request that fails (an I/O error, an image that refuses a write) is answered with STATUS 1
 * and logged to the toolstack; the guest sees VIRTIO_BLK_S_IOERR. The bundle builds this module
 * as dist/driver_domain_worker.mjs.
 */
import { UserError } from '../common/errors.ts';
import type { BlockFile } from '../platform/node/block_file.ts';
import { openDiskImage } from '../platform/node/disk_image.ts';
import { parentLink } from '../platform/node/worker.ts';
import {
  BlockChannel,
  CH_LEN,
  CH_OP,
  CH_REQ,
  CH_RSP,
  CH_STATE,
  CH_STATUS,
  OP_FLUSH,
  OP_READ,
  OP_WRITE,
} from './driver_channel.ts';
import type { FromDriverDomain, ToDriverDomain } from './driver_domain.ts';

interface Served {
  ch: BlockChannel;
  file: BlockFile;
  path: string;
}

type WaitAsync = (
  a: Int32Array,
  index: number,
  value: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };

const p = parentLink();
if (!p) throw new Error('driver_domain_worker.ts runs only as a driver domain started by the toolstack');
const { link } = p;
const { doorbell } = p.data as { doorbell: SharedArrayBuffer };
const bell = new Int32Array(doorbell);
const served = new Map<number, Served>();
const post = (m: FromDriverDomain): void => link.post(m);

link.onMessage((raw) => {
  const m = raw as ToDriverDomain;
  if (m.t === 'attach') {
    try {
      const file = openDiskImage(m.path, {
        readOnly: m.readOnly,
        lock: false,
        ...(m.format !== undefined && { format: m.format }),
      });
      const ch = new BlockChannel(m.channel);
      // Whatever a dead predecessor left unanswered was already failed on the guest's side.
      Atomics.store(ch.h, CH_RSP, Atomics.load(ch.h, CH_REQ));
      served.set(m.id, { ch, file, path: m.path });
      Atomics.store(ch.h, CH_STATE, 1);
      post({ t: 'attached', id: m.id, sizeBytes: file.sizeBytes, fds: [...(file.fds ?? [])] });
    } catch (e) {
      post({ t: 'failed', id: m.id, message: errorMessage(e), user: e instanceof UserError });
    }
  } else if (m.t === 'detach') {
    const s = served.get(m.id);
    served.delete(m.id);
    let message: string | undefined;
    if (s) {
      s.ch.down();
      try {
        s.file.flush();
      } catch (e) {
        message = errorMessage(e);
      }
      s.file.close();
    }
    post(
      message === undefined ? { t: 'detached', id: m.id } : { t: 'failed', id: m.id, message, user: false },
    );
  }
});

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function answer(s: Served): void {
  const h = s.ch.h;
  const req = Atomics.load(h, CH_REQ);
  if (req === Atomics.load(h, CH_RSP)) return;
  const len = h[CH_LEN]!;
  let ok = true;
  try {
    switch (h[CH_OP]) {
      case OP_READ:
        s.file.read(s.ch.offset, s.ch.data.subarray(0, len));
        break;
      case OP_WRITE:
        s.file.write(s.ch.offset, s.ch.data.subarray(0, len));
        break;
      case OP_FLUSH:
        s.file.flush();
        break;
      default:
        throw new Error(`unknown operation ${h[CH_OP]}`);
    }
  } catch (e) {
    ok = false;
    post({ t: 'log', line: `${s.path}: ${errorMessage(e)}` });
  }
  h[CH_STATUS] = ok ? 0 : 1;
  Atomics.store(h, CH_RSP, req);
  Atomics.notify(h, CH_RSP);
}

async function serve(): Promise<never> {
  const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
  for (;;) {
    const seen = Atomics.load(bell, 0);
    for (const s of served.values()) answer(s);
    const w = waitAsync(bell, 0, seen);
    if (w.async) await w.value;
  }
}

post({ t: 'ready' });
void serve();
