/**
 * XML-RPC codec (http://xmlrpc.com/spec.md) with XenAPI's conventions on top: pure functions
 * from request bytes to a `XmlRpcCall` and from values to response text; no HTTP here.
 *
 * Parsing: a small XML reader of our own, strict and linear-time. It takes the whole body (the
 * server buffers it with a size cap) as a string or as UTF-8 bytes (invalid UTF-8 is refused),
 * walks it once with an explicit element stack (depth capped at `MAX_DEPTH`, so hostile nesting
 * cannot exhaust the JS stack), accepts the XML declaration (UTF-8 or ASCII only), comments,
 * CDATA, attributes (ignored), the five predefined entities and character references, and
 * normalises CR LF to LF as XML requires. It refuses DOCTYPE (no entity expansion), undefined
 * entities, stray text, mismatched tags and every XML-RPC shape error, each with one
 * `XmlRpcError` sentence that the server returns as a fault.
 *
 * Values: `<i4>`/`<int>` (32-bit) and `<i8>` (safe integers) and `<double>` become numbers;
 * `<boolean>` a boolean; `<string>` or bare text a string; `<dateTime.iso8601>` an
 * `XmlRpcDateTime` (its text kept: XML-RPC times carry no zone, XenAPI's are UTC with a `Z`);
 * `<base64>` a Uint8Array; `<struct>` a plain object (duplicate member names refused); `<array>`
 * an array; `<nil/>` (Python's allow_none, Apache's `<ex:nil/>`) null.
 *
 * Encoding: strings are written bare, `<value>text</value>`, as xapi writes them; integral
 * numbers in the 32-bit range as `<int>`, other numbers as `<double>` (wrap a number in
 * `XmlRpcDouble` to force a double); null as `<nil/>`; a `Date` as xapi's `YYYYMMDDTHH:MM:SSZ`.
 * XenAPI itself sends its 64-bit `int`s as decimal strings and `void` as "" (see
 * xapi-project/xen-api doc/content/xen-api/wire-protocol.md); those choices belong to the caller.
 */

export type XmlRpcValue =
  | string
  | number
  | boolean
  | null
  | XmlRpcDateTime
  | XmlRpcDouble
  | Date
  | Uint8Array
  | XmlRpcValue[]
  | { [member: string]: XmlRpcValue };

/** Thrown for malformed input (and for values XML cannot carry); its message is one sentence. */
export class XmlRpcError extends Error {
  override readonly name = 'XmlRpcError';
}

/** A `<dateTime.iso8601>` as written on the wire. */
export class XmlRpcDateTime {
  constructor(readonly text: string) {}

  /** xapi's form: `20240131T08:05:09Z`. */
  static fromDate(d: Date): XmlRpcDateTime {
    const p = (n: number, w = 2): string => String(n).padStart(w, '0');
    return new XmlRpcDateTime(
      `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}T${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}Z`,
    );
  }

  /** The instant, reading a zone-less time as UTC (XenAPI's convention). */
  toDate(): Date {
    const m = DATETIME_RE.exec(this.text)!;
    const [, y, mo, d, h, mi, s, frac, zone] = m;
    const iso = `${y}-${mo}-${d}T${h}:${mi}:${s}${frac ?? ''}${zone === undefined ? 'Z' : zone === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(-2)}`}`;
    return new Date(iso);
  }
}

/** A number that must be encoded as `<double>` even when integral. */
export class XmlRpcDouble {
  constructor(readonly value: number) {}
}

export interface XmlRpcCall {
  methodName: string;
  params: XmlRpcValue[];
}

export type XmlRpcResponse =
  { kind: 'result'; value: XmlRpcValue } | { kind: 'fault'; faultCode: number; faultString: string };

export const MAX_DEPTH = 256;
const DATETIME_RE = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/;
const INT32_MIN = -0x8000_0000;
const INT32_MAX = 0x7fff_ffff;

// ---- XML reader ---------------------------------------------------------------------------------

interface XmlElement {
  name: string;
  children: XmlElement[];
  text: string;
}

const NAME_RE = /[A-Za-z_:][-A-Za-z0-9_.:]*/y;
const ATTR_RE = /\s+([A-Za-z_:][-A-Za-z0-9_.:]*)\s*=\s*("[^"<]*"|'[^'<]*')/y;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Characters that XML 1.0 forbids even as character references: C0 controls but TAB LF CR, U+FFFE, U+FFFF. */
function hasIllegalXmlChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 9 && c !== 10 && c !== 13) || c === 0xfffe || c === 0xffff) return true;
  }
  return false;
}

function decodeText(raw: string): string {
  // XML end-of-line handling comes before entity expansion, so &#13; survives as CR.
  const s = raw.replace(/\r\n?/g, '\n');
  if (hasIllegalXmlChar(s)) {
    throw new XmlRpcError(
      'the XML contains a control character that XML 1.0 does not allow; escape or remove it',
    );
  }
  if (!s.includes('&')) return s;
  return s.replace(/&([^;&\s]{0,10});?/g, (whole, ref: string) => {
    if (!whole.endsWith(';'))
      throw new XmlRpcError(`the XML has a bare "&" near "${whole}"; write it as &amp;`);
    if (ref in PREDEFINED) return PREDEFINED[ref]!;
    const m = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(ref);
    const cp = m ? (m[1] !== undefined ? parseInt(m[1], 16) : Number(m[2])) : NaN;
    const legal =
      cp === 9 ||
      cp === 10 ||
      cp === 13 ||
      (cp >= 0x20 && cp <= 0xd7ff) ||
      (cp >= 0xe000 && cp <= 0xfffd) ||
      (cp >= 0x10000 && cp <= 0x10ffff);
    if (!legal)
      throw new XmlRpcError(
        `the XML uses the unknown or illegal entity &${ref}; use &lt; &gt; &amp; &quot; &apos; or a valid &#N;`,
      );
    return String.fromCodePoint(cp);
  });
}

