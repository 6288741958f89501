/**
 * xl's save, restore, migrate and remus. `domus save [-c] <domain> <file>` writes the domain's
 * state to a file (the migration stream, docs/migration-stream.md) and destroys the domain, or
 * with -c leaves it running; `domus restore [-p] [-c] <file>` brings it back where it stopped;
 * `domus migrate` moves a running domain to another host and `domus remus` keeps a backup of it
 * there (hostd does the work: toolstack/migrate.ts, remus.ts). Paths are made absolute here,
 * since hostd does the reading and writing from its own directory.
 */
import { resolve } from 'node:path';
import { UserError } from '../../common/errors.ts';
import type { DomainRecord } from '../../toolstack/control/protocol.ts';
import type { MigrateResult } from '../../toolstack/migrate.ts';
import type { SaveResult } from '../../toolstack/save_restore.ts';
import { parseCommandArgs } from '../args.ts';
import { connectToolstack } from '../client.ts';
import { registerCommand } from '../command_table.ts';
import { consoleSession } from './xl_domains.ts';

const MiB = 1 << 20;

registerCommand({
  name: 'save',
  summary: 'save a domain to a file and destroy it (xl save)',
  usage: `usage: domus save [-c] <domain> <file>

Writes the domain's memory, vCPUs and devices to <file> and destroys the domain; domus restore
brings it back. The file appears only when complete: a failed save leaves the domain running
and any earlier file as it was. The domain's disks are flushed and must still be there at
restore.
  -c, --checkpoint   leave the domain running after the save
`,
  async run(args) {
    const { values, positionals } = parseCommandArgs('save', args, {
      checkpoint: { type: 'boolean', short: 'c' },
    });
    if (positionals.length !== 2) {
      throw new UserError('domus save takes a domain and a file; see domus help save');
    }
    const [dom, file] = positionals as [string, string];
    const path = resolve(file);
    const c = await connectToolstack();
    try {
      const rec = (await c.call('domain.get', { dom })) as DomainRecord;
      process.stderr.write(`Saving domain ${rec.name} (id ${rec.id}, ${rec.memoryMiB} MiB) to ${path}\n`);
      const r = (await c.call('domain.save', { dom, path, keep: values.checkpoint === true })) as SaveResult;
      process.stderr.write(
        `Saved: ${(r.bytes / MiB).toFixed(1)} MiB (${r.pages} pages, ${r.zeroPages} zero pages omitted) in ${(r.ms / 1000).toFixed(2)} s` +
          `${values.checkpoint ? '; the domain carries on' : ''}\n`,
      );
      return 0;
    } finally {
      c.close();
    }
  },
});

registerCommand({
  name: 'restore',
  summary: 'restore a domain from a file written by domus save (xl restore)',
  usage: `usage: domus restore [-p] [-c] <file>

Rebuilds the saved domain and lets it carry on where it stopped: same name, memory, vCPUs,
disks and network interfaces (new MAC-to-switch wiring, same MACs). A damaged or truncated file
is refused and nothing is left behind.
  -p, --paused    leave the restored domain paused (domus unpause starts it)
  -c, --console   attach to its console (Ctrl-] detaches)
`,
  async run(args) {
    const { values, positionals } = parseCommandArgs('restore', args, {
      paused: { type: 'boolean', short: 'p' },
      console: { type: 'boolean', short: 'c' },
    });
    if (positionals.length !== 1) throw new UserError('domus restore takes one file; see domus help restore');
    const path = resolve(positionals[0]!);
    const c = await connectToolstack();
    try {
      process.stderr.write(`Loading new save file ${path}\n`);
      const t0 = performance.now();
      const rec = (await c.call('domain.restore', { path, paused: values.paused === true })) as DomainRecord;
      process.stderr.write(
        `Restored domain ${rec.name} (id ${rec.id}, ${rec.memoryMiB} MiB) in ${((performance.now() - t0) / 1000).toFixed(2)} s${values.paused ? ', paused' : ''}\n`,
      );
      if (!values.console) return 0;
      return await consoleSession(c, String(rec.id));
    } finally {
      c.close();
    }
  },
});

