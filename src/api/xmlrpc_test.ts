import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import {
  encodeFault,
  encodeMethodCall,
  encodeMethodResponse,
  encodeValue,
  parseMethodCall,
  parseMethodResponse,
  readXenApiResult,
  xenapiFailure,
  xenapiSuccess,
  XmlRpcDateTime,
  XmlRpcDouble,
  XmlRpcError,
  type XmlRpcValue,
} from './xmlrpc.ts';

/** Runs a Python 3 snippet with `input` on stdin and returns its stdout. */
function python(code: string, input = ''): string {
  const r = spawnSync('python3', ['-c', code], {
    input,
    encoding: 'utf8',
    env: { ...process.env, PYTHONIOENCODING: 'utf-8' },
  });
  assert.equal(r.status, 0, `python3 failed: ${r.stderr}`);
  return r.stdout;
}

const PY_TO_JSON = `
import json, sys, xmlrpc.client as x
def conv(v):
    if isinstance(v, x.DateTime): return {"dateTime": v.value}
    if isinstance(v, x.Binary): return {"hex": v.data.hex()}
    if isinstance(v, dict): return {k: conv(w) for k, w in v.items()}
    if isinstance(v, (list, tuple)): return [conv(w) for w in v]
    if isinstance(v, float): return {"double": repr(v)}
    return v
`;

function call(body: string): ReturnType<typeof parseMethodCall> {
  return parseMethodCall(body);
}

function refuses(body: string | Uint8Array, message: string | RegExp): void {
  assert.throws(
    () => parseMethodCall(body),
    (e: unknown) => {
      assert.ok(e instanceof XmlRpcError, `expected an XmlRpcError, got ${String(e)}`);
      if (typeof message === 'string') assert.equal(e.message, message);
      else assert.match(e.message, message);
      return true;
    },
  );
}

const wrap = (value: string): string =>
  `<methodCall><methodName>m</methodName><params><param>${value}</param></params></methodCall>`;

test("Python's xmlrpc.client request bytes parse into the same values", () => {
  const body = python(`
import sys, xmlrpc.client as x
params = (42, -7, True, False, "a<b>&c ünï € \\u2028", "", 3.25, -0.5, 1e300,
          x.DateTime("20240131T08:05:09"), x.Binary(b"\\x00\\x01\\xfehi"),
          {"k": [1, "two", {"n": None}], "empty": {}, "__proto__": "x"}, [], None, 2**31 - 1, -2**31)
sys.stdout.write(x.dumps(params, "VM.get_record", allow_none=True))
`);
  const c = call(body);
  assert.equal(c.methodName, 'VM.get_record');
  assert.deepEqual(c.params.slice(0, 9), [42, -7, true, false, 'a<b>&c ünï € \u2028', '', 3.25, -0.5, 1e300]);
  assert.ok(c.params[9] instanceof XmlRpcDateTime);
  assert.equal((c.params[9] as XmlRpcDateTime).text, '20240131T08:05:09');
  assert.equal((c.params[9] as XmlRpcDateTime).toDate().toISOString(), '2024-01-31T08:05:09.000Z');
  assert.deepEqual(c.params[10], new Uint8Array([0, 1, 0xfe, 0x68, 0x69]));
  const s = c.params[11] as Record<string, XmlRpcValue>;
  assert.deepEqual(s['k'], [1, 'two', { n: null }]);
  assert.deepEqual(s['empty'], {});
  assert.equal(
    Object.getPrototypeOf(s),
    Object.prototype,
    'a "__proto__" member must not replace the prototype',
  );
  assert.equal(Object.getOwnPropertyDescriptor(s, '__proto__')?.value, 'x');
  assert.deepEqual(c.params.slice(12), [[], null, 2147483647, -2147483648]);
});

test('our request and response bytes load in Python with the same values', () => {
  const req = encodeMethodCall('session.login_with_password', [
    'root',
    'pa&ss<w>ord "quoted" \'single\' ünï',
    7,
    new XmlRpcDouble(2),
    2.5,
    true,
    null,
    new Date(Date.UTC(2024, 0, 31, 8, 5, 9)),
    new Uint8Array([0, 255, 10]),
    { a: [1, { b: 'c' }], 'sp ace': '' },
    [],
    'line1\nline2',
  ]);
  const out = JSON.parse(
    python(
      `${PY_TO_JSON}
params, method = x.loads(sys.stdin.buffer.read())
print(json.dumps({"method": method, "params": conv(list(params))}))
`,
      req,
    ),
  );
  assert.deepEqual(out, {
    method: 'session.login_with_password',
    params: [
      'root',
      'pa&ss<w>ord "quoted" \'single\' ünï',
      7,
      { double: '2.0' },
      { double: '2.5' },
      true,
      null,
      { dateTime: '20240131T08:05:09Z' },
      { hex: '00ff0a' },
      { a: [1, { b: 'c' }], 'sp ace': '' },
      [],
      'line1\nline2',
    ],
  });

  const resp = encodeMethodResponse(xenapiSuccess(['OpaqueRef:1', 'OpaqueRef:2']));
  const back = JSON.parse(
    python(
      `${PY_TO_JSON}
params, method = x.loads(sys.stdin.buffer.read())
print(json.dumps(conv(params[0])))
`,
      resp,
    ),
  );
  assert.deepEqual(back, { Status: 'Success', Value: ['OpaqueRef:1', 'OpaqueRef:2'] });
});

