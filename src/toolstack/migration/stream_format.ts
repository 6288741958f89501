/**
 * The framing of Domus's save/migration stream: numbers, sizes and the two fixed headers.
 *
 * The stream follows Xen's libxc migration stream, revision 3 (`docs/specs/libxc-migration-stream.pandoc`):
 * an image header, a domain header, then typed records, each padded to 8 bytes. Domus departs from
 * it in three documented ways (docs/migration-stream.md):
 *
 *  1. a 4-byte CRC-32C over the two headers follows them (the "header check", 8 bytes in all);
 *  2. a record header is 16 bytes, not 8: after `type` and `body_length` come `body_crc` (CRC-32C of
 *     the first 8 header bytes, the body and the padding) and `header_crc` (CRC-32C of the first 12);
 *  3. the domain type and the Domus record types come from a private range, "DM" = 0x444D in the
 *     upper half, mandatory (bit 31 clear) or optional (bit 31 set), as Xen's rules for unknown
 *     records apply to them.
 *
 * So every byte of a stream is covered by a CRC-32C, and because CRC-32C catches every error burst
 * of up to 32 bits, any one damaged byte is always detected. A record's length is checked (header
 * CRC, then a per-type cap) before any of its body is read, so a damaged length never makes a reader
 * allocate or wait for data that is not there.
 *
 * This module holds no I/O; `stream_writer.ts` and `stream_reader.ts` use it.
 */
import { UserError } from '../../common/errors.ts';
import { crc32c } from './crc32c.ts';

// ---- image header (big-endian, as in Xen) ------------------------------------------------------

/** `marker`: all ones, so that a legacy (pre-v2) image, which has a zero bit here, is told apart. */
export const IHDR_MARKER_HI = 0xffffffff;
export const IHDR_MARKER_LO = 0xffffffff;
/** `id`: "XENF". */
export const IHDR_ID = 0x58454e46;
/** `version`: the revision of the libxc stream specification this framing follows. */
export const IHDR_VERSION = 3;
/** `options` bit 0: 0 little-endian, 1 big-endian. Domus writes and reads little-endian only. */
export const IHDR_OPT_BIG_ENDIAN = 0x0001;

// ---- domain header (little-endian) -------------------------------------------------------------

/** Xen's domain types (`DHDR_TYPE_*`); Domus neither writes nor reads them, but names them in refusals. */
const XEN_DOMAIN_TYPES: Record<number, string> = {
  1: 'x86 PV',
  2: 'x86 HVM',
  3: 'x86 PVH',
  4: 'ARM',
};
/** The Domus RISC-V 64 domain type: "DMRV", in the range Xen leaves reserved (0x5 - 0xFFFFFFFF). */
export const DHDR_TYPE_DOMUS_RISCV64 = 0x444d5256;
/** Guest pages are 4 KiB. */
export const PAGE_SHIFT = 12;
export const PAGE_BYTES = 1 << PAGE_SHIFT;
/** What Domus writes in `xen_major` / `xen_minor`: its own release, for diagnostics only. */
export const PRODUCER_MAJOR = 0;
export const PRODUCER_MINOR = 1;

/** Image header (24) + domain header (16) + header check (8). */
export const IMAGE_HEADER_BYTES = 24;
export const DOMAIN_HEADER_BYTES = 16;
export const STREAM_HEADER_BYTES = IMAGE_HEADER_BYTES + DOMAIN_HEADER_BYTES + 8;

// ---- records ----------------------------------------------------------------------------------

/** Record types Domus writes. END, PAGE_DATA and CHECKPOINT keep Xen's numbers and meaning. */
export const REC_TYPE_END = 0x00000000;
export const REC_TYPE_PAGE_DATA = 0x00000001;
export const REC_TYPE_CHECKPOINT = 0x0000000e;
export const REC_TYPE_DOMUS_DOMAIN_INFO = 0x444d0001;
export const REC_TYPE_DOMUS_VCPU_STATE = 0x444d0002;
export const REC_TYPE_DOMUS_HYPERVISOR_STATE = 0x444d0003;
export const REC_TYPE_DOMUS_DEVICE_STATE = 0x444d0004;
/** Bit 31 of a record type: the record is optional and a reader that does not know it skips it. */
export const REC_TYPE_OPTIONAL = 0x80000000;
/**
 * Optional: bytes written to one of the domain's disks (Remus's disk replication). A reader
 * without a disk to keep in step (a restore from a file) may skip it.
 */
export const REC_TYPE_DOMUS_DISK_WRITE = 0xc44d0001;
/** Most data bytes in one DOMUS_DISK_WRITE record. */
export const MAX_DISK_WRITE_BYTES = 4 << 20;

export const RECORD_HEADER_BYTES = 16;

