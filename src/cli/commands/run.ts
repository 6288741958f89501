/**
 * `domus run`: boots a guest with its console on this terminal. By default the guest runs as a
 * domain of the Domus hypervisor (VS-mode, no firmware in the guest: the hypervisor is its SBI);
 * `--bare` runs the board with M-mode firmware (Debian's OpenSBI) and the kernel in S-mode, as
 * QEMU's `virt` machine does. Defaults to the prebuilt default guest. Exits with the guest's
 * `domus.run` status (what it reported through the test finisher).
 */
import { setFlagsFromString } from 'node:v8';
import { parseArgs } from 'node:util';
import { UserError } from '../../common/errors.ts';
import { HostClock, MAX_HARTS, seededRandom, VirtBoard, VirtualClock } from '../../machine/board.ts';
import { attachJit, DEFAULT_JIT_MODE, parseJitMode, type JitMode } from '../../machine/jit/jit.ts';
import type { BlockFile } from '../../platform/node/block_file.ts';
import { openDiskImage } from '../../platform/node/disk_image.ts';
import { PREBUILT_KERNELS, prebuiltGuest } from '../../platform/node/guest_image.ts';
import { attachConsole } from '../../platform/node/terminal.ts';
import { DOMAIN_OVERHEAD_BYTES, Host } from '../../toolstack/host.ts';
import { registerCommand } from '../command_table.ts';
import { defaultFirmware, memoryBytes, readInput, vcpuCount } from '../run_support.ts';

/** The kernel command line every run starts with; --append goes after it. */
export const BASE_APPEND = 'earlycon=sbi console=ttyS0';

const USAGE = `usage: domus run [options]

Boots a RISC-V Linux guest with its console on this terminal: as a domain of the Domus
hypervisor (the default; the guest runs in VS-mode and the hypervisor is its SBI), or with
--bare on the board with Debian's OpenSBI as M-mode firmware. Without options it boots the
prebuilt default guest. Ctrl-a x quits; Ctrl-a h lists the escape keys. The exit status is the
guest's domus.run status (0 after a plain poweroff).

  --guest NAME     a prebuilt guest kernel: ${Object.keys(PREBUILT_KERNELS).join(' (default), ')}
  --kernel F       riscv64 Linux Image (default: guests/prebuilt/Image.gz, decompressed)
  --initrd F       initramfs (default: guests/prebuilt/initramfs.cpio.gz, decompressed)
  --append S       more kernel command line, e.g. --append 'domus.run=uname -a'
  --memory MiB     guest RAM (default 256)
  --vcpus N        vCPUs / harts (default 1, at most ${MAX_HARTS})
  --disk F[,ro]    disk image (raw or qcow2, by its magic) as virtio-blk (repeatable; ,ro read-only)
  --virtio-console also give the guest a virtio console (hvc0)
  --no-reboot      exit when the guest reboots instead of booting it again
  --deterministic  virtual time from retired instructions (1 tick per 10), idle time
                   skipped, seeded randomness: the same inputs give the same run
  --seed N         the random seed for --deterministic (default 0)
  --bare           the board with M-mode firmware instead of the hypervisor
  --firmware F     (--bare) M-mode firmware (default Debian's opensbi fw_jump.bin)
  --jit            translate hot guest code to WebAssembly (the default)
  --no-jit         interpret every instruction (the reference; loops run 5-20x slower)

The environment variable DOMUS_JIT=off|on|force also chooses the JIT (force translates code
the first time it runs); --jit and --no-jit take precedence over it.
`;

interface RunInputs {
  ramBytes: number;
  vcpus: number;
  kernel: Uint8Array;
  kernelPath: string;
  initrd: Uint8Array | undefined;
  cmdline: string;
  disks: { path: string; readOnly: boolean }[];
  virtioConsole: boolean;
  noReboot: boolean;
  deterministic: boolean;
  seed: number;
  jit: JitMode;
}

