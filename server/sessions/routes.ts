// The HTTP contract of the layers below web: a route is a plain request/response handler (no node:http here); the
// web layer hands it node's own objects, which fit these shapes as they are. Also the two edge rules every route keeps.

/** What a route may read of a request (node's IncomingMessage fits). The body is read by iterating it. */
export interface RouteRequest extends AsyncIterable<Uint8Array> {
  readonly method?: string;
  readonly url?: string;
  readonly headers: {
    readonly origin?: string;
    readonly host?: string;
    readonly authorization?: string;
    readonly [name: string]: string | string[] | undefined;
  };
  readonly socket: { readonly remoteAddress?: string };
}

/** Clients named by a trusted proxy, per request (set by the web edge, server/web/client-address.ts). */
const FORWARDED_CLIENTS = new WeakMap<object, string>();

/** The web edge records the client a trusted proxy named for this request (X-Forwarded-For; docs/cluster.md). */
export function setClientAddress(req: object, addr: string): void {
  FORWARDED_CLIENTS.set(req, addr);
}

/**
 * Who sent the request, for every per-address limit: the client a trusted proxy named, else the connection's peer.
 * Per request, not per socket: a proxy's keep-alive connection carries requests of many clients.
 */
export function clientAddress(req: { readonly socket: { readonly remoteAddress?: string } }): string | undefined {
  return FORWARDED_CLIENTS.get(req) ?? req.socket.remoteAddress;
}

/** What a route may do to the response (node's ServerResponse fits). */
export interface RouteResponse {
  /** The request this answers (HEAD is answered without a body). */
  readonly req: { readonly method?: string };
  readonly headersSent: boolean;
  writeHead(status: number, headers?: Record<string, string>): unknown;
  end(body?: string | Uint8Array): unknown;
}

/** Answers and returns true when `path` (the URL path, no query) is the route's; false leaves it to the next route. */
export type RouteHandler = (req: RouteRequest, res: RouteResponse, path: string) => Promise<boolean>;

/** Headers every response from this server carries. */
export const SECURITY_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': "frame-ancestors 'self'",
};

/** Origin must be the Host's own (any scheme of http/https: a TLS proxy may sit in front) or explicitly allowed. */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (!origin) return false;
  if (allowed.includes(origin)) return true;
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return false;
  }
  return (u.protocol === 'http:' || u.protocol === 'https:') && !!host && u.host.toLowerCase() === host.toLowerCase();
}

/** A WebSocket handed to a socket route once opened (ws's WebSocket fits). */
export interface RouteSocket {
  readonly readyState: number;
  readonly OPEN: number;
  readonly CONNECTING: number;
  /** Bytes queued to send and not yet written to the network. */
  readonly bufferedAmount: number;
  send(data: string | Uint8Array, opts?: { binary?: boolean }): void;
  close(code?: number, reason?: string): void;
  on(event: 'close', fn: () => void): unknown;
  on(event: 'error', fn: (err: Error) => void): unknown;
  on(event: 'message', fn: (data: unknown, isBinary: boolean) => void): unknown;
}

/** Why an upgrade is refused: answered with this status and message, and the connection closed. */
export interface RouteRefusal {
  ok: false;
  status: 401 | 403 | 404 | 429;
  message: string;
  /** With 429: sent as Retry-After. */
  retryAfterSec?: number;
}

/**
 * A WebSocket endpoint at `path`: authorize() decides before the upgrade (what it grants travels to accept()); the
 * web layer upgrades the connection (subprotocol PROTOCOL_VERSION, frames up to maxPayload) and hands the socket over.
 */
export interface SocketRoute<Grant extends { ok: true }> {
  readonly path: string;
  readonly maxPayload: number;
  authorize(req: RouteRequest): Grant | RouteRefusal;
  accept(ws: RouteSocket, grant: Grant): void;
}

/** A JSON answer with the security headers, never cached; a HEAD request gets the headers only. */
export function sendJson(res: RouteResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Length': String(Buffer.byteLength(text)),
    ...extra,
  });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

/** The request body as UTF-8, or null when it is longer than `max` bytes (read no further). */
export async function readBodyText(req: RouteRequest, max: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += c.length;
    if (n > max) return null;
    chunks.push(Buffer.from(c.buffer, c.byteOffset, c.length));
  }
  return Buffer.concat(chunks).toString('utf8');
}
