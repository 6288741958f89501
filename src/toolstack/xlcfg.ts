/**
 * xl.cfg: Xen's domain configuration file (`docs/man/xl.cfg.5`), read into a typed, validated
 * `XlConfig`.
 *
 * Syntax, as libxlu's lexer and grammar define it: `KEY = VALUE` settings separated by newlines
 * or `;`; keys are lower-case letters, digits, `.` and `_`; a value is a "string" or 'string'
 * (C-style backslash escapes, no newline inside), a NUMBER (decimal, 0x hex, 0 octal, as C's
 * strtol reads it), or a `[ list, of, values ]` that may span lines, nest, and end with a
 * trailing comma; `#` starts a comment. A later setting of a key replaces an earlier one;
 * `KEY += VALUE` appends to a string or list. Numbers are strings underneath, so `memory = "512"`
 * is fine; booleans are numbers (0 false, anything else true). Differences from xl: CR before
 * LF is accepted; xl's own `\x` and octal escapes are unreliable, ours read 2 hex / 1-3 octal
 * digits.
 *
 * `xl create vm.cfg KEY=VALUE …` appends each KEY=VALUE to the file as one more line; so do we
 * (`overrides`), and we also accept an unquoted word there (`name=web2`), which xl refuses.
 *
 * Errors are `UserError`s of one sentence: `vm.cfg:7: memory = "lots" is not a number of MiB;
 * write memory = 512`. Keys Domus does not know are collected in `unknownKeys` with a warning
 * each and otherwise ignored, as xl ignores them. Relative kernel, ramdisk and disk paths resolve
 * against the config file's directory (xl leaves them relative to its working directory; a
 * daemon has no useful one); paths given on the command line resolve against `cwd`.
 *
 * Domain types: `pvh` (the default, as on Arm) is what a Domus domain is: the kernel boots
 * directly in VS-mode with the hypervisor as its SBI and virtio devices. `pv` is converted to
 * pvh with a warning, as libxl does on Arm; `hvm` (emulated firmware and devices) is refused.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isErrnoError, UserError } from '../common/errors.ts';
import { MAX_RAM_BYTES } from '../machine/memory.ts';
import { parseDiskSpec, type XlDisk } from './xlcfg_disk.ts';
import { parseVifSpec, type XlVif } from './xlcfg_vif.ts';

export type { XlDisk } from './xlcfg_disk.ts';
export type { XlVif } from './xlcfg_vif.ts';

export const SHUTDOWN_ACTIONS = [
  'destroy',
  'restart',
  'rename-restart',
  'preserve',
  'coredump-destroy',
  'coredump-restart',
  'soft-reset',
] as const;
export type ShutdownAction = (typeof SHUTDOWN_ACTIONS)[number];

/** A CPULIST: "all", "0-3,5,^1"; resolve it against the host with `resolveCpuSet`. */
export interface CpuSet {
  all: boolean;
  include: number[];
  exclude: number[];
}
/** `cpus = "…"` pins every vCPU to one set; `cpus = ["…", "…"]` gives vCPU i the i-th set. */
export type CpuAffinity = { kind: 'all-vcpus'; set: CpuSet } | { kind: 'per-vcpu'; sets: CpuSet[] };

export interface XlConfig {
  name: string;
  /** Lower-case canonical form; absent: the toolstack generates one. */
  uuid?: string;
  type: 'pvh';
  memoryMiB: number;
  maxmemMiB: number;
  vcpus: number;
  maxvcpus: number;
  cpus?: CpuAffinity;
  /** Absolute paths. Without a kernel the toolstack must supply one (Domus has no bootloader). */
  kernel?: string;
  ramdisk?: string;
  /** From `cmdline`, else `root=ROOT EXTRA`; may be empty. */
  cmdline: string;
  disks: XlDisk[];
  vifs: XlVif[];
  onPoweroff: ShutdownAction;
  onReboot: ShutdownAction;
  onWatchdog: ShutdownAction;
  onCrash: ShutdownAction;
  onSoftReset: ShutdownAction;
  /** Keys present in the file that Domus does not use. */
  unknownKeys: string[];
  /** One sentence each, starting with `file:line:`. */
  warnings: string[];
}

