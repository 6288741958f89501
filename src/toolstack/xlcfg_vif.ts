/**
 * One `vif = [ … ]` entry of an xl.cfg: the NET_SPEC_STRING of Xen's
 * `docs/man/xl-network-configuration.5`, read the way xl reads it: comma-separated
 * `key=value` pairs and the flags `trusted` / `untrusted`, all optional; `''` is a valid spec.
 *
 * What Domus does with a vif: the guest gets a virtio-net device joined to the Domus virtual
 * switch named by `bridge` (default `xenbr0`, as in xl). `mac` defaults to an address in Xen's
 * OUI 00:16:3e chosen by the toolstack (`randomXenMac`). `rate` is converted as xl does to
 * bytes per replenishment interval (default interval 50 ms) for the switch's credit limiter.
 * `ip`, `vifname`, `mtu`, `vlan`, `backend`, `gatewaydev` and `devid` are checked and kept.
 * `model` and `type=ioemu` are for HVM emulated NICs and `script` for host hotplug scripts;
 * Domus guests always see virtio-net and Domus runs no scripts, so these are kept and warned
 * about. COLO keys are refused. Unknown keys are warned about and skipped, as xl does.
 */
import { isIP } from 'node:net';
import { UserError } from '../common/errors.ts';

export interface VifRate {
  bytesPerInterval: number;
  intervalUsecs: number;
}

export interface XlVif {
  /** Where the spec was written, for messages: `vm.cfg:12`. */
  where: string;
  /** The device's index within the domain (its position in the list unless `devid=` says otherwise). */
  devid: number;
  /** Lower-case `xx:xx:xx:xx:xx:xx`; absent: the toolstack picks one (`randomXenMac`). */
  mac?: string;
  bridge: string;
  ip?: string;
  model?: string;
  vifname?: string;
  rate?: VifRate;
  type: 'vif' | 'ioemu';
  script?: string;
  backend?: string;
  gatewaydev?: string;
  mtu?: number;
  vlan?: string;
  trusted?: boolean;
}

export interface VifSpecContext {
  where: string;
  index: number;
  /** Warnings are appended here, each one sentence starting with `where`. */
  warnings: string[];
}

export const DEFAULT_BRIDGE = 'xenbr0';
const DEFAULT_RATE_INTERVAL_USECS = 50_000;
const UINT32_MAX = 0xffff_ffff;

/** Parses one NET_SPEC_STRING; throws a `UserError` naming the spec and the fix. */
export function parseVifSpec(spec: string, ctx: VifSpecContext): XlVif {
  const fail = (what: string): never => {
    throw new UserError(`${ctx.where}: vif '${spec}' ${what}`);
  };
  const warn = (what: string): void => {
    ctx.warnings.push(`${ctx.where}: vif '${spec}' ${what}`);
  };
  const vif: XlVif = { where: ctx.where, devid: ctx.index, bridge: DEFAULT_BRIDGE, type: 'vif' };
  // xl splits with strtok, so empty items between commas vanish.
  for (const raw of spec.split(',')) {
    const token = raw.replace(/^ +/, '').trimEnd();
    if (token === '') continue;
    if (token === 'trusted' || token === 'untrusted') {
      vif.trusted = token === 'trusted';
      continue;
    }
    const eq = token.indexOf('=');
    if (eq < 0) {
      warn(`has unknown flag "${token}", which is ignored`);
      continue;
    }
    const key = token.slice(0, eq);
    const value = token.slice(eq + 1);
    switch (key) {
      case 'mac':
        vif.mac = parseMac(value, fail);
        break;
      case 'bridge':
        if (value === '') fail('has an empty bridge; name the virtual switch, e.g. bridge=xenbr0');
        vif.bridge = value;
        break;
      case 'ip':
        for (const addr of value.split(/\s+/).filter((a) => a !== '')) {
          if (isIP(addr.replace(/\/\d{1,3}$/, '')) === 0)
            fail(`has ip "${addr}", which is not an IP address; write e.g. ip=10.0.0.2`);
        }
        vif.ip = value;
        break;
      case 'model':
        vif.model = value;
        warn(`sets model=${value}, which is ignored: Domus guests always see a virtio-net device`);
        break;
      case 'vifname':
        if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(value)) {
          fail(`has vifname "${value}"; use 1 to 15 letters, digits, "_", "-", "." or ":"`);
        }
        vif.vifname = value;
        break;
      case 'rate':
        vif.rate = parseRate(value, fail);
        break;
      case 'type':
        if (value !== 'vif' && value !== 'ioemu') fail(`has type "${value}"; write type=vif or drop it`);
        vif.type = value as 'vif' | 'ioemu';
        if (value === 'ioemu')
          warn('sets type=ioemu, which Domus treats as type=vif: there are no emulated NICs');
        break;
      case 'script':
        vif.script = value;
        warn(
          `names the hotplug script "${value}", which is ignored: Domus joins the switch named by bridge= itself`,
        );
        break;
      case 'backend':
        vif.backend = value;
        break;
      case 'gatewaydev':
      case 'netdev':
        if (key === 'netdev') warn('uses netdev=, which is deprecated; write gatewaydev=');
        vif.gatewaydev = value;
        break;
      case 'devid':
        vif.devid = parseWhole(value, 'devid', 0, 65535, fail);
        break;
      case 'mtu':
        vif.mtu = parseWhole(value, 'mtu', 68, 65535, fail);
        break;
      case 'vlan':
        checkVlan(value, fail);
        vif.vlan = value;
        break;
      case 'accel':
        warn('sets accel=, which is not supported (xl ignores it too)');
        break;
      default:
        if (key.startsWith('colo_') || key === 'forwarddev')
          fail(`sets ${key}, a COLO parameter; Domus does not implement COLO, drop it`);
        warn(`has unknown key "${key}", which is ignored`);
    }
  }
  return vif;
}

