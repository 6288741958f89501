/**
 * The physical address map's device part: MMIO windows and the devices behind them. RAM is
 * not on the bus (harts reach it directly through MachineMemory); the bus is only consulted
 * on the slow path, for accesses that miss RAM.
 *
 * 8-byte accesses are split into two 4-byte device accesses, low word first (device.ts).
 */
import type { MmioDevice } from './device.ts';

export interface BusMapping {
  base: number;
  size: number;
  device: MmioDevice;
}

export class Bus {
  private readonly maps: BusMapping[] = [];
  /** Set whenever a device was accessed: interrupt state may have changed. */
  touched = false;

  map(base: number, device: MmioDevice): void {
    const size = device.sizeBytes;
    for (const m of this.maps) {
      if (base < m.base + m.size && m.base < base + size) {
        throw new Error(`${device.name} at 0x${base.toString(16)} overlaps ${m.device.name}`);
      }
    }
    this.maps.push({ base, size, device });
    this.maps.sort((a, b) => a.base - b.base);
  }

  get mappings(): readonly BusMapping[] {
    return this.maps;
  }

  find(pa: number): BusMapping | undefined {
    for (const m of this.maps) {
      if (pa >= m.base && pa < m.base + m.size) return m;
    }
    return undefined;
  }

  /**
   * Reads `width` bytes at physical address `pa`. Returns false (access fault) when no device
   * is there or the device refuses; the value is left in `value` / `valueHi` (uint32 halves).
   */
  read(pa: number, width: 1 | 2 | 4 | 8): boolean {
    const m = this.find(pa);
    if (!m || pa + width > m.base + m.size) return false;
    const off = pa - m.base;
    const dev = m.device;
    // Reads have side effects too (PLIC claim, UART receive): interrupt state may change.
    this.touched = true;
    if (width === 8) {
      if (dev.accepts && !(dev.accepts(off, 4, false) && dev.accepts(off + 4, 4, false))) return false;
      this.value = dev.read(off, 4) >>> 0;
      this.valueHi = dev.read(off + 4, 4) >>> 0;
      return true;
    }
    if (dev.accepts && !dev.accepts(off, width, false)) return false;
    const mask = width === 4 ? 0xffffffff : width === 2 ? 0xffff : 0xff;
    this.value = (dev.read(off, width) & mask) >>> 0;
    this.valueHi = 0;
    return true;
  }

  // Start as non-Smi numbers: V8 then keeps the fields as doubles, and uint32 values above
  // 2^30 do not change the object's map (which would deoptimize callers).
  value = 0.5;
  valueHi = 0.5;

  /** Writes `width` bytes (value as lo/hi uint32 halves). Returns false on an access fault. */
  write(pa: number, width: 1 | 2 | 4 | 8, lo: number, hi: number): boolean {
    const m = this.find(pa);
    if (!m || pa + width > m.base + m.size) return false;
    const off = pa - m.base;
    const dev = m.device;
    this.touched = true;
    if (width === 8) {
      if (dev.accepts && !(dev.accepts(off, 4, true) && dev.accepts(off + 4, 4, true))) return false;
      dev.write(off, 4, lo >>> 0);
      dev.write(off + 4, 4, hi >>> 0);
      return true;
    }
    if (dev.accepts && !dev.accepts(off, width, true)) return false;
    const mask = width === 4 ? 0xffffffff : width === 2 ? 0xffff : 0xff;
    dev.write(off, width, (lo & mask) >>> 0);
    return true;
  }
}