/** Most pages in one PAGE_DATA record, which bounds a reader's and a writer's buffers. */
export const MAX_BATCH_PAGES = 1024;
/** Largest JSON document in a HYPERVISOR_STATE or DEVICE_STATE record. */
export const MAX_JSON_BYTES = 16 << 20;
/** Largest DOMAIN_INFO body (fixed part, name and config). */
export const MAX_DOMAIN_INFO_BYTES = 1 << 20;
/** Largest optional record a reader skips. */
export const MAX_OPTIONAL_BYTES = 16 << 20;

/** The names of the record types, as the specification spells them (Xen's for theirs). */
const REC_NAMES: Record<number, string> = {
  0x00: 'END',
  0x01: 'PAGE_DATA',
  0x02: 'X86_PV_INFO',
  0x03: 'X86_PV_P2M_FRAMES',
  0x04: 'X86_PV_VCPU_BASIC',
  0x05: 'X86_PV_VCPU_EXTENDED',
  0x06: 'X86_PV_VCPU_XSAVE',
  0x07: 'SHARED_INFO',
  0x08: 'X86_TSC_INFO',
  0x09: 'HVM_CONTEXT',
  0x0a: 'HVM_PARAMS',
  0x0b: 'TOOLSTACK',
  0x0c: 'X86_PV_VCPU_MSRS',
  0x0d: 'VERIFY',
  0x0e: 'CHECKPOINT',
  0x0f: 'CHECKPOINT_DIRTY_PFN_LIST',
  0x10: 'STATIC_DATA_END',
  0x11: 'X86_CPUID_POLICY',
  0x12: 'X86_MSR_POLICY',
  [REC_TYPE_DOMUS_DOMAIN_INFO]: 'DOMUS_DOMAIN_INFO',
  [REC_TYPE_DOMUS_VCPU_STATE]: 'DOMUS_VCPU_STATE',
  [REC_TYPE_DOMUS_HYPERVISOR_STATE]: 'DOMUS_HYPERVISOR_STATE',
  [REC_TYPE_DOMUS_DEVICE_STATE]: 'DOMUS_DEVICE_STATE',
  [REC_TYPE_DOMUS_DISK_WRITE]: 'DOMUS_DISK_WRITE',
};

/** `PAGE_DATA` (0x00000001) or `type 0x12345678` for a record type. */
export function recordTypeName(type: number): string {
  const name = REC_NAMES[type];
  return name ? `${name} (0x${hex8(type)})` : `type 0x${hex8(type)}`;
}

/**
 * The largest body a record of `type` may have, or -1 if Domus does not know the type. Checked
 * before a body is read, so that a length is never trusted beyond what its type can hold.
 */
export function maxBodyBytes(type: number): number {
  switch (type) {
    case REC_TYPE_END:
    case REC_TYPE_CHECKPOINT:
      return 0;
    case REC_TYPE_PAGE_DATA:
      return 8 + MAX_BATCH_PAGES * 8 + MAX_BATCH_PAGES * PAGE_BYTES;
    case REC_TYPE_DOMUS_DOMAIN_INFO:
      return MAX_DOMAIN_INFO_BYTES;
    case REC_TYPE_DOMUS_VCPU_STATE:
      return 8 + VCPU_CONTEXT_BYTES;
    case REC_TYPE_DOMUS_HYPERVISOR_STATE:
      return 8 + MAX_JSON_BYTES;
    case REC_TYPE_DOMUS_DEVICE_STATE:
      return 8 + MAX_DEVICE_NAME_BYTES + MAX_JSON_BYTES;
    case REC_TYPE_DOMUS_DISK_WRITE:
      return 16 + MAX_DISK_WRITE_BYTES;
    default:
      return (type & REC_TYPE_OPTIONAL) !== 0 ? MAX_OPTIONAL_BYTES : -1;
  }
}

/**
 * Bytes of a vCPU's hart state block saved in VCPU_STATE: the block up to its soft TLBs
 * (`TLB_BYTE_OFFSET` of src/machine/hart/layout.ts). Kept as a number here, and checked against
 * the layout by a test, so that the stream stays readable where the machine is not loaded.
 */
export const VCPU_CONTEXT_BYTES = 0x1000;
export const MAX_DEVICE_NAME_BYTES = 128;
/** Most vCPUs a stream may describe; the same bound as xl.cfg's `MAX_VCPUS`. */
export const MAX_STREAM_VCPUS = 128;

/** Total bytes a record of `bodyBytes` occupies: header, body, zero padding to 8. */
export function recordBytes(bodyBytes: number): number {
  return RECORD_HEADER_BYTES + padTo8(bodyBytes);
}

export function padTo8(n: number): number {
  return (n + 7) & ~7;
}

export function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

// ---- errors ------------------------------------------------------------------------------------

/**
 * What is wrong with a stream: `damaged` (a checksum or a structural rule fails), `truncated`
 * (it ends early), `not-a-stream` (no stream marker), `unsupported` (a version, type or option
 * this Domus does not read).
 */
export type StreamProblem = 'damaged' | 'truncated' | 'not-a-stream' | 'unsupported';

