/** `domus guest-verify`: checks the prebuilt default guest against guests/prebuilt/SHA256SUMS. */
import { parseArgs } from 'node:util';
import { UserError } from '../../common/errors.ts';
import { prebuiltDir, verifyChecksums } from '../../platform/node/guest_image.ts';
import { registerCommand } from '../command_table.ts';

registerCommand({
  name: 'guest-verify',
  summary: 'verify the prebuilt default guest against its SHA256SUMS',
  usage: `usage: domus guest-verify [DIR]

Checks every file listed in DIR/SHA256SUMS (default: guests/prebuilt/) and prints one line
per file. Exits 0 when all match.
`,
  async run(args) {
    let positionals: string[];
    try {
      ({ positionals } = parseArgs({ args, allowPositionals: true, options: {} }));
    } catch (e) {
      throw new UserError(`${(e as Error).message}; see domus help guest-verify`);
    }
    if (positionals.length > 1) throw new UserError('guest-verify takes at most one directory');
    const dir = positionals[0] ?? prebuiltDir();
    for (const name of verifyChecksums(dir)) process.stdout.write(`${name}: OK\n`);
    return 0;
  },
});
