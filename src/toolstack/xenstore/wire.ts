/**
 * The xenstore wire protocol of Xen's `xen/include/public/io/xs_wire.h`.
 *
 * Every message in either direction is a 16-byte header `struct xsd_sockmsg` {type, req_id, tx_id,
 * len}, four little-endian uint32s, followed by `len` payload bytes; `len` may not exceed
 * XENSTORE_PAYLOAD_MAX (4096). Errors travel as their errno *names* (`EINVAL\0`), not numbers.
 *
 * `XsDecoder` turns a byte stream that arrives in arbitrary pieces into whole messages; a header
 * announcing an oversized payload is a protocol violation (`XsProtocolError`), after which the
 * decoder is unusable: xenstored closes such a connection. The decoder does not care what the
 * type means; dispatch happens in xenstored.ts.
 */

/** `enum xsd_sockmsg_type` (XS_CONTROL was XS_DEBUG; type 20, XS_RESTRICT, was removed). */
export const XS_CONTROL = 0;
export const XS_DIRECTORY = 1;
export const XS_READ = 2;
export const XS_GET_PERMS = 3;
export const XS_WATCH = 4;
export const XS_UNWATCH = 5;
export const XS_TRANSACTION_START = 6;
export const XS_TRANSACTION_END = 7;
export const XS_INTRODUCE = 8;
export const XS_RELEASE = 9;
export const XS_GET_DOMAIN_PATH = 10;
export const XS_WRITE = 11;
export const XS_MKDIR = 12;
export const XS_RM = 13;
export const XS_SET_PERMS = 14;
export const XS_WATCH_EVENT = 15;
export const XS_ERROR = 16;
export const XS_IS_DOMAIN_INTRODUCED = 17;
export const XS_RESUME = 18;
export const XS_SET_TARGET = 19;
export const XS_RESET_WATCHES = 21;
export const XS_DIRECTORY_PART = 22;
export const XS_INVALID = 0xffff;

/** Names of the message types, for logs and errors. */
export const XS_TYPE_NAMES: Readonly<Record<number, string>> = {
  [XS_CONTROL]: 'XS_CONTROL',
  [XS_DIRECTORY]: 'XS_DIRECTORY',
  [XS_READ]: 'XS_READ',
  [XS_GET_PERMS]: 'XS_GET_PERMS',
  [XS_WATCH]: 'XS_WATCH',
  [XS_UNWATCH]: 'XS_UNWATCH',
  [XS_TRANSACTION_START]: 'XS_TRANSACTION_START',
  [XS_TRANSACTION_END]: 'XS_TRANSACTION_END',
  [XS_INTRODUCE]: 'XS_INTRODUCE',
  [XS_RELEASE]: 'XS_RELEASE',
  [XS_GET_DOMAIN_PATH]: 'XS_GET_DOMAIN_PATH',
  [XS_WRITE]: 'XS_WRITE',
  [XS_MKDIR]: 'XS_MKDIR',
  [XS_RM]: 'XS_RM',
  [XS_SET_PERMS]: 'XS_SET_PERMS',
  [XS_WATCH_EVENT]: 'XS_WATCH_EVENT',
  [XS_ERROR]: 'XS_ERROR',
  [XS_IS_DOMAIN_INTRODUCED]: 'XS_IS_DOMAIN_INTRODUCED',
  [XS_RESUME]: 'XS_RESUME',
  [XS_SET_TARGET]: 'XS_SET_TARGET',
  [XS_RESET_WATCHES]: 'XS_RESET_WATCHES',
  [XS_DIRECTORY_PART]: 'XS_DIRECTORY_PART',
  [XS_INVALID]: 'XS_INVALID',
};

export const XSD_SOCKMSG_SIZE = 16;
export const XENSTORE_PAYLOAD_MAX = 4096;
export const XENSTORE_ABS_PATH_MAX = 3072;
export const XENSTORE_REL_PATH_MAX = 2048;

/** The `xsd_errors` table, in its order. */
export const XSD_ERRORS = [
  'EINVAL',
  'EACCES',
  'EEXIST',
  'EISDIR',
  'ENOENT',
  'ENOMEM',
  'ENOSPC',
  'EIO',
  'ENOTEMPTY',
  'ENOSYS',
  'EROFS',
  'EBUSY',
  'EAGAIN',
  'EISCONN',
  'E2BIG',
  'EPERM',
] as const;
export type XsErrno = (typeof XSD_ERRORS)[number];

export function isXsErrno(s: string): s is XsErrno {
  return (XSD_ERRORS as readonly string[]).includes(s);
}

/** A request refused with an errno name; xenstored answers it as an XS_ERROR reply. */
export class XsError extends Error {
  override readonly name = 'XsError';
  constructor(
    readonly errno: XsErrno,
    detail?: string,
  ) {
    super(detail === undefined ? errno : `${errno}: ${detail}`);
  }
}

/** The peer broke the framing (oversized payload); the connection must be closed. */
export class XsProtocolError extends Error {
  override readonly name = 'XsProtocolError';
}