/** Reads one XML document into its root element. */
function readXml(body: string | Uint8Array): XmlElement {
  let s: string;
  if (typeof body === 'string') s = body;
  else {
    try {
      s = new TextDecoder('utf-8', { fatal: true }).decode(body);
    } catch {
      throw new XmlRpcError('the request body is not valid UTF-8; send it as UTF-8');
    }
  }
  if (s.startsWith('\ufeff')) s = s.slice(1);
  let pos = 0;
  const decl = /^<\?xml\s[^?]*\?>/.exec(s);
  if (decl) {
    const enc = /encoding\s*=\s*["']([^"']*)["']/.exec(decl[0]);
    if (enc && !/^(utf-8|utf8|us-ascii|ascii)$/i.test(enc[1]!)) {
      throw new XmlRpcError(`the XML declares encoding ${enc[1]}, which is not supported; send UTF-8`);
    }
    pos = decl[0].length;
  }
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (pos < s.length) {
    const lt = s.indexOf('<', pos);
    const textEnd = lt < 0 ? s.length : lt;
    if (textEnd > pos) {
      const raw = s.slice(pos, textEnd);
      const top = stack[stack.length - 1];
      if (top) top.text += decodeText(raw);
      else if (raw.trim() !== '')
        throw new XmlRpcError('the XML has text outside its root element; send one methodCall element');
      pos = textEnd;
      continue;
    }
    if (s.startsWith('<!--', pos)) {
      const end = s.indexOf('-->', pos + 4);
      if (end < 0) throw new XmlRpcError('the XML has an unterminated comment; close it with -->');
      pos = end + 3;
    } else if (s.startsWith('<![CDATA[', pos)) {
      const end = s.indexOf(']]>', pos + 9);
      const top = stack[stack.length - 1];
      if (end < 0 || !top)
        throw new XmlRpcError('the XML has a CDATA section that is unterminated or outside an element');
      top.text += s.slice(pos + 9, end).replace(/\r\n?/g, '\n');
      pos = end + 3;
    } else if (s.startsWith('<!', pos)) {
      throw new XmlRpcError(
        'the XML has a DOCTYPE or other declaration, which XML-RPC does not allow; remove it',
      );
    } else if (s.startsWith('<?', pos)) {
      const end = s.indexOf('?>', pos + 2);
      if (end < 0)
        throw new XmlRpcError('the XML has an unterminated processing instruction; close it with ?>');
      pos = end + 2;
    } else if (s.startsWith('</', pos)) {
      NAME_RE.lastIndex = pos + 2;
      const m = NAME_RE.exec(s);
      const close = m ? /^\s*>/.exec(s.slice(NAME_RE.lastIndex, NAME_RE.lastIndex + 64)) : null;
      const top = stack.pop();
      if (!m || !close) throw new XmlRpcError('the XML has a malformed closing tag; write </name>');
      if (!top || top.name !== m[0]) {
        throw new XmlRpcError(
          `the XML closes </${m[0]}> where ${top ? `</${top.name}>` : 'no element'} is open; balance the tags`,
        );
      }
      pos = NAME_RE.lastIndex + close[0].length;
    } else {
      NAME_RE.lastIndex = pos + 1;
      const m = NAME_RE.exec(s);
      if (!m) throw new XmlRpcError('the XML has a "<" that does not start a tag; write it as &lt;');
      pos = NAME_RE.lastIndex;
      ATTR_RE.lastIndex = pos;
      for (let a = ATTR_RE.exec(s); a; a = ATTR_RE.exec(s)) pos = ATTR_RE.lastIndex;
      const end = /^\s*(\/?)>/.exec(s.slice(pos, pos + 64));
      if (!end)
        throw new XmlRpcError(`the XML tag <${m[0]}> is malformed; check its attributes and closing ">"`);
      pos += end[0].length;
      const el: XmlElement = { name: m[0], children: [], text: '' };
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(el);
      else if (root)
        throw new XmlRpcError('the XML has more than one root element; send one methodCall element');
      else root = el;
      if (end[1] !== '/') {
        if (stack.length >= MAX_DEPTH)
          throw new XmlRpcError(`the XML nests deeper than ${MAX_DEPTH} elements; flatten the value`);
        stack.push(el);
      }
    }
  }
  if (stack.length > 0)
    throw new XmlRpcError(
      `the XML ends inside <${stack[stack.length - 1]!.name}>; send the complete document`,
    );
  if (!root) throw new XmlRpcError('the request has no XML element; send a methodCall document');
  return root;
}

