/**
 * The device tree a hosted domain boots with (what Xen's domain builder does for ARM guests):
 * its vCPUs (riscv,isa rv64imafdc_zihintpause, Sv48), its memory at 0x8000_0000, and the devices the
 * hypervisor and the toolstack give it at `virt`-board addresses — a PLIC whose contexts are the
 * vCPUs' S-mode external interrupts (no M-mode, no CLINT: timers and IPIs are SBI calls), the
 * UART, the goldfish RTC, the SiFive test finisher with syscon poweroff/reboot, and the
 * virtio-mmio slots — and a `hypervisor` node (compatible "domus,hypervisor", as Xen's ARM
 * guests get "xen,xen") naming the hypercall SBI extension and the PLIC source of the
 * event-channel upcall (docs/abi.md). Pages of RAM the guest must not use as memory (its
 * xenstore page) are listed under /reserved-memory. Not `no-map`: a no-map hole makes Linux 6.1
 * map all of its RAM with 4 KiB pages instead of 2 MiB ones (its region is no longer a multiple
 * of 2 MiB), which cost the boot a second of page walks.
 */
import { FdtBuilder } from '../machine/fdt.ts';
import { DOMUS_HYPERCALL_EID, XEN_VERSION_MAJOR, XEN_VERSION_MINOR } from '../hypervisor/abi/xen.ts';
import {
  GUEST_PLIC_BASE,
  GUEST_PLIC_SIZE,
  GUEST_PLIC_SOURCES,
  GUEST_EVTCHN_IRQ,
  GUEST_RAM_BASE,
  GUEST_RTC_BASE,
  GUEST_RTC_IRQ,
  GUEST_TEST_BASE,
  GUEST_UART_BASE,
  GUEST_UART_IRQ,
  GUEST_VIRTIO_BASE,
  GUEST_VIRTIO_SLOTS,
} from '../hypervisor/domain.ts';

export interface GuestFdtOptions {
  vcpus: number;
  memoryBytes: number;
  cmdline: string;
  initrd?: { start: number; end: number };
  stdout: 'uart' | 'sbi';
  rngSeed: Uint8Array;
  /** RAM ranges the guest must leave alone, each a /reserved-memory child `<name>@<base>`. */
  reserved?: { name: string; base: number; size: number }[];
}

const hi = (v: number) => Math.floor(v / 4294967296);
const lo = (v: number) => v >>> 0;
const reg = (base: number, size: number) => [hi(base), lo(base), hi(size), lo(size)];

