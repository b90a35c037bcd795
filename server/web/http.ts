// The HTTP front: Host allowlist (421), connection gate, header/request timeouts, the /api/ routes it is handed, the
// static front end, WebSocket upgrades to their handlers, a precise status for a malformed request; HTTPS when given a
// certificate (plain HTTP on the same port is redirected: front-door.ts).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { SECURITY_HEADERS, setClientAddress, type RouteHandler } from '../sessions/routes.ts';
import { json } from './api.ts';
import { ProxyTrust } from './client-address.ts';
import type { FairnessLimits } from './config.ts';
import { frontDoor, type FrontDoor } from './front-door.ts';
import { ConnectionGate, endWith } from './gate.ts';
import { HostAllowlist, MISDIRECTED, MISDIRECTED_BODY } from './hosts.ts';
import type { createStaticHandler } from './static.ts';
import { certHosts, type TlsMaterial } from './tls.ts';

/** A WebSocket endpoint: claims the upgrades it handles; the first that claims one gets it. */
export interface UpgradeHandler {
  handles(req: IncomingMessage): boolean;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

export interface HttpFrontOptions {
  host: string;
  port: number;
  /** Host names served besides the bound ones (BOXLAB_ALLOWED_HOSTS). */
  allowedHosts: string[];
  /** Balancers whose X-Forwarded-For names the client (BOXLAB_TRUSTED_PROXIES; empty: none). */
  trustedProxies?: readonly string[];
  fairness: FairnessLimits;
  /** The certificate to serve HTTPS with (null: plain HTTP). */
  tls: TlsMaterial | null;
  /** Tried in order for /api/ paths; none answers: 404. */
  routes: RouteHandler[];
  upgrades: UpgradeHandler[];
  serveStatic: ReturnType<typeof createStaticHandler>;
  /** A page path served as another one (a pack lesson has no prerendered page: it gets the generic one). */
  pageAlias?: (path: string) => string | undefined;
  log: (line: string) => void;
}

export interface HttpFront {
  /** The HTTP(S) server the requests reach. */
  http: Server | HttpsServer;
  /** What listens on the port: the HTTP(S) server, or with TLS the front door that also redirects plain HTTP. */
  listener: Server | HttpsServer | NetServer;
  door: FrontDoor | null;
  gate: ConnectionGate;
  hosts: HostAllowlist;
  port: number;
  url: string;
}

/** Listens on host:port (port 0 picks one) and resolves once it does. */
export async function listenHttp(opts: HttpFrontOptions): Promise<HttpFront> {
  const { fairness: fair, log } = opts;
  // Filled in once the port is known (port 0 picks one); until then no request can arrive.
  let hosts: HostAllowlist | null = null;
  const { tls } = opts;
  const httpOptions = {
    // A connection that does not finish its headers (or its request) in time is closed (408): silent sockets too.
    headersTimeout: fair.headersTimeoutMs,
    requestTimeout: fair.requestTimeoutMs,
    connectionsCheckingInterval: fair.timeoutCheckMs,
  };
  const trust = new ProxyTrust(opts.trustedProxies ?? []);
  // Behind a trusted balancer the client is named per request (a keep-alive connection carries many clients).
  const noteClient = (req: IncomingMessage): void => {
    if (!trust.enabled) return;
    const client = trust.clientOf(req.socket.remoteAddress, req.headers['x-forwarded-for']);
    if (client) setClientAddress(req, client);
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    noteClient(req);
    if (!hosts?.allows(req.headers.host)) {
      res.writeHead(421, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
      return void res.end(MISDIRECTED_BODY);
    }
    const path = (req.url ?? '/').split('?')[0]!;
    const alias = opts.pageAlias?.(path);
    if (alias) req.url = alias;
    const p = path.startsWith('/api/') ? api(req, res, path) : opts.serveStatic(req, res);
    p.catch((err: Error) => {
      log(`${req.method} ${path}: ${err.message}`);
      if (!res.headersSent) json(res, 500, { error: 'internal' });
      else res.destroy();
    });
  };
  const http = tls
    ? createHttpsServer({ ...httpOptions, cert: tls.cert, key: tls.key, handshakeTimeout: fair.headersTimeoutMs }, onRequest)
    : createServer(httpOptions, onRequest);
  // HTTPS: one port answers TLS and redirects plain HTTP to it (server/web/front-door.ts).
  const door = tls
    ? frontDoor(http as HttpsServer, {
        allows: (h) => !!hosts?.allows(h),
        firstByteMs: fair.headersTimeoutMs,
        headersTimeoutMs: fair.headersTimeoutMs,
        requestTimeoutMs: fair.requestTimeoutMs,
      })
    : null;
  const listener = door?.server ?? http;
  async function api(req: IncomingMessage, res: Parameters<typeof json>[0], path: string): Promise<void> {
    for (const route of opts.routes) if (await route(req, res, path)) return;
    json(res, 404, { error: 'not_found' });
  }
  // A trusted balancer is one address for a whole room: its connections are not counted per address here (HAProxy's
  // frontend limits each visitor's connections, scripts/cluster/haproxy-cfg.ts); requests still are, per client.
  const gate = new ConnectionGate(fair.connections, log, (addr) => trust.trusts(addr));
  gate.install(listener);
  http.on('upgrade', (req, socket: Duplex, head) => {
    // A refused upgrade is answered and ended; a peer that never closes its side is cut after handshakeMs.
    const guard = setTimeout(() => socket.destroy(), fair.handshakeMs);
    socket.once('close', () => clearTimeout(guard));
    socket.on('error', () => {});
    noteClient(req);
    if (!hosts?.allows(req.headers.host)) endWith(socket, MISDIRECTED, fair.handshakeMs);
    else {
      const to = opts.upgrades.find((u) => u.handles(req));
      if (to) to.handleUpgrade(req, socket, head);
      else endWith(socket, 'HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', fair.handshakeMs);
    }
    // Upgraded (101 written synchronously by ws): the heartbeat watches it from now on.
    if (!socket.writableEnded && !socket.destroyed) clearTimeout(guard);
  });
  // A malformed request gets a precise status (as Node's default handler would send), then the connection closes.
  http.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    const status =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? '408 Request Timeout'
          : '400 Bad Request';
    endWith(socket, `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });

  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(opts.port, opts.host, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  const port = (listener.address() as AddressInfo).port;
  hosts = new HostAllowlist({ bound: opts.host, port, extra: [...opts.allowedHosts, ...certHosts(tls, port)] });
  const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return { http, listener, door, gate, hosts, port, url: `${tls ? 'https' : 'http'}://${hostForUrl}:${port}` };
}
