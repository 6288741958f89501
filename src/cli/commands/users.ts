/**
 * `domus user-add NAME`: adds a XenAPI user (login for session.login_with_password). The
 * password is read from standard input (one line), so it never shows up in `ps` or shell history.
 */
import { UserError } from '../../common/errors.ts';
import { parseCommandArgs } from '../args.ts';
import { withToolstack } from '../client.ts';
import { registerCommand } from '../command_table.ts';

async function readPassword(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

registerCommand({
  name: 'user-add',
  summary: 'add a XenAPI user; the password is read from standard input',
  usage: `usage: domus user-add <name> < password-file

Adds a user that XenAPI clients log in as (session.login_with_password). The password is the
first line of standard input; it is stored as a salted scrypt hash in the state database.
`,
  async run(args) {
    const { positionals } = parseCommandArgs('user-add', args, {});
    if (positionals.length !== 1)
      throw new UserError('domus user-add takes one user name; see domus help user-add');
    const password = await readPassword();
    if (password.length === 0) throw new UserError('the password on standard input is empty; pipe one in');
    await withToolstack((c) => c.call('user.add', { name: positionals[0], password }));
    return 0;
  },
});