// ---- XML-RPC shapes ------------------------------------------------------------------------------

function only(el: XmlElement, name: string): XmlElement[] {
  if (el.text.trim() !== '')
    throw new XmlRpcError(
      `<${el.name}> contains text "${el.text.trim().slice(0, 40)}"; only elements belong there`,
    );
  for (const c of el.children) {
    if (c.name !== name)
      throw new XmlRpcError(`<${el.name}> contains <${c.name}>; only <${name}> belongs there`);
  }
  return el.children;
}

function one(el: XmlElement, name: string): XmlElement {
  const kids = only(el, name);
  if (kids.length !== 1)
    throw new XmlRpcError(`<${el.name}> must hold exactly one <${name}>, not ${kids.length}`);
  return kids[0]!;
}

function leaf(el: XmlElement): string {
  if (el.children.length > 0)
    throw new XmlRpcError(`<${el.name}> contains <${el.children[0]!.name}>; it takes text only`);
  return el.text;
}

function readValue(el: XmlElement): XmlRpcValue {
  if (el.children.length === 0) return el.text;
  if (el.children.length > 1 || el.text.trim() !== '') {
    throw new XmlRpcError('a <value> holds more than one thing; give it one typed element or plain text');
  }
  const t = el.children[0]!;
  switch (t.name) {
    case 'i4':
    case 'int':
    case 'i8': {
      const text = leaf(t).trim();
      const n = /^[+-]?[0-9]+$/.test(text) ? Number(text) : NaN;
      const ok =
        t.name === 'i8' ? Number.isSafeInteger(n) : Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX;
      if (!ok)
        throw new XmlRpcError(
          `<${t.name}>${text.slice(0, 40)}</${t.name}> is not a ${t.name === 'i8' ? '53-bit' : '32-bit'} integer; send a string for larger numbers`,
        );
      return n;
    }
    case 'boolean': {
      const text = leaf(t).trim();
      if (text !== '0' && text !== '1')
        throw new XmlRpcError(`<boolean>${text.slice(0, 40)}</boolean> is not 0 or 1`);
      return text === '1';
    }
    case 'string':
      return leaf(t);
    case 'double': {
      const text = leaf(t).trim();
      if (!/^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(text)) {
        throw new XmlRpcError(`<double>${text.slice(0, 40)}</double> is not a decimal number`);
      }
      return Number(text);
    }
    case 'dateTime.iso8601': {
      const text = leaf(t).trim();
      if (!DATETIME_RE.test(text))
        throw new XmlRpcError(
          `<dateTime.iso8601>${text.slice(0, 40)}</dateTime.iso8601> is not a time like 20240131T08:05:09`,
        );
      return new XmlRpcDateTime(text);
    }
    case 'base64': {
      const text = leaf(t).replace(/[\s]+/g, '');
      if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text))
        throw new XmlRpcError('a <base64> value is not valid base64');
      return new Uint8Array(Buffer.from(text, 'base64'));
    }
    case 'nil':
    case 'ex:nil':
      if (leaf(t).trim() !== '') throw new XmlRpcError('<nil/> must be empty');
      return null;
    case 'array':
      return only(one(t, 'data'), 'value').map(readValue);
    case 'struct': {
      const out: { [member: string]: XmlRpcValue } = {};
      for (const m of only(t, 'member')) {
        const names = m.children.filter((c) => c.name === 'name');
        const values = m.children.filter((c) => c.name === 'value');
        if (names.length !== 1 || values.length !== 1 || m.children.length !== 2 || m.text.trim() !== '') {
          throw new XmlRpcError('a struct <member> must hold one <name> and one <value>');
        }
        const name = leaf(names[0]!);
        if (Object.prototype.hasOwnProperty.call(out, name))
          throw new XmlRpcError(`a struct has the member "${name}" twice; send it once`);
        Object.defineProperty(out, name, {
          value: readValue(values[0]!),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    default:
      throw new XmlRpcError(
        `<${t.name}> is not an XML-RPC value type; use int, boolean, string, double, dateTime.iso8601, base64, struct, array or nil`,
      );
  }
}

function readParams(el: XmlElement | undefined): XmlRpcValue[] {
  return el ? only(el, 'param').map((p) => readValue(one(p, 'value'))) : [];
}

/** Parses a `<methodCall>` request body. */
export function parseMethodCall(body: string | Uint8Array): XmlRpcCall {
  const root = readXml(body);
  if (root.name !== 'methodCall')
    throw new XmlRpcError(`the request is a <${root.name}>, not a <methodCall>`);
  if (root.text.trim() !== '')
    throw new XmlRpcError('<methodCall> contains stray text; only methodName and params belong there');
  const names = root.children.filter((c) => c.name === 'methodName');
  const params = root.children.filter((c) => c.name === 'params');
  const other = root.children.find((c) => c.name !== 'methodName' && c.name !== 'params');
  if (other)
    throw new XmlRpcError(`<methodCall> contains <${other.name}>; only methodName and params belong there`);
  if (names.length !== 1 || params.length > 1)
    throw new XmlRpcError('<methodCall> must hold one <methodName> and at most one <params>');
  const methodName = leaf(names[0]!).trim();
  if (!/^[A-Za-z0-9_.:/]+$/.test(methodName)) {
    throw new XmlRpcError(
      `the method name "${methodName.slice(0, 60)}" is empty or has characters outside A-Z a-z 0-9 _ . : /`,
    );
  }
  return { methodName, params: readParams(params[0]) };
}

/** Parses a `<methodResponse>` (a result or a fault); the client side of the codec. */
export function parseMethodResponse(body: string | Uint8Array): XmlRpcResponse {
  const root = readXml(body);
  if (root.name !== 'methodResponse')
    throw new XmlRpcError(`the response is a <${root.name}>, not a <methodResponse>`);
  const kids = root.children;
  if (kids.length !== 1 || root.text.trim() !== '')
    throw new XmlRpcError('<methodResponse> must hold one <params> or one <fault>');
  const k = kids[0]!;
  if (k.name === 'params') {
    const params = readParams(k);
    if (params.length !== 1)
      throw new XmlRpcError(`a <methodResponse> must carry one param, not ${params.length}`);
    return { kind: 'result', value: params[0]! };
  }
  if (k.name !== 'fault')
    throw new XmlRpcError(`<methodResponse> contains <${k.name}>; only params or fault belong there`);
  const v = readValue(one(k, 'value'));
  const code = isStruct(v) ? v['faultCode'] : undefined;
  const text = isStruct(v) ? v['faultString'] : undefined;
  if (typeof code !== 'number' || typeof text !== 'string')
    throw new XmlRpcError('a <fault> must be a struct with an int faultCode and a string faultString');
  return { kind: 'fault', faultCode: code, faultString: text };
}

function isStruct(v: XmlRpcValue): v is { [member: string]: XmlRpcValue } {
  return (
    typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype
  );
}

// ---- encoder -------------------------------------------------------------------------------------

function escapeText(s: string): string {
  if (hasIllegalXmlChar(s)) {
    throw new XmlRpcError(
      'a string holds a control character that XML 1.0 cannot carry; base64-encode the data',
    );
  }
  return s.replace(/[&<>\r]/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#13;',
  );
}

function encodeInto(v: XmlRpcValue, out: string[], depth: number): void {
  if (depth > MAX_DEPTH / 3)
    throw new XmlRpcError(
      `a value nests deeper than ${Math.floor(MAX_DEPTH / 3)} levels (or is cyclic); flatten it`,
    );
  if (typeof v === 'string') out.push('<value>', escapeText(v), '</value>');
  else if (typeof v === 'boolean') out.push(`<value><boolean>${v ? 1 : 0}</boolean></value>`);
  else if (typeof v === 'number' || v instanceof XmlRpcDouble) {
    const n = typeof v === 'number' ? v : v.value;
    if (!Number.isFinite(n))
      throw new XmlRpcError(`the number ${n} cannot be sent over XML-RPC; send a finite number`);
    const int = typeof v === 'number' && Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX;
    out.push(
      int
        ? `<value><int>${n}</int></value>`
        : `<value><double>${Object.is(n, -0) ? '-0.0' : String(n)}</double></value>`,
    );
  } else if (v === null) out.push('<value><nil/></value>');
  else if (v instanceof Date) encodeInto(XmlRpcDateTime.fromDate(v), out, depth);
  else if (v instanceof XmlRpcDateTime)
    out.push(`<value><dateTime.iso8601>${escapeText(v.text)}</dateTime.iso8601></value>`);
  else if (v instanceof Uint8Array)
    out.push(
      `<value><base64>${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}</base64></value>`,
    );
  else if (Array.isArray(v)) {
    out.push('<value><array><data>');
    for (const x of v) encodeInto(x, out, depth + 1);
    out.push('</data></array></value>');
  } else {
    out.push('<value><struct>');
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined)
        throw new XmlRpcError(`the struct member "${k}" is undefined; give it a value or leave it out`);
      out.push('<member><name>', escapeText(k), '</name>');
      encodeInto(x, out, depth + 1);
      out.push('</member>');
    }
    out.push('</struct></value>');
  }
}

