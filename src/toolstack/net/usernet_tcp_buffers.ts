/**
 * Two small parts of a TCP connection, kept apart from the state machine:
 *
 * - `SendBuffer`: the bytes from SND.UNA on (sent or not yet sent) as a queue of the chunks the
 *   application wrote, kept by reference; segments are copied out by offset and acknowledged
 *   bytes dropped from the front. Chunks are large (host socket reads), so a few at most.
 * - `RtoEstimator`: the retransmission timeout of RFC 6298 (SRTT, RTTVAR, K = 4, clock
 *   granularity 10 ms) with a 200 ms floor (as Linux), a 30 s ceiling and doubling on backoff.
 */

export class SendBuffer {
  private chunks: Uint8Array[] = [];
  private headOff = 0;
  private bytes = 0;

  get length(): number {
    return this.bytes;
  }

  push(data: Uint8Array): void {
    this.chunks.push(data);
    this.bytes += data.length;
  }

  /** A copy of `len` bytes from `offset`. */
  copyOut(offset: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    let pos = 0;
    let skip = offset + this.headOff;
    for (const c of this.chunks) {
      if (skip >= c.length) {
        skip -= c.length;
        continue;
      }
      const n = Math.min(c.length - skip, len - pos);
      out.set(c.subarray(skip, skip + n), pos);
      pos += n;
      skip = 0;
      if (pos === len) break;
    }
    return out;
  }

  /** Forgets the first `n` bytes (acknowledged by the peer). */
  drop(n: number): void {
    this.bytes -= n;
    while (n > 0) {
      const c = this.chunks[0]!;
      const left = c.length - this.headOff;
      if (n >= left) {
        this.chunks.shift();
        this.headOff = 0;
        n -= left;
      } else {
        this.headOff += n;
        n = 0;
      }
    }
  }
}

export const RTO_INITIAL_MS = 1000;
export const RTO_MIN_MS = 200;
export const RTO_MAX_MS = 30_000;

export class RtoEstimator {
  private srtt = 0;
  private rttvar = 0;
  rtoMs = RTO_INITIAL_MS;

  sample(ms: number): void {
    const r = Math.max(1, ms);
    if (this.srtt === 0) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    this.rtoMs = Math.min(
      RTO_MAX_MS,
      Math.max(RTO_MIN_MS, Math.ceil(this.srtt + Math.max(10, 4 * this.rttvar))),
    );
  }

  backoff(): void {
    this.rtoMs = Math.min(RTO_MAX_MS, this.rtoMs * 2);
  }
}
