/**
 * The device tree of the Domus `virt` board, generated from the devices the board actually
 * has. Node names, compatibles and interrupt wiring follow QEMU's `virt` machine (what
 * OpenSBI's generic platform and Linux expect): cpus with riscv,cpu-intc children, a CLINT
 * and a PLIC wired to every hart's M and S contexts, the NS16550A, the goldfish RTC, the
 * SiFive test device with syscon-poweroff/-reboot, and the virtio-mmio slots.
 */
import { FdtBuilder } from './fdt.ts';

export interface FdtDescription {
  harts: number;
  ramBase: number;
  ramBytes: number;
  timebaseHz: number;
  isa: string;
  mmuType: string;
  cmdline: string;
  initrd?: { start: number; end: number };
  plicSources: number;
  /** Base addresses, sizes and interrupt numbers of the board devices. */
  clint: { base: number; size: number };
  plic: { base: number; size: number };
  uart: { base: number; size: number; irq: number; clockHz: number };
  rtc: { base: number; size: number; irq: number };
  test: { base: number; size: number };
  virtio: { base: number; size: number; irq: number }[];
  /** Random bytes for /chosen/rng-seed (Linux seeds its RNG early with them). */
  rngSeed?: Uint8Array;
}

const hi = (v: number) => Math.floor(v / 4294967296);
const lo = (v: number) => v >>> 0;

export function buildVirtFdt(d: FdtDescription): Uint8Array {
  // Phandles: CPU interrupt controllers 1..n, then the PLIC, then the test device.
  const intc = (h: number) => 1 + h;
  const cpuPhandle = (h: number) => 1 + d.harts + h;
  const plicPh = 1 + 2 * d.harts;
  const testPh = plicPh + 1;
  const f = new FdtBuilder();
  f.beginNode('');
  f.propU32('#address-cells', 2).propU32('#size-cells', 2);
  f.propString('compatible', 'riscv-virtio').propString('model', 'riscv-virtio,qemu');

  f.beginNode('chosen');
  f.propString('bootargs', d.cmdline);
  f.propString('stdout-path', `/soc/serial@${d.uart.base.toString(16)}`);
  if (d.initrd) {
    f.propU64('linux,initrd-start', d.initrd.start);
    f.propU64('linux,initrd-end', d.initrd.end);
  }
  if (d.rngSeed) f.propBytes('rng-seed', d.rngSeed);
  f.endNode();

  f.beginNode(`memory@${d.ramBase.toString(16)}`);
  f.propString('device_type', 'memory');
  f.propU32('reg', hi(d.ramBase), lo(d.ramBase), hi(d.ramBytes), lo(d.ramBytes));
  f.endNode();

  f.beginNode('cpus');
  f.propU32('#address-cells', 1).propU32('#size-cells', 0);
  f.propU32('timebase-frequency', d.timebaseHz);
  for (let h = 0; h < d.harts; h++) {
    f.beginNode(`cpu@${h}`);
    f.propU32('phandle', cpuPhandle(h));
    f.propString('device_type', 'cpu');
    f.propU32('reg', h);
    f.propString('status', 'okay');
    f.propString('compatible', 'riscv');
    f.propString('riscv,isa', d.isa);
    f.propString('mmu-type', d.mmuType);
    f.beginNode('interrupt-controller');
    f.propU32('#interrupt-cells', 1);
    f.propEmpty('interrupt-controller');
    f.propString('compatible', 'riscv,cpu-intc');
    f.propU32('phandle', intc(h));
    f.endNode();
    f.endNode();
  }
  f.beginNode('cpu-map');
  f.beginNode('cluster0');
  for (let h = 0; h < d.harts; h++) {
    f.beginNode(`core${h}`);
    f.propU32('cpu', cpuPhandle(h));
    f.endNode();
  }
  f.endNode();
  f.endNode();
  f.endNode(); // cpus

  f.beginNode('poweroff');
  f.propU32('value', 0x5555).propU32('offset', 0).propU32('regmap', testPh);
  f.propString('compatible', 'syscon-poweroff');
  f.endNode();
  f.beginNode('reboot');
  f.propU32('value', 0x7777).propU32('offset', 0).propU32('regmap', testPh);
  f.propString('compatible', 'syscon-reboot');
  f.endNode();

  f.beginNode('soc');
  f.propU32('#address-cells', 2).propU32('#size-cells', 2);
  f.propString('compatible', 'simple-bus');
  f.propEmpty('ranges');

  const reg = (base: number, size: number) => [hi(base), lo(base), hi(size), lo(size)];

  f.beginNode(`rtc@${d.rtc.base.toString(16)}`);
  f.propU32('interrupts', d.rtc.irq).propU32('interrupt-parent', plicPh);
  f.propU32('reg', ...reg(d.rtc.base, d.rtc.size));
  f.propString('compatible', 'google,goldfish-rtc');
  f.endNode();

  f.beginNode(`serial@${d.uart.base.toString(16)}`);
  f.propU32('interrupts', d.uart.irq).propU32('interrupt-parent', plicPh);
  f.propU32('clock-frequency', d.uart.clockHz);
  f.propU32('reg', ...reg(d.uart.base, d.uart.size));
  f.propString('compatible', 'ns16550a');
  f.endNode();

  f.beginNode(`test@${d.test.base.toString(16)}`);
  f.propU32('phandle', testPh);
  f.propU32('reg', ...reg(d.test.base, d.test.size));
  f.propStrings('compatible', 'sifive,test1', 'sifive,test0', 'syscon');
  f.endNode();

  for (const v of [...d.virtio].reverse()) {
    f.beginNode(`virtio_mmio@${v.base.toString(16)}`);
    f.propU32('interrupts', v.irq).propU32('interrupt-parent', plicPh);
    f.propU32('reg', ...reg(v.base, v.size));
    f.propString('compatible', 'virtio,mmio');
    f.endNode();
  }

  const plicIrqs: number[] = [];
  const clintIrqs: number[] = [];
  for (let h = 0; h < d.harts; h++) {
    plicIrqs.push(intc(h), 11, intc(h), 9); // M external, S external
    clintIrqs.push(intc(h), 3, intc(h), 7); // M software, M timer
  }
  f.beginNode(`plic@${d.plic.base.toString(16)}`);
  f.propU32('phandle', plicPh);
  f.propU32('riscv,ndev', d.plicSources);
  f.propU32('reg', ...reg(d.plic.base, d.plic.size));
  f.propU32('interrupts-extended', ...plicIrqs);
  f.propEmpty('interrupt-controller');
  f.propStrings('compatible', 'sifive,plic-1.0.0', 'riscv,plic0');
  f.propU32('#address-cells', 0);
  f.propU32('#interrupt-cells', 1);
  f.endNode();

  f.beginNode(`clint@${d.clint.base.toString(16)}`);
  f.propU32('interrupts-extended', ...clintIrqs);
  f.propU32('reg', ...reg(d.clint.base, d.clint.size));
  f.propStrings('compatible', 'sifive,clint0', 'riscv,clint0');
  f.endNode();

  f.endNode(); // soc
  f.endNode(); // root
  return f.finish({ bootCpuId: 0 });
}
