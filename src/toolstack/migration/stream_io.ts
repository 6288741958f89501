/**
 * The byte sinks and sources a save/migration stream is written to and read from, so that one
 * writer and one reader serve a file, a TCP socket and an in-memory buffer (Remus checkpoints).
 *
 * Contracts:
 * - `ByteSink.write(bytes)` resolves once the sink no longer needs `bytes`: the writer reuses its
 *   buffers after that. A sink that keeps data (MemorySink) copies it. A rejected write ends the
 *   stream; the writer does not retry.
 * - `ByteSource.read()` returns the next chunk, of any non-zero size, or `null` at the end of the
 *   stream. A source never changes a chunk it has returned (the reader hands out views of them).
 *
 * Adapters here use no Node.js module: a Node `Writable` (file or socket) and any
 * `AsyncIterable<Uint8Array>` (a `Readable`, a socket, `fs.createReadStream`) fit them structurally.
 */

export interface ByteSink {
  write(bytes: Uint8Array): Promise<void>;
}

export interface ByteSource {
  read(): Promise<Uint8Array | null>;
}

/** Collects a stream in memory, e.g. one Remus checkpoint before it is sent. */
export class MemorySink implements ByteSink {
  private chunks: Uint8Array[] = [];
  private length = 0;

  write(bytes: Uint8Array): Promise<void> {
    this.chunks.push(bytes.slice());
    this.length += bytes.length;
    return Promise.resolve();
  }

  get byteLength(): number {
    return this.length;
  }

  /** Everything written so far, as one buffer. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    this.chunks = [out];
    return out;
  }
}

/** Reads a buffer, in chunks of at most `chunkBytes` (small chunks exercise the reader's joins). */
export function sourceFromBytes(bytes: Uint8Array, chunkBytes = 1 << 20): ByteSource {
  let at = 0;
  return {
    read(): Promise<Uint8Array | null> {
      if (at >= bytes.length) return Promise.resolve(null);
      const end = Math.min(bytes.length, at + chunkBytes);
      const chunk = bytes.subarray(at, end);
      at = end;
      return Promise.resolve(chunk);
    },
  };
}

/** Reads any async iterable of byte chunks: a Node `Readable`, a `net.Socket`, a file read stream. */
export function sourceFromAsyncIterable(iterable: AsyncIterable<Uint8Array>): ByteSource {
  const it = iterable[Symbol.asyncIterator]();
  let done = false;
  return {
    async read(): Promise<Uint8Array | null> {
      while (!done) {
        const r = await it.next();
        if (r.done) {
          done = true;
          break;
        }
        if (r.value.length > 0) return r.value;
      }
      return null;
    },
  };
}

/** The part of a Node `Writable` (fs.WriteStream, net.Socket) that `sinkFromWritable` uses. */
export interface WritableLike {
  write(chunk: Uint8Array, callback: (error?: Error | null) => void): boolean;
}

/**
 * A sink over a Node `Writable`. Each write waits for the chunk's callback, which Node calls once
 * the chunk has been handed to the file or the kernel, so memory stays bounded by one record and
 * the writer may reuse its buffer; a failed write (peer gone, disk full) rejects. The caller keeps
 * an 'error' listener on `w` (Node throws an unhandled one) and closes `w` when done.
 */
export function sinkFromWritable(w: WritableLike): ByteSink {
  return {
    write(bytes: Uint8Array): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        w.write(bytes, (error) => (error ? reject(error) : resolve()));
      });
    },
  };
}
