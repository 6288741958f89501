/**
 * One `disk = [ … ]` entry of an xl.cfg: the DISK_SPEC_STRING of Xen's
 * `docs/misc/xl-disk-configuration.txt`, parsed the way xl's disk lexer reads it.
 *
 * A spec is a comma-separated series of `key=value` parameters, flags and positional
 * parameters. Positionals fill, in order, `target`, `format`, `vdev`, `access`; each parameter
 * may be given once, and an empty value means "the default". `target=` swallows the rest of the
 * string (the only way to name a path with a comma in it). The deprecated xend forms are read
 * too: prefixes `raw: qcow: qcow2: vhd:` set the format, `phy: file: tap: tap2: tapdisk: aio:
 * ioemu:` are stripped (after a prefix the second positional is the vdev, not the format), and
 * `hdc:cdrom` sets the device type.
 *
 * What Domus does with a disk: every disk becomes a virtio-blk device of the guest, in list
 * order (Linux names them /dev/vda, /dev/vdb, …, whatever `vdev` says; `vdev` is checked and kept
 * for xl's listings and device ids). Formats raw and qcow2 are read; qcow, vhd and qed are
 * refused with the qemu-img command that converts them. `devtype=cdrom` gives a read-only disk;
 * Domus has no removable media, so an empty cdrom drive is refused. `backendtype` is recorded
 * (Domus has one backend implementation, so it changes nothing, except that `phy` accepts only
 * raw, as in libxl). Hotplug scripts (`script=`, `iscsi: nbd: enbd: drbd:`) and COLO
 * parameters are refused: Domus does not run host scripts.
 *
 * Relative targets resolve against `baseDir` (the config file's directory; xl itself leaves
 * them relative to its working directory). With backendtype phy, a target without a leading
 * `/` is taken under /dev, as libxl does.
 */
import { isAbsolute, resolve } from 'node:path';
import { UserError } from '../common/errors.ts';

export type DiskFormat = 'raw' | 'qcow2';
export type DiskBackendType = 'phy' | 'tap' | 'qdisk' | 'standalone';

export interface XlDisk {
  /** Where the spec was written, for messages: `vm.cfg:9`. */
  where: string;
  /** Absolute path of the image file or block device. */
  target: string;
  format: DiskFormat;
  /** Guest device name as written (`xvda`, `hdc`, `sda`, `d0p1`, …). */
  vdev: string;
  readonly: boolean;
  devtype: 'disk' | 'cdrom';
  backendtype?: DiskBackendType;
  /** Name of the driver domain that serves the disk (default: the control domain). */
  backend?: string;
  specification?: 'xen' | 'virtio';
  discard?: boolean;
  directIoSafe: boolean;
  trusted?: boolean;
}

export interface DiskSpecContext {
  where: string;
  baseDir: string;
}

const UNSUPPORTED_FORMATS = new Set(['qcow', 'vhd', 'qed']);
const IGNORED_PREFIXES = ['tapdisk', 'tap2', 'tap', 'aio', 'ioemu', 'file', 'phy'];
const FORMAT_PREFIXES = ['raw', 'qcow2', 'qcow', 'vhd'];
const SCRIPT_PREFIXES = ['iscsi', 'nbd', 'enbd', 'drbd'];
const COLO_KEYS = new Set(['colo-host', 'colo-port', 'colo-export', 'active-disk', 'hidden-disk']);

/** Guest device names that xl accepts (docs/man/xen-vbd-interface.7): xvdX, hdX, sdX, dNpM, or a number. */
const VDEV_RE = /^(?:(?:xvd|hd|sd|vd)[a-z]{1,3}[0-9]{0,2}|d[0-9]{1,3}(?:p[0-9]{1,3})?|[0-9]{1,9})$/;

interface Draft {
  target?: string;
  format?: string;
  vdev?: string;
  access?: string;
  cdrom?: boolean;
  backendtype?: DiskBackendType;
  backend?: string;
  specification?: 'xen' | 'virtio';
  discard?: boolean;
  directIoSafe: boolean;
  trusted?: boolean;
  hadPrefix: boolean;
  phyPrefix: boolean;
}