/** One message: the header fields plus its payload. */
export interface XsMessage {
  type: number;
  reqId: number;
  txId: number;
  payload: Uint8Array;
}

/** Encodes one message (header + payload); throws if the payload exceeds XENSTORE_PAYLOAD_MAX. */
export function encodeMessage(msg: XsMessage): Uint8Array {
  const len = msg.payload.length;
  if (len > XENSTORE_PAYLOAD_MAX) {
    throw new XsProtocolError(
      `xenstore payload of ${len} bytes exceeds XENSTORE_PAYLOAD_MAX (${XENSTORE_PAYLOAD_MAX}); send less`,
    );
  }
  const out = new Uint8Array(XSD_SOCKMSG_SIZE + len);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, msg.type >>> 0, true);
  dv.setUint32(4, msg.reqId >>> 0, true);
  dv.setUint32(8, msg.txId >>> 0, true);
  dv.setUint32(12, len, true);
  out.set(msg.payload, XSD_SOCKMSG_SIZE);
  return out;
}

/** Incremental decoder: bytes in (any split), whole messages out. */
export class XsDecoder {
  private readonly header = new Uint8Array(XSD_SOCKMSG_SIZE);
  private headerFill = 0;
  private payload: Uint8Array | undefined;
  private payloadFill = 0;
  private msg: Omit<XsMessage, 'payload'> = { type: 0, reqId: 0, txId: 0 };
  private broken = false;

  /** True between messages: no partial header or payload is held. */
  get idle(): boolean {
    return this.headerFill === 0 && this.payload === undefined;
  }

  /** Consumes all of `bytes`; returns the messages completed by them, in order. */
  push(bytes: Uint8Array): XsMessage[] {
    if (this.broken) throw new XsProtocolError('xenstore decoder used after a protocol error');
    const out: XsMessage[] = [];
    let i = 0;
    while (i < bytes.length) {
      if (this.payload === undefined) {
        const take = Math.min(XSD_SOCKMSG_SIZE - this.headerFill, bytes.length - i);
        this.header.set(bytes.subarray(i, i + take), this.headerFill);
        this.headerFill += take;
        i += take;
        if (this.headerFill < XSD_SOCKMSG_SIZE) break;
        const dv = new DataView(this.header.buffer);
        const len = dv.getUint32(12, true);
        if (len > XENSTORE_PAYLOAD_MAX) {
          this.broken = true;
          throw new XsProtocolError(
            `xenstore message announces a ${len}-byte payload, over XENSTORE_PAYLOAD_MAX (${XENSTORE_PAYLOAD_MAX})`,
          );
        }
        this.msg = { type: dv.getUint32(0, true), reqId: dv.getUint32(4, true), txId: dv.getUint32(8, true) };
        this.payload = new Uint8Array(len);
        this.payloadFill = 0;
      } else {
        const take = Math.min(this.payload.length - this.payloadFill, bytes.length - i);
        this.payload.set(bytes.subarray(i, i + take), this.payloadFill);
        this.payloadFill += take;
        i += take;
      }
      if (this.payload !== undefined && this.payloadFill === this.payload.length) {
        out.push({ ...this.msg, payload: this.payload });
        this.payload = undefined;
        this.headerFill = 0;
      }
    }
    return out;
  }

  /** Drops any partial message (a ring reconnect). */
  reset(): void {
    this.headerFill = 0;
    this.payload = undefined;
    this.broken = false;
  }
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

export function bytesOf(s: string): Uint8Array {
  return utf8.encode(s);
}

export function stringOf(b: Uint8Array): string {
  return utf8d.decode(b);
}

/** Payload of strings, each followed by a NUL (`<foo>|*`). */
export function nulStrings(...items: string[]): Uint8Array {
  return bytesOf(items.map((s) => s + '\0').join(''));
}

/**
 * Splits a payload at NULs. A payload that ends in a NUL yields exactly the strings before each
 * NUL; otherwise the unterminated tail is the last item. Used for requests whose arguments are all
 * strings; WRITE's binary value is cut off before this (see `splitFirst`).
 */
export function splitNul(payload: Uint8Array): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < payload.length; i++) {
    if (payload[i] === 0) {
      out.push(stringOf(payload.subarray(start, i)));
      start = i + 1;
    }
  }
  if (start < payload.length) out.push(stringOf(payload.subarray(start)));
  return out;
}

/** `<path>|<value|>`: the first NUL-terminated string and the raw bytes after it, or undefined. */
export function splitFirst(payload: Uint8Array): { head: string; rest: Uint8Array } | undefined {
  const nul = payload.indexOf(0);
  if (nul < 0) return undefined;
  return { head: stringOf(payload.subarray(0, nul)), rest: payload.subarray(nul + 1) };
}

/** An error reply's payload: the errno name and a NUL. */
export function errorPayload(errno: XsErrno): Uint8Array {
  return nulStrings(errno);
}
