/**
 * `domus run-test ELF`: runs a bare-metal RISC-V ELF in M-mode on the Domus board with no
 * firmware, until it writes its verdict to the SiFive test finisher (0x100000). Exits 0 on
 * PASS, N on FAIL with code N (1 if N is 0), 124 on timeout. Used by the ISA tests.
 * DOMUS_JIT=off|on|force chooses the JIT (default off), so that the tests run both ways.
 */
import { parseArgs } from 'node:util';
import { UserError } from '../../common/errors.ts';
import { MAX_HARTS, VirtBoard } from '../../machine/board.ts';
import { attachJit, parseJitMode } from '../../machine/jit/jit.ts';
import { registerCommand } from '../command_table.ts';
import { memoryBytes, readInput, vcpuCount } from '../run_support.ts';

registerCommand({
  name: 'run-test',
  summary: 'run a bare-metal test ELF in M-mode until it reports pass or fail',
  usage: `usage: domus run-test ELF [options]

Loads a RISC-V ELF64 at its physical addresses and starts every hart at its entry in M-mode
(a0 = hartid, a1 = device tree), with no firmware. The test ends by writing the SiFive test
finisher at 0x100000: 0x5555 = pass (exit 0), (N << 16) | 0x3333 = fail with code N (exit N).
UART output goes to stdout.

  --vcpus N       harts (default 1)
  --memory MiB    RAM (default 128)
  --timeout S     seconds before giving up with exit status 124 (default 60)

The environment variable DOMUS_JIT=off|on|force selects the JIT: off (the default) interprets
everything, on translates hot code, force translates code the first time it runs.
`,
  async run(args) {
    let values;
    let positionals: string[];
    try {
      ({ values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: { vcpus: { type: 'string' }, memory: { type: 'string' }, timeout: { type: 'string' } },
      }));
    } catch (e) {
      throw new UserError(`${(e as Error).message}; see domus help run-test`);
    }
    if (positionals.length !== 1)
      throw new UserError('run-test takes exactly one ELF file; see domus help run-test');
    const path = positionals[0]!;
    const timeoutS = values.timeout === undefined ? 60 : Number(values.timeout);
    if (!(timeoutS > 0))
      throw new UserError(`--timeout ${values.timeout} is not a positive number of seconds`);
    const jitMode = parseJitMode(process.env['DOMUS_JIT'] ?? 'off', 'DOMUS_JIT');
    const elf = readInput(path, 'test');
    const board = new VirtBoard({
      ramBytes: memoryBytes(values.memory, 128, 1),
      harts: vcpuCount(values.vcpus, MAX_HARTS),
      onConsole: (bytes) => process.stdout.write(bytes),
    });
    attachJit(board, jitMode);
    try {
      board.loadTest(elf, `test ${path}`);
    } catch (e) {
      if (e instanceof RangeError) throw new UserError(e.message);
      throw e;
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      board.stop();
    }, timeoutS * 1000);
    const reason = await board.run();
    clearTimeout(timer);
    if (timedOut) {
      process.stderr.write(
        `domus: run-test: ${path} did not finish within ${timeoutS} s (pc=0x${board.harts[0]!.pc.toString(16)})\n`,
      );
      return 124;
    }
    switch (reason.kind) {
      case 'poweroff':
        return reason.code === 0 ? 0 : reason.code;
      case 'fail':
        return reason.code === 0 ? 1 : reason.code;
      default:
        process.stderr.write(`domus: run-test: ${path} ended with ${reason.kind} instead of a verdict\n`);
        return 1;
    }
  },
});
