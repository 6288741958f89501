/**
 * Guests' xenstore connections, on the host's thread (the toolstack as dom0, as Xen's xenstored
 * and libxl are): every domain the host builds has a xenstore page and port (domain_builder.ts);
 * `introduce` writes the domain's basic nodes as libxl does and introduces it to the host's
 * xenstored (XS_INTRODUCE, `@introduceDomain`); `release` undoes that when the domain goes
 * (XS_RELEASE, `@releaseDomain`).
 *
 * The ring. xenstored's `connectDomain` hook lands in `connect`: the page is the domain's pinned
 * magic page, reached through machine memory with the checks of hypervisor/magic_page.ts (only
 * that domain's page, only while it lives); the channel is dom0's end bound here with
 * EVTCHNOP_bind_interdomain to the guest's unbound store port. dom0 runs on this thread with
 * PCPU = -1, so an event the guest sends lands in dom0's INCOMING bitmap and rings the control
 * doorbell; `serve` waits on that doorbell (Atomics.waitAsync, which does not keep the process
 * alive), takes the pending dom0 ports and polls those domains' rings. Replies go back with
 * EVTCHNOP_send on dom0's port, which posts to the guest's pCPU.
 *
 * This object is the only user of dom0's pending ports on the machine: another thread that
 * calls ControlDomain.pending() would take its events.
 *
 * Nodes, as libxl__domain_make writes them: /local/domain/<id> owned by dom0 and readable by the
 * domain (`n0 r<id>`), with `name`, `domid`, `store/port` and `store/ring-ref` (the page's guest
 * frame); `data` owned by the domain (`n<id>`), where it publishes what it offers (e.g. a vchan's
 * ring-ref and event-channel). And one node for guests that must find each other without the
 * toolstack telling them: /local/rendezvous, which every domain may read and write (`b0`); a
 * domain that writes a child owns it and fences it with XS_SET_PERMS (docs/xenstore.md).
 */
import { ControlDomain, controlThreadHost } from '../hypervisor/control.ts';
import { MagicPage } from '../hypervisor/magic_page.ts';
import type { MachineResources } from '../hypervisor/resources.ts';
import type { StoreRing } from './domain_builder.ts';
import { domainPath } from './xenstore/paths.ts';
import type { XsCaller, XsPerm } from './xenstore/perms.ts';
import type { XsChange } from './xenstore/store.ts';
import { XsError } from './xenstore/wire.ts';
import type { Xenstored, XsRingEndpoint } from './xenstore/xenstored.ts';

/** Where guests meet (see above). */
export const RENDEZVOUS_PATH = '/local/rendezvous';

const DOM0: XsCaller = { domid: 0, privileged: true };
const text = (s: string) => new TextEncoder().encode(s);

interface Connected {
  /** dom0's end of the domain's xenstore channel. */
  port: number;
  page: MagicPage;
}

export class GuestXenstore {
  readonly control: ControlDomain;
  private readonly byPort = new Map<number, number>();
  private readonly connected = new Map<number, Connected>();
  private stopped = false;
  private readonly served: Promise<void>;

  constructor(
    private readonly resources: MachineResources,
    private readonly xsd: Xenstored,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.control = new ControlDomain(controlThreadHost(resources));
    this.change((c) => [
      ...this.xsd.tree.mkdir(c, RENDEZVOUS_PATH),
      ...this.xsd.tree.setPerms(c, RENDEZVOUS_PATH, [{ id: 0, perm: 'b' }]),
    ]);
    this.served = this.serve();
  }

  /**
   * xenstored's `connectDomain`: the domain's ring, if `gfn` is its magic page and `evtchn` a
   * port of its that dom0 may bind; undefined otherwise (then it has no ring).
   */
  connect(domid: number, gfn: number, evtchn: number): XsRingEndpoint | undefined {
    const page = MagicPage.open(this.resources.pv, domid);
    if (!page || page.gfn !== gfn) {
      this.log(`xenstored: domain ${domid} has no xenstore page at frame 0x${gfn.toString(16)}`);
      return undefined;
    }
    const port = this.control.bindInterdomain(domid, evtchn);
    if (port <= 0) {
      this.log(`xenstored: cannot bind domain ${domid}'s xenstore port ${evtchn} (${port})`);
      return undefined;
    }
    this.connected.set(domid, { port, page });
    this.byPort.set(port, domid);
    return { page, notify: () => void this.control.send(port) };
  }

  /** Writes the domain's basic nodes and introduces it to xenstored (it connects at once). */
  introduce(domid: number, name: string, store: StoreRing): void {
    const dom = domainPath(domid);
    const ro: XsPerm[] = [
      { id: 0, perm: 'n' },
      { id: domid, perm: 'r' },
    ];
    this.change((c) => {
      const t = this.xsd.tree;
      const out = t.lookup(dom) ? t.rm(c, dom) : [];
      out.push(...t.mkdir(c, dom), ...t.setPerms(c, dom, ro));
      out.push(...t.write(c, `${dom}/name`, text(name)));
      out.push(...t.write(c, `${dom}/domid`, text(String(domid))));
      out.push(...t.write(c, `${dom}/store/port`, text(String(store.port))));
      out.push(...t.write(c, `${dom}/store/ring-ref`, text(String(store.gfn))));
      out.push(...t.mkdir(c, `${dom}/data`), ...t.setPerms(c, `${dom}/data`, [{ id: domid, perm: 'n' }]));
      return out;
    });
    this.xsd.introduce(domid, store.gfn, store.port);
  }

  /** Releases the domain (if introduced), closes dom0's end of its channel, removes its nodes. */
  release(domid: number): void {
    if (this.xsd.domains.has(domid)) this.xsd.release(domid);
    const c = this.connected.get(domid);
    if (c) {
      this.connected.delete(domid);
      this.byPort.delete(c.port);
      this.control.close(c.port);
    }
    const dom = domainPath(domid);
    if (this.xsd.tree.lookup(dom)) this.change((caller) => this.xsd.tree.rm(caller, dom));
  }

  /** Freezes (a save reads the page) or thaws the domain's ring. */
  hold(domid: number, on: boolean): void {
    this.xsd.domains.get(domid)?.ring?.hold(on);
  }

  /** Stops serving events (the host is closing). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.resources.pv.ringControl();
    await this.served;
  }

  /** Runs privileged store changes and fires their watches; a refused change is logged. */
  private change(f: (c: XsCaller) => XsChange[]): void {
    try {
      this.xsd.fire(f(DOM0));
    } catch (e) {
      if (!(e instanceof XsError)) throw e;
      this.log(`xenstored: toolstack change failed: ${e.message}`);
    }
  }

  private async serve(): Promise<void> {
    const shared = this.resources.pv;
    while (!this.stopped) {
      const seen = shared.controlDoorbell();
      for (const port of this.control.pending()) {
        const domid = this.byPort.get(port);
        if (domid === undefined) continue;
        try {
          this.xsd.pollDomain(domid);
        } catch (e) {
          this.log(`xenstored: domain ${domid}'s ring failed: ${e instanceof Error ? e.stack : String(e)}`);
        }
      }
      await shared.waitControlDoorbell(seen, 1000);
    }
  }
}
