/**
 * The CLI's command table, in the manner of xl's `xl_cmdtable.c`: one entry per subcommand
 * with its summary, usage text and handler. `main.ts` dispatches on it and prints help from it.
 * A handler returns the process exit status; a `UserError` it throws becomes one line on
 * stderr and exit status 2.
 */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}

export const commands: Command[] = [];

export function registerCommand(cmd: Command): void {
  commands.push(cmd);
}

export function findCommand(name: string): Command | undefined {
  return commands.find((c) => c.name === name);
}
