/**
 * The bodies of the stream's records: binary layouts, encoders and validating decoders.
 *
 * Layouts (little-endian; docs/migration-stream.md has the tables):
 *
 *   PAGE_DATA (Xen's)         count u32, reserved u32, count × pfn u64 (bits 63-60 type, 51-0 GFN),
 *                             then 4096 bytes for each pfn whose type carries data
 *   DOMUS_DOMAIN_INFO v1      version u32, vcpus u32, memory_bytes u64, uuid [16], name_length u32,
 *                             config_length u32, name (UTF-8), config (UTF-8 JSON object)
 *   DOMUS_VCPU_STATE v1       vcpu_id u32, version u32, context [VCPU_CONTEXT_BYTES]
 *   DOMUS_HYPERVISOR_STATE v1 version u32, reserved u32, JSON object (to the end of the body)
 *   DOMUS_DEVICE_STATE v1     version u32, name_length u32, name (UTF-8), JSON value (to the end)
 *   DOMUS_DISK_WRITE          disk u32, reserved u32, offset u64 (bytes, 512-aligned), data (to the end)
 *
 * Decoders treat a body as untrusted even though its checksum matched (a faulty writer is
 * possible): every count and length is checked against the body's size before it is used, and
 * a failure throws `BodyError` with a phrase ("has 3 pages but 2 pages of data") that the reader
 * turns into a sentence naming the stream and the offset. The JSON documents are opaque here;
 * their owners (hypervisor objects, devices) validate them on restore.
 */
import {
  MAX_DISK_WRITE_BYTES,
  MAX_BATCH_PAGES,
  MAX_DEVICE_NAME_BYTES,
  MAX_DOMAIN_INFO_BYTES,
  MAX_JSON_BYTES,
  MAX_STREAM_VCPUS,
  PAGE_BYTES,
  VCPU_CONTEXT_BYTES,
} from './stream_format.ts';

/** A body that does not follow its layout; the message is a phrase about "the record". */
export class BodyError extends Error {}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

// ---- DOMUS_DOMAIN_INFO -------------------------------------------------------------------------

/** Who the domain is: what `domus restore` needs before any memory arrives. */
export interface DomainInfo {
  name: string;
  /** Lower-case RFC 4122 text form. */
  uuid: string;
  memoryBytes: number;
  vcpus: number;
  /** The domain's configuration (parsed xl.cfg and Domus options) as plain JSON. */
  config: Record<string, unknown>;
}

export const DOMAIN_INFO_VERSION = 1;
const DOMAIN_INFO_FIXED = 40;
const MAX_NAME_BYTES = 256;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function encodeDomainInfo(info: DomainInfo): Uint8Array {
  const uuid = info.uuid.toLowerCase();
  if (!UUID_RE.test(uuid)) throw new Error(`domain uuid ${JSON.stringify(info.uuid)} is not a UUID`);
  checkVcpus(info.vcpus);
  checkMemory(info.memoryBytes);
  const name = utf8.encode(info.name);
  checkName(info.name, name.length, MAX_NAME_BYTES, 'domain name');
  const config = utf8.encode(jsonText(info.config, 'domain config'));
  if (!isPlainObject(info.config)) throw new Error('the domain config must be a JSON object');
  const total = DOMAIN_INFO_FIXED + name.length + config.length;
  if (total > MAX_DOMAIN_INFO_BYTES) {
    throw new Error(
      `the domain info is ${total} bytes, more than the ${MAX_DOMAIN_INFO_BYTES} a stream allows`,
    );
  }
  const b = new Uint8Array(total);
  const v = view(b);
  v.setUint32(0, DOMAIN_INFO_VERSION, true);
  v.setUint32(4, info.vcpus, true);
  setU64(v, 8, info.memoryBytes);
  for (let i = 0; i < 16; i++) b[16 + i] = parseInt(uuid.replace(/-/g, '').slice(2 * i, 2 * i + 2), 16);
  v.setUint32(32, name.length, true);
  v.setUint32(36, config.length, true);
  b.set(name, DOMAIN_INFO_FIXED);
  b.set(config, DOMAIN_INFO_FIXED + name.length);
  return b;
}

