/**
 * The XenAPI HTTP endpoint: JSON-RPC at `POST /jsonrpc` (replies with content-type exactly
 * `application/json`, as Xen Orchestra's client insists) and XML-RPC at `POST /`, `/RPC2` and
 * any other path, as xapi serves them. Each request is one call of the method layer
 * (xenapi.ts); a malformed body gets the protocol's own error reply, never a dropped
 * connection. Bodies are bounded (MAX_BODY_BYTES).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  encodeJsonRpcError,
  encodeJsonRpcFailure,
  encodeJsonRpcResult,
  JsonRpcError,
  parseJsonRpcRequest,
} from '../jsonrpc.ts';
import {
  encodeFault,
  encodeMethodResponse,
  parseMethodCall,
  xenapiFailure,
  xenapiSuccess,
  type XmlRpcValue,
} from '../xmlrpc.ts';
import { INTERNAL_ERROR, XenApiError } from './errors.ts';
import type { XenApi } from './xenapi.ts';

const MAX_BODY_BYTES = 16 << 20;

export class XenApiServer {
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Listens on `host:port` (port 0 = any free port; see `.port`). */
  static listen(api: XenApi, opts: { host?: string; port: number }): Promise<XenApiServer> {
    const server = createServer((req, res) => void handle(api, req, res));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve(new XenApiServer(server, (server.address() as AddressInfo).port));
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > MAX_BODY_BYTES) return undefined;
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

function reply(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function describe(e: unknown): string[] {
  if (e instanceof XenApiError) return e.description;
  return [INTERNAL_ERROR, e instanceof Error ? e.message : String(e)];
}

async function handle(api: XenApi, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'POST') {
    reply(res, 200, 'text/plain', 'Domus XenAPI: POST XML-RPC to / or JSON-RPC to /jsonrpc\n');
    return;
  }
  const body = await readBody(req);
  if (path === '/jsonrpc') {
    if (!body) {
      reply(res, 413, 'application/json', '{"error":"request body too large"}');
      return;
    }
    let call;
    try {
      call = parseJsonRpcRequest(body);
    } catch (e) {
      if (e instanceof JsonRpcError) {
        reply(res, 200, 'application/json', encodeJsonRpcError(e));
        return;
      }
      throw e;
    }
    try {
      const value = await api.call(call.method, call.params);
      reply(res, 200, 'application/json', encodeJsonRpcResult(call, value));
    } catch (e) {
      reply(res, 200, 'application/json', encodeJsonRpcFailure(call, describe(e)));
    }
    return;
  }
  if (!body) {
    reply(res, 413, 'text/xml', encodeFault(413, 'request body too large'));
    return;
  }
  let call;
  try {
    call = parseMethodCall(body);
  } catch (e) {
    reply(res, 200, 'text/xml', encodeFault(-32700, e instanceof Error ? e.message : String(e)));
    return;
  }
  let result;
  try {
    result = xenapiSuccess((await api.call(call.methodName, call.params)) as XmlRpcValue);
  } catch (e) {
    const [code, ...params] = describe(e);
    result = xenapiFailure(code!, ...params);
  }
  reply(res, 200, 'text/xml', encodeMethodResponse(result as unknown as XmlRpcValue));
}
