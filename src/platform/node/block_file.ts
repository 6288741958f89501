/**
 * A raw disk image file as a block backend for virtio-blk (Node.js).
 *
 * Reads and writes go straight to the file at their offset (pread/pwrite, no cache of our
 * own); `flush()` is fsync, so a guest's FLUSH means the data is on disk. Errors a user can
 * meet on open are one `UserError` sentence naming the file and the fix: a missing file, a
 * file that is not a regular file, a size that is not a multiple of 512, a read-write attach of
 * a file we may not write, and a file that another Domus process is using.
 *
 * "In use" is an advisory lock: a read-write attach creates `<path>.lock` with O_EXCL, holding
 * its pid, and `close()` removes it; a lock whose pid no longer runs is stale and is taken
 * over. A read-only attach takes no lock, so several domains may share one read-only image,
 * but it is refused while a live process holds the lock (it would read a disk being written).
 *
 * The returned object has the shape of `BlockBackend` (src/machine/virtio/blk.ts); platform/
 * may not import machine/, so the type is restated here and TypeScript matches it by shape.
 */
import { closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { UserError, isErrnoError } from '../../common/errors.ts';
import { takeImageLock } from './image_lock.ts';

const SECTOR_BYTES = 512;

export interface BlockFile {
  readonly sizeBytes: number;
  readonly readOnly: boolean;
  read(offset: number, dst: Uint8Array): void;
  write(offset: number, src: Uint8Array): void;
  flush(): void;
  /** Closes the file and removes the lock; harmless to call twice. */
  close(): void;
  /** The host file descriptors it holds (a driver domain's toolstack closes them if its thread dies). */
  readonly fds?: readonly number[];
}

/** `lock: false`: the caller holds the image lock (a toolstack, for the driver domain that opens it). */
export function openBlockFile(path: string, opts: { readOnly: boolean; lock?: boolean }): BlockFile {
  let fd: number;
  try {
    fd = openSync(path, opts.readOnly ? 'r' : 'r+');
  } catch (e) {
    if (isErrnoError(e) && e.code === 'ENOENT') {
      throw new UserError(
        `disk image ${path} does not exist; check the path or create it with truncate -s SIZE`,
      );
    }
    if (isErrnoError(e) && e.code === 'EISDIR') {
      throw new UserError(`disk image ${path} is not a regular file; pass a raw image file`);
    }
    if (isErrnoError(e) && (e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'EROFS')) {
      throw new UserError(
        opts.readOnly
          ? `disk image ${path} is not readable; fix its permissions`
          : `disk image ${path} is read-only; attach it with ,ro or make it writable`,
      );
    }
    throw e;
  }
  const st = fstatSync(fd);
  const refuse = (message: string): never => {
    closeSync(fd);
    throw new UserError(message);
  };
  if (!st.isFile()) refuse(`disk image ${path} is not a regular file; pass a raw image file`);
  const sizeBytes = st.size;
  if (sizeBytes % SECTOR_BYTES !== 0) {
    refuse(
      `disk image ${path} is ${sizeBytes} bytes, not a multiple of ${SECTOR_BYTES}; ` +
        `pad it with truncate -s ${Math.ceil(sizeBytes / SECTOR_BYTES) * SECTOR_BYTES} ${path}`,
    );
  }
  let lock: { release(): void } | null;
  try {
    lock = opts.lock === false ? null : takeImageLock(path, opts.readOnly);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  let open = true;

  const checkRange = (offset: number, n: number) => {
    if (!open) throw new Error(`disk image ${path} is closed`);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + n > sizeBytes) {
      throw new RangeError(`disk image ${path}: ${n} bytes at ${offset} are outside its ${sizeBytes} bytes`);
    }
  };

  return {
    sizeBytes,
    readOnly: opts.readOnly,
    fds: [fd],
    read(offset, dst) {
      checkRange(offset, dst.length);
      for (let done = 0; done < dst.length;) {
        const n = readSync(fd, dst, done, dst.length - done, offset + done);
        if (n === 0) {
          // The file shrank under us; what is gone reads as zeros, as past the end of a sparse file.
          dst.fill(0, done);
          return;
        }
        done += n;
      }
    },
    write(offset, src) {
      checkRange(offset, src.length);
      if (opts.readOnly) throw new Error(`disk image ${path} is attached read-only`);
      for (let done = 0; done < src.length;)
        done += writeSync(fd, src, done, src.length - done, offset + done);
    },
    flush() {
      if (!open) throw new Error(`disk image ${path} is closed`);
      fsyncSync(fd);
    },
    close() {
      if (!open) return;
      open = false;
      closeSync(fd);
      lock?.release();
    },
  };
}