export function decodeDomainInfo(b: Uint8Array): DomainInfo {
  if (b.length < DOMAIN_INFO_FIXED)
    throw new BodyError(`is ${b.length} bytes, shorter than its ${DOMAIN_INFO_FIXED}-byte fixed part`);
  const v = view(b);
  checkVersion(v.getUint32(0, true), DOMAIN_INFO_VERSION);
  const vcpus = v.getUint32(4, true);
  if (vcpus < 1 || vcpus > MAX_STREAM_VCPUS)
    throw new BodyError(`gives ${vcpus} vCPUs (1 to ${MAX_STREAM_VCPUS} allowed)`);
  const memoryBytes = getU64(v, 8);
  if (memoryBytes === 0 || memoryBytes % PAGE_BYTES !== 0 || !Number.isSafeInteger(memoryBytes)) {
    throw new BodyError(`gives a memory size of ${memoryBytes} bytes, not a whole number of pages`);
  }
  let hex = '';
  for (let i = 0; i < 16; i++) hex += b[16 + i]!.toString(16).padStart(2, '0');
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  const nameLength = v.getUint32(32, true);
  const configLength = v.getUint32(36, true);
  if (nameLength < 1 || nameLength > MAX_NAME_BYTES)
    throw new BodyError(`gives a name of ${nameLength} bytes (1 to ${MAX_NAME_BYTES} allowed)`);
  if (DOMAIN_INFO_FIXED + nameLength + configLength !== b.length) {
    throw new BodyError(
      `gives name and config lengths (${nameLength} + ${configLength}) that do not add up to its size`,
    );
  }
  const name = text(b.subarray(DOMAIN_INFO_FIXED, DOMAIN_INFO_FIXED + nameLength), 'name');
  if (hasControlChars(name)) throw new BodyError('gives a name with control characters');
  const config = json(b.subarray(DOMAIN_INFO_FIXED + nameLength), 'config');
  if (!isPlainObject(config)) throw new BodyError('gives a config that is not a JSON object');
  return { name, uuid, memoryBytes, vcpus, config };
}

function checkVcpus(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_STREAM_VCPUS) {
    throw new Error(`a domain has 1 to ${MAX_STREAM_VCPUS} vCPUs, not ${n}`);
  }
}

function checkMemory(n: number): void {
  if (!Number.isSafeInteger(n) || n <= 0 || n % PAGE_BYTES !== 0) {
    throw new Error(
      `domain memory must be a positive whole number of ${PAGE_BYTES}-byte pages, not ${n} bytes`,
    );
  }
}

// ---- PAGE_DATA ---------------------------------------------------------------------------------

/** `XEN_DOMCTL_PFINFO_NOTAB`: an ordinary page; its 4096 bytes follow. */
export const PAGE_TYPE_NORMAL = 0x0;
/** `XEN_DOMCTL_PFINFO_XALLOC`: populate the frame, no data sent; Domus restores it zero-filled. */
export const PAGE_TYPE_XALLOC = 0xe;
/** `XEN_DOMCTL_PFINFO_XTAB`: the frame is no longer populated (live migration); no data. */
export const PAGE_TYPE_XTAB = 0xf;
export type PageType = typeof PAGE_TYPE_NORMAL | typeof PAGE_TYPE_XALLOC | typeof PAGE_TYPE_XTAB;

/** The largest GFN a pfn entry holds: 52 bits. */
export const MAX_GFN = 2 ** 52 - 1;

/** One PAGE_DATA record as read. */
export interface PageBatch {
  gfns: number[];
  types: PageType[];
  /** The data of the pages whose type carries data, 4096 bytes each, in the order of `gfns`. */
  pages: Uint8Array;
}

export function pageTypeHasData(t: number): boolean {
  return t === PAGE_TYPE_NORMAL;
}

/** Body size of a batch of `count` entries of which `withData` carry data. */
export function pageDataBodyBytes(count: number, withData: number): number {
  return 8 + count * 8 + withData * PAGE_BYTES;
}

/**
 * Writes a PAGE_DATA body at `out[at..]` (which must be large enough: see `pageDataBodyBytes`)
 * and returns its length. `pages` holds the data pages, either one buffer of n × 4096 bytes or
 * one 4096-byte buffer per data page; they are copied, so the caller may change them afterwards.
 */
