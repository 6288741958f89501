/**
 * hostd's device requests: disks (block-attach/detach/list, a disk with `backend=NAME` served by
 * that driver domain), network interfaces (network-attach/detach/list), memory (mem-max, mem-set
 * through the balloon), vCPUs (vcpu-set) and the driver domains themselves (driver-domain.*).
 * Hot-plug goes through the guest agent, which binds or unbinds the virtio slot in the guest.
 */
import { UserError } from '../common/errors.ts';
import type { DomainRecord } from './control/protocol.ts';
import { slotDeviceName } from './domain_builder.ts';
import type { DriverDomains } from './driver_domains.ts';
import type { Args, Entry } from './hostd_entry.ts';
import { formatMac, randomXenMac } from './net/ethernet.ts';
import type { VSwitch } from './net/vswitch.ts';
import type { DiskSpec } from './pcpu_protocol.ts';
import type { XsClient } from './xenstore/client.ts';

const MiB = 1 << 20;

/** What the device requests need of hostd. */
export interface DeviceHost {
  readonly xs: XsClient;
  readonly driverDomains: DriverDomains;
  find(dom: unknown): Entry;
  agentReply(e: Entry, ms: number): Promise<string>;
  bridge(name: string): VSwitch;
  logLine(msg: string): void;
  changed(e: Entry): Promise<DomainRecord>;
}

export const DEVICE_REQUESTS: ReadonlySet<string> = new Set([
  'domain.block-attach',
  'domain.block-detach',
  'domain.block-list',
  'domain.network-list',
  'domain.network-attach',
  'domain.network-detach',
  'domain.mem-max',
  'domain.mem-set',
  'domain.vcpu-set',
  'driver-domain.list',
  'driver-domain.start',
  'driver-domain.destroy',
  'driver-domain.restart',
]);

