/**
 * `domus`: the command-line entry point. Dispatches to the command table and turns a
 * `UserError` into one line on stderr with its exit status; anything else is an internal
 * fault and is printed with its stack (exit status 70, EX_SOFTWARE).
 */
import { UserError } from '../common/errors.ts';
import { commands, findCommand } from './command_table.ts';
import './commands.ts';

declare const DOMUS_VERSION: string | undefined;
const version = typeof DOMUS_VERSION === 'string' ? DOMUS_VERSION : '0.1.0';

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: domus <command> [options]',
    '',
    'Domus, a Xen-style hypervisor for RISC-V guests, in TypeScript.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'domus help <command>' for a command's options.",
    '',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`domus ${version}\n`);
    return 0;
  }
  if (name === 'help') {
    const topic = rest[0];
    if (topic === undefined) {
      process.stdout.write(usage());
      return 0;
    }
    const cmd = findCommand(topic);
    if (!cmd) throw new UserError(`unknown command '${topic}'; run domus --help for the list`);
    process.stdout.write(cmd.usage.endsWith('\n') ? cmd.usage : cmd.usage + '\n');
    return 0;
  }
  const cmd = findCommand(name);
  if (!cmd) throw new UserError(`unknown command '${name}'; run domus --help for the list`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(cmd.usage.endsWith('\n') ? cmd.usage : cmd.usage + '\n');
    return 0;
  }
  return await cmd.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UserError) {
      process.stderr.write(`domus: ${e.message}\n`);
      process.exitCode = e.exitCode;
      return;
    }
    process.stderr.write(
      `domus: internal error (please report): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
    process.exitCode = 70;
  },
);