export function encodePageDataInto(
  out: Uint8Array,
  at: number,
  gfns: ArrayLike<number>,
  pages: Uint8Array | readonly Uint8Array[],
  types?: ArrayLike<number>,
): number {
  const count = gfns.length;
  if (count < 1 || count > MAX_BATCH_PAGES)
    throw new Error(`a page batch has 1 to ${MAX_BATCH_PAGES} pages, not ${count}`);
  if (types && types.length !== count)
    throw new Error(`a page batch has ${count} GFNs but ${types.length} page types`);
  const v = new DataView(out.buffer, out.byteOffset + at, out.length - at);
  v.setUint32(0, count, true);
  v.setUint32(4, 0, true);
  const seen = new Set<number>();
  let withData = 0;
  for (let i = 0; i < count; i++) {
    const gfn = gfns[i]!;
    const type = types ? types[i]! : PAGE_TYPE_NORMAL;
    if (!Number.isInteger(gfn) || gfn < 0 || gfn > MAX_GFN)
      throw new Error(`GFN ${gfn} is not a 52-bit frame number`);
    if (type !== PAGE_TYPE_NORMAL && type !== PAGE_TYPE_XALLOC && type !== PAGE_TYPE_XTAB) {
      throw new Error(`page type 0x${type.toString(16)} is not one Domus writes`);
    }
    if (seen.has(gfn)) throw new Error(`GFN 0x${gfn.toString(16)} appears twice in one page batch`);
    seen.add(gfn);
    v.setUint32(8 + i * 8, gfn >>> 0, true);
    v.setUint32(12 + i * 8, (Math.floor(gfn / 2 ** 32) | (type << 28)) >>> 0, true);
    if (pageTypeHasData(type)) withData++;
  }
  const dataAt = at + 8 + count * 8;
  if (pages instanceof Uint8Array) {
    if (pages.length !== withData * PAGE_BYTES) {
      throw new Error(
        `a page batch with ${withData} data pages needs ${withData * PAGE_BYTES} bytes of data, not ${pages.length}`,
      );
    }
    out.set(pages, dataAt);
  } else {
    if (pages.length !== withData)
      throw new Error(`a page batch with ${withData} data pages was given ${pages.length} pages`);
    for (let i = 0; i < withData; i++) {
      const p = pages[i]!;
      if (p.length !== PAGE_BYTES)
        throw new Error(`page ${i} of a batch is ${p.length} bytes, not ${PAGE_BYTES}`);
      out.set(p, dataAt + i * PAGE_BYTES);
    }
  }
  return pageDataBodyBytes(count, withData);
}

export function decodePageData(b: Uint8Array): PageBatch {
  if (b.length < 8) throw new BodyError(`is ${b.length} bytes, too short for a page count`);
  const v = view(b);
  const count = v.getUint32(0, true);
  if (count < 1 || count > MAX_BATCH_PAGES)
    throw new BodyError(`gives a page count of ${count} (1 to ${MAX_BATCH_PAGES} allowed)`);
  if (b.length < 8 + count * 8) throw new BodyError(`is too short for its ${count} page frame numbers`);
  const gfns: number[] = new Array<number>(count);
  const types: PageType[] = new Array<PageType>(count);
  const seen = new Set<number>();
  let withData = 0;
  for (let i = 0; i < count; i++) {
    const lo = v.getUint32(8 + i * 8, true);
    const hi = v.getUint32(12 + i * 8, true);
    const type = hi >>> 28;
    // Bits 59-52 are reserved: ignored on restore, as Xen's specification asks.
    const gfn = (hi & 0xfffff) * 2 ** 32 + lo;
    if (type !== PAGE_TYPE_NORMAL && type !== PAGE_TYPE_XALLOC && type !== PAGE_TYPE_XTAB) {
      throw new BodyError(
        `gives page type 0x${type.toString(16)} for GFN 0x${gfn.toString(16)}, which Domus does not restore`,
      );
    }
    if (seen.has(gfn)) throw new BodyError(`lists GFN 0x${gfn.toString(16)} twice`);
    seen.add(gfn);
    gfns[i] = gfn;
    types[i] = type;
    if (pageTypeHasData(type)) withData++;
  }
  const expected = pageDataBodyBytes(count, withData);
  if (b.length !== expected) {
    throw new BodyError(
      `has ${withData} pages with data, which need a ${expected}-byte body, but it is ${b.length} bytes`,
    );
  }
  return { gfns, types, pages: b.subarray(8 + count * 8) };
}