test('faults travel both ways between us and Python', () => {
  const ours = JSON.parse(
    python(
      `
import json, sys, xmlrpc.client as x
try:
    x.loads(sys.stdin.buffer.read())
    print("null")
except x.Fault as f:
    print(json.dumps([f.faultCode, f.faultString]))
`,
      encodeFault(-32700, 'the XML has a bare "&" near "&b"; write it as &amp;'),
    ),
  );
  assert.deepEqual(ours, [-32700, 'the XML has a bare "&" near "&b"; write it as &amp;']);

  const theirs = python(`
import sys, xmlrpc.client as x
sys.stdout.write(x.dumps(x.Fault(42, "no such <method>"), methodresponse=True))
`);
  assert.deepEqual(parseMethodResponse(theirs), {
    kind: 'fault',
    faultCode: 42,
    faultString: 'no such <method>',
  });

  const result = python(`
import sys, xmlrpc.client as x
sys.stdout.write(x.dumps(({"Status": "Failure", "ErrorDescription": ["SESSION_INVALID", "OpaqueRef:x"]},), methodresponse=True))
`);
  const r = parseMethodResponse(result);
  assert.equal(r.kind, 'result');
  assert.deepEqual(
    r.kind === 'result' && readXenApiResult(r.value),
    xenapiFailure('SESSION_INVALID', 'OpaqueRef:x'),
  );
});

test('round trip of every type through our own encoder and parser, CR and astral characters included', () => {
  const params: XmlRpcValue[] = [
    'crlf\r\nand lone\rcr',
    '😀 \u0085 \ud7ff',
    0,
    -2147483648,
    4294967296,
    0.1,
    false,
    null,
    new Uint8Array([]),
    [[[]]],
    { nested: { deeper: [true, 'x'] } },
  ];
  const back = parseMethodCall(encodeMethodCall('host.get_all', params));
  assert.equal(back.methodName, 'host.get_all');
  assert.deepEqual(back.params, params);
});

test('XML-RPC details: bare text is a string, whitespace is kept, i8 and ex:nil are read, comments and CDATA work', () => {
  const c = call(`<?xml version="1.0" encoding="UTF-8"?>
<!-- a client's comment -->
<methodCall>
  <methodName>VM.start</methodName>
  <params>
    <param><value>  OpaqueRef:abc  </value></param>
    <param><value>
      <i8>9007199254740991</i8>
    </value></param>
    <param><value><ex:nil/></value></param>
    <param><value><string><![CDATA[<raw & text>]]></string></value></param>
    <param><value><string/></value></param>
    <param><value><i4 attr="ignored">+5</i4></value></param>
    <param><value><dateTime.iso8601>2024-01-31T08:05:09+01:00</dateTime.iso8601></value></param>
    <param><value>&#x1F600;&#65;&lt;&apos;</value></param>
  </params>
</methodCall>`);
  assert.equal(c.params[0], '  OpaqueRef:abc  ');
  assert.equal(c.params[1], 9007199254740991);
  assert.equal(c.params[2], null);
  assert.equal(c.params[3], '<raw & text>');
  assert.equal(c.params[4], '');
  assert.equal(c.params[5], 5);
  assert.equal((c.params[6] as XmlRpcDateTime).toDate().toISOString(), '2024-01-31T07:05:09.000Z');
  assert.equal(c.params[7], "😀A<'");
  assert.deepEqual(call('<methodCall><methodName>system.listMethods</methodName></methodCall>').params, []);
});

test('XenAPI result structs: success, failure, and a malformed one', () => {
  const ok = parseMethodResponse(encodeMethodResponse(xenapiSuccess('')));
  assert.deepEqual(ok.kind === 'result' && readXenApiResult(ok.value), { Status: 'Success', Value: '' });
  assert.equal(
    encodeValue(xenapiFailure('HANDLE_INVALID', 'VM', 'OpaqueRef:1')),
    '<value><struct><member><name>Status</name><value>Failure</value></member><member><name>ErrorDescription</name>' +
      '<value><array><data><value>HANDLE_INVALID</value><value>VM</value><value>OpaqueRef:1</value></data></array></value></member></struct></value>',
  );
  assert.throws(() => readXenApiResult({ Status: 'Failure', ErrorDescription: [] }), XmlRpcError);
});

test('the encoder refuses what XML-RPC cannot carry', () => {
  assert.throws(() => encodeValue(NaN), /the number NaN cannot be sent over XML-RPC/);
  assert.throws(() => encodeValue('bell\x07'), /control character that XML 1\.0 cannot carry/);
  const cyclic: XmlRpcValue[] = [];
  cyclic.push(cyclic);
  assert.throws(() => encodeValue(cyclic), /nests deeper than 85 levels \(or is cyclic\)/);
});

