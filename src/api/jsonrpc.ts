/**
 * JSON-RPC codec for XenAPI: request parsing and response encoding for JSON-RPC 2.0
 * (https://www.jsonrpc.org/specification) and 1.0, as xapi accepts them
 * (xapi-project/xen-api doc/content/xen-api/wire-protocol.md). Pure functions; no HTTP here.
 *
 * Requests: one JSON object with `method` (a non-empty string), `params` (an array; absent means
 * []), and `id` (a string or an integer). `"jsonrpc": "2.0"` selects 2.0, no `jsonrpc` member
 * selects 1.0. As in xapi, notifications (no id, or a null id) are refused, and so are batches
 * and named (object) params. JSON numbers are doubles here, so an integer beyond 2^53 would lose
 * digits; such a request is refused with a sentence saying to send the number as a string.
 *
 * Responses: success is `{jsonrpc: "2.0", result, id}` (2.0: no `error` member at all, which
 * clients such as Xen Orchestra's check) or `{result, error: null, id}` (1.0). A XenAPI failure
 * `[code, …params]` is `{jsonrpc: "2.0", error: {code: 1, message: code, data: params}, id}` or
 * `{result: null, error: [code, …params], id}`. Protocol errors (unparseable JSON, invalid
 * request) use JSON-RPC 2.0's codes -32700 and -32600. `XmlRpcDateTime` and `Date` results are
 * written as strings, as XenAPI's JSON form has them.
 */
import { XmlRpcDateTime } from './xmlrpc.ts';

export type JsonRpcVersion = '1.0' | '2.0';
export type JsonRpcId = string | number;

export interface JsonRpcRequest {
  version: JsonRpcVersion;
  method: string;
  params: unknown[];
  id: JsonRpcId;
}

export const JSONRPC_PARSE_ERROR = -32700;
export const JSONRPC_INVALID_REQUEST = -32600;
/** The `code` xapi puts in every 2.0 error object; the XenAPI error code travels in `message`. */
export const XENAPI_JSONRPC_ERROR_CODE = 1;

/** A request that could not be parsed; `id` and `version` are what could be read, for the reply. */
export class JsonRpcError extends Error {
  override readonly name = 'JsonRpcError';
  constructor(
    message: string,
    readonly code: number,
    readonly id: JsonRpcId | null = null,
    readonly version: JsonRpcVersion = '2.0',
  ) {
    super(message);
  }
}

/** Parses one JSON-RPC request body (string or UTF-8 bytes). */
export function parseJsonRpcRequest(body: string | Uint8Array): JsonRpcRequest {
  let text: string;
  if (typeof body === 'string') text = body;
  else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    } catch {
      throw new JsonRpcError('the request body is not valid UTF-8; send it as UTF-8', JSONRPC_PARSE_ERROR);
    }
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new JsonRpcError(
      `the request is not valid JSON (${(e as Error).message}); send one JSON object`,
      JSONRPC_PARSE_ERROR,
    );
  }
  if (Array.isArray(doc))
    throw new JsonRpcError(
      'batch requests are not supported; send one request object per call',
      JSONRPC_INVALID_REQUEST,
    );
  if (typeof doc !== 'object' || doc === null)
    throw new JsonRpcError(
      'the request is not a JSON object; send {"method": …, "params": […], "id": …}',
      JSONRPC_INVALID_REQUEST,
    );
  const req = doc as Record<string, unknown>;

  const rawId = req['id'];
  const id =
    typeof rawId === 'string' || (typeof rawId === 'number' && Number.isSafeInteger(rawId)) ? rawId : null;
  let version: JsonRpcVersion;
  if (!('jsonrpc' in req)) version = '1.0';
  else if (req['jsonrpc'] === '2.0') version = '2.0';
  else
    throw new JsonRpcError(
      `the request has "jsonrpc": ${JSON.stringify(req['jsonrpc'])}; write "2.0" or leave it out for 1.0`,
      JSONRPC_INVALID_REQUEST,
      id,
    );
  const fail = (what: string): never => {
    throw new JsonRpcError(what, JSONRPC_INVALID_REQUEST, id, version);
  };

  if (rawId === undefined || rawId === null)
    fail('the request has no id; XenAPI does not accept notifications, so give an id');
  if (id === null) fail(`the request id ${JSON.stringify(rawId)} is not a string or an integer`);
  const method = req['method'];
  if (typeof method !== 'string' || method === '')
    fail('the request has no method name; give "method": "class.call"');
  const params = req['params'] ?? [];
  if (!Array.isArray(params))
    fail('the request params are not an array; XenAPI takes positional params: "params": [session, …]');
  const big = findUnsafeInteger(params);
  if (big !== undefined) fail(`the request has the integer ${big}, beyond 2^53; send it as a decimal string`);
  return { version, method: method as string, params: params as unknown[], id: id! };
}

function findUnsafeInteger(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && !Number.isSafeInteger(v) ? v : undefined;
  if (typeof v !== 'object' || v === null) return undefined;
  for (const x of Array.isArray(v) ? v : Object.values(v)) {
    const found = findUnsafeInteger(x);
    if (found !== undefined) return found;
  }
  return undefined;
}

function stringify(doc: unknown): string {
  return JSON.stringify(doc, function (this: Record<string, unknown>, key: string, value: unknown) {
    // Date.toJSON has already run on `value` (ISO with milliseconds); xapi's form is the XML-RPC one.
    const raw = this[key];
    if (raw instanceof Date) return XmlRpcDateTime.fromDate(raw).text;
    if (value instanceof XmlRpcDateTime) return value.text;
    if (value instanceof Uint8Array)
      return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
    return value;
  });
}

/** A successful call's reply. */
export function encodeJsonRpcResult(
  req: { version: JsonRpcVersion; id: JsonRpcId },
  result: unknown,
): string {
  if (req.version === '2.0') return stringify({ jsonrpc: '2.0', result, id: req.id });
  return stringify({ result, error: null, id: req.id });
}

/** A XenAPI failure's reply: `errorDescription` is `[code, …params]`. */
export function encodeJsonRpcFailure(
  req: { version: JsonRpcVersion; id: JsonRpcId },
  errorDescription: readonly string[],
): string {
  if (req.version === '2.0') {
    const [message, ...data] = errorDescription;
    return stringify({
      jsonrpc: '2.0',
      error: { code: XENAPI_JSONRPC_ERROR_CODE, message, data },
      id: req.id,
    });
  }
  return stringify({ result: null, error: errorDescription, id: req.id });
}

/** The reply to a request that `parseJsonRpcRequest` refused. */
export function encodeJsonRpcError(err: JsonRpcError): string {
  if (err.version === '2.0')
    return stringify({ jsonrpc: '2.0', error: { code: err.code, message: err.message }, id: err.id });
  return stringify({
    result: null,
    error: [err.code === JSONRPC_PARSE_ERROR ? 'PARSE_ERROR' : 'INVALID_REQUEST', err.message],
    id: err.id,
  });
}
