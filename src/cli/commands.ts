/**
 * Registers the CLI's subcommands in the command table. One file per command under
 * `commands/`, each calling `registerCommand`; this file only imports them in help order.
 */
import './commands/run.ts';
import './commands/run_test.ts';
import './commands/guest_verify.ts';
import './commands/xl_create.ts';
import './commands/xl_domains.ts';
import './commands/xl_save.ts';
import './commands/xl_devices.ts';
import './commands/daemons.ts';
import './commands/users.ts';
import './commands/xl_top.ts';
import './commands/xl_resources.ts';