/** A locally unique MAC in Xen's OUI 00:16:3e, from three random bytes, as xl picks one. */
export function randomXenMac(random: (dst: Uint8Array) => void): string {
  const b = new Uint8Array(3);
  random(b);
  return ['00', '16', '3e', ...Array.from(b, (x) => x.toString(16).padStart(2, '0'))].join(':');
}

function parseMac(value: string, fail: (what: string) => never): string {
  const parts = value.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{1,2}$/.test(p))) {
    fail(`has mac "${value}"; write six hex bytes like mac=00:16:3e:12:34:56`);
  }
  const bytes = parts.map((p) => parseInt(p, 16));
  if ((bytes[0]! & 1) !== 0)
    fail(`has mac "${value}", a multicast address; clear the low bit of the first byte, e.g. 00:16:3e:…`);
  return bytes.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** xl's `rate=RATE/s[@INTERVAL]`: RATE in B, KB, MB, GB (bytes) or b, Kb, Mb, Gb (bits); INTERVAL in s, ms, us. */
function parseRate(value: string, fail: (what: string) => never): VifRate {
  const at = value.indexOf('@');
  const rate = at < 0 ? value : value.slice(0, at);
  const interval = at < 0 ? undefined : value.slice(at + 1);
  const r = /^([0-9]+)([GMK]?)([Bb])\/s$/.exec(rate);
  if (!r) fail(`has rate "${value}"; write e.g. rate=10Mb/s or rate=1MB/s@20ms`);
  let bytesPerSec = Number(r![1]);
  if (bytesPerSec === 0 || bytesPerSec > UINT32_MAX)
    fail(`has rate "${value}", which is out of range; give 1 to 4294967295 per second`);
  bytesPerSec *= { G: 1e9, M: 1e6, K: 1e3, '': 1 }[r![2] as 'G' | 'M' | 'K' | ''];
  if (r![3] === 'b') bytesPerSec = Math.floor(bytesPerSec / 8);
  let intervalUsecs = DEFAULT_RATE_INTERVAL_USECS;
  if (interval !== undefined) {
    const m = /^([0-9]+)([mu]?)s?$/.exec(interval);
    if (!m) fail(`has rate interval "${interval}"; write e.g. @20ms, @500us or @1s`);
    const n = Number(m![1]);
    intervalUsecs = n * (m![2] === 'm' ? 1000 : m![2] === 'u' ? 1 : 1_000_000);
    if (n === 0 || intervalUsecs > UINT32_MAX) fail(`has rate interval "${interval}", which is out of range`);
  }
  const bytesPerInterval = Math.floor((bytesPerSec * intervalUsecs) / 1_000_000);
  if (!Number.isSafeInteger(bytesPerSec * intervalUsecs))
    fail(`has rate "${value}", which is too large; give a smaller rate`);
  return { bytesPerInterval, intervalUsecs };
}

function parseWhole(
  value: string,
  key: string,
  min: number,
  max: number,
  fail: (what: string) => never,
): number {
  const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) fail(`has ${key}=${value}; give a whole number from ${min} to ${max}`);
  return n;
}

/** Terms separated by "/": `N[p|u]`, `N-M[u]` or `N+OxC[u]`, VLAN ids 1..4094. */
function checkVlan(value: string, fail: (what: string) => never): void {
  const ok = (id: string | undefined): boolean => id !== undefined && Number(id) >= 1 && Number(id) <= 4094;
  for (const term of value.split('/')) {
    const single = /^([0-9]+)[pu]?$/.exec(term);
    const range = /^([0-9]+)-([0-9]+)u?$/.exec(term);
    const stride = /^([0-9]+)\+([0-9]+)x([0-9]+)u?$/.exec(term);
    const good =
      (single && ok(single[1])) ||
      (range && ok(range[1]) && ok(range[2]) && Number(range[1]) <= Number(range[2])) ||
      (stride && ok(stride[1]) && ok(String(Number(stride[1]) + Number(stride[2]) * Number(stride[3]))));
    if (!good) fail(`has vlan "${value}"; write VLAN ids 1-4094 like vlan=10p/20 or vlan=100-110`);
  }
}