// ---- DOMUS_VCPU_STATE --------------------------------------------------------------------------

export const VCPU_STATE_VERSION = 1;

/** One vCPU: its hart state block up to the soft TLBs (src/machine/hart/layout.ts). */
export interface VcpuState {
  vcpuId: number;
  context: Uint8Array;
}

export function encodeVcpuState(vcpuId: number, context: Uint8Array): Uint8Array {
  if (!Number.isInteger(vcpuId) || vcpuId < 0 || vcpuId >= MAX_STREAM_VCPUS)
    throw new Error(`vCPU id ${vcpuId} is out of range`);
  if (context.length !== VCPU_CONTEXT_BYTES) {
    throw new Error(
      `a vCPU context is ${VCPU_CONTEXT_BYTES} bytes (the hart block up to its TLBs), not ${context.length}`,
    );
  }
  const b = new Uint8Array(8 + VCPU_CONTEXT_BYTES);
  const v = view(b);
  v.setUint32(0, vcpuId, true);
  v.setUint32(4, VCPU_STATE_VERSION, true);
  b.set(context, 8);
  return b;
}

/** `vcpus` is the domain's vCPU count from DOMAIN_INFO. */
export function decodeVcpuState(b: Uint8Array, vcpus: number): VcpuState {
  if (b.length !== 8 + VCPU_CONTEXT_BYTES)
    throw new BodyError(`is ${b.length} bytes, not ${8 + VCPU_CONTEXT_BYTES}`);
  const v = view(b);
  const vcpuId = v.getUint32(0, true);
  checkVersion(v.getUint32(4, true), VCPU_STATE_VERSION);
  if (vcpuId >= vcpus) throw new BodyError(`is for vCPU ${vcpuId}, but the domain has ${vcpus} vCPUs`);
  return { vcpuId, context: b.subarray(8) };
}

// ---- DOMUS_HYPERVISOR_STATE --------------------------------------------------------------------

export const HYPERVISOR_STATE_VERSION = 1;

/** `state`: a plain object (timers, event channels, grant tables...), opaque to the stream. */
export function encodeHypervisorState(state: Record<string, unknown>): Uint8Array {
  if (!isPlainObject(state)) throw new Error('the hypervisor state must be a JSON object');
  const doc = utf8.encode(jsonText(state, 'hypervisor state'));
  if (doc.length > MAX_JSON_BYTES)
    throw new Error(
      `the hypervisor state is ${doc.length} bytes of JSON, more than the ${MAX_JSON_BYTES} a stream allows`,
    );
  const b = new Uint8Array(8 + doc.length);
  view(b).setUint32(0, HYPERVISOR_STATE_VERSION, true);
  b.set(doc, 8);
  return b;
}

export function decodeHypervisorState(b: Uint8Array): Record<string, unknown> {
  if (b.length < 8) throw new BodyError(`is ${b.length} bytes, too short for a version`);
  checkVersion(view(b).getUint32(0, true), HYPERVISOR_STATE_VERSION);
  const state = json(b.subarray(8), 'state');
  if (!isPlainObject(state)) throw new BodyError('holds a state that is not a JSON object');
  return state;
}

// ---- DOMUS_DEVICE_STATE ------------------------------------------------------------------------

export const DEVICE_STATE_VERSION = 1;

/** One device's `saveState()` result, under the name the board or backend knows it by. */
export interface DeviceState {
  name: string;
  state: unknown;
}

export function encodeDeviceState(name: string, state: unknown): Uint8Array {
  const n = utf8.encode(name);
  checkName(name, n.length, MAX_DEVICE_NAME_BYTES, 'device name');
  const doc = utf8.encode(jsonText(state, `state of device ${name}`));
  if (doc.length > MAX_JSON_BYTES)
    throw new Error(
      `the state of device ${name} is ${doc.length} bytes of JSON, more than the ${MAX_JSON_BYTES} a stream allows`,
    );
  const b = new Uint8Array(8 + n.length + doc.length);
  const v = view(b);
  v.setUint32(0, DEVICE_STATE_VERSION, true);
  v.setUint32(4, n.length, true);
  b.set(n, 8);
  b.set(doc, 8 + n.length);
  return b;
}

