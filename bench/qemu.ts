/**
 * The QEMU reference runner: boots a guest under Debian's `qemu-system-riscv64 -M virt`
 * with Debian's OpenSBI `fw_jump.bin`, the way Domus's bare board boots it.
 *
 * It honours the default guest's `domus.run` convention unchanged: the guest's /init writes
 * the command's exit status to the SiFive test finisher, and QEMU exits with it.
 * When QEMU or OpenSBI is missing it installs `qemu-system-misc` and `opensbi` from Debian
 * (as root), or says which command would.
 */
import { existsSync } from 'node:fs';
import { UserError } from '../src/common/errors.ts';
import { aptInstall, canInstallPackages, hasCommand } from '../src/platform/node/apt.ts';
import { defaultGuest } from '../src/platform/node/guest_image.ts';
import { GuestProcess } from './guest_process.ts';

export const QEMU_BINARY = 'qemu-system-riscv64';
export const OPENSBI_FW_JUMP = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin';

/** Kernel command line every run starts with; the caller's `append` goes after it. */
export const BASE_APPEND = 'earlycon=sbi console=ttyS0 panic=-1';

export interface QemuRunOptions {
  kernel?: string;
  initrd?: string;
  /** Appended to BASE_APPEND; put `domus.run=…` last or quote it. */
  append?: string;
  memoryMiB?: number;
  vcpus?: number;
  firmware?: string;
  /** Raw disk images attached as virtio-blk devices. */
  disks?: string[];
  /** More QEMU arguments, verbatim. */
  extraArgs?: string[];
}

/** Makes sure QEMU and OpenSBI are installed, installing them from Debian when root. */
export function ensureQemu(log: (msg: string) => void = (m) => process.stderr.write(m + '\n')): void {
  if (hasCommand(QEMU_BINARY) && existsSync(OPENSBI_FW_JUMP)) return;
  const pkgs = ['qemu-system-misc', 'opensbi'];
  if (!canInstallPackages()) {
    throw new UserError(
      `${QEMU_BINARY} or OpenSBI is not installed; install them with: sudo apt-get install ${pkgs.join(' ')}`,
    );
  }
  log(`ref:qemu: installing ${pkgs.join(' ')} from Debian (once)…`);
  if (!aptInstall(pkgs) || !hasCommand(QEMU_BINARY) || !existsSync(OPENSBI_FW_JUMP)) {
    throw new UserError(`installing ${pkgs.join(' ')} failed; run apt-get install ${pkgs.join(' ')} by hand`);
  }
}

/** The QEMU command line for `opts`, using the prebuilt default guest where not overridden. */
export function qemuArgs(opts: QemuRunOptions = {}): string[] {
  const guest = opts.kernel && opts.initrd ? undefined : defaultGuest();
  const kernel = opts.kernel ?? guest?.kernel;
  const initrd = opts.initrd ?? guest?.initrd;
  for (const [what, path] of [
    ['kernel', kernel],
    ['initrd', initrd],
    ['firmware', opts.firmware],
  ] as const) {
    if (path !== undefined && !existsSync(path)) {
      throw new UserError(`${what} ${path} does not exist; pass an existing file`);
    }
  }
  const append = opts.append ? `${BASE_APPEND} ${opts.append}` : BASE_APPEND;
  const args = [
    '-M',
    'virt',
    '-nographic',
    '-no-reboot',
    '-m',
    `${opts.memoryMiB ?? 256}`,
    '-smp',
    `${opts.vcpus ?? 1}`,
    '-bios',
    opts.firmware ?? OPENSBI_FW_JUMP,
    '-kernel',
    kernel ?? '',
    '-initrd',
    initrd ?? '',
    '-append',
    append,
  ];
  for (const [i, disk] of (opts.disks ?? []).entries()) {
    args.push(
      '-drive',
      `file=${disk},format=raw,if=none,id=hd${i}`,
      '-device',
      `virtio-blk-device,drive=hd${i}`,
    );
  }
  return args.concat(opts.extraArgs ?? []);
}

/** Launches QEMU with piped stdio (for tests and benchmarks). */
export function startQemu(opts: QemuRunOptions = {}): GuestProcess {
  ensureQemu();
  return new GuestProcess(QEMU_BINARY, qemuArgs(opts));
}