export function buildGuestFdt(o: GuestFdtOptions): Uint8Array {
  const intc = (v: number) => 1 + v;
  const cpuPh = (v: number) => 1 + o.vcpus + v;
  const plicPh = 1 + 2 * o.vcpus;
  const testPh = plicPh + 1;
  const f = new FdtBuilder();
  f.beginNode('');
  f.propU32('#address-cells', 2).propU32('#size-cells', 2);
  f.propString('compatible', 'riscv-virtio').propString('model', 'domus,hosted');

  f.beginNode('chosen');
  f.propString('bootargs', o.cmdline);
  if (o.stdout === 'uart') f.propString('stdout-path', `/soc/serial@${GUEST_UART_BASE.toString(16)}`);
  if (o.initrd) {
    f.propU64('linux,initrd-start', o.initrd.start);
    f.propU64('linux,initrd-end', o.initrd.end);
  }
  f.propBytes('rng-seed', o.rngSeed);
  f.endNode();

  f.beginNode(`memory@${GUEST_RAM_BASE.toString(16)}`);
  f.propString('device_type', 'memory');
  f.propU32('reg', ...reg(GUEST_RAM_BASE, o.memoryBytes));
  f.endNode();

  if (o.reserved && o.reserved.length > 0) {
    f.beginNode('reserved-memory');
    f.propU32('#address-cells', 2).propU32('#size-cells', 2);
    f.propEmpty('ranges');
    for (const r of o.reserved) {
      f.beginNode(`${r.name}@${r.base.toString(16)}`);
      f.propU32('reg', ...reg(r.base, r.size));
      f.endNode();
    }
    f.endNode();
  }

  f.beginNode('cpus');
  f.propU32('#address-cells', 1).propU32('#size-cells', 0);
  f.propU32('timebase-frequency', 10_000_000);
  for (let v = 0; v < o.vcpus; v++) {
    f.beginNode(`cpu@${v}`);
    f.propU32('phandle', cpuPh(v));
    f.propString('device_type', 'cpu');
    f.propU32('reg', v);
    f.propString('status', 'okay');
    f.propString('compatible', 'riscv');
    // Zihintpause: Linux's cpu_relax() then executes PAUSE, on which the hypervisor yields.
    f.propString('riscv,isa', 'rv64imafdc_zihintpause');
    f.propString('mmu-type', 'riscv,sv48');
    f.beginNode('interrupt-controller');
    f.propU32('#interrupt-cells', 1);
    f.propEmpty('interrupt-controller');
    f.propString('compatible', 'riscv,cpu-intc');
    f.propU32('phandle', intc(v));
    f.endNode();
    f.endNode();
  }
  f.endNode();

  f.beginNode('poweroff');
  f.propU32('value', 0x5555).propU32('offset', 0).propU32('regmap', testPh);
  f.propString('compatible', 'syscon-poweroff');
  f.endNode();
  f.beginNode('reboot');
  f.propU32('value', 0x7777).propU32('offset', 0).propU32('regmap', testPh);
  f.propString('compatible', 'syscon-reboot');
  f.endNode();

  f.beginNode('hypervisor');
  f.propString('compatible', 'domus,hypervisor');
  f.propString('domus,interface-version', `${XEN_VERSION_MAJOR}.${XEN_VERSION_MINOR}`);
  f.propU32('domus,sbi-extension', DOMUS_HYPERCALL_EID);
  f.propU32('interrupts', GUEST_EVTCHN_IRQ).propU32('interrupt-parent', plicPh);
  f.endNode();

  f.beginNode('soc');
  f.propU32('#address-cells', 2).propU32('#size-cells', 2);
  f.propString('compatible', 'simple-bus');
  f.propEmpty('ranges');

  f.beginNode(`rtc@${GUEST_RTC_BASE.toString(16)}`);
  f.propU32('interrupts', GUEST_RTC_IRQ).propU32('interrupt-parent', plicPh);
  f.propU32('reg', ...reg(GUEST_RTC_BASE, 0x1000));
  f.propString('compatible', 'google,goldfish-rtc');
  f.endNode();

  f.beginNode(`serial@${GUEST_UART_BASE.toString(16)}`);
  f.propU32('interrupts', GUEST_UART_IRQ).propU32('interrupt-parent', plicPh);
  f.propU32('clock-frequency', 3686400);
  f.propU32('reg', ...reg(GUEST_UART_BASE, 0x100));
  f.propString('compatible', 'ns16550a');
  f.endNode();

  f.beginNode(`test@${GUEST_TEST_BASE.toString(16)}`);
  f.propU32('phandle', testPh);
  f.propU32('reg', ...reg(GUEST_TEST_BASE, 0x1000));
  f.propStrings('compatible', 'sifive,test1', 'sifive,test0', 'syscon');
  f.endNode();

  for (let i = GUEST_VIRTIO_SLOTS - 1; i >= 0; i--) {
    const base = GUEST_VIRTIO_BASE + i * 0x1000;
    f.beginNode(`virtio_mmio@${base.toString(16)}`);
    f.propU32('interrupts', 1 + i).propU32('interrupt-parent', plicPh);
    f.propU32('reg', ...reg(base, 0x1000));
    f.propString('compatible', 'virtio,mmio');
    f.endNode();
  }

  const plicIrqs: number[] = [];
  for (let v = 0; v < o.vcpus; v++) plicIrqs.push(intc(v), 9); // S-mode external only
  f.beginNode(`plic@${GUEST_PLIC_BASE.toString(16)}`);
  f.propU32('phandle', plicPh);
  f.propU32('riscv,ndev', GUEST_PLIC_SOURCES);
  f.propU32('reg', ...reg(GUEST_PLIC_BASE, GUEST_PLIC_SIZE));
  f.propU32('interrupts-extended', ...plicIrqs);
  f.propEmpty('interrupt-controller');
  f.propStrings('compatible', 'sifive,plic-1.0.0', 'riscv,plic0');
  f.propU32('#address-cells', 0);
  f.propU32('#interrupt-cells', 1);
  f.endNode();

  f.endNode(); // soc
  f.endNode();
  return f.finish({ bootCpuId: 0 });
}