/** xl/libxl give 32 MiB; too little for a Linux guest, so Domus uses `domus run`'s default. */
export const DEFAULT_MEMORY_MIB = 256;
export const MAX_MEMORY_MIB = Math.floor(MAX_RAM_BYTES / (1024 * 1024));
export const MAX_VCPUS = 128;
const MAX_CPU = 1023;
const MAX_LIST_DEPTH = 16;

/** One parsed value: atoms are strings (`quoted` false for NUMBER tokens), lists hold values. */
export type XlValue =
  | { kind: 'string'; text: string; quoted: boolean; line: number }
  | { kind: 'list'; items: XlValue[]; line: number };

export interface XlSetting {
  key: string;
  value: XlValue;
  /** The setting came from `+=` (xl refuses `+=` for numbers). */
  added: boolean;
  source: string;
  line: number;
  /** Directory that relative paths in this setting resolve against. */
  baseDir: string;
}

export interface XlSource {
  text: string;
  /** Name used in messages: the path as the user gave it. */
  source: string;
  baseDir: string;
}

/** Reads and parses a config file; `overrides` are xl's trailing KEY=VALUE arguments. */
export function readXlConfig(path: string, overrides: readonly string[] = [], cwd = process.cwd()): XlConfig {
  let text: string;
  try {
    text = readFileSync(resolve(cwd, path), 'utf8');
  } catch (e) {
    if (isErrnoError(e) && (e.code === 'ENOENT' || e.code === 'EISDIR' || e.code === 'EACCES')) {
      throw new UserError(`config file ${path} cannot be read (${e.code}); give the path of an xl.cfg file`);
    }
    throw e;
  }
  return parseXlConfig({ text, source: path, baseDir: dirname(resolve(cwd, path)) }, overrides, cwd);
}

/** Parses config text plus command-line overrides into a validated `XlConfig`. */
export function parseXlConfig(
  file: XlSource,
  overrides: readonly string[] = [],
  cwd = process.cwd(),
): XlConfig {
  const settings = parseXlSettings(file);
  overrides.forEach((arg, i) => settings.push(...parseOverride(arg, i + 1, cwd)));
  return buildConfig(mergeSettings(settings));
}

// ---- lexer -------------------------------------------------------------------------------------

type Tok =
  | { t: 'word' | 'number' | 'string'; text: string; line: number }
  | { t: '=' | '+=' | ',' | '[' | ']' | ';' | 'nl' | 'eof'; line: number };

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v' };

