// A protocol learner in a room: from inside its network namespace (sockets from connectFrom) it does what the page
// does: POST /api/session over HTTPS (trusting the pinned key only), then the terminal WebSocket over wss.
import { request } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { WebSocket } from 'ws';
import { FLOW } from '../../server/protocol/messages.ts';
import { connectFrom, pinnedTls, type Connector } from './connect.ts';

export interface LearnerTarget {
  /** Address (or name) and port of the server as the room reaches it. */
  host: string;
  port: number;
  /** base64 SHA-256 of the server's SPKI (RunningServer.tls.spki). */
  pin: string;
}

export interface ProtocolLearner {
  sessionId: string;
  /** performance.now() when its sockets existed (made by a helper process in the namespace), the session was
   * created, and the WebSocket opened: a bench measures from `sockets`, which a browser would not spend. */
  at: { sockets: number; created: number; open: number };
  ws: WebSocket;
  /** Terminal output so far (binary frames, UTF-8). */
  text(): string;
  /** Resolves when the output matches; rejects after timeoutMs with the tail of the screen. */
  waitText(re: RegExp, timeoutMs?: number): Promise<void>;
  /** Sends keystrokes (a binary frame, as the page does). */
  type(s: string): void;
  close(): void;
}

function post(socket: TLSSocket, host: string, path: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { createConnection: () => socket, method: 'POST', path, headers: { Host: host, 'Content-Type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Joins from namespace `ns` with a display name; resolves once the WebSocket is open. `request`: what asks for the
 * box (default POST /api/session {name}; a class member: POST /api/join {code, name}, whose answer has the same fields).
 * `via`: a standing helper in `ns` (connectorIn) makes the sockets; without it a helper is started for them.
 */
export async function joinFrom(
  ns: string,
  to: LearnerTarget,
  name: string,
  request = { path: '/api/session', body: JSON.stringify({ name }) },
  via?: Connector,
): Promise<ProtocolLearner> {
  const [a, b] = via ? await via.connect(to.host, to.port, 2) : await connectFrom(ns, to.host, to.port, 2);
  if (!a || !b) throw new Error(`[${ns}] connectFrom gave fewer than 2 sockets`);
  const sockets = performance.now();
  const hostHeader = `${to.host.includes(':') ? `[${to.host}]` : to.host}:${to.port}`;
  const origin = `https://${hostHeader}`;
  let created: { status: number; body: string };
  try {
    created = await post(await pinnedTls(a, to.pin), hostHeader, request.path, request.body);
  } catch (err) {
    b.destroy();
    throw err;
  }
  if (created.status !== 201) {
    b.destroy();
    throw new Error(`[${ns}] POST ${request.path}: ${created.status} ${created.body}`);
  }
  const s = JSON.parse(created.body) as { sessionId: string; token: string; wsPath: string };
  const createdAt = performance.now();
  const tlsB = await pinnedTls(b, to.pin);
  const ws = new WebSocket(`wss://${hostHeader}${s.wsPath}`, ['boxlab.v1', `boxlab.token.${s.token}`], {
    createConnection: () => tlsB,
    origin,
  });
  let out = '';
  const waiters = new Set<() => void>();
  const decoder = new TextDecoder();
  let unacked = 0;
  ws.on('message', (d, bin) => {
    if (!bin) return;
    out += decoder.decode(d as Buffer, { stream: true });
    // Flow control as the page does it (docs/protocol.md): acknowledge what was read, every FLOW.ackEvery bytes.
    unacked += (d as Buffer).length;
    if (unacked >= FLOW.ackEvery) {
      ws.send(JSON.stringify({ type: 'ack', bytes: unacked }));
      unacked = 0;
    }
    for (const w of [...waiters]) w();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    sessionId: s.sessionId,
    at: { sockets, created: createdAt, open: performance.now() },
    ws,
    text: () => out,
    type: (k) => ws.send(Buffer.from(k), { binary: true }),
    close: () => ws.close(),
    waitText: (re, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (!re.test(out)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`[${ns}] screen never matched ${re}; tail: ${JSON.stringify(out.slice(-200))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
  };
}
