// Upgrades a connection for a socket route (server/sessions/routes.ts): the route authorizes, ws speaks WebSocket.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { PROTOCOL_VERSION } from '../protocol/messages.ts';
import type { RouteRefusal, SocketRoute } from '../sessions/routes.ts';
import type { UpgradeHandler } from './http.ts';

const STATUS_TEXT = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests' } as const;

function refuse(socket: Duplex, d: RouteRefusal): void {
  const body = `${d.message}\n`;
  const retry = d.retryAfterSec ? `Retry-After: ${d.retryAfterSec}\r\n` : '';
  socket.end(
    `HTTP/1.1 ${d.status} ${STATUS_TEXT[d.status]}\r\nConnection: close\r\n${retry}Content-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** The upgrade handler of a route at its path; close() stops its WebSocket server. */
export function socketRoute<G extends { ok: true }>(route: SocketRoute<G>): UpgradeHandler & { close(): void } {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: route.maxPayload,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: () => PROTOCOL_VERSION,
  });
  return {
    handles: (req: IncomingMessage) => (req.url ?? '').split('?')[0] === route.path,
    handleUpgrade(req, socket, head) {
      const a = route.authorize(req);
      if (!a.ok) return refuse(socket, a);
      wss.handleUpgrade(req, socket, head, (ws) => route.accept(ws, a));
    },
    close: () => wss.close(),
  };
}