function lex(src: XlSource): Tok[] {
  const s = src.text;
  const out: Tok[] = [];
  let line = 1;
  let i = 0;
  const fail = (what: string): never => {
    throw new UserError(`${src.source}:${line}: ${what}`);
  };
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t' || c === '\r') i++;
    else if (c === '#') while (i < s.length && s[i] !== '\n') i++;
    else if (c === '\n') {
      out.push({ t: 'nl', line });
      line++;
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z0-9_.-]+/.exec(s.slice(i, i + 256))!;
      out.push({ t: 'word', text: m[0], line });
      i += m[0].length;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9A-Za-z_.]+/.exec(s.slice(i, i + 256))!;
      out.push({ t: 'number', text: m[0], line });
      i += m[0].length;
    } else if (c === '"' || c === "'") {
      let text = '';
      i++;
      for (;;) {
        const ch = s[i];
        if (ch === undefined || ch === '\n')
          fail(`the string starting with ${c} is not closed on its line; add the closing ${c}`);
        i++;
        if (ch === c) break;
        if (ch !== '\\') {
          text += ch;
          continue;
        }
        const e = s[i++];
        if (e === '"' || e === "'" || e === '\\') text += e;
        else if (e !== undefined && e in ESCAPES) text += ESCAPES[e];
        else if (e === 'x' && /^[0-9a-fA-F]{2}/.test(s.slice(i, i + 2))) {
          text += String.fromCharCode(parseInt(s.slice(i, i + 2), 16));
          i += 2;
        } else if (e !== undefined && /[0-7]/.test(e)) {
          const m = /^[0-7]{0,2}/.exec(s.slice(i, i + 2))!;
          text += String.fromCharCode(parseInt(e + m[0], 8));
          i += m[0].length;
        } else fail(`a string has the unknown escape \\${e ?? ''}; write \\\\ for a backslash`);
      }
      out.push({ t: 'string', text, line });
    } else if (c === '+' && s[i + 1] === '=') {
      out.push({ t: '+=', line });
      i += 2;
    } else if (c === '=' || c === ',' || c === '[' || c === ']' || c === ';') {
      out.push({ t: c, line });
      i++;
    } else {
      const python = '+-.():{}'.includes(c)
        ? ' (xl.cfg is not Python: values are quoted strings, numbers and [lists])'
        : '';
      fail(`unexpected character "${c}"${python}; quote the value`);
    }
  }
  out.push({ t: 'eof', line });
  return out;
}

// ---- grammar -----------------------------------------------------------------------------------

/** Parses text into settings in file order (no merging). */
export function parseXlSettings(src: XlSource): XlSetting[] {
  const toks = lex(src);
  let p = 0;
  const peek = (): Tok => toks[p]!;
  const at = (line: number): string => `${src.source}:${line}`;
  const skipNewlines = (): void => {
    while (peek().t === 'nl') p++;
  };
  const out: XlSetting[] = [];

  const value = (key: string, depth: number): XlValue => {
    const tok = toks[p++]!;
    if (tok.t === 'string') return { kind: 'string', text: tok.text, quoted: true, line: tok.line };
    if (tok.t === 'number') return { kind: 'string', text: tok.text, quoted: false, line: tok.line };
    if (tok.t === 'word') {
      throw new UserError(
        `${at(tok.line)}: ${key} = ${tok.text} needs quotes around the string; write ${key} = "${tok.text}"`,
      );
    }
    if (tok.t !== '[')
      throw new UserError(`${at(tok.line)}: ${key} has no value; write ${key} = "…", a number or a [list]`);
    if (depth >= MAX_LIST_DEPTH)
      throw new UserError(`${at(tok.line)}: ${key} nests lists more than ${MAX_LIST_DEPTH} deep; flatten it`);
    const items: XlValue[] = [];
    skipNewlines();
    while (peek().t !== ']') {
      items.push(value(key, depth + 1));
      skipNewlines();
      const sep = peek();
      if (sep.t === ',') {
        p++;
        skipNewlines();
      } else if (sep.t !== ']') {
        throw new UserError(
          `${at(sep.line)}: the list of ${key} needs a "," or "]" here; separate items with commas`,
        );
      }
    }
    p++;
    return { kind: 'list', items, line: tok.line };
  };

  for (;;) {
    while (peek().t === 'nl' || peek().t === ';') p++;
    const keyTok = toks[p++]!;
    if (keyTok.t === 'eof') break;
    if (keyTok.t !== 'word') {
      throw new UserError(
        `${at(keyTok.line)}: a setting must start with a key; write KEY = VALUE on each line`,
      );
    }
    const key = keyTok.text;
    if (!/^[a-z][._0-9a-z]*$/.test(key)) {
      throw new UserError(
        `${at(keyTok.line)}: "${key}" is not an xl.cfg key; keys are lower case (a-z, 0-9, "." and "_"), e.g. ${key.toLowerCase().replace(/-/g, '_')}`,
      );
    }
    const op = toks[p++]!;
    if (op.t !== '=' && op.t !== '+=')
      throw new UserError(`${at(keyTok.line)}: ${key} needs "=" after it; write ${key} = VALUE`);
    const v = value(key, 0);
    const end = peek();
    if (end.t !== 'nl' && end.t !== ';' && end.t !== 'eof') {
      throw new UserError(
        `${at(end.line)}: ${key} has more after its value; put one setting per line or separate them with ";"`,
      );
    }
    out.push({
      key,
      value: v,
      added: op.t === '+=',
      source: src.source,
      line: keyTok.line,
      baseDir: src.baseDir,
    });
  }
  return out;
}

