/**
 * hostd's driver domains by name (xl.cfg disk `backend=NAME`): started on first use, listed,
 * destroyed and restarted on request (`domus driver-domain`), and the disks each serves for a
 * domain. A detach (a domain went, or unplugged a disk) runs in the background; an attach waits
 * for those under way, so that an image a domain just let go of (save, then restore) is free.
 */
import { UserError } from '../common/errors.ts';
import type { DriverDiskSpec } from './driver_channel.ts';
import { DriverDomain, type DriverDiskConfig, type DriverDomainInfo } from './driver_domain.ts';
import { checkName } from './hostd_entry.ts';

/** A disk a driver domain serves for a domain (`slot`: a hot-plugged one's virtio slot). */
export interface ServedDisk {
  dd: DriverDomain;
  id: number;
  spec: DriverDiskSpec;
  slot?: number;
}

export class DriverDomains {
  private readonly byName = new Map<string, DriverDomain>();
  private readonly detaching = new Set<Promise<void>>();

  constructor(private readonly log: (line: string) => void) {}

  list(): DriverDomainInfo[] {
    return [...this.byName.values()].map((dd) => dd.info());
  }

  /** The driver domain `name`, started now if it is not there yet. */
  async get(name: string): Promise<DriverDomain> {
    checkName(name);
    let dd = this.byName.get(name);
    if (!dd) {
      dd = await DriverDomain.start(name, this.log);
      this.byName.set(name, dd);
      this.log(`driver domain ${name} started`);
    }
    return dd;
  }

  /** An existing driver domain; a name hostd does not know is the user's mistake. */
  known(name: unknown): DriverDomain {
    const dd = this.byName.get(String(name ?? ''));
    if (!dd) {
      throw new UserError(
        `driver domain ${String(name ?? '')} does not exist; domus driver-domain list shows them`,
      );
    }
    return dd;
  }

  /** `domus driver-domain start`: a new one, or a dead one brought back. */
  async start(name: string): Promise<void> {
    const dd = this.byName.get(name);
    if (dd?.running)
      throw new UserError(`driver domain ${name} is already running; use restart to replace it`);
    if (dd) await dd.restart();
    else await this.get(name);
  }

  /** Has driver domain `name` serve `disk`. */
  async serve(name: string, disk: DriverDiskConfig): Promise<ServedDisk> {
    await Promise.all(this.detaching);
    const dd = await this.get(name);
    const { id, spec } = await dd.attach({
      path: disk.path,
      readOnly: disk.readOnly,
      ...(disk.format !== undefined && { format: disk.format }),
    });
    return { dd, id, spec };
  }

  /** Stops serving the disks in `served` (all, or the one hot-plugged at `slot`), removing them from it. */
  async unserve(served: ServedDisk[], slot?: number): Promise<void> {
    for (let i = served.length - 1; i >= 0; i--) {
      const x = served[i]!;
      if (slot !== undefined && x.slot !== slot) continue;
      served.splice(i, 1);
      const p = x.dd.detach(x.id);
      this.detaching.add(p);
      await p.finally(() => this.detaching.delete(p));
    }
  }

  async close(): Promise<void> {
    for (const dd of this.byName.values()) await dd.close();
  }
}
