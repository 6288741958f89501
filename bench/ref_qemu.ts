/**
 * `npm run ref:qemu -- [options]`: boots the prebuilt default guest under QEMU with the
 * console on this terminal (Ctrl-a x quits, as in QEMU) and exits with QEMU's status, which
 * is the guest's `domus.run` status when one is given.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { UserError } from '../src/common/errors.ts';
import { ensureQemu, qemuArgs, QEMU_BINARY } from './qemu.ts';

const USAGE = `usage: npm run ref:qemu -- [options]

Boots the prebuilt default guest (guests/prebuilt/) under ${QEMU_BINARY} -M virt with
Debian's OpenSBI fw_jump.bin. Ctrl-a x quits.

  --append S      more kernel command line, e.g. --append 'domus.run=uname -a'
  --kernel F      a riscv64 Linux Image instead of the prebuilt one
  --initrd F      an initramfs instead of the prebuilt one
  --memory MiB    guest RAM (default 256)
  --vcpus N       harts (default 1)
  --firmware F    M-mode firmware (default Debian's fw_jump.bin)
  --disk F        a raw disk image as virtio-blk (repeatable)
  --print-cmd     print the QEMU command line first
`;

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new UserError(`--${name} ${value} is not a positive whole number`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        append: { type: 'string' },
        kernel: { type: 'string' },
        initrd: { type: 'string' },
        memory: { type: 'string' },
        vcpus: { type: 'string' },
        firmware: { type: 'string' },
        disk: { type: 'string', multiple: true },
        'print-cmd': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new UserError(`${(e as Error).message}; see npm run ref:qemu -- --help`);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const memoryMiB = positiveInt('memory', values.memory);
  const vcpus = positiveInt('vcpus', values.vcpus);
  ensureQemu();
  const args = qemuArgs({
    ...(values.append !== undefined && { append: values.append }),
    ...(values.kernel !== undefined && { kernel: values.kernel }),
    ...(values.initrd !== undefined && { initrd: values.initrd }),
    ...(values.firmware !== undefined && { firmware: values.firmware }),
    ...(memoryMiB !== undefined && { memoryMiB }),
    ...(vcpus !== undefined && { vcpus }),
    ...(values.disk !== undefined && { disks: values.disk }),
  });
  if (values['print-cmd']) {
    process.stderr.write(`${QEMU_BINARY} ${args.map((a) => (/[\s'"]/.test(a) ? `'${a}'` : a)).join(' ')}\n`);
  }
  const child = spawn(QEMU_BINARY, args, { stdio: 'inherit' });
  return await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + 9 : 1)));
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof UserError) {
      process.stderr.write(`ref:qemu: ${e.message}\n`);
      process.exit(e.exitCode);
    }
    throw e;
  },
);