/** Parses one DISK_SPEC_STRING; throws a `UserError` naming the spec and the fix. */
export function parseDiskSpec(spec: string, ctx: DiskSpecContext): XlDisk {
  const fail = (what: string): never => {
    throw new UserError(`${ctx.where}: disk '${spec}' ${what}`);
  };
  const d: Draft = { directIoSafe: false, hadPrefix: false, phyPrefix: false };
  const setString = (field: 'target' | 'vdev' | 'backend', value: string): void => {
    const old = d[field];
    if (old !== undefined && old !== '' && value !== '') fail(`gives ${field} twice; give it once`);
    if (old === undefined || old === '') d[field] = value;
  };
  const setFormat = (value: string): void => {
    const f = value === '' ? 'raw' : value;
    if (!['raw', 'qcow2', ...UNSUPPORTED_FORMATS, 'empty'].includes(f)) {
      fail(`has unknown format "${value}"; write format=raw or format=qcow2`);
    }
    if (d.format !== undefined && d.format !== f)
      fail(`gives format twice (${d.format} and ${f}); give it once`);
    d.format = f;
  };
  const setAccess = (value: string): void => {
    if (!['', 'r', 'ro', 'w', 'rw'].includes(value))
      fail(`has unknown access "${value}"; write access=ro or access=rw`);
    if (d.access !== undefined && d.access !== '' && value !== '') fail('gives access twice; give it once');
    d.access = value;
  };
  const setVdevAndDevtype = (token: string): boolean => {
    const colon = token.lastIndexOf(':');
    if (colon < 0) return false;
    const type = token.slice(colon + 1);
    if (type !== 'cdrom' && type !== 'disk') fail(`has unknown device type "${type}"; write devtype=cdrom`);
    setString('vdev', token.slice(0, colon));
    d.cdrom = type === 'cdrom';
    return true;
  };

  let i = 0;
  while (i < spec.length) {
    while (i < spec.length && /[ \t\n]/.test(spec[i]!)) i++;
    if (i >= spec.length) break;
    const rest = spec.slice(i);

    if (rest.startsWith('target=')) {
      let value = rest.slice('target='.length);
      if (value.endsWith(',')) value = value.slice(0, -1);
      setString('target', value);
      break;
    }

    const prefix = /^([a-z][a-z0-9]*):/.exec(rest);
    if (prefix) {
      const name = prefix[1]!;
      const after = rest.slice(prefix[0].length);
      const known =
        FORMAT_PREFIXES.includes(name) || IGNORED_PREFIXES.includes(name) || SCRIPT_PREFIXES.includes(name);
      if (known || after === '' || /^[^a-z0-9]/.test(after)) {
        if (FORMAT_PREFIXES.includes(name)) setFormat(name);
        else if (SCRIPT_PREFIXES.includes(name)) {
          fail(
            `uses the ${name}: prefix, which runs the block-${name} hotplug script; Domus runs no host scripts, so give an image file or block device path`,
          );
        } else if (!IGNORED_PREFIXES.includes(name)) {
          fail(`has unknown prefix "${name}:"; drop it and write the path alone`);
        }
        if (name === 'phy') d.phyPrefix = true;
        d.hadPrefix = true;
        i += prefix[0].length;
        continue;
      }
    }

    const comma = rest.indexOf(',');
    const token = (comma < 0 ? rest : rest.slice(0, comma)).trimEnd();
    i += comma < 0 ? rest.length : comma + 1;

    const eq = token.indexOf('=');
    if (eq < 0) {
      if (token === 'cdrom') d.cdrom = true;
      else if (token === 'direct-io-safe') d.directIoSafe = true;
      else if (token === 'discard') d.discard = true;
      else if (token === 'no-discard') d.discard = false;
      else if (token === 'trusted') d.trusted = true;
      else if (token === 'untrusted') d.trusted = false;
      else if (token === 'colo' || token === 'no-colo') {
        fail(`asks for COLO replication, which Domus does not implement; drop "${token}"`);
      } else positional(token);
      continue;
    }
    const key = token.slice(0, eq);
    const value = token.slice(eq + 1);
    switch (key) {
      case 'format':
        setFormat(value);
        break;
      case 'vdev':
        setString('vdev', value);
        break;
      case 'access':
        setAccess(value);
        break;
      case 'devtype':
        if (value !== 'cdrom' && value !== 'disk')
          fail(`has unknown devtype "${value}"; write devtype=cdrom or drop it`);
        d.cdrom = value === 'cdrom';
        break;
      case 'backend':
        setString('backend', value);
        break;
      case 'backendtype':
        if (value !== 'phy' && value !== 'tap' && value !== 'qdisk' && value !== 'standalone') {
          fail(
            `has unknown backendtype "${value}"; write backendtype=phy, tap, qdisk or standalone, or drop it`,
          );
        }
        if (d.backendtype !== undefined && d.backendtype !== value)
          fail('gives backendtype twice; give it once');
        d.backendtype = value as DiskBackendType;
        break;
      case 'specification':
        if (value !== 'xen' && value !== 'virtio')
          fail(`has unknown specification "${value}"; write xen or virtio`);
        d.specification = value as 'xen' | 'virtio';
        break;
      case 'script':
        fail(
          `names the hotplug script "${value}"; Domus runs no host scripts, so give an image file or block device path`,
        );
        break;
      case 'grant_usage':
        if (value !== '0' && value !== '1') fail(`has grant_usage=${value}; write 0 or 1`);
        break;
      default:
        if (COLO_KEYS.has(key)) fail(`sets ${key}, a COLO parameter; Domus does not implement COLO, drop it`);
        if (/^[a-z][-a-z0-9]*$/.test(key))
          fail(`has unknown parameter "${key}"; see docs/xlcfg.md for the disk keys`);
        fail(`has "${token}", which is neither key=value nor a path; use target=… for paths with "=" or ","`);
    }
  }

  function positional(token: string): void {
    if (d.target === undefined) setString('target', token);
    else if (!d.hadPrefix && d.format === undefined) {
      if (d.target === '' && setVdevAndDevtype(token)) d.format = 'empty';
      else setFormat(token);
    } else if (d.vdev === undefined) {
      if (!setVdevAndDevtype(token)) setString('vdev', token);
    } else if (d.access === undefined) setAccess(token);
    else fail(`has too many positional parameters at "${token}"; the order is target,format,vdev,access`);
  }

  return finish(d, ctx, fail);
}

