// Test helper: a protocol client over a real ws socket that records every frame, plus raw-HTTP helpers (used by web tests only).
import { request } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import type { TestContext } from 'node:test';
import { WebSocket } from 'ws';
import { clientProtocols, parseServerMessage, type ServerMessage } from '../../protocol/messages.ts';
import type { ServerConfig } from '../../web/config.ts';
import { fakeFactory, type FakeOptions } from '../../engine/testing/fake-sandbox.ts';
import { memoryDrain } from '../../web/node.ts';
import { startServer, type StartServerOptions } from '../compose.ts';

/** A server on a free loopback port backed by FakeSandbox, closed when the test ends. */
export async function start(
  t: TestContext,
  config: Partial<ServerConfig> = {},
  extra: Partial<StartServerOptions> & { fake?: FakeOptions } = {},
) {
  const fake = fakeFactory(extra.fake);
  const logs: string[] = [];
  const srv = await startServer({
    config: { port: 0, staticDir: '/nonexistent/out', ...config },
    createSandbox: fake.create,
    cgroupVersion: 1,
    log: (l) => logs.push(l),
    // A test's drain never touches the host's BOXLAB_RUN/drain.
    drain: memoryDrain(),
    ...extra,
  });
  t.after(() => srv.close());
  return { srv, fake, logs, url: srv.url };
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function http(url: string, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c)).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function newSession(url: string, headers: Record<string, string> = {}): Promise<{ sessionId: string; token: string }> {
  const r = await http(url, 'POST', '/api/session', '', headers);
  if (r.status !== 201) throw new Error(`POST /api/session → ${r.status} ${r.body}`);
  return JSON.parse(r.body);
}

/** Sends a raw upgrade request and returns the HTTP status line's code (101 when the socket would open). */
export function rawUpgrade(url: string, headers: Record<string, string>, path = '/ws'): Promise<{ status: number; text: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({
      host: u.hostname,
      port: u.port,
      path,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode!, text: '' });
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c) => (text += c)).on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

export class TestClient {
  readonly ws: WebSocket;
  readonly messages: ServerMessage[] = [];
  /** Frames that failed the protocol's server schema. */
  readonly invalid: string[] = [];
  /** Every binary frame, in order, and the text/binary interleaving as 'T:type' / 'B:len'. */
  readonly binary: Buffer[] = [];
  readonly order: string[] = [];
  received = 0;
  closed: { code: number; reason: string } | null = null;
  /** When set, acks are sent automatically every `ackEvery` received bytes. */
  autoAck = 0;
  private sinceAck = 0;
  private waiters = new Set<() => void>();
  private readonly decoder = new StringDecoder('utf8');
  private acc = '';
  private tail = '';

  constructor(
    url: string,
    token: string | null,
    opts: { origin?: string | null; protocols?: string[]; headers?: Record<string, string> } = {},
  ) {
    const wsUrl = url.replace(/^http/, 'ws') + '/ws';
    const origin = opts.origin === undefined ? url : opts.origin;
    this.ws = new WebSocket(wsUrl, opts.protocols ?? (token ? clientProtocols(token) : ['boxlab.v1']), {
      ...(origin ? { origin } : {}),
      ...(opts.headers ? { headers: opts.headers } : {}),
    });
    this.ws.on('message', (data, isBinary) => {
      const buf = data as Buffer;
      if (isBinary) {
        this.binary.push(buf);
        const str = this.decoder.write(buf);
        this.acc += str;
        this.tail = (this.tail + str).slice(-65536);
        this.order.push(`B:${buf.length}`);
        this.received += buf.length;
        this.sinceAck += buf.length;
        if (this.autoAck && this.sinceAck >= this.autoAck) this.ack();
      } else {
        const text = buf.toString('utf8');
        const r = parseServerMessage(text);
        const msg = r.ok ? r.msg : (JSON.parse(text) as ServerMessage);
        if (!r.ok) this.invalid.push(`${r.error}: ${text.slice(0, 200)}`);
        this.messages.push(msg);
        this.order.push(`T:${msg.type}`);
      }
      this.wake();
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    this.ws.on('error', () => this.wake());
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  opened(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }

  /** Resolves when pred() holds (checked on every frame and every 5 ms); rejects after ms with what was seen so far. */
  until(pred: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!pred()) return;
        clearTimeout(timer);
        clearInterval(poll);
        this.waiters.delete(check);
        resolve();
      };
      // Also polled: the condition may concern the server side, which sends this client nothing.
      const poll = setInterval(check, 5);
      const timer = setTimeout(() => {
        clearInterval(poll);
        this.waiters.delete(check);
        reject(
          new Error(
            `timed out waiting for ${what}; output tail: ${JSON.stringify(this.tail.slice(-300))}; order: ${this.order.slice(-12).join(' ')}`,
          ),
        );
      }, ms);
      this.waiters.add(check);
    });
  }

  /** All output so far, decoded incrementally (UTF-8 split across frames is kept whole). */
  text(): string {
    return this.acc;
  }
  /** Messages of one type; a `stages` message (a pooled box's replay) counts as one `stage` per event. */
  of<T extends ServerMessage['type']>(type: T): Extract<ServerMessage, { type: T }>[] {
    const all =
      type === 'stage'
        ? this.messages.flatMap((m) => (m.type === 'stages' ? m.events.map((event) => ({ type: 'stage' as const, event })) : [m]))
        : this.messages;
    return all.filter((m) => m.type === type) as Extract<ServerMessage, { type: T }>[];
  }
  waitMessage<T extends ServerMessage['type']>(type: T, pred: (m: Extract<ServerMessage, { type: T }>) => boolean = () => true, ms = 3000) {
    return this.until(() => this.of(type).some(pred), ms, `message ${type}`).then(() => this.of(type).filter(pred).at(-1)!);
  }
  /** Waits for re to match within the last 64 KiB of output (a flood must not make every check O(total)). */
  waitText(re: RegExp, ms = 3000): Promise<void> {
    return this.until(() => re.test(this.tail), ms, `output ${re}`);
  }
  waitClose(ms = 3000): Promise<{ code: number; reason: string }> {
    return this.until(() => this.closed !== null, ms, 'close').then(() => this.closed!);
  }

  type(s: string): void {
    this.ws.send(Buffer.from(s), { binary: true });
  }
  control(msg: object): void {
    this.ws.send(JSON.stringify(msg));
  }
  ack(): void {
    if (this.sinceAck > 0) this.control({ type: 'ack', bytes: this.sinceAck });
    this.sinceAck = 0;
  }
  close(): Promise<{ code: number; reason: string }> {
    this.ws.close(1000);
    return this.waitClose();
  }
}
