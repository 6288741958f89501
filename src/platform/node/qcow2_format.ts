/**
 * The qcow2 header: layout constants, parsing, and every refusal that can be decided from the
 * header alone (QEMU's docs/interop/qcow2.txt is the reference for the field names and bits).
 *
 * `parseQcow2Header` takes the first bytes of the file (the header cluster, or as much of it as
 * the file holds) and the file's size, and returns a validated `Qcow2Header` or throws ONE
 * `UserError` sentence naming the image and the fix. It never throws anything else on malformed
 * input: every offset and length is bounds-checked before it is used. It reads, never writes.
 *
 * 64-bit fields are read as two 32-bit halves and combined into a number only when the value is
 * below 2^53 (anything larger is past the end of any real file and refused as such).
 */
import { UserError } from '../../common/errors.ts';

export const QCOW_MAGIC = 0x514649fb; // "QFI\xfb"
export const QCOW2_V2_HEADER_BYTES = 72;
export const QCOW2_V3_HEADER_BYTES = 104;
export const MIN_CLUSTER_BITS = 9;
export const MAX_CLUSTER_BITS = 21;
/** QEMU's implementation limits, which we share so that we never open what QEMU cannot. */
export const MAX_L1_BYTES = 32 << 20;
export const MAX_REFTABLE_BYTES = 8 << 20;
export const MAX_BACKING_NAME_BYTES = 1023;

/** incompatible_features bits. */
export const QCOW2_INCOMPAT_DIRTY = 0;
export const QCOW2_INCOMPAT_CORRUPT = 1;
export const QCOW2_INCOMPAT_DATA_FILE = 2;
export const QCOW2_INCOMPAT_COMPRESSION = 3;
export const QCOW2_INCOMPAT_EXTL2 = 4;

/** Header extension types. */
export const QCOW2_EXT_END = 0x00000000;
export const QCOW2_EXT_BACKING_FORMAT = 0xe2792aca;
export const QCOW2_EXT_FEATURE_TABLE = 0x6803f857;
export const QCOW2_EXT_DATA_FILE = 0x44415441;

/** Header field offsets that we rewrite. */
export const HDR_REFCOUNT_TABLE_OFFSET = 48; // u64, followed by refcount_table_clusters u32
export const HDR_AUTOCLEAR_FEATURES = 88;

export interface Qcow2Header {
  version: 2 | 3;
  clusterBits: number;
  clusterBytes: number;
  /** Virtual disk size in bytes (`size`). */
  sizeBytes: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  nbSnapshots: number;
  refcountOrder: number;
  headerLength: number;
  /** autoclear_features is nonzero (bit halves, hi:lo). */
  autoclearSet: boolean;
  backingFile: string | null;
  /** From the backing file format name extension; null when absent. */
  backingFormat: string | null;
}

/** A big-endian u64 as a number, or -1 if it is 2^53 or more. */
export function readU64(v: DataView, at: number): number {
  const hi = v.getUint32(at);
  if (hi >= 0x200000) return -1;
  return hi * 0x1_0000_0000 + v.getUint32(at + 4);
}

export function writeU64(v: DataView, at: number, value: number): void {
  v.setUint32(at, Math.floor(value / 0x1_0000_0000));
  v.setUint32(at + 4, value >>> 0);
}

const hex32 = (n: number) => '0x' + n.toString(16).padStart(8, '0');

/**
 * Validates the header in `bytes` (the start of the file, at least its first cluster when the
 * file has one) of a file of `fileBytes` bytes.
 */
