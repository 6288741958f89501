/** Option parsing for the CLI's commands: node:util's parseArgs with errors in our grammar. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../common/errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses `args` for command `name`; unknown options are a `UserError` pointing at its help. */
export function parseCommandArgs<T extends Options>(name: string, args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UserError(`${(e as Error).message}; see domus help ${name}`);
  }
}
