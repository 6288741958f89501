/**
 * Opens a disk image file as a block backend, raw or qcow2, by name or by probing.
 *
 * `openDiskImage(path, { readOnly, format })` returns the `BlockFile` shape (block_file.ts) for a
 * raw image (block_file.ts) or a qcow2 image (qcow2.ts). Without `format` the first four bytes
 * decide, as QEMU does: the qcow2 magic ("QFI\xfb") means qcow2, anything else means raw.
 *
 * Two guards protect the host from a guest, and qcow2 metadata from a mistaken format:
 *  - a probed raw image may not be written so that it starts with the qcow2 magic: otherwise a
 *    guest could turn its disk into a qcow2 header naming any host file as its backing file,
 *    which the next probe would open (QEMU restricts writes to block 0 of a probed raw image for
 *    the same reason). Such a write fails (virtio-blk answers VIRTIO_BLK_S_IOERR).
 *  - `format: 'raw'` on a file that starts with the qcow2 magic is honoured read-only (the guest
 *    sees the container bytes, which is harmless), but refused read-write. QEMU allows both; we
 *    do not, because xl.cfg's disk `format=` defaults to raw, so a qcow2 image attached without a
 *    format would otherwise have its metadata overwritten by the guest's first write.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { UserError } from '../../common/errors.ts';
import { type BlockFile, openBlockFile } from './block_file.ts';
import { openQcow2 } from './qcow2.ts';
import { QCOW_MAGIC } from './qcow2_format.ts';

export type DiskFormat = 'raw' | 'qcow2';

/** `lock: false`: the caller holds the image lock (block_file.ts), e.g. for a driver domain. */
export function openDiskImage(
  path: string,
  opts: { readOnly: boolean; format?: DiskFormat; lock?: boolean },
): BlockFile {
  const qcow2Magic = startsWithQcow2Magic(path);
  const lock = opts.lock ?? true;
  if (opts.format === 'qcow2' || (opts.format === undefined && qcow2Magic)) {
    return openQcow2(path, { readOnly: opts.readOnly, lock });
  }
  if (qcow2Magic && !opts.readOnly) {
    throw new UserError(
      `disk image ${path} is a qcow2 image attached as raw read-write, which would let the guest overwrite ` +
        `its qcow2 metadata; attach it as qcow2 (or without a format) or add ,ro`,
    );
  }
  const raw = openBlockFile(path, { readOnly: opts.readOnly, lock });
  return opts.format === undefined && !opts.readOnly ? guardProbedRaw(raw) : raw;
}

/** Whether the file starts with the qcow2 magic; false when it cannot be read (the open says why). */
function startsWithQcow2Magic(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const b = new Uint8Array(4);
    return readSync(fd, b, 0, 4, 0) === 4 && new DataView(b.buffer).getUint32(0) === QCOW_MAGIC;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/** A probed raw image whose writes may not make it start with the qcow2 magic. */
function guardProbedRaw(raw: BlockFile): BlockFile {
  return {
    get sizeBytes() {
      return raw.sizeBytes;
    },
    get readOnly() {
      return raw.readOnly;
    },
    get fds() {
      return raw.fds ?? [];
    },
    read: (offset, dst) => raw.read(offset, dst),
    write(offset, src) {
      if (offset < 4 && raw.sizeBytes >= 4) {
        const head = new Uint8Array(4);
        raw.read(0, head);
        head.set(src.subarray(0, 4 - offset), offset);
        if (new DataView(head.buffer).getUint32(0) === QCOW_MAGIC) {
          throw new Error(
            'disk image: refusing a write that would make a probed raw image start with the qcow2 magic',
          );
        }
      }
      raw.write(offset, src);
    },
    flush: () => raw.flush(),
    close: () => raw.close(),
  };
}