/** A stream that cannot be read, as one sentence that names it and the byte where it goes wrong. */
export class SaveStreamError extends UserError {
  constructor(
    message: string,
    readonly problem: StreamProblem,
    /** Byte offset in the stream the message names. */
    readonly offset: number,
  ) {
    super(message);
  }
}

// ---- header encoding ---------------------------------------------------------------------------

/**
 * The headers as Domus writes them (48 bytes):
 *
 *   0  marker u64 BE   8  id u32 BE   12  version u32 BE   16  options u16 BE   18  reserved (6)
 *   24 type u32 LE    28  page_shift u16 LE   30  reserved u16   32  xen_major u32   36  xen_minor u32
 *   40 reserved u32 (0)   44  header_crc u32 LE: CRC-32C of bytes 0..43
 */
export function encodeStreamHeader(): Uint8Array {
  const b = new Uint8Array(STREAM_HEADER_BYTES);
  const v = new DataView(b.buffer);
  v.setUint32(0, IHDR_MARKER_HI, false);
  v.setUint32(4, IHDR_MARKER_LO, false);
  v.setUint32(8, IHDR_ID, false);
  v.setUint32(12, IHDR_VERSION, false);
  v.setUint16(16, 0, false); // options: little-endian
  v.setUint32(24, DHDR_TYPE_DOMUS_RISCV64, true);
  v.setUint16(28, PAGE_SHIFT, true);
  v.setUint32(32, PRODUCER_MAJOR, true);
  v.setUint32(36, PRODUCER_MINOR, true);
  v.setUint32(44, crc32c(b.subarray(0, 44)), true);
  return b;
}

/** The refusal of something that does not start like a stream at all. */
export function notAStream(what: string): SaveStreamError {
  return new SaveStreamError(
    `${what} is not a Domus save image (it does not start with the XENF stream marker); pass a file written by domus save`,
    'not-a-stream',
    0,
  );
}

/** Whether `b` (the first bytes of a stream, any length) agrees with the marker and id. */
export function startsLikeStream(b: Uint8Array): boolean {
  const expected = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x58, 0x45, 0x4e, 0x46];
  for (let i = 0; i < Math.min(b.length, expected.length); i++) if (b[i] !== expected[i]) return false;
  return true;
}

/** What the headers of a stream say. */
export interface StreamHeader {
  version: number;
  domainType: number;
  pageShift: number;
  producerMajor: number;
  producerMinor: number;
}

/**
 * Checks the 48 header bytes; throws a `SaveStreamError` naming `what`. The marker and id are
 * checked first (is this a stream at all?), then the checksum (is it intact?), then the fields
 * (can this Domus read it?), so a damaged header is reported as damage, not as an odd version.
 */
export function decodeStreamHeader(b: Uint8Array, what: string): StreamHeader {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (
    v.getUint32(0, false) !== IHDR_MARKER_HI ||
    v.getUint32(4, false) !== IHDR_MARKER_LO ||
    v.getUint32(8, false) !== IHDR_ID
  ) {
    throw notAStream(what);
  }
  if (v.getUint32(44, true) !== crc32c(b.subarray(0, 44))) {
    throw new SaveStreamError(
      `${what} is damaged at byte 0: header checksum mismatch; it cannot be restored`,
      'damaged',
      0,
    );
  }
  const version = v.getUint32(12, false);
  if (version !== IHDR_VERSION) {
    throw new SaveStreamError(
      `${what} is a version ${version} migration stream; this Domus reads version ${IHDR_VERSION} only`,
      'unsupported',
      12,
    );
  }
  const options = v.getUint16(16, false);
  if (options & IHDR_OPT_BIG_ENDIAN) {
    throw new SaveStreamError(
      `${what} is a big-endian stream; Domus reads little-endian streams only`,
      'unsupported',
      16,
    );
  }
  if (options !== 0) {
    throw new SaveStreamError(
      `${what} sets stream options 0x${options.toString(16)} that this Domus does not know; restore it with the Domus that wrote it`,
      'unsupported',
      16,
    );
  }
  const domainType = v.getUint32(24, true);
  if (domainType !== DHDR_TYPE_DOMUS_RISCV64) {
    const xen = XEN_DOMAIN_TYPES[domainType];
    throw new SaveStreamError(
      `${what} holds ${xen ? `a Xen ${xen} domain` : `a domain of type 0x${hex8(domainType)}`}, not a Domus RISC-V domain; it cannot be restored here`,
      'unsupported',
      24,
    );
  }
  const pageShift = v.getUint16(28, true);
  if (pageShift !== PAGE_SHIFT) {
    throw new SaveStreamError(
      `${what} uses pages of 2^${pageShift} bytes; Domus guests use ${PAGE_BYTES}-byte pages`,
      'unsupported',
      28,
    );
  }
  return {
    version,
    domainType,
    pageShift,
    producerMajor: v.getUint32(32, true),
    producerMinor: v.getUint32(36, true),
  };
}
