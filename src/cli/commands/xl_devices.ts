/**
 * xl's device subcommands on Domus: block-attach, block-detach, block-list, network-list.
 * A disk attached to a running domain goes into a free virtio-mmio slot and the guest agent
 * binds it (Linux then shows a new /dev/vdX), as a hotplug script would on Xen. And
 * `driver-domain`, for the driver domains that serve disks whose spec says `backend=NAME`.
 */
import { resolve } from 'node:path';
import { UserError } from '../../common/errors.ts';
import { parseDiskSpec } from '../../toolstack/xlcfg_disk.ts';
import { parseCommandArgs } from '../args.ts';
import { withToolstack } from '../client.ts';
import { registerCommand } from '../command_table.ts';

registerCommand({
  name: 'block-attach',
  summary: 'attach a disk to a running domain (xl block-attach)',
  usage: `usage: domus block-attach <domain> <disk-spec>

Attaches a disk given in xl's disk syntax, e.g. 'format=qcow2, vdev=xvdb, access=rw, target=/vm/b.qcow2'
or '/vm/b.img,raw,xvdb,w'.
`,
  async run(args) {
    const { positionals } = parseCommandArgs('block-attach', args, {});
    if (positionals.length < 2)
      throw new UserError('domus block-attach takes a domain and a disk spec; see domus help block-attach');
    const [dom, ...rest] = positionals;
    const spec = parseDiskSpec(rest.join(','), { where: 'command line', baseDir: resolve('.') });
    const r = await withToolstack(
      (c) =>
        c.call('domain.block-attach', {
          dom,
          disk: {
            path: spec.target,
            readOnly: spec.readonly,
            format: spec.format,
            vdev: spec.vdev,
            ...(spec.backend !== undefined && { backend: spec.backend }),
          },
        }) as Promise<{ slot: number; vdev: string }>,
    );
    process.stderr.write(`attached ${spec.target} as ${r.vdev}\n`);
    return 0;
  },
});

registerCommand({
  name: 'block-detach',
  summary: 'detach a disk from a running domain (xl block-detach)',
  usage: 'usage: domus block-detach <domain> <vdev>\n',
  async run(args) {
    const { positionals } = parseCommandArgs('block-detach', args, {});
    if (positionals.length !== 2)
      throw new UserError('domus block-detach takes a domain and a device; see domus help block-detach');
    await withToolstack((c) =>
      c.call('domain.block-detach', { dom: positionals[0], device: positionals[1] }),
    );
    return 0;
  },
});

registerCommand({
  name: 'block-list',
  summary: 'list a domain’s disks (xl block-list)',
  usage: 'usage: domus block-list <domain>\n',
  async run(args) {
    const { positionals } = parseCommandArgs('block-list', args, {});
    if (positionals.length !== 1)
      throw new UserError('domus block-list takes one domain; see domus help block-list');
    const disks = await withToolstack(
      (c) =>
        c.call('domain.block-list', { dom: positionals[0] }) as Promise<
          { vdev: string; path: string; readOnly: boolean; slot: number }[]
        >,
    );
    process.stdout.write('Vdev  Slot Mode Target\n');
    for (const d of disks) {
      process.stdout.write(
        `${d.vdev.padEnd(5)} ${String(d.slot).padStart(4)} ${d.readOnly ? 'r   ' : 'w   '} ${d.path}\n`,
      );
    }
    return 0;
  },
});

registerCommand({
  name: 'network-list',
  summary: 'list a domain’s network interfaces (xl network-list)',
  usage: 'usage: domus network-list <domain>\n',
  async run(args) {
    const { positionals } = parseCommandArgs('network-list', args, {});
    if (positionals.length !== 1)
      throw new UserError('domus network-list takes one domain; see domus help network-list');
    const vifs = await withToolstack(
      (c) =>
        c.call('domain.network-list', { dom: positionals[0] }) as Promise<
          { devid: number; mac: string; bridge: string }[]
        >,
    );
    process.stdout.write('Idx Mac               Bridge\n');
    for (const v of vifs) process.stdout.write(`${String(v.devid).padStart(3)} ${v.mac} ${v.bridge}\n`);
    return 0;
  },
});

registerCommand({
  name: 'driver-domain',
  summary: 'list, start, destroy or restart the driver domains that serve disks (backend=NAME)',
  usage: `usage: domus driver-domain list
       domus driver-domain start|destroy|restart <name>

A disk whose spec says backend=NAME is served by driver domain NAME (started on first use), a
thread of its own. destroy kills it where it stands: the guests' disks fail with I/O errors until
restart gives them a new one.
`,
  async run(args) {
    const { positionals } = parseCommandArgs('driver-domain', args, {});
    const [verb, name, ...extra] = positionals;
    if (verb === 'list' && name === undefined) {
      const dds = await withToolstack(
        (c) =>
          c.call('driver-domain.list', {}) as Promise<
            {
              name: string;
              state: string;
              disks: { path: string; served: boolean }[];
              restarts: number;
              uptimeMs: number;
            }[]
          >,
      );
      process.stdout.write('Name             State    Restarts  Uptime(s) Disks\n');
      for (const d of dds) {
        const disks = d.disks.map((x) => (x.served ? x.path : `${x.path} (down)`)).join(', ');
        process.stdout.write(
          `${d.name.padEnd(16)} ${d.state.padEnd(8)} ${String(d.restarts).padStart(8)} ${String(Math.floor(d.uptimeMs / 1000)).padStart(10)} ${disks}\n`,
        );
      }
      return 0;
    }
    if (
      (verb === 'start' || verb === 'destroy' || verb === 'restart') &&
      name !== undefined &&
      !extra.length
    ) {
      await withToolstack((c) => c.call(`driver-domain.${verb}`, { name }));
      return 0;
    }
    throw new UserError(
      'domus driver-domain takes list, or start, destroy or restart and a name; see domus help driver-domain',
    );
  },
});
