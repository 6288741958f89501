/**
 * A pcap file writer (the classic libpcap format: magic 0xa1b2c3d4, version 2.4, link type 1 =
 * Ethernet) for debugging the user-mode network: `tcpdump -r FILE` and Wireshark read it.
 *
 * Writes are synchronous and unbuffered so that the file is complete even if the process dies;
 * it is a debugging aid, not for the fast path of a production network.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

const LINKTYPE_ETHERNET = 1;
const SNAPLEN = 65535;

export class PcapWriter {
  private fd: number | undefined;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
    const h = Buffer.alloc(24);
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeInt32LE(0, 8);
    h.writeUInt32LE(0, 12);
    h.writeUInt32LE(SNAPLEN, 16);
    h.writeUInt32LE(LINKTYPE_ETHERNET, 20);
    writeSync(this.fd, h);
  }

  /** Appends one frame captured at `timeMs` (milliseconds since the Unix epoch). */
  write(frame: Uint8Array, timeMs = Date.now()): void {
    if (this.fd === undefined) return;
    const incl = Math.min(frame.length, SNAPLEN);
    const r = Buffer.alloc(16 + incl);
    const sec = Math.floor(timeMs / 1000);
    r.writeUInt32LE(sec >>> 0, 0);
    r.writeUInt32LE(Math.floor((timeMs - sec * 1000) * 1000), 4);
    r.writeUInt32LE(incl, 8);
    r.writeUInt32LE(frame.length, 12);
    r.set(frame.subarray(0, incl), 16);
    writeSync(this.fd, r);
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}