function finish(d: Draft, ctx: DiskSpecContext, fail: (what: string) => never): XlDisk {
  const cdrom = d.cdrom === true;
  if (d.vdev === undefined || d.vdev === '') fail('has no vdev; add the guest device name, e.g. vdev=xvda');
  const vdev = d.vdev!;
  if (!VDEV_RE.test(vdev))
    fail(`has vdev "${vdev}", which is not a Xen virtual disk name; write e.g. xvda, hdc or sdb`);
  if (d.target === undefined || d.target === '' || d.format === 'empty') {
    if (cdrom) fail('is an empty cdrom drive; Domus has no removable media, so give the ISO image as target');
    fail('has no target; give the image path first or as target=/path/to/image');
  }
  const format = d.format ?? 'raw';
  if (UNSUPPORTED_FORMATS.has(format)) {
    fail(
      `has format ${format}, which Domus cannot read; convert it with qemu-img convert -O qcow2 and use format=qcow2`,
    );
  }
  const phy = d.backendtype === 'phy' || d.phyPrefix;
  if (d.backendtype === 'phy' && format !== 'raw')
    fail(`uses backendtype=phy with format ${format}; phy serves raw devices only, drop backendtype`);
  const access = d.access ?? '';
  if (cdrom && (access === 'w' || access === 'rw'))
    fail('is a cdrom opened read-write; a cdrom is read-only, drop the access');
  const raw = d.target!;
  const target = isAbsolute(raw) ? raw : phy ? `/dev/${raw}` : resolve(ctx.baseDir, raw);
  return {
    where: ctx.where,
    target,
    format: format as DiskFormat,
    vdev,
    readonly: cdrom || access === 'r' || access === 'ro',
    devtype: cdrom ? 'cdrom' : 'disk',
    ...(d.backendtype !== undefined && { backendtype: d.backendtype }),
    ...(d.backend !== undefined && d.backend !== '' && { backend: d.backend }),
    ...(d.specification !== undefined && { specification: d.specification }),
    ...(d.discard !== undefined && { discard: d.discard }),
    directIoSafe: d.directIoSafe,
    ...(d.trusted !== undefined && { trusted: d.trusted }),
  };
}
