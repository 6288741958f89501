// Developer tool: boots the default guest on the bare board (one hart) for a number of
// million instructions and prints, after each million, where the hart is (pc, privilege,
// last traps), then the instruction rate. The guest console goes to stdout.
//   npx tsx scripts/boot_probe.ts [millions] [append]
import { readFileSync } from 'node:fs';
import { VirtBoard } from '../src/machine/board.ts';
import { Irq } from '../src/machine/hart/csr_defs.ts';
import { run } from '../src/machine/hart/interp.ts';
import { CsrSlot, csrIndex } from '../src/machine/hart/layout.ts';
import { defaultGuest } from '../src/platform/node/guest_image.ts';

const millions = Number(process.argv[2] ?? 50);
const append = process.argv[3] ?? 'domus.run=uname -a';
const g = defaultGuest();
const board = new VirtBoard({ ramBytes: 256 << 20, harts: 1, onConsole: (b) => process.stdout.write(b) });
board.loadFirmware({
  firmware: readFileSync('/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin'),
  firmwareName: 'fw_jump.bin',
  kernel: readFileSync(g.kernel),
  initrd: readFileSync(g.initrd),
  cmdline: 'earlycon=sbi console=ttyS0 ' + append,
});
const h = board.harts[0]!;
const hex = (n: number) => (n < 0 ? '-0x' + (-n).toString(16) : '0x' + n.toString(16));
const csr = (s: CsrSlot) => {
  const i = csrIndex(s);
  return hex(h.S[i + 1]! * 4294967296 + (h.S[i]! >>> 0));
};
const t0 = performance.now();
let total = 0;
for (let m = 0; m < millions && !h.yieldRequest; m++) {
  let left = 1_000_000;
  while (left > 0 && !h.yieldRequest) {
    h.setIrqLine(Irq.MTIP, board.aclint.timerPending(0));
    const n = run(h, Math.min(left, 20000));
    left -= n;
    total += n;
    if (n === 0 && h.wakeable()) h.S[0x224 / 4] = 0;
  }
  process.stderr.write(
    `[${m + 1}M] pc=${hex(h.pc)} priv=${h.priv} mcause=${csr(CsrSlot.MCAUSE)} mepc=${csr(CsrSlot.MEPC)} ` +
      `scause=${csr(CsrSlot.SCAUSE)} sepc=${csr(CsrSlot.SEPC)} stval=${csr(CsrSlot.STVAL)}\n`,
  );
}
const ms = performance.now() - t0;
process.stderr.write(
  `${total} instructions in ${ms.toFixed(0)} ms = ${(total / ms / 1000).toFixed(1)} MIPS\n`,
);