/** One `KEY=VALUE` argument of `xl create`; an unquoted word is taken as a string. */
function parseOverride(arg: string, n: number, cwd: string): XlSetting[] {
  const source = `command line argument ${n}`;
  const bare = /^\s*([a-z][._0-9a-z]*)\s*(\+?=)\s*([^'"[\];#\s][^'"[\];#]*?)\s*$/.exec(arg);
  if (bare) {
    const value: XlValue = { kind: 'string', text: bare[3]!, quoted: true, line: 1 };
    return [{ key: bare[1]!, value, added: bare[2] === '+=', source, line: 1, baseDir: cwd }];
  }
  if (!arg.includes('=')) throw new UserError(`${source} "${arg}" is not KEY=VALUE; write e.g. memory=512`);
  return parseXlSettings({ text: arg, source, baseDir: cwd });
}

/** Applies replacement and `+=` in order; returns the final setting of each key. */
export function mergeSettings(settings: readonly XlSetting[]): Map<string, XlSetting> {
  const map = new Map<string, XlSetting>();
  for (const s of settings) {
    const prev = map.get(s.key);
    if (!s.added || prev === undefined) {
      map.set(s.key, s);
      continue;
    }
    const a = prev.value;
    const b = s.value;
    let value: XlValue;
    if (a.kind === 'string' && b.kind === 'string') value = { ...b, text: a.text + b.text, quoted: true };
    else if (a.kind === 'list' && b.kind === 'list') value = { ...b, items: [...a.items, ...b.items] };
    else
      throw new UserError(
        `${s.source}:${s.line}: ${s.key} += cannot add a ${b.kind} to a ${a.kind}; use the same kind on both`,
      );
    map.set(s.key, { ...s, value });
  }
  return map;
}

// ---- typed config ------------------------------------------------------------------------------

const KNOWN_KEYS = [
  'name',
  'uuid',
  'type',
  'builder',
  'memory',
  'maxmem',
  'vcpus',
  'maxvcpus',
  'cpus',
  'kernel',
  'ramdisk',
  'cmdline',
  'root',
  'extra',
  'disk',
  'vif',
  'on_poweroff',
  'on_reboot',
  'on_watchdog',
  'on_crash',
  'on_soft_reset',
];

function where(s: XlSetting): string {
  return `${s.source}:${s.line}`;
}

function shown(v: XlValue): string {
  if (v.kind === 'list') return '[…]';
  return v.quoted ? JSON.stringify(v.text) : v.text;
}

class Reader {
  constructor(private readonly map: Map<string, XlSetting>) {}

  setting(key: string): XlSetting | undefined {
    return this.map.get(key);
  }

  string(key: string): { text: string; s: XlSetting } | undefined {
    const s = this.map.get(key);
    if (!s) return undefined;
    if (s.value.kind !== 'string')
      throw new UserError(`${where(s)}: ${key} is a list but takes one value; write ${key} = "…"`);
    return { text: s.value.text, s };
  }

  /** A whole number as C's strtol(…, 0) reads it: decimal, 0x hex or 0 octal. */
  whole(key: string, unit: string, min: number, max: number, example: number): number | undefined {
    const v = this.string(key);
    if (!v) return undefined;
    const fix = `write ${key} = ${example}`;
    if (v.s.added) throw new UserError(`${where(v.s)}: ${key} += cannot add to a number; ${fix}`);
    const t = v.text.trim();
    const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(t);
    if (!m) {
      const octal = /^[+-]?0[0-9]+$/.test(t) ? ' (a leading 0 makes it octal, as in xl)' : '';
      throw new UserError(
        `${where(v.s)}: ${key} = ${shown(v.s.value)} is not a number of ${unit}${octal}; ${fix}`,
      );
    }
    const digits = m[2]!;
    const magnitude = /^0[xX]/.test(digits)
      ? parseInt(digits.slice(2), 16)
      : digits.length > 1 && digits[0] === '0'
        ? parseInt(digits, 8)
        : Number(digits);
    const n = m[1] === '-' ? -magnitude : magnitude;
    if (n < min || n > max)
      throw new UserError(
        `${where(v.s)}: ${key} = ${v.text} is out of range (${min} to ${max} ${unit}); ${fix}`,
      );
    return n;
  }

  list(key: string, example: string): Array<{ item: XlValue; s: XlSetting }> | undefined {
    const s = this.map.get(key);
    if (!s) return undefined;
    if (s.value.kind !== 'list')
      throw new UserError(`${where(s)}: ${key} must be a list; write ${key} = [ ${example} ]`);
    return s.value.items.map((item) => ({ item, s }));
  }

  action(key: string, dflt: ShutdownAction): ShutdownAction {
    const v = this.string(key);
    if (!v) return dflt;
    const a = SHUTDOWN_ACTIONS.find((x) => x === v.text);
    if (!a)
      throw new UserError(
        `${where(v.s)}: ${key} = ${shown(v.s.value)} is not an action; write one of ${SHUTDOWN_ACTIONS.join(', ')}`,
      );
    return a;
  }
}

function buildConfig(map: Map<string, XlSetting>): XlConfig {
  const r = new Reader(map);
  const warnings: string[] = [];

  const nameV = r.string('name');
  if (!nameV) throw new UserError('the config has no name; add a line name = "myvm"');
  const name = nameV.text;
  if (
    name === '' ||
    name.length > 64 ||
    [...name].some((ch) => ch < ' ' || ch === '\x7f') ||
    /^[0-9]+$/.test(name)
  ) {
    throw new UserError(
      `${where(nameV.s)}: name = ${shown(nameV.s.value)} is not a usable domain name; use 1 to 64 printable characters, not all digits (xl would read it as a domain id)`,
    );
  }

  const uuidV = r.string('uuid');
  if (
    uuidV &&
    !/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(uuidV.text)
  ) {
    throw new UserError(
      `${where(uuidV.s)}: uuid = ${shown(uuidV.s.value)} is not a UUID; write uuid = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" or drop it`,
    );
  }

  domainType(r, warnings);

  const memoryMiB = r.whole('memory', 'MiB', 1, MAX_MEMORY_MIB, 512) ?? DEFAULT_MEMORY_MIB;
  const maxmemMiB = r.whole('maxmem', 'MiB', 1, MAX_MEMORY_MIB, Math.max(memoryMiB, 512)) ?? memoryMiB;
  if (maxmemMiB < memoryMiB) {
    throw new UserError(
      `${where(r.setting('maxmem')!)}: maxmem = ${maxmemMiB} is less than memory = ${memoryMiB}; raise maxmem or drop it`,
    );
  }
  const vcpus = r.whole('vcpus', 'vCPUs', 1, MAX_VCPUS, 2) ?? 1;
  const maxvcpus = r.whole('maxvcpus', 'vCPUs', 1, MAX_VCPUS, Math.max(vcpus, 2)) ?? vcpus;
  if (maxvcpus < vcpus) {
    throw new UserError(
      `${where(r.setting('maxvcpus')!)}: maxvcpus = ${maxvcpus} is less than vcpus = ${vcpus}; raise maxvcpus or drop it`,
    );
  }
  const cpus = cpuAffinity(r, maxvcpus);

  const path = (key: string): string | undefined => {
    const v = r.string(key);
    if (!v) return undefined;
    if (v.text === '')
      throw new UserError(`${where(v.s)}: ${key} is empty; give the path of the file or drop the line`);
    return isAbsolute(v.text) ? v.text : resolve(v.s.baseDir, v.text);
  };
  const kernel = path('kernel');
  const ramdisk = path('ramdisk');

  const cmdlineV = r.string('cmdline');
  const root = r.string('root')?.text;
  const extra = r.string('extra')?.text;
  let cmdline: string;
  if (cmdlineV) {
    cmdline = cmdlineV.text;
    if (root !== undefined || extra !== undefined)
      warnings.push(`${where(cmdlineV.s)}: root= and extra= are ignored in favour of cmdline=`);
  } else {
    cmdline = [root !== undefined ? `root=${root}` : undefined, extra]
      .filter((x) => x !== undefined)
      .join(' ');
  }

  const disks = (r.list('disk', "'/path/disk.img,raw,xvda,rw'") ?? []).map(({ item, s }, i) => {
    if (item.kind !== 'string')
      throw new UserError(
        `${s.source}:${item.line}: disk item ${i} is a list; write each disk as one quoted string`,
      );
    return parseDiskSpec(item.text, { where: `${s.source}:${item.line}`, baseDir: s.baseDir });
  });
  const vdevs = new Map<string, XlDisk>();
  for (const d of disks) {
    const other = vdevs.get(d.vdev);
    if (other)
      throw new UserError(
        `${d.where}: disk vdev ${d.vdev} is also used at ${other.where}; give each disk its own vdev`,
      );
    vdevs.set(d.vdev, d);
  }

  const vifs = (r.list('vif', "'bridge=xenbr0'") ?? []).map(({ item, s }, i) => {
    if (item.kind !== 'string')
      throw new UserError(
        `${s.source}:${item.line}: vif item ${i} is a list; write each vif as one quoted string`,
      );
    return parseVifSpec(item.text, { where: `${s.source}:${item.line}`, index: i, warnings });
  });
  const devids = new Map<number, XlVif>();
  for (const v of vifs) {
    const other = devids.get(v.devid);
    if (other)
      throw new UserError(
        `${v.where}: vif devid ${v.devid} is also used at ${other.where}; give each vif its own devid`,
      );
    devids.set(v.devid, v);
  }

  const unknownKeys: string[] = [];
  for (const [key, s] of map) {
    if (KNOWN_KEYS.includes(key)) continue;
    unknownKeys.push(key);
    const near = KNOWN_KEYS.find((k) => editDistance(k, key) <= (key.length <= 4 ? 1 : 2));
    warnings.push(
      `${where(s)}: key "${key}" is not used by Domus and is ignored${near ? ` (did you mean ${near}?)` : ''}`,
    );
  }

  return {
    name,
    ...(uuidV && { uuid: uuidV.text.toLowerCase() }),
    type: 'pvh',
    memoryMiB,
    maxmemMiB,
    vcpus,
    maxvcpus,
    ...(cpus && { cpus }),
    ...(kernel !== undefined && { kernel }),
    ...(ramdisk !== undefined && { ramdisk }),
    cmdline,
    disks,
    vifs,
    onPoweroff: r.action('on_poweroff', 'destroy'),
    onReboot: r.action('on_reboot', 'restart'),
    onWatchdog: r.action('on_watchdog', 'destroy'),
    onCrash: r.action('on_crash', 'destroy'),
    onSoftReset: r.action('on_soft_reset', 'soft-reset'),
    unknownKeys,
    warnings,
  };
}

/** `type` (and the deprecated `builder`): pvh is Domus's only kind; pv becomes pvh, hvm is refused. */
function domainType(r: Reader, warnings: string[]): void {
  const type = r.string('type');
  const builder = r.string('builder');
  const hvm = (s: XlSetting, v: string): never => {
    throw new UserError(
      `${where(s)}: ${v} asks for an HVM guest with emulated firmware, which Domus does not have; write type = "pvh" and give kernel =`,
    );
  };
  let fromType: string | undefined;
  if (type) {
    if (!['pv', 'pvh', 'hvm'].includes(type.text))
      throw new UserError(
        `${where(type.s)}: type = ${shown(type.s.value)} is not a domain type; write type = "pvh"`,
      );
    if (type.text === 'hvm') hvm(type.s, 'type = "hvm"');
    if (type.text === 'pv')
      warnings.push(
        `${where(type.s)}: type = "pv" is converted to "pvh": Domus guests are PVH, as Arm guests are in Xen`,
      );
    fromType = type.text;
  }
  if (builder) {
    if (builder.text === 'hvm') hvm(builder.s, 'builder = "hvm"');
    if (builder.text !== 'generic')
      throw new UserError(
        `${where(builder.s)}: builder = ${shown(builder.s.value)} is not a builder; drop it and write type = "pvh"`,
      );
    if (fromType !== undefined && fromType !== 'pv')
      throw new UserError(
        `${where(builder.s)}: builder = "generic" contradicts type = "${fromType}"; drop builder`,
      );
    warnings.push(`${where(builder.s)}: builder is deprecated; write type = "pvh"`);
  }
}

function cpuAffinity(r: Reader, maxvcpus: number): CpuAffinity | undefined {
  const s = r.setting('cpus');
  if (!s) return undefined;
  if (s.value.kind === 'string') return { kind: 'all-vcpus', set: parseCpuList(s.value.text, where(s)) };
  const items = s.value.items;
  if (items.length > maxvcpus)
    throw new UserError(
      `${where(s)}: cpus lists ${items.length} vCPUs but the domain has ${maxvcpus}; give one entry per vCPU`,
    );
  const sets = items.map((item) => {
    if (item.kind !== 'string')
      throw new UserError(
        `${s.source}:${item.line}: cpus entries must be strings like "0-3"; flatten the list`,
      );
    return parseCpuList(item.text, `${s.source}:${item.line}`);
  });
  return { kind: 'per-vcpu', sets };
}

/** Parses an xl CPULIST such as "all,^3" or "0-3,5,^1". */
export function parseCpuList(text: string, at: string): CpuSet {
  const set: CpuSet = { all: false, include: [], exclude: [] };
  const inc = new Set<number>();
  const exc = new Set<number>();
  for (const raw of text.split(',')) {
    const term = raw.trim();
    const neg = term.startsWith('^');
    const body = neg ? term.slice(1) : term;
    if (body === 'all' && !neg) {
      set.all = true;
      continue;
    }
    if (/^nodes?:/.test(body))
      throw new UserError(
        `${at}: cpus = "${text}" names NUMA nodes; a Domus host has one node, so list CPU numbers`,
      );
    const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(body);
    const lo = m ? Number(m[1]) : NaN;
    const hi = m && m[2] !== undefined ? Number(m[2]) : lo;
    if (!m || lo > hi || hi > MAX_CPU) {
      throw new UserError(
        `${at}: cpus = "${text}" has "${term}", which is not a CPU or range; write e.g. cpus = "0-3,^1" or "all"`,
      );
    }
    for (let c = lo; c <= hi; c++) (neg ? exc : inc).add(c);
  }
  set.include = [...inc].sort((a, b) => a - b);
  set.exclude = [...exc].sort((a, b) => a - b);
  return set;
}

/** The host CPUs (0..nrCpus-1) that a CPU set allows. */
export function resolveCpuSet(set: CpuSet, nrCpus: number): number[] {
  const out: number[] = [];
  for (let c = 0; c < nrCpus; c++) {
    if ((set.all || set.include.includes(c)) && !set.exclude.includes(c)) out.push(c);
  }
  return out;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