/** `<value>…</value>` for one value. */
export function encodeValue(v: XmlRpcValue): string {
  const out: string[] = [];
  encodeInto(v, out, 0);
  return out.join('');
}

const DECL = '<?xml version="1.0"?>\n';

export function encodeMethodCall(methodName: string, params: readonly XmlRpcValue[]): string {
  const ps = params.map((p) => `<param>${encodeValue(p)}</param>`).join('');
  return `${DECL}<methodCall><methodName>${escapeText(methodName)}</methodName><params>${ps}</params></methodCall>\n`;
}

export function encodeMethodResponse(value: XmlRpcValue): string {
  return `${DECL}<methodResponse><params><param>${encodeValue(value)}</param></params></methodResponse>\n`;
}

/** An XML-RPC fault: for requests the server could not parse or dispatch at all. */
export function encodeFault(faultCode: number, faultString: string): string {
  const v = encodeValue({ faultCode, faultString });
  return `${DECL}<methodResponse><fault>${v}</fault></methodResponse>\n`;
}

// ---- XenAPI conventions ---------------------------------------------------------------------------

/** XenAPI's result struct: `{Status: "Success", Value}` or `{Status: "Failure", ErrorDescription: [code, …params]}`. */
export type XenApiResult =
  { Status: 'Success'; Value: XmlRpcValue } | { Status: 'Failure'; ErrorDescription: string[] };

export function xenapiSuccess(value: XmlRpcValue): XenApiResult {
  return { Status: 'Success', Value: value };
}

export function xenapiFailure(code: string, ...params: string[]): XenApiResult {
  return { Status: 'Failure', ErrorDescription: [code, ...params] };
}

/** Checks that a decoded value is a XenAPI result struct (the client side). */
export function readXenApiResult(v: XmlRpcValue): XenApiResult {
  if (isStruct(v) && v['Status'] === 'Success' && 'Value' in v)
    return { Status: 'Success', Value: v['Value']! };
  const ed = isStruct(v) ? v['ErrorDescription'] : undefined;
  if (
    isStruct(v) &&
    v['Status'] === 'Failure' &&
    Array.isArray(ed) &&
    ed.length > 0 &&
    ed.every((x) => typeof x === 'string')
  ) {
    return { Status: 'Failure', ErrorDescription: ed as string[] };
  }
  throw new XmlRpcError(
    'the response is not a XenAPI result struct (Status Success with Value, or Failure with ErrorDescription)',
  );
}
