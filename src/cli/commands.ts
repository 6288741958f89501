/**
 * Registers the CLI's subcommands in the command table. One file per command under
 * `commands/`, each calling `registerCommand`; this file only imports them in help order.
 */
import './commands/guest_verify.ts';