registerCommand({
  name: 'migrate',
  summary: 'move a running domain to another Domus host (xl migrate)',
  usage: `usage: domus migrate <domain> <host[:port]>

Live migration: copies the domain's memory to the host while it runs (rounds of the pages it
dirtied meanwhile), then pauses it briefly, sends the rest and starts it there. The host's hostd
must listen (domus hostd --migrate-listen HOST:PORT, default port 8002) and hold the same
migration key (DOMUS_MIGRATION_KEY, else <state dir>/migration.key on both hosts). If anything
fails before the destination has the whole domain, it carries on here.
`,
  async run(args) {
    const { positionals } = parseCommandArgs('migrate', args, {});
    if (positionals.length !== 2) {
      throw new UserError('domus migrate takes a domain and a host[:port]; see domus help migrate');
    }
    const [dom, to] = positionals as [string, string];
    const c = await connectToolstack();
    try {
      const rec = (await c.call('domain.get', { dom })) as DomainRecord;
      process.stderr.write(`Migrating domain ${rec.name} (id ${rec.id}, ${rec.memoryMiB} MiB) to ${to}\n`);
      c.onEvent = (e) => {
        if (e.ev !== 'migrate') return;
        const rate = e.mibPerSec > 0 ? `, ${e.mibPerSec.toFixed(0)} MiB/s` : ' (domain paused)';
        process.stderr.write(`  round ${e.round}: ${e.pages} pages${rate}; ${e.dirty} dirtied meanwhile\n`);
      };
      const r = (await c.call('domain.migrate', { dom, to })) as MigrateResult;
      const p = r.phases;
      process.stderr.write(
        `Migrated: ${r.rounds} rounds, ${r.pages} pages (${(r.bytes / MiB).toFixed(1)} MiB) in ${(r.totalMs / 1000).toFixed(2)} s; ` +
          `downtime ${r.downtimeMs.toFixed(0)} ms (pause ${p.pause.toFixed(0)}, send ${p.send.toFixed(0)}, ` +
          `build ${p.ready.toFixed(0)}, start ${p.done.toFixed(0)})\n`,
      );
      process.stdout.write(`${JSON.stringify(r)}\n`);
      return 0;
    } finally {
      c.close();
    }
  },
});

registerCommand({
  name: 'remus',
  summary: 'keep a backup of a running domain on another host (xl remus)',
  usage: `usage: domus remus [-i MS] <domain> <backup-host[:port]>

Remus high availability: copies the domain to the backup host, then checkpoints it there every
MS milliseconds (default 50) while it runs here. Its network output is held back until the
backup has the checkpoint that produced it. If this host dies, the backup starts the domain from
the last checkpoint. The backup's hostd must listen for migrations (domus hostd
--migrate-listen) with the same migration key. Returns once the first checkpoint is in place;
protection lasts until the domain ends or the backup goes away. Disks are not mirrored yet.
  -i, --interval MS   time between checkpoints (5..60000 ms)
`,
  async run(args) {
    const { values, positionals } = parseCommandArgs('remus', args, {
      interval: { type: 'string', short: 'i' },
    });
    if (positionals.length !== 2) {
      throw new UserError('domus remus takes a domain and a backup host[:port]; see domus help remus');
    }
    const [dom, to] = positionals as [string, string];
    const intervalMs = values.interval === undefined ? undefined : Number(values.interval);
    const c = await connectToolstack();
    try {
      const r = (await c.call('domain.remus', {
        dom,
        to,
        ...(intervalMs !== undefined && { intervalMs }),
      })) as { intervalMs: number; setupMs: number };
      process.stderr.write(
        `Domain ${dom} is protected: backup ${to}, a checkpoint every ${r.intervalMs} ms (first one in place after ${(r.setupMs / 1000).toFixed(2)} s)\n`,
      );
      return 0;
    } finally {
      c.close();
    }
  },
});