registerCommand({
  name: 'run',
  summary: 'boot a Linux guest (as a domain, or --bare on the board) with its console here',
  usage: USAGE,
  async run(args) {
    let values;
    try {
      ({ values } = parseArgs({
        args,
        options: {
          kernel: { type: 'string' },
          guest: { type: 'string' },
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
          bare: { type: 'boolean' },
          jit: { type: 'boolean' },
          'no-jit': { type: 'boolean' },
        },
      }));
    } catch (e) {
      throw new UserError(`${(e as Error).message}; see domus help run`);
    }
    if (values.firmware !== undefined && !values.bare) {
      throw new UserError(
        '--firmware only applies to the bare board; add --bare (a domain boots without firmware)',
      );
    }
    const jit = jitModeOf(values.jit === true, values['no-jit'] === true);
    const ramBytes = memoryBytes(values.memory, 256, 16);
    const vcpus = vcpuCount(values.vcpus, MAX_HARTS);
    if (values.guest !== undefined && values.kernel !== undefined) {
      throw new UserError('--guest and --kernel both name a kernel; pass one of them');
    }
    const guest = values.kernel && values.initrd ? undefined : prebuiltGuest(values.guest ?? 'linux-6.1');
    const kernelPath = values.kernel ?? guest!.kernel;
    const initrdPath = values.initrd ?? guest?.initrd;
    const firmwarePath = values.bare ? (values.firmware ?? defaultFirmware()) : undefined;
    const firmware = firmwarePath !== undefined ? readInput(firmwarePath, 'firmware') : undefined;
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
    const diskSpecs: { path: string; readOnly: boolean }[] = [];
    for (const spec of values.disk ?? []) {
      const [path, ...flags] = spec.split(',');
      for (const f of flags) {
        if (f !== 'ro' && f !== 'rw')
          throw new UserError(`--disk ${spec}: unknown flag '${f}'; use F, F,ro or F,rw`);
      }
      if (!path) throw new UserError(`--disk ${spec} has no file name; pass --disk FILE[,ro]`);
      diskSpecs.push({ path, readOnly: flags.includes('ro') });
    }
    const inputs: RunInputs = {
      ramBytes,
      vcpus,
      kernel,
      kernelPath,
      initrd,
      cmdline,
      disks: diskSpecs,
      virtioConsole: values['virtio-console'] === true,
      noReboot: values['no-reboot'] === true,
      deterministic: values.deterministic === true,
      seed,
      jit,
    };
    return firmware ? await runBare(inputs, firmware, firmwarePath!) : await runHosted(inputs);
  },
});

/**
 * V8 compiles wasm with its baseline compiler first and recompiles functions that run long
 * enough with its optimizing one, on background threads. At V8's default budget most of the
 * JIT's boot-time regions get recompiled, which on a 2-core host costs more than it saves;
 * at this budget only truly hot regions (loops) are (measured: docs/benchmarks.md).
 */
const WASM_TIERING_FLAG = '--wasm-tiering-budget=50000000';

/**
 * JIT tuning from the environment: DOMUS_JIT_THRESHOLD=N (entries before an entry point is
 * translated; see docs/jit.md). Meant for measuring, not for everyday use.
 */
export function jitOptionsFromEnv(): { threshold?: number } {
  const raw = process.env['DOMUS_JIT_THRESHOLD'];
  if (raw === undefined || raw === '') return {};
  const threshold = Number(raw);
  if (!Number.isInteger(threshold) || threshold < 0)
    throw new UserError(`DOMUS_JIT_THRESHOLD ${JSON.stringify(raw)} is not a whole number; use e.g. 1000`);
  return { threshold };
}

/**
 * The JIT mode of a run: --jit / --no-jit, else DOMUS_JIT, else the default. A hosted domain's
 * vCPUs get the JIT from the pCPU that builds it (DomainSpec.jit).
 */
export function jitModeOf(jit: boolean, noJit: boolean): JitMode {
  if (jit && noJit) throw new UserError('--jit and --no-jit contradict each other; pass one of them');
  const env = process.env['DOMUS_JIT'];
  const mode: JitMode = jit ? 'on' : noJit ? 'off' : env ? parseJitMode(env, 'DOMUS_JIT') : DEFAULT_JIT_MODE;
  return mode;
}

function stats(t0: number, instructions: number): void {
  if (!process.env['DOMUS_STATS']) return;
  const s = (performance.now() - t0) / 1000;
  process.stderr.write(
    `domus: ${instructions} instructions in ${s.toFixed(2)} s (${(instructions / s / 1e6).toFixed(1)} MIPS)\n`,
  );
}