test('malformed input is refused with one clear sentence', () => {
  refuses('', 'the request has no XML element; send a methodCall document');
  refuses(new Uint8Array([0x3c, 0xff, 0xfe]), 'the request body is not valid UTF-8; send it as UTF-8');
  refuses(
    '<?xml version="1.0" encoding="ISO-8859-1"?><methodCall/>',
    'the XML declares encoding ISO-8859-1, which is not supported; send UTF-8',
  );
  refuses(
    '<!DOCTYPE x [<!ENTITY a "b">]><methodCall/>',
    'the XML has a DOCTYPE or other declaration, which XML-RPC does not allow; remove it',
  );
  refuses(
    '<methodCall><methodName>m</methodName>',
    'the XML ends inside <methodCall>; send the complete document',
  );
  refuses(
    '<methodCall><methodName>m</params></methodCall>',
    'the XML closes </params> where </methodName> is open; balance the tags',
  );
  refuses(
    '<methodCall/><methodCall/>',
    'the XML has more than one root element; send one methodCall element',
  );
  refuses('<methodResponse/>', 'the request is a <methodResponse>, not a <methodCall>');
  refuses(
    '<methodCall><params/></methodCall>',
    '<methodCall> must hold one <methodName> and at most one <params>',
  );
  refuses(
    '<methodCall><methodName>a b</methodName></methodCall>',
    'the method name "a b" is empty or has characters outside A-Z a-z 0-9 _ . : /',
  );
  refuses(wrap('<value>a & b</value>'), 'the XML has a bare "&" near "&"; write it as &amp;');
  refuses(
    wrap('<value>&nbsp;</value>'),
    'the XML uses the unknown or illegal entity &nbsp; use &lt; &gt; &amp; &quot; &apos; or a valid &#N;',
  );
  refuses(wrap('<value>&#0;</value>'), /unknown or illegal entity &#0;/);
  refuses(
    wrap('<value>\x01</value>'),
    'the XML contains a control character that XML 1.0 does not allow; escape or remove it',
  );
  refuses(
    wrap('<value><int>2147483648</int></value>'),
    '<int>2147483648</int> is not a 32-bit integer; send a string for larger numbers',
  );
  refuses(
    wrap('<value><i8>9007199254740993</i8></value>'),
    '<i8>9007199254740993</i8> is not a 53-bit integer; send a string for larger numbers',
  );
  refuses(
    wrap('<value><int>1.0</int></value>'),
    '<int>1.0</int> is not a 32-bit integer; send a string for larger numbers',
  );
  refuses(wrap('<value><boolean>true</boolean></value>'), '<boolean>true</boolean> is not 0 or 1');
  refuses(wrap('<value><double>1,5</double></value>'), '<double>1,5</double> is not a decimal number');
  refuses(
    wrap('<value><dateTime.iso8601>yesterday</dateTime.iso8601></value>'),
    /is not a time like 20240131T08:05:09/,
  );
  refuses(wrap('<value><base64>abc</base64></value>'), 'a <base64> value is not valid base64');
  refuses(wrap('<value><float>1</float></value>'), /<float> is not an XML-RPC value type/);
  refuses(
    wrap('<value><int>1</int><int>2</int></value>'),
    'a <value> holds more than one thing; give it one typed element or plain text',
  );
  refuses(
    wrap('<value>text<int>2</int></value>'),
    'a <value> holds more than one thing; give it one typed element or plain text',
  );
  refuses(
    wrap('<value><struct><member><name>a</name></member></struct></value>'),
    'a struct <member> must hold one <name> and one <value>',
  );
  refuses(
    wrap(
      '<value><struct><member><name>a</name><value>1</value></member><member><name>a</name><value>2</value></member></struct></value>',
    ),
    'a struct has the member "a" twice; send it once',
  );
  refuses(
    wrap('<value><array><value>1</value></array></value>'),
    '<array> contains <value>; only <data> belongs there',
  );
  refuses(wrap('<value><string><b>x</b></string></value>'), '<string> contains <b>; it takes text only');
  refuses(wrap('<value><nil>x</nil></value>'), '<nil/> must be empty');
  refuses(
    `<methodCall><methodName>m</methodName><params><param>${'<value><array><data>'.repeat(200)}`,
    'the XML nests deeper than 256 elements; flatten the value',
  );
  refuses(
    '<methodCall><methodName>m</methodName><params>oops</params></methodCall>',
    '<params> contains text "oops"; only elements belong there',
  );
  refuses(
    '<methodCall>< methodName/></methodCall>',
    'the XML has a "<" that does not start a tag; write it as &lt;',
  );
  refuses(
    '<methodCall><methodName x=1>m</methodName></methodCall>',
    'the XML tag <methodName> is malformed; check its attributes and closing ">"',
  );
});

test('methodResponse shapes: exactly one param, or a well-formed fault', () => {
  assert.throws(
    () => parseMethodResponse('<methodResponse><params></params></methodResponse>'),
    /must carry one param, not 0/,
  );
  assert.throws(
    () =>
      parseMethodResponse('<methodResponse><fault><value><struct></struct></value></fault></methodResponse>'),
    /a <fault> must be a struct with an int faultCode and a string faultString/,
  );
});