/** Handles request `op` (one of DEVICE_REQUESTS). */
export async function deviceRequest(h: DeviceHost, op: string, a: Args): Promise<unknown> {
  switch (op) {
    case 'domain.block-attach': {
      const e = h.find(a.dom);
      const disk = a.disk as {
        path: string;
        readOnly: boolean;
        format?: 'raw' | 'qcow2';
        vdev?: string;
        backend?: string;
      };
      const served = disk.backend !== undefined ? await h.driverDomains.serve(disk.backend, disk) : undefined;
      let slot: number;
      try {
        const spec: DiskSpec = served ? { ...disk, driver: served.spec } : disk;
        slot = await e.handle.attachDisk(spec);
      } catch (err) {
        if (served) await served.dd.detach(served.id);
        throw err;
      }
      if (served) e.driverDisks.push({ ...served, slot });
      const vdev =
        disk.vdev ?? `xvd${String.fromCharCode(98 + e.plugged.size + (e.config.disks?.length ?? 0) - 1)}`;
      e.plugged.set(slot, { ...disk, vdev });
      const undo = async (): Promise<void> => {
        await e.handle.detachDisk(slot);
        e.plugged.delete(slot);
        await h.driverDomains.unserve(e.driverDisks, slot);
      };
      const reply = h.agentReply(e, 5000);
      await e.handle.control(`bind ${slotDeviceName(slot)}`).catch(async (err: unknown) => {
        await undo();
        throw err;
      });
      const line = await reply;
      if (!line.startsWith('ok ')) {
        await undo();
        throw new UserError(`domain ${e.name} could not bind the new disk (${line})`);
      }
      return { slot, vdev };
    }
    case 'domain.block-detach': {
      const e = h.find(a.dom);
      const key = String(a.device ?? '');
      const found = [...e.plugged.entries()].find(([slot, d]) => d.vdev === key || String(slot) === key);
      if (!found)
        throw new UserError(`domain ${e.name} has no attached disk ${key}; domus block-list shows them`);
      const [slot] = found;
      const reply = h.agentReply(e, 5000);
      await e.handle.control(`unbind ${slotDeviceName(slot)}`);
      await reply;
      await e.handle.detachDisk(slot);
      e.plugged.delete(slot);
      await h.driverDomains.unserve(e.driverDisks, slot);
      return null;
    }
    case 'domain.block-list': {
      const e = h.find(a.dom);
      const boot = (e.config.disks ?? []).map((d, i) => ({
        vdev: d.vdev ?? `xvd${String.fromCharCode(97 + i)}`,
        path: d.path,
        readOnly: d.readOnly,
        slot: i,
      }));
      const hot = [...e.plugged.entries()].map(([slot, d]) => ({
        vdev: d.vdev,
        path: d.path,
        readOnly: d.readOnly,
        slot,
      }));
      return [...boot, ...hot];
    }
    case 'domain.network-list': {
      const e = h.find(a.dom);
      return [
        ...(e.config.vifs ?? []).map((v, devid) => ({ devid, mac: v.mac, bridge: v.bridge })),
        ...[...e.hotVifs.entries()].map(([devid, v]) => ({ devid, mac: v.mac, bridge: v.bridge })),
      ];
    }
    case 'domain.network-attach': {
      const e = h.find(a.dom);
      const want = a.vif as { mac?: string; bridge: string };
      const vif = { mac: want.mac ?? formatMac(randomXenMac()), bridge: want.bridge };
      const { devid, slot } = await e.handle.attachNet(vif.mac);
      e.ports[devid] = h
        .bridge(vif.bridge)
        .attach(`vif${e.id}.${devid}`, (f) => e.handle.sendFrame(devid, f));
      e.hotVifs.set(devid, { ...vif, slot });
      const reply = h.agentReply(e, 5000);
      await e.handle.control(`bind ${slotDeviceName(slot)}`);
      const line = await reply;
      if (!line.startsWith('ok '))
        throw new UserError(`domain ${e.name} could not bind the new interface (${line})`);
      h.logLine(`vif${e.id}.${devid} (${vif.mac}) attached to ${e.name} on ${vif.bridge}`);
      return { devid, mac: vif.mac };
    }
    case 'domain.network-detach': {
      const e = h.find(a.dom);
      const key = String(a.device ?? '');
      const found = [...e.hotVifs.entries()].find(
        ([devid, v]) => String(devid) === key || v.mac === key.toLowerCase(),
      );
      if (!found)
        throw new UserError(
          `domain ${e.name} has no hot-plugged interface ${key}; domus network-list shows them`,
        );
      const [devid, hot] = found;
      const reply = h.agentReply(e, 5000);
      await e.handle.control(`unbind ${slotDeviceName(hot.slot)}`);
      await reply;
      await e.handle.detachNet(devid);
      e.ports[devid]?.detach();
      e.hotVifs.delete(devid);
      h.logLine(`vif${e.id}.${devid} detached from ${e.name}`);
      return null;
    }
    case 'domain.mem-max': {
      const e = h.find(a.dom);
      const mib = Number(a.memoryMiB);
      if (mib < e.targetMiB) {
        throw new UserError(
          `mem-max ${mib} MiB is below ${e.name}'s target of ${e.targetMiB} MiB; lower the target with mem-set first`,
        );
      }
      e.maxMemMiB = mib;
      await h.xs.write(`/local/domain/${e.id}/memory/static-max`, String(mib * 1024));
      return h.changed(e);
    }
    case 'domain.mem-set': {
      const e = h.find(a.dom);
      const mib = Number(a.memoryMiB);
      if (mib > e.maxMemMiB) {
        throw new UserError(
          `mem-set ${mib} MiB is above ${e.name}'s mem-max of ${e.maxMemMiB} MiB; raise it with mem-max first`,
        );
      }
      e.targetMiB = mib;
      await h.xs.write(`/local/domain/${e.id}/memory/target`, String(mib * 1024));
      // The guest's virtio-balloon driver takes the difference (Linux: CONFIG_VIRTIO_BALLOON).
      await e.handle.setMemoryTarget(mib * MiB);
      h.logLine(`${e.name}: memory target ${mib} MiB`);
      await h.changed(e);
      return {};
    }
    case 'domain.vcpu-set': {
      const e = h.find(a.dom);
      const n = Number(a.count);
      if (!Number.isInteger(n) || n < 1 || n > e.config.vcpus) {
        throw new UserError(
          `${e.name} was created with ${e.config.vcpus} vCPUs; vcpu-set takes 1 to ${e.config.vcpus}`,
        );
      }
      for (let i = 0; i < e.config.vcpus; i++) {
        await h.xs.write(`/local/domain/${e.id}/cpu/${i}/availability`, i < n ? 'online' : 'offline');
      }
      for (let i = 1; i < e.config.vcpus; i++) {
        const reply = h.agentReply(e, 5000);
        await e.handle.control(`cpu ${i} ${i < n ? 'online' : 'offline'}`);
        const line = await reply;
        if (!line.startsWith('ok ')) {
          throw new UserError(
            `${e.name}'s guest agent could not set cpu ${i} ${i < n ? 'online' : 'offline'} (${line})`,
          );
        }
      }
      e.onlineVcpus = n;
      h.logLine(`${e.name}: ${n} vCPUs online`);
      return h.changed(e);
    }
    case 'driver-domain.list':
      return h.driverDomains.list();
    case 'driver-domain.start':
      await h.driverDomains.start(String(a.name ?? ''));
      return null;
    case 'driver-domain.destroy':
      await h.driverDomains.known(a.name).destroy();
      return null;
    case 'driver-domain.restart':
      await h.driverDomains.known(a.name).restart();
      return null;
    default:
      throw new Error(`${op} is not a device request`);
  }
}