export function parseQcow2Header(path: string, bytes: Uint8Array, fileBytes: number): Qcow2Header {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = bytes.length >= 4 ? v.getUint32(0) : 0;
  const fail = (what: string): never => {
    throw new UserError(`disk image ${path} ${what}`);
  };
  const repair = `run qemu-img check -r all ${path}`;
  const convert = `convert it with qemu-img convert -O qcow2 ${path} NEW.qcow2`;
  if (magic !== QCOW_MAGIC) {
    fail(`is not a qcow2 file (bad magic ${hex32(magic)}); pass a qcow2 image or attach it as raw`);
  }
  if (bytes.length < QCOW2_V2_HEADER_BYTES)
    fail(`is truncated inside its qcow2 header; restore it from a copy`);
  const version = v.getUint32(4);
  if (version !== 2 && version !== 3) {
    fail(`is qcow2 version ${version}, which Domus cannot open; ${convert}`);
  }
  const clusterBits = v.getUint32(20);
  if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
    fail(`has cluster_bits ${clusterBits}, outside 512 B to 2 MiB clusters; ${convert}`);
  }
  const clusterBytes = 2 ** clusterBits;
  let headerLength = QCOW2_V2_HEADER_BYTES;
  let refcountOrder = 4;
  let incompatHi = 0;
  let incompatLo = 0;
  let autoclearSet = false;
  if (version === 3) {
    if (bytes.length < QCOW2_V3_HEADER_BYTES)
      fail(`is truncated inside its qcow2 header; restore it from a copy`);
    headerLength = v.getUint32(100);
    if (headerLength < QCOW2_V3_HEADER_BYTES || headerLength % 8 !== 0 || headerLength > clusterBytes) {
      fail(`has an invalid qcow2 header_length ${headerLength}; ${convert}`);
    }
    incompatHi = v.getUint32(72);
    incompatLo = v.getUint32(76);
    autoclearSet = v.getUint32(88) !== 0 || v.getUint32(92) !== 0;
    refcountOrder = v.getUint32(96);
  }
  if (bytes.length < headerLength) fail(`is truncated inside its qcow2 header; restore it from a copy`);
  const cryptMethod = v.getUint32(32);
  if (cryptMethod !== 0) {
    const name = cryptMethod === 1 ? 'AES' : cryptMethod === 2 ? 'LUKS' : `method ${cryptMethod}`;
    fail(
      `is encrypted (${name}), which Domus does not support; decrypt it into a new image with qemu-img convert`,
    );
  }

  // Header extensions: walked before the feature checks so that an unknown bit can be named.
  let backingFormat: string | null = null;
  const featureNames = new Map<number, string>();
  for (let at = headerLength; ;) {
    if (at + 8 > bytes.length) break; // the area ends with the header cluster
    const type = v.getUint32(at);
    const length = v.getUint32(at + 4);
    if (type === QCOW2_EXT_END) break;
    const data = at + 8;
    if (data + length > bytes.length || data + length > clusterBytes) {
      fail(`has a qcow2 header extension ${hex32(type)} that runs past its header cluster; ${repair}`);
    }
    if (type === QCOW2_EXT_BACKING_FORMAT) {
      backingFormat = new TextDecoder().decode(bytes.subarray(data, data + length));
    } else if (type === QCOW2_EXT_FEATURE_TABLE) {
      for (let e = data; e + 48 <= data + length; e += 48) {
        if (bytes[e] !== 0) continue; // only incompatible features matter to us
        const raw = bytes.subarray(e + 2, e + 48);
        const end = raw.indexOf(0);
        featureNames.set(bytes[e + 1] ?? 0, new TextDecoder().decode(end < 0 ? raw : raw.subarray(0, end)));
      }
    }
    at = data + Math.ceil(length / 8) * 8;
  }

  const bit = (n: number) => (n < 32 ? (incompatLo >>> n) & 1 : (incompatHi >>> (n - 32)) & 1) === 1;
  if (bit(QCOW2_INCOMPAT_DIRTY)) {
    fail(`was not closed cleanly (qcow2 dirty bit set); ${repair}`);
  }
  if (bit(QCOW2_INCOMPAT_CORRUPT)) fail(`is marked corrupt by QEMU; ${repair}`);
  if (bit(QCOW2_INCOMPAT_DATA_FILE)) {
    fail(`keeps its data in an external data file, which Domus does not support; ${convert}`);
  }
  if (bit(QCOW2_INCOMPAT_COMPRESSION)) {
    const type = headerLength > 104 ? (bytes[104] ?? 0) : 0;
    if (type !== 0) {
      const name = type === 1 ? 'zstd' : `type ${type}`;
      fail(
        `uses ${name} compression, which Domus does not support (only zlib); ` +
          `convert it with qemu-img convert -O qcow2 -o compression_type=zlib ${path} NEW.qcow2`,
      );
    }
  }
  if (bit(QCOW2_INCOMPAT_EXTL2)) {
    fail(`uses extended L2 entries (subclusters), which Domus does not support; ${convert}`);
  }
  for (let n = 5; n < 64; n++) {
    if (!bit(n)) continue;
    const name = featureNames.get(n);
    fail(
      `uses unknown incompatible qcow2 feature bit ${n}${name ? ` (${name})` : ''}, ` +
        `which Domus does not support; convert it with a newer qemu-img`,
    );
  }
  if (refcountOrder > 6) fail(`has refcount_order ${refcountOrder} (more than 64-bit refcounts); ${repair}`);

  const sizeBytes = readU64(v, 24);
  if (sizeBytes < 0) fail(`has a virtual size of 2^53 bytes or more, which Domus cannot address`);
  if (sizeBytes % 512 !== 0) {
    fail(
      `has a virtual size of ${sizeBytes} bytes, not a multiple of 512; ` +
        `resize it with qemu-img resize ${path} ${Math.ceil(sizeBytes / 512) * 512}`,
    );
  }
  const l1Size = v.getUint32(36);
  const l1TableOffset = readU64(v, 40);
  const refcountTableOffset = readU64(v, 48);
  const refcountTableClusters = v.getUint32(56);
  const nbSnapshots = v.getUint32(60);

  const l2Entries = clusterBytes / 8;
  const needL1 = Math.ceil(sizeBytes / clusterBytes / l2Entries);
  if (l1Size < needL1 || l1Size * 8 > MAX_L1_BYTES) {
    fail(`has an L1 table of ${l1Size} entries for a ${sizeBytes}-byte disk (needs ${needL1}); ${repair}`);
  }
  checkTable(path, 'L1 table', l1TableOffset, l1Size * 8, clusterBytes, fileBytes);
  if (refcountTableClusters === 0 || refcountTableClusters * clusterBytes > MAX_REFTABLE_BYTES) {
    fail(`has a refcount table of ${refcountTableClusters} clusters; ${repair}`);
  }
  checkTable(
    path,
    'refcount table',
    refcountTableOffset,
    refcountTableClusters * clusterBytes,
    clusterBytes,
    fileBytes,
  );

  let backingFile: string | null = null;
  const backingOffset = readU64(v, 8);
  if (backingOffset !== 0) {
    const backingSize = v.getUint32(16);
    if (
      backingOffset < 0 ||
      backingSize === 0 ||
      backingSize > MAX_BACKING_NAME_BYTES ||
      backingOffset + backingSize > Math.min(clusterBytes, bytes.length)
    ) {
      fail(`has a backing file name outside its header cluster; ${repair}`);
    }
    backingFile = new TextDecoder().decode(bytes.subarray(backingOffset, backingOffset + backingSize));
  }
  return {
    version: version === 2 ? 2 : 3,
    clusterBits,
    clusterBytes,
    sizeBytes,
    l1Size,
    l1TableOffset,
    refcountTableOffset,
    refcountTableClusters,
    nbSnapshots,
    refcountOrder,
    headerLength,
    autoclearSet,
    backingFile,
    backingFormat,
  };
}

/** A contiguous metadata table must start on a cluster boundary and lie inside the file. */
function checkTable(
  path: string,
  what: string,
  offset: number,
  bytes: number,
  clusterBytes: number,
  fileBytes: number,
) {
  if (bytes === 0 && offset === 0) return;
  if (offset < 0 || offset % clusterBytes !== 0) {
    throw new UserError(
      `disk image ${path} has its ${what} at offset ${offset < 0 ? '2^53 or more' : offset}, ` +
        `which is not cluster-aligned; the image is corrupt, restore it from a copy`,
    );
  }
  if (offset === 0 || offset + bytes > fileBytes) {
    throw new UserError(
      `disk image ${path} has its ${what} at offset ${offset}, ` +
        `${offset === 0 ? 'over its header' : `past the end of the file (${fileBytes} bytes)`}; ` +
        `the image is corrupt, restore it from a copy`,
    );
  }
}
