/**
 * The contract between a virtio transport and a virtio device model (virtio 1.2 §2, §4.2).
 *
 * A model (blk, console, rng) knows its device type, its queues, its feature bits and its
 * configuration space; it knows nothing of the transport's registers. The transport (the
 * virtio-mmio register file on the bare board, an IOREQ server behind the hypervisor) runs
 * feature negotiation and queue setup, then hands the model a `VirtioContext` at DRIVER_OK.
 *
 * A model touches guest memory only through `VirtioContext.mem` (a `GuestMemory`), so the
 * same model serves as a board device and as a split-driver backend that sees only what it
 * was granted. Everything the driver controls is untrusted: a broken ring or a buffer outside
 * guest memory ends in `fail()` (DEVICE_NEEDS_RESET), never in an exception.
 *
 * Ordering: `activate`, `notify` and `reset` are called on the thread that owns the device,
 * one at a time; a model completes requests synchronously inside `notify` (or, for host
 * input, inside its own `receive`).
 */
import type { GuestMemory } from '../device.ts';
import type { Virtqueue } from './queue.ts';

/** Device types (virtio 1.2 §5). */
export const VIRTIO_ID_BLOCK = 2;
export const VIRTIO_ID_CONSOLE = 3;
export const VIRTIO_ID_ENTROPY = 4;

/** Device status bits (virtio 1.2 §2.1). */
export const VIRTIO_CONFIG_S_ACKNOWLEDGE = 1;
export const VIRTIO_CONFIG_S_DRIVER = 2;
export const VIRTIO_CONFIG_S_DRIVER_OK = 4;
export const VIRTIO_CONFIG_S_FEATURES_OK = 8;
export const VIRTIO_CONFIG_S_NEEDS_RESET = 0x40;
export const VIRTIO_CONFIG_S_FAILED = 0x80;

/** Reserved feature bits (virtio 1.2 §6), as bit numbers. */
export const VIRTIO_F_INDIRECT_DESC = 28;
export const VIRTIO_F_EVENT_IDX = 29;
export const VIRTIO_F_VERSION_1 = 32;

/** What a virtio device model implements. */
export interface VirtioDeviceModel {
  /** Device type: 2 blk, 3 console, 4 rng. */
  readonly deviceId: number;
  /** Maximum size of each queue, a power of two; the index is the queue index. */
  readonly queueSizes: readonly number[];
  /**
   * Offered device-specific feature bits 0..31 and 32..63. The transport adds the ring
   * features it implements (INDIRECT_DESC, EVENT_IDX) and VIRTIO_F_VERSION_1 (bit 32).
   */
  readonly featuresLo: number;
  readonly featuresHi: number;
  /** Reads `width` bytes of configuration space at `offset`, little-endian; 0 outside it. */
  readConfig(offset: number, width: 1 | 2 | 4): number;
  writeConfig(offset: number, width: 1 | 2 | 4, value: number): void;
  /** DRIVER_OK was set: the model may start using the queues. */
  activate(ctx: VirtioContext): void;
  /** The driver kicked queue `index`. */
  notify(index: number): void;
  /** Device reset (status written 0): drop all queue state. */
  reset(): void;
  /** Optional: the model's own state beyond its queues, as plain data, for save/restore. */
  saveState?(): unknown;
  /**
   * Optional: replaces the model's whole state (as reset would) with what `saveState` returned.
   * Validates first and throws an Error naming a bad field, leaving the model unchanged.
   */
  restoreState?(state: unknown): void;
}

/** What the transport gives a model at DRIVER_OK. */
export interface VirtioContext {
  readonly mem: GuestMemory;
  readonly queues: readonly Virtqueue[];
  readonly negotiatedLo: number;
  readonly negotiatedHi: number;
  /** Signal "used buffer" (InterruptStatus bit 0) and raise the line. */
  interrupt(): void;
  /** The device is broken by the driver (bad descriptor...): set DEVICE_NEEDS_RESET, config interrupt. */
  fail(reason: string): void;
  /** Configuration space changed (link status...): bump ConfigGeneration and raise the config interrupt. */
  configChanged(): void;
}

/** Reads `width` bytes little-endian from a configuration-space image; 0 past its end. */
export function readConfigBytes(config: Uint8Array, offset: number, width: 1 | 2 | 4): number {
  let value = 0;
  for (let i = width - 1; i >= 0; i--) value = value * 256 + (config[offset + i] ?? 0);
  return value;
}

/** Narrows a saved state to a record of the given kind and version, or throws naming it. */
export function stateRecord(state: unknown, kind: string, version: number): Record<string, unknown> {
  if (typeof state !== 'object' || state === null || Array.isArray(state)) {
    throw new Error(`${kind} must be an object`);
  }
  const rec = state as Record<string, unknown>;
  if (rec['version'] !== version) {
    throw new Error(`${kind}.version must be ${version} (got ${String(rec['version'])})`);
  }
  return rec;
}

/** Reads an integer field in `min..max` from a saved state, or throws naming the field. */
export function stateInt(
  rec: Record<string, unknown>,
  kind: string,
  field: string,
  min: number,
  max: number,
) {
  const v = rec[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new Error(`${kind}.${field} must be an integer in ${min}..${max} (got ${String(v)})`);
  }
  return v;
}

/** Reads a boolean field from a saved state, or throws naming the field. */
export function stateBool(rec: Record<string, unknown>, kind: string, field: string): boolean {
  const v = rec[field];
  if (typeof v !== 'boolean') throw new Error(`${kind}.${field} must be a boolean (got ${String(v)})`);
  return v;
}

/** Reads an array of bytes from a saved state, or throws naming the field. */
export function stateBytes(rec: Record<string, unknown>, kind: string, field: string): Uint8Array {
  const v = rec[field];
  if (
    !Array.isArray(v) ||
    !v.every((b) => typeof b === 'number' && Number.isInteger(b) && b >= 0 && b <= 255)
  ) {
    throw new Error(`${kind}.${field} must be an array of bytes`);
  }
  return Uint8Array.from(v as number[]);
}
