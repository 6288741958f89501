/**
 * Writes a file so that a reader, or the machine after a crash, sees either the whole old file or
 * the whole new one, never a mixture or a half-written file where a good one was.
 *
 * `writeFileAtomically(path, produce)` creates a temporary file beside `path` (same directory, so
 * the rename cannot cross file systems), hands `produce` a sink that writes to it, then flushes the
 * file (`fsync`), renames it over `path` and flushes the directory so that the rename itself is
 * durable. If `produce`, a write or the flush fails, the temporary file is removed and `path` is
 * untouched; the error is re-thrown as it was. (An error flushing the directory, after the
 * rename, is also re-thrown: the new file is then in place but its durability is not known.)
 *
 * Does not care what is written or how fast; does not lock `path` (two concurrent writers each
 * produce a whole file and the last rename wins). A process killed mid-way leaves a
 * `.<name>.tmp-*` file beside `path`, which is never mistaken for `path`.
 */
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { isErrnoError } from '../../common/errors.ts';

/** Where `produce` writes; `write` resolves when the bytes are in the file (the buffer may be reused). */
export interface FileSink {
  write(bytes: Uint8Array): Promise<void>;
  /** Bytes written so far. */
  readonly bytesWritten: number;
}

export interface AtomicWriteOptions {
  /** Permissions of the new file (default 0o600: a save file holds guest memory). */
  mode?: number;
}

export async function writeFileAtomically(
  path: string,
  produce: (sink: FileSink) => Promise<void>,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  const fh = await open(tmp, 'wx', options.mode ?? 0o600);
  let closed = false;
  try {
    const sink = new HandleSink(fh);
    await produce(sink);
    await fh.sync();
    await fh.close();
    closed = true;
    await rename(tmp, path);
  } catch (e) {
    if (!closed) await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
  await syncDirectory(dir);
}

class HandleSink implements FileSink {
  private written = 0;

  constructor(private readonly fh: FileHandle) {}

  get bytesWritten(): number {
    return this.written;
  }

  async write(bytes: Uint8Array): Promise<void> {
    let at = 0;
    while (at < bytes.length) {
      const { bytesWritten } = await this.fh.write(bytes, at, bytes.length - at, this.written + at);
      at += bytesWritten;
    }
    this.written += bytes.length;
  }
}

/**
 * Makes a rename in `dir` durable. Some file systems refuse `fsync` on a directory (EINVAL,
 * ENOTSUP; EISDIR or EPERM on some platforms); the rename is still atomic there, so those are ignored.
 */
async function syncDirectory(dir: string): Promise<void> {
  let dh: FileHandle | undefined;
  try {
    dh = await open(dir, 'r');
    await dh.sync();
  } catch (e) {
    if (!(isErrnoError(e) && ['EINVAL', 'ENOTSUP', 'EISDIR', 'EPERM', 'EBADF'].includes(e.code))) throw e;
  } finally {
    await dh?.close();
  }
}