/** The guest as a domain of the hypervisor, on a host with one pCPU thread. */
async function runHosted(o: RunInputs): Promise<number> {
  if (o.jit !== 'off') setFlagsFromString(WASM_TIERING_FLAG);
  const host = await Host.start({
    memoryBytes: o.ramBytes + DOMAIN_OVERHEAD_BYTES,
    pcpus: 1,
    maxVcpus: o.vcpus,
    deterministic: o.deterministic,
  });
  try {
    const t0 = performance.now();
    const dom = await host.createDomain({
      name: 'guest',
      memoryBytes: o.ramBytes,
      vcpus: o.vcpus,
      kernel: o.kernel,
      kernelName: o.kernelPath,
      ...(o.initrd && { initrd: o.initrd }),
      cmdline: o.cmdline,
      disks: o.disks,
      virtioConsole: o.virtioConsole,
      ...(o.deterministic && { seed: o.seed }),
      onPoweroff: 'destroy',
      onCrash: 'destroy',
      onReboot: o.noReboot ? 'destroy' : 'restart',
      jit: o.jit === 'off' ? 'off' : 'on',
    });
    dom.onConsole((bytes) => process.stdout.write(bytes));
    dom.onShutdown((_reason, _info, action) => {
      if (action === 'restart') process.stderr.write('\r\ndomus: the guest rebooted; booting it again\r\n');
    });
    let quit = false;
    const con = attachConsole({
      send: (bytes) => dom.sendInput(bytes),
      quit: () => {
        quit = true;
        void dom.destroy();
      },
    });
    let info;
    try {
      info = await dom.gone;
    } finally {
      con.detach();
    }
    stats(t0, info.instructions);
    const reason = dom.lastShutdown;
    if (quit || !reason) return 0;
    switch (reason.kind) {
      case 'poweroff':
        return reason.code;
      case 'crash':
        process.stderr.write(`domus: the guest crashed: ${reason.detail}\n`);
        return 1;
      case 'reboot':
        return 0;
    }
  } finally {
    await host.close();
  }
}

/** The guest on the bare board with M-mode firmware. */
async function runBare(o: RunInputs, firmware: Uint8Array, firmwarePath: string): Promise<number> {
  const disks: BlockFile[] = [];
  try {
    for (const d of o.disks) disks.push(openDiskImage(d.path, { readOnly: d.readOnly }));
    return await runBoard(o, disks, firmware, firmwarePath);
  } finally {
    for (const d of disks) d.close();
  }
}

async function runBoard(
  o: RunInputs,
  disks: BlockFile[],
  firmware: Uint8Array,
  firmwarePath: string,
): Promise<number> {
  const random = o.deterministic
    ? seededRandom(o.seed)
    : (d: Uint8Array) => {
        globalThis.crypto.getRandomValues(d);
      };
  for (;;) {
    const board = new VirtBoard({
      ramBytes: o.ramBytes,
      harts: o.vcpus,
      disks,
      virtioConsole: o.virtioConsole,
      onConsole: (bytes) => process.stdout.write(bytes),
      clock: o.deterministic ? new VirtualClock() : new HostClock(),
      random,
    });
    if (o.jit !== 'off') setFlagsFromString(WASM_TIERING_FLAG);
    attachJit(board, o.jit, jitOptionsFromEnv());
    try {
      board.loadFirmware({
        firmware,
        firmwareName: firmwarePath,
        kernel: o.kernel,
        kernelName: o.kernelPath,
        ...(o.initrd && { initrd: o.initrd }),
        cmdline: o.cmdline,
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
    stats(t0, board.instructions);
    const jit = board.harts[0]?.jit;
    if (jit && process.env['DOMUS_STATS'])
      process.stderr.write(`domus: jit ${JSON.stringify(jit.stats())}\n`);
    switch (reason.kind) {
      case 'poweroff':
        return reason.code;
      case 'fail':
        return reason.code === 0 ? 1 : reason.code;
      case 'stopped':
        return 0;
      case 'reset':
        if (o.noReboot) return 0;
        process.stderr.write('\r\ndomus: the guest rebooted; booting it again\r\n');
        continue;
    }
  }
}
