// One port for HTTPS and its redirect: the first byte of a connection tells a TLS ClientHello (0x16, RFC 8446 5.1
// "handshake" record) from plain HTTP, which gets a 308 to the same URL over https (or 421 for a host we do not serve).
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse, type Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { endWith } from './gate.ts';
import { MISDIRECTED, MISDIRECTED_BODY } from './hosts.ts';

const TLS_HANDSHAKE = 0x16;

export interface FrontDoorOptions {
  /** Whether a Host header names this server (HostAllowlist.allows); the redirect never points elsewhere. */
  allows: (host: string | undefined) => boolean;
  /** A connection that sends nothing for this long is closed (the TLS server's own timeouts start after the first byte). */
  firstByteMs: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}

export interface FrontDoor {
  /** What listens: hand it to the ConnectionGate and to listen(). */
  server: NetServer;
  /** The plain-HTTP side that only redirects (for closeAllConnections at shutdown). */
  redirect: HttpServer;
  /** Cuts connections that have not sent their first byte yet. */
  closeWaiting(): void;
}

function redirectTo(req: IncomingMessage): string {
  return `https://${req.headers.host}${req.url?.startsWith('/') ? req.url : '/'}`;
}

export function frontDoor(tls: HttpsServer, opts: FrontDoorOptions): FrontDoor {
  const redirect = createHttpServer(
    { headersTimeout: opts.headersTimeoutMs, requestTimeout: opts.requestTimeoutMs },
    (req: IncomingMessage, res: ServerResponse) => {
      if (!opts.allows(req.headers.host)) {
        res.writeHead(421, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
        return void res.end(MISDIRECTED_BODY);
      }
      // 308 keeps the method and body (RFC 9110 15.4.9); the browser asks again over https and sees the certificate.
      const body = 'this server speaks https only\n';
      res.writeHead(308, {
        Location: redirectTo(req),
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Length': String(body.length),
        Connection: 'close',
      });
      res.end(body);
    },
  );
  redirect.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    if (!opts.allows(req.headers.host)) return endWith(socket, MISDIRECTED);
    endWith(socket, `HTTP/1.1 308 Permanent Redirect\r\nLocation: ${redirectTo(req)}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  redirect.on('clientError', (_err, socket) => socket.destroy());

  const waiting = new Set<Socket>();
  const server = createNetServer((socket: Socket) => {
    waiting.add(socket);
    socket.setTimeout(opts.firstByteMs, () => socket.destroy());
    socket.on('error', () => {});
    socket.once('close', () => waiting.delete(socket));
    socket.once('data', (first: Buffer) => {
      waiting.delete(socket);
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(first);
      // The documented way to hand a connection to a server that did not accept it (net.Server 'connection').
      (first[0] === TLS_HANDSHAKE ? tls : redirect).emit('connection', socket);
      process.nextTick(() => socket.resume());
    });
  });
  // Node's HTTP servers start their connection tracking (headersTimeout, requestTimeout, closeAllConnections) on
  // 'listening'; these two never listen themselves, so they hear it from the socket that does.
  server.on('listening', () => {
    tls.emit('listening');
    redirect.emit('listening');
  });
  return {
    server,
    redirect,
    closeWaiting() {
      for (const s of waiting) s.destroy();
      waiting.clear();
    },
  };
}
