/**
 * Ethernet II frame helpers shared by the virtual switch, the NIC backends and the host-side
 * network stack: MAC addresses (parse, format, broadcast/multicast tests, Xen-style random
 * ones) and the fixed 14-byte header (destination, source, ethertype).
 *
 * Frames are plain `Uint8Array`s without preamble or FCS, as a NIC driver hands them over.
 * A MAC address is either 6 bytes or its canonical text form, lower-case hex with colons
 * (`00:16:3e:12:ab:cd`); the switch uses the text form as a map key. Nothing here allocates
 * per frame except `frameSrc`/`frameDst`, which format a string.
 *
 * Random addresses use XenSource's OUI `00:16:3e` the way libxl and xapi do: the three
 * low bytes are random with the top bit of the first one clear (the upper half of the range is
 * left for addresses chosen by hand). That OUI is universally administered, not locally
 * administered: it is unique only among hosts that draw from the same random source, which is
 * also true of Xen.
 */
import { UserError } from '../../common/errors.ts';

export const ETH_ALEN = 6;
export const ETH_HLEN = 14;
/** Payload of an untagged frame at the standard MTU. */
export const ETH_DATA_LEN = 1500;
/** Largest untagged frame without FCS: ETH_HLEN + ETH_DATA_LEN. */
export const ETH_FRAME_LEN = 1514;
export const VLAN_HLEN = 4;

export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_IPV6 = 0x86dd;

/** XenSource's organizationally unique identifier, the first three bytes of Xen guests' MACs. */
export const XEN_OUI: readonly number[] = [0x00, 0x16, 0x3e];

export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';

const MAC_TEXT =
  /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i;

/**
 * Parses `aa:bb:cc:dd:ee:ff` (or with dashes, any case) into 6 bytes; throws a `UserError`
 * naming the text otherwise.
 */
export function parseMac(text: string): Uint8Array {
  const m = MAC_TEXT.exec(text.trim());
  if (m === null) {
    throw new UserError(
      `MAC address '${text}' is not six hex bytes separated by colons; write it like 00:16:3e:12:ab:cd`,
    );
  }
  const mac = new Uint8Array(ETH_ALEN);
  for (let i = 0; i < ETH_ALEN; i++) mac[i] = parseInt(m[i + 1] as string, 16);
  return mac;
}

/** Formats 6 bytes at `offset` of `bytes` as `aa:bb:cc:dd:ee:ff`. */
export function formatMac(bytes: Uint8Array, offset = 0): string {
  let s = '';
  for (let i = 0; i < ETH_ALEN; i++) {
    const b = bytes[offset + i] ?? 0;
    s += (i === 0 ? '' : ':') + (b < 16 ? '0' : '') + b.toString(16);
  }
  return s;
}

/** The group bit (I/G, bit 0 of the first byte): multicast, broadcast included. */
export function isMulticastMac(bytes: Uint8Array, offset = 0): boolean {
  return ((bytes[offset] ?? 0) & 1) !== 0;
}

export function isBroadcastMac(bytes: Uint8Array, offset = 0): boolean {
  for (let i = 0; i < ETH_ALEN; i++) if (bytes[offset + i] !== 0xff) return false;
  return true;
}

/** The U/L bit (bit 1 of the first byte). */
export function isLocallyAdministeredMac(bytes: Uint8Array, offset = 0): boolean {
  return ((bytes[offset] ?? 0) & 2) !== 0;
}

/** A usable station address: unicast and not all zeros. */
export function isValidUnicastMac(bytes: Uint8Array, offset = 0): boolean {
  if (bytes.length < offset + ETH_ALEN || isMulticastMac(bytes, offset)) return false;
  for (let i = 0; i < ETH_ALEN; i++) if (bytes[offset + i] !== 0) return true;
  return false;
}

/**
 * A random guest MAC `00:16:3e:xx:xx:xx` as libxl makes one. `random` fills its argument
 * with random bytes (default: Web Crypto, available in Node and browsers).
 */
export function randomXenMac(
  random: (dst: Uint8Array) => void = (dst) => globalThis.crypto.getRandomValues(dst),
): Uint8Array {
  const r = new Uint8Array(3);
  random(r);
  const mac = new Uint8Array(ETH_ALEN);
  mac.set(XEN_OUI);
  mac[3] = (r[0] ?? 0) & 0x7f;
  mac[4] = r[1] ?? 0;
  mac[5] = r[2] ?? 0;
  return mac;
}

/** Destination address of a frame, as text. The frame must be at least ETH_HLEN bytes. */
export function frameDst(frame: Uint8Array): string {
  return formatMac(frame, 0);
}

/** Source address of a frame, as text. */
export function frameSrc(frame: Uint8Array): string {
  return formatMac(frame, ETH_ALEN);
}

/** The ethertype (or 802.3 length) field at bytes 12..13, big-endian; -1 for a runt. */
export function etherType(frame: Uint8Array): number {
  if (frame.length < ETH_HLEN) return -1;
  return ((frame[12] as number) << 8) | (frame[13] as number);
}

/**
 * The ethertype of the payload, looking through one 802.1Q tag; -1 for a runt or a tagged
 * frame too short to hold its inner type.
 */
export function innerEtherType(frame: Uint8Array): number {
  const outer = etherType(frame);
  if (outer !== ETH_P_8021Q) return outer;
  if (frame.length < ETH_HLEN + VLAN_HLEN) return -1;
  return ((frame[16] as number) << 8) | (frame[17] as number);
}

/** Builds a frame from its header fields and payload (no padding to 60 bytes is added). */
export function buildFrame(dst: Uint8Array, src: Uint8Array, type: number, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(ETH_HLEN + payload.length);
  frame.set(dst.subarray(0, ETH_ALEN), 0);
  frame.set(src.subarray(0, ETH_ALEN), ETH_ALEN);
  frame[12] = (type >>> 8) & 0xff;
  frame[13] = type & 0xff;
  frame.set(payload, ETH_HLEN);
  return frame;
}
