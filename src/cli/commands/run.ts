/**
 * `domus run`: boots a guest on the bare Domus board (OpenSBI as M-mode firmware, then Linux
 * in S-mode) with its console on this terminal. Defaults to the prebuilt default guest.
 * Exits with the guest's `domus.run` status (what it reported through the test finisher).
 */
import { parseArgs } from 'node:util';
import { UserError } from '../../common/errors.ts';
import { MAX_HARTS, seededRandom, VirtBoard, VirtualClock } from '../../machine/board.ts';
import type { BlockBackend } from '../../machine/virtio/blk.ts';
import { openBlockFile } from '../../platform/node/block_file.ts';
import { defaultGuest } from '../../platform/node/guest_image.ts';
import { attachConsole } from '../../platform/node/terminal.ts';
import { registerCommand } from '../command_table.ts';
import { defaultFirmware, memoryBytes, readInput, vcpuCount } from '../run_support.ts';

/** The kernel command line every run starts with; --append goes after it. */
export const BASE_APPEND = 'earlycon=sbi console=ttyS0';

const USAGE = `usage: domus run [options]

Boots a RISC-V Linux guest on the bare Domus board (Debian's OpenSBI, then the kernel), with
the console on this terminal. Without options it boots the prebuilt default guest.
Ctrl-a x quits; Ctrl-a h lists the escape keys. The exit status is the guest's domus.run
status (0 after a plain poweroff).

  --kernel F       riscv64 Linux Image (default: guests/prebuilt/Image.gz, decompressed)
  --initrd F       initramfs (default: guests/prebuilt/initramfs.cpio.gz)
  --append S       more kernel command line, e.g. --append 'domus.run=uname -a'
  --memory MiB     guest RAM (default 256)
  --vcpus N        harts (default 1, at most ${MAX_HARTS})
  --firmware F     M-mode firmware (default Debian's opensbi fw_jump.bin)
  --disk F[,ro]    raw disk image as virtio-blk (repeatable; ,ro attaches it read-only)
  --virtio-console also give the guest a virtio console (hvc0)
  --no-reboot      exit when the guest reboots instead of booting it again
  --deterministic  virtual time from retired instructions (1 tick per 10), idle time
                   skipped, seeded randomness: the same inputs give the same run
  --seed N         the random seed for --deterministic (default 0)
`;

registerCommand({
  name: 'run',
  summary: 'boot a Linux guest on the bare board with its console here',
  usage: USAGE,
  async run(args) {
    let values;
    try {
      ({ values } = parseArgs({
        args,
        options: {
          kernel: { type: 'string' },
          initrd: { type: 'string' },
          append: { type: 'string' },
          memory: { type: 'string' },
          vcpus: { type: 'string' },
          firmware: { type: 'string' },
          disk: { type: 'string', multiple: true },
          'virtio-console': { type: 'boolean' },
          'no-reboot': { type: 'boolean' },
          deterministic: { type: 'boolean' },
          seed: { type: 'string' },
        },
      }));
    } catch (e) {
      throw new UserError(`${(e as Error).message}; see domus help run`);
    }
    const ramBytes = memoryBytes(values.memory, 256, 16);
    const harts = vcpuCount(values.vcpus, MAX_HARTS);
    const guest = values.kernel && values.initrd ? undefined : defaultGuest();
    const kernelPath = values.kernel ?? guest!.kernel;
    const initrdPath = values.initrd ?? guest?.initrd;
    const firmwarePath = values.firmware ?? defaultFirmware();
    const firmware = readInput(firmwarePath, 'firmware');
    const kernel = readInput(kernelPath, 'kernel');
    const initrd = initrdPath !== undefined ? readInput(initrdPath, 'initrd') : undefined;
    const cmdline = values.append ? `${BASE_APPEND} ${values.append}` : BASE_APPEND;
    const seed = values.seed === undefined ? 0 : Number(values.seed);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new UserError(`--seed ${values.seed} is not a whole number from 0 to 4294967295`);
    }
    if (values.seed !== undefined && !values.deterministic) {
      throw new UserError('--seed only applies with --deterministic; add --deterministic');
    }

    const disks: (BlockBackend & { close(): void })[] = [];
    try {
      for (const spec of values.disk ?? []) {
        const [path, ...flags] = spec.split(',');
        for (const f of flags) {
          if (f !== 'ro' && f !== 'rw')
            throw new UserError(`--disk ${spec}: unknown flag '${f}'; use F, F,ro or F,rw`);
        }
        if (!path) throw new UserError(`--disk ${spec} has no file name; pass --disk FILE[,ro]`);
        disks.push(openBlockFile(path, { readOnly: flags.includes('ro') }));
      }
      for (;;) {
        const board = new VirtBoard({
          ramBytes,
          harts,
          disks,
          virtioConsole: values['virtio-console'] === true,
          onConsole: (bytes) => process.stdout.write(bytes),
          ...(values.deterministic && { clock: new VirtualClock(), random: seededRandom(seed) }),
        });
        try {
          board.loadFirmware({
            firmware,
            firmwareName: firmwarePath,
            kernel,
            kernelName: kernelPath,
            ...(initrd && { initrd }),
            cmdline,
          });
        } catch (e) {
          if (e instanceof RangeError) throw new UserError(e.message);
          throw e;
        }
        const con = attachConsole({
          send: (bytes) => board.sendConsoleInput(bytes),
          quit: () => board.stop(),
        });
        let reason;
        const t0 = performance.now();
        try {
          reason = await board.run();
        } finally {
          con.detach();
        }
        if (process.env['DOMUS_STATS']) {
          const s = (performance.now() - t0) / 1000;
          const n = board.instructions;
          process.stderr.write(
            `domus: ${n} instructions in ${s.toFixed(2)} s (${(n / s / 1e6).toFixed(1)} MIPS)\n`,
          );
        }
        switch (reason.kind) {
          case 'poweroff':
            return reason.code;
          case 'fail':
            return reason.code === 0 ? 1 : reason.code;
          case 'stopped':
            return 0;
          case 'reset':
            if (values['no-reboot']) return 0;
            process.stderr.write('\r\ndomus: the guest rebooted; booting it again\r\n');
            continue;
        }
      }
    } finally {
      for (const d of disks) d.close();
    }
  },
});
