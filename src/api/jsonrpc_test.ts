import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  encodeJsonRpcError,
  encodeJsonRpcFailure,
  encodeJsonRpcResult,
  JSONRPC_INVALID_REQUEST,
  JSONRPC_PARSE_ERROR,
  JsonRpcError,
  parseJsonRpcRequest,
} from './jsonrpc.ts';
import { XmlRpcDateTime } from './xmlrpc.ts';

function refuses(
  body: string | Uint8Array,
  code: number,
  message: string,
  id: string | number | null = null,
  version = '2.0',
): void {
  assert.throws(
    () => parseJsonRpcRequest(body),
    (e: unknown) => {
      assert.ok(e instanceof JsonRpcError, `expected a JsonRpcError, got ${String(e)}`);
      assert.deepEqual([e.code, e.message, e.id, e.version], [code, message, id, version]);
      return true;
    },
  );
}

test('JSON-RPC 2.0 and 1.0 requests as the XenAPI docs show them', () => {
  const v2 = parseJsonRpcRequest(
    JSON.stringify({
      jsonrpc: '2.0',
      method: 'host.get_resident_VMs',
      params: ['OpaqueRef:s', 'OpaqueRef:h'],
      id: 3,
    }),
  );
  assert.deepEqual(v2, {
    version: '2.0',
    method: 'host.get_resident_VMs',
    params: ['OpaqueRef:s', 'OpaqueRef:h'],
    id: 3,
  });
  const v1 = parseJsonRpcRequest(
    new TextEncoder().encode('{"method":"session.login_with_password","params":["root","pw ü"],"id":"xyz"}'),
  );
  assert.deepEqual(v1, {
    version: '1.0',
    method: 'session.login_with_password',
    params: ['root', 'pw ü'],
    id: 'xyz',
  });
  assert.deepEqual(parseJsonRpcRequest('{"jsonrpc":"2.0","method":"system.listMethods","id":0}').params, []);
});

test('2.0 replies: success has no error member; failure puts the XenAPI code in message and params in data', () => {
  const req = { version: '2.0' as const, id: 3 };
  const ok = JSON.parse(encodeJsonRpcResult(req, ['OpaqueRef:1']));
  assert.deepEqual(ok, { jsonrpc: '2.0', result: ['OpaqueRef:1'], id: 3 });
  assert.equal('error' in ok, false);
  assert.deepEqual(JSON.parse(encodeJsonRpcFailure(req, ['SESSION_INVALID', 'OpaqueRef:s'])), {
    jsonrpc: '2.0',
    error: { code: 1, message: 'SESSION_INVALID', data: ['OpaqueRef:s'] },
    id: 3,
  });
});

test('1.0 replies: result with error null, or result null with the error array', () => {
  const req = { version: '1.0' as const, id: 'xyz' };
  assert.deepEqual(JSON.parse(encodeJsonRpcResult(req, { a: 1 })), {
    result: { a: 1 },
    error: null,
    id: 'xyz',
  });
  assert.deepEqual(JSON.parse(encodeJsonRpcFailure(req, ['MAP_DUPLICATE_KEY', 'Customer', 'a', 'b'])), {
    result: null,
    error: ['MAP_DUPLICATE_KEY', 'Customer', 'a', 'b'],
    id: 'xyz',
  });
});

test('times are written as XenAPI strings, bytes as base64', () => {
  const req = { version: '2.0' as const, id: 1 };
  const out = JSON.parse(
    encodeJsonRpcResult(req, {
      at: new Date(Date.UTC(2024, 0, 31, 8, 5, 9, 500)),
      wire: new XmlRpcDateTime('20240131T08:05:09Z'),
      blob: new Uint8Array([0, 255]),
    }),
  );
  assert.deepEqual(out.result, { at: '20240131T08:05:09Z', wire: '20240131T08:05:09Z', blob: 'AP8=' });
});

test('malformed requests are refused with a JSON-RPC code and one sentence; the reply carries what was read', () => {
  refuses(
    '{"method": ',
    JSONRPC_PARSE_ERROR,
    `the request is not valid JSON (${jsonError('{"method": ')}); send one JSON object`,
  );
  refuses(
    new Uint8Array([0x7b, 0xc3]),
    JSONRPC_PARSE_ERROR,
    'the request body is not valid UTF-8; send it as UTF-8',
  );
  refuses(
    '[{"method":"a","id":1}]',
    JSONRPC_INVALID_REQUEST,
    'batch requests are not supported; send one request object per call',
  );
  refuses(
    '"hello"',
    JSONRPC_INVALID_REQUEST,
    'the request is not a JSON object; send {"method": …, "params": […], "id": …}',
  );
  refuses(
    '{"jsonrpc":"3.0","method":"a","id":7}',
    JSONRPC_INVALID_REQUEST,
    'the request has "jsonrpc": "3.0"; write "2.0" or leave it out for 1.0',
    7,
  );
  refuses(
    '{"jsonrpc":"2.0","method":"a"}',
    JSONRPC_INVALID_REQUEST,
    'the request has no id; XenAPI does not accept notifications, so give an id',
  );
  refuses(
    '{"method":"a","id":null}',
    JSONRPC_INVALID_REQUEST,
    'the request has no id; XenAPI does not accept notifications, so give an id',
    null,
    '1.0',
  );
  refuses(
    '{"jsonrpc":"2.0","method":"a","id":1.5}',
    JSONRPC_INVALID_REQUEST,
    'the request id 1.5 is not a string or an integer',
  );
  refuses(
    '{"jsonrpc":"2.0","id":"q"}',
    JSONRPC_INVALID_REQUEST,
    'the request has no method name; give "method": "class.call"',
    'q',
  );
  refuses(
    '{"jsonrpc":"2.0","method":"VM.get_all","params":{"session":"s"},"id":2}',
    JSONRPC_INVALID_REQUEST,
    'the request params are not an array; XenAPI takes positional params: "params": [session, …]',
    2,
  );
  refuses(
    '{"jsonrpc":"2.0","method":"VM.set_memory","params":["s",{"n":[18446744073709551615]}],"id":4}',
    JSONRPC_INVALID_REQUEST,
    'the request has the integer 18446744073709552000, beyond 2^53; send it as a decimal string',
    4,
  );
});

test('protocol error replies in both versions', () => {
  let err: JsonRpcError | undefined;
  try {
    parseJsonRpcRequest('{"jsonrpc":"2.0","params":[],"id":9}');
  } catch (e) {
    err = e as JsonRpcError;
  }
  assert.deepEqual(JSON.parse(encodeJsonRpcError(err!)), {
    jsonrpc: '2.0',
    error: { code: -32600, message: 'the request has no method name; give "method": "class.call"' },
    id: 9,
  });
  const v1 = new JsonRpcError(
    'the request is not valid JSON (x); send one JSON object',
    JSONRPC_PARSE_ERROR,
    null,
    '1.0',
  );
  assert.deepEqual(JSON.parse(encodeJsonRpcError(v1)), {
    result: null,
    error: ['PARSE_ERROR', 'the request is not valid JSON (x); send one JSON object'],
    id: null,
  });
});

function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}