export function decodeDeviceState(b: Uint8Array): DeviceState {
  if (b.length < 8) throw new BodyError(`is ${b.length} bytes, too short for a version`);
  const v = view(b);
  checkVersion(v.getUint32(0, true), DEVICE_STATE_VERSION);
  const nameLength = v.getUint32(4, true);
  if (nameLength < 1 || nameLength > MAX_DEVICE_NAME_BYTES) {
    throw new BodyError(`gives a device name of ${nameLength} bytes (1 to ${MAX_DEVICE_NAME_BYTES} allowed)`);
  }
  if (8 + nameLength > b.length) throw new BodyError('is shorter than its device name');
  const name = text(b.subarray(8, 8 + nameLength), 'device name');
  if (hasControlChars(name)) throw new BodyError('gives a device name with control characters');
  return { name, state: json(b.subarray(8 + nameLength), `state of device ${name}`) };
}

// ---- helpers -----------------------------------------------------------------------------------

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function setU64(v: DataView, at: number, n: number): void {
  v.setUint32(at, n >>> 0, true);
  v.setUint32(at + 4, Math.floor(n / 2 ** 32), true);
}

function getU64(v: DataView, at: number): number {
  return v.getUint32(at + 4, true) * 2 ** 32 + v.getUint32(at, true);
}

function checkVersion(got: number, want: number): void {
  if (got !== want) throw new BodyError(`is version ${got} of its layout; this Domus reads version ${want}`);
}

function checkName(name: string, bytes: number, max: number, what: string): void {
  if (bytes < 1 || bytes > max) throw new Error(`a ${what} is 1 to ${max} bytes of UTF-8, not ${bytes}`);
  if (hasControlChars(name)) throw new Error(`${what} ${JSON.stringify(name)} has control characters`);
}

/** C0 controls and DEL: not allowed in names that end up in messages and listings. */
function hasControlChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function jsonText(value: unknown, what: string): string {
  const s = JSON.stringify(value);
  if (s === undefined) throw new Error(`the ${what} cannot be written as JSON`);
  return s;
}

function text(b: Uint8Array, what: string): string {
  try {
    return utf8Strict.decode(b);
  } catch {
    throw new BodyError(`gives a ${what} that is not valid UTF-8`);
  }
}

function json(b: Uint8Array, what: string): unknown {
  const s = text(b, what);
  try {
    return JSON.parse(s) as unknown;
  } catch {
    throw new BodyError(`gives a ${what} that is not valid JSON`);
  }
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

// ---- DOMUS_DISK_WRITE ------------------------------------------------------------------------

/** Bytes written to disk `disk` (an index into the domain's disk list) at byte `offset`. */
export interface DiskWrite {
  disk: number;
  offset: number;
  data: Uint8Array;
}

export function encodeDiskWrite(w: DiskWrite): Uint8Array {
  if (!Number.isInteger(w.disk) || w.disk < 0 || w.disk > 0xffff)
    throw new Error(`disk index ${w.disk} is out of range`);
  if (!Number.isSafeInteger(w.offset) || w.offset < 0 || w.offset % 512 !== 0)
    throw new Error(`disk offset ${w.offset} is not a whole sector`);
  if (w.data.length > MAX_DISK_WRITE_BYTES)
    throw new Error(`a disk write holds at most ${MAX_DISK_WRITE_BYTES} bytes`);
  const b = new Uint8Array(16 + w.data.length);
  const v = view(b);
  v.setUint32(0, w.disk, true);
  setU64(v, 8, w.offset);
  b.set(w.data, 16);
  return b;
}

export function decodeDiskWrite(b: Uint8Array): DiskWrite {
  if (b.length < 16) throw new BodyError(`is ${b.length} bytes, shorter than its 16-byte header`);
  const v = view(b);
  const disk = v.getUint32(0, true);
  if (disk > 0xffff) throw new BodyError(`names disk ${disk}`);
  const hi = v.getUint32(12, true);
  if (hi >= 0x200000) throw new BodyError('has an offset beyond 2^53');
  const offset = hi * 4294967296 + v.getUint32(8, true);
  if (offset % 512 !== 0) throw new BodyError(`has offset ${offset}, not a whole sector`);
  return { disk, offset, data: b.subarray(16) };
}
