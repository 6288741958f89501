/**
 * The host file under a qcow2 image: positioned reads and writes on one descriptor, its size as
 * it grows, fsync, and the same advisory `<path>.lock` protocol as block_file.ts.
 *
 * Unlike a raw `BlockFile`, a qcow2 file grows (new clusters are appended) and may end inside its
 * last cluster (compressed data), so reads past the end of the file return zeros and writes may
 * extend it. Nothing here knows the qcow2 format.
 *
 * The lock is restated from block_file.ts (which does not export it) so that a raw attach and a
 * qcow2 attach of the same file exclude each other: a read-write open creates `<path>.lock` with
 * O_EXCL holding our pid and `close()` removes it; a lock whose pid no longer runs is stale and
 * taken over; a read-only open takes no lock but is refused while a live process holds one.
 */
import { closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync, writevSync } from 'node:fs';
import { UserError, isErrnoError } from '../../common/errors.ts';
import { takeImageLock } from './image_lock.ts';

export class ImageFile {
  readonly path: string;
  readonly readOnly: boolean;
  /** Bytes in the file, kept up to date as writes extend it. */
  sizeBytes: number;
  private fd: number;
  private lock: { release(): void } | null = null;

  /**
   * Opens `path`; throws one `UserError` sentence for the failures a user can meet. `lock: false`:
   * the caller holds the image lock.
   */
  constructor(path: string, readOnly: boolean, lock = true) {
    this.path = path;
    this.readOnly = readOnly;
    try {
      this.fd = openSync(path, readOnly ? 'r' : 'r+');
    } catch (e) {
      if (isErrnoError(e) && e.code === 'ENOENT') {
        throw new UserError(
          `disk image ${path} does not exist; check the path or create it with qemu-img create -f qcow2`,
        );
      }
      if (isErrnoError(e) && e.code === 'EISDIR') {
        throw new UserError(`disk image ${path} is not a regular file; pass a disk image file`);
      }
      if (isErrnoError(e) && (e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'EROFS')) {
        throw new UserError(
          readOnly
            ? `disk image ${path} is not readable; fix its permissions`
            : `disk image ${path} is read-only; attach it with ,ro or make it writable`,
        );
      }
      throw e;
    }
    const st = fstatSync(this.fd);
    if (!st.isFile()) {
      closeSync(this.fd);
      throw new UserError(`disk image ${path} is not a regular file; pass a disk image file`);
    }
    this.sizeBytes = st.size;
    try {
      this.lock = lock ? takeImageLock(path, readOnly) : null;
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
  }

  /** The file descriptor (-1 once closed). */
  get descriptor(): number {
    return this.fd;
  }

  /** Fills `dst` from `offset`; what lies past the end of the file reads as zeros. */
  read(offset: number, dst: Uint8Array): void {
    for (let done = 0; done < dst.length;) {
      const n = readSync(this.fd, dst, done, dst.length - done, offset + done);
      if (n === 0) {
        dst.fill(0, done);
        return;
      }
      done += n;
    }
  }

  write(offset: number, src: Uint8Array): void {
    if (this.readOnly) throw new Error(`disk image ${this.path} is attached read-only`);
    for (let done = 0; done < src.length;)
      done += writeSync(this.fd, src, done, src.length - done, offset + done);
    if (offset + src.length > this.sizeBytes) this.sizeBytes = offset + src.length;
  }

  /** Writes `parts` back to back from `offset`, in one system call when the kernel takes them all. */
  writeParts(offset: number, parts: Uint8Array[]): void {
    if (this.readOnly) throw new Error(`disk image ${this.path} is attached read-only`);
    let written = writevSync(this.fd, parts, offset);
    let at = offset;
    for (const p of parts) {
      if (written >= p.length) {
        written -= p.length;
      } else {
        for (let k = written; k < p.length;) k += writeSync(this.fd, p, k, p.length - k, at + k);
        written = 0;
      }
      at += p.length;
    }
    if (at > this.sizeBytes) this.sizeBytes = at;
  }

  flush(): void {
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
    this.lock?.release();
    this.lock = null;
  }
}
