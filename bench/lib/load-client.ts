// load-client.ts: one playground user over loopback for the load/fault benches: POST /api/session, WebSocket attach,
// creation timings, the box's identity from its stage events, keystroke echo timing, acks and terminal replies.
import { request } from 'node:http';
import { WebSocket } from 'ws';
import type { StageEvent } from '../../server/engine/types.ts';
import { FLOW, clientProtocols, type ServerMessage } from '../../server/protocol/messages.ts';

/** busybox ash ends its prompt with "# " and then asks for the cursor position (DSR 6), which a terminal answers. */
export const PROMPT_END = /[#$] (\x1b\[6n)?$/;
const DSR = '\x1b[6n';

export interface PostResult {
  status: number;
  body: string;
  retryAfter?: string;
  ms: number;
}

/** One HTTP request on its own connection (no pooling: each simulated user is its own browser). */
export function httpRequest(
  url: string,
  method: string,
  path: string,
  body = '',
  timeoutMs = 30_000,
  localAddress?: string,
): Promise<PostResult> {
  const u = new URL(url);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const headers = { 'Content-Type': 'application/json' };
    const req = request(
      { host: u.hostname, port: u.port, method, path, agent: false, timeout: timeoutMs, headers, localAddress },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res
          .on('data', (c) => (text += c))
          .on('end', () =>
            resolve({
              status: res.statusCode!,
              body: text,
              retryAfter: res.headers['retry-after'] as string | undefined,
              ms: performance.now() - t0,
            }),
          );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

export interface BoxIdentity {
  id: string | null;
  uidBase: number | null;
  nsexecPid: number | null;
  initPid: number | null;
}

export interface OpenOptions {
  timeoutMs?: number;
  /** Source address on loopback (127.x.y.z): the server's per-client cap counts per address, as for real users. */
  localAddress?: string;
  /** Keep a text tail of the output (prompts, echoes); off for flooding boxes, whose bytes are only counted and acked. */
  keepTail?: boolean;
}

/** The i-th distinct loopback source address, 127.1.0.1 onwards (the whole 127/8 is loopback on Linux). */
export const loopbackAddress = (i: number): string => `127.${1 + Math.floor(i / 64_516)}.${Math.floor(i / 254) % 254}.${(i % 254) + 1}`;

export class LoadClient {
  /** ms since open() began: POST answered, socket open, hello, state running, first prompt. */
  readonly t = { post: NaN, open: NaN, hello: NaN, running: NaN, prompt: NaN };
  readonly box: BoxIdentity = { id: null, uidBase: null, nsexecPid: null, initPid: null };
  readonly errors: { code: string; message: string }[] = [];
  state = 'new';
  exited = false;
  closed: { code: number; reason: string } | null = null;
  received = 0;
  tail = '';
  private unacked = 0;
  private waiters: { test(): boolean; resolve(): void }[] = [];
  /** When open() began (performance.now() scale). */
  t0 = performance.now();
  /** Answer DSR and ack like xterm.js does; a hostile client turns these off. */
  ack = true;
  keepTail = true;

  private constructor(
    readonly url: string,
    readonly sessionId: string,
    readonly token: string,
    readonly ws: WebSocket,
  ) {
    ws.on('message', (data: Buffer, isBinary) => (isBinary ? this.onBinary(data) : this.onText(data.toString('utf8'))));
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    ws.on('error', () => this.wake());
  }

  /** POST then attach. A 503 (capacity) resolves as {refused}; anything else unexpected throws. */
  static async open(url: string, opts: OpenOptions = {}): Promise<LoadClient | { refused: PostResult }> {
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const t0 = performance.now();
    const r = await httpRequest(url, 'POST', '/api/session', '', timeoutMs, opts.localAddress);
    if (r.status === 503) return { refused: r };
    if (r.status !== 201) throw new Error(`POST /api/session → ${r.status} ${r.body.slice(0, 200)}`);
    const { sessionId, token } = JSON.parse(r.body) as { sessionId: string; token: string };
    const ws = new WebSocket(url.replace(/^http/, 'ws') + '/ws', clientProtocols(token), {
      origin: url,
      perMessageDeflate: false,
      localAddress: opts.localAddress,
    });
    const c = new LoadClient(url, sessionId, token, ws);
    c.t0 = t0;
    c.keepTail = opts.keepTail ?? true;
    c.t.post = r.ms;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`socket not open after ${timeoutMs} ms`)), timeoutMs);
      ws.once('open', () => (clearTimeout(timer), (c.t.open = c.since()), resolve()));
      ws.once('error', (e) => (clearTimeout(timer), reject(e)));
    });
    return c;
  }

  since(): number {
    return performance.now() - this.t0;
  }

  private onBinary(b: Buffer): void {
    this.received += b.length;
    const s = this.keepTail ? b.toString('latin1') : '';
    if (this.keepTail) this.tail = (this.tail + s).slice(-2048);
    if (this.ack) {
      if (this.keepTail && s.includes(DSR)) this.write('\x1b[24;3R');
      this.unacked += b.length;
      if (this.unacked >= FLOW.ackEvery) {
        this.ws.send(JSON.stringify({ type: 'ack', bytes: this.unacked }));
        this.unacked = 0;
      }
    }
    if (Number.isNaN(this.t.prompt) && PROMPT_END.test(this.tail)) this.t.prompt = this.since();
    this.wake();
  }

  private onText(text: string): void {
    let m: ServerMessage;
    try {
      m = JSON.parse(text) as ServerMessage;
    } catch {
      return;
    }
    if (m.type === 'hello') this.t.hello = this.since();
    else if (m.type === 'state') {
      this.state = m.state;
      if (m.state === 'running' && Number.isNaN(this.t.running)) this.t.running = this.since();
    } else if (m.type === 'stage') this.noteStage(m.event);
    else if (m.type === 'stages') for (const e of m.events) this.noteStage(e);
    else if (m.type === 'error') this.errors.push({ code: m.code, message: m.message });
    else if (m.type === 'exit') this.exited = true;
    this.wake();
  }

  /** The box's id, uid range and host pids, as the x-ray shows them (details of the engine's stage events). */
  private noteStage(e: StageEvent): void {
    const d = e.detail ?? '';
    if (e.stage === 'prepare_state') this.box.uidBase = Number(/uid range (\d+)-/.exec(d)?.[1] ?? NaN) || null;
    if (e.stage === 'cgroup_create') this.box.id = /\/(bx-[0-9a-f]+)\b/.exec(d)?.[1] ?? this.box.id;
    if (e.stage === 'fork1') this.box.nsexecPid = e.hostPid;
    if (e.stage === 'exec' || e.stage === 'running') this.box.initPid = e.stage === 'exec' ? e.hostPid : this.box.initPid;
  }

  private wake(): void {
    if (this.waiters.length) this.waiters = this.waiters.filter((w) => (w.test() ? (w.resolve(), false) : true));
  }

  /** Resolves when test() holds (checked after every frame); rejects after timeoutMs or on close. */
  until(test: () => boolean, timeoutMs = 30_000, what = 'condition'): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new Error(
            `${this.sessionId}: timed out after ${timeoutMs} ms waiting for ${what}; state ${this.state}; tail ${JSON.stringify(this.tail.slice(-120))}`,
          ),
        );
      }, timeoutMs);
      const waiter = {
        test: () => {
          if (this.closed && !test()) {
            clearTimeout(timer);
            reject(new Error(`${this.sessionId}: closed ${this.closed.code} ${this.closed.reason} while waiting for ${what}`));
            return true;
          }
          return test();
        },
        resolve: () => (clearTimeout(timer), resolve()),
      };
      this.waiters.push(waiter);
    });
  }

  /** Waits for the shell's first prompt (the box exists and its shell reads the terminal). */
  ready(timeoutMs = 60_000): Promise<void> {
    const done = () => !Number.isNaN(this.t.prompt) || this.state === 'error';
    return this.until(done, timeoutMs, 'first prompt').then(() => {
      if (this.state === 'error') throw new Error(`${this.sessionId}: create failed: ${this.errors.at(-1)?.message}`);
    });
  }

  write(data: string | Buffer): void {
    if (this.ws.readyState === WebSocket.OPEN)
      this.ws.send(typeof data === 'string' ? Buffer.from(data, 'latin1') : data, { binary: true });
  }

  control(msg: object): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  /** One keystroke; resolves with ms until output containing it came back (the echo), NaN on timeout. */
  async key(ch: string, timeoutMs = 5_000): Promise<number> {
    const from = this.received;
    const t0 = performance.now();
    let t1 = NaN;
    this.write(ch);
    const echoed = () => this.received > from && this.tail.slice(-Math.min(this.received - from, 2048)).includes(ch);
    await this.until(() => echoed() && ((t1 = performance.now()), true), timeoutMs, `echo of ${JSON.stringify(ch)}`).catch(() => {});
    return t1 - t0;
  }

  /** Types a command line and waits for the next prompt. */
  async run(cmd: string, timeoutMs = 30_000): Promise<void> {
    const from = this.received;
    this.write(`${cmd}\r`);
    await this.until(() => this.received > from && PROMPT_END.test(this.tail), timeoutMs, `prompt after ${cmd}`);
  }

  close(code = 1000): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((r) => {
      const timer = setTimeout(() => (this.ws.terminate(), r()), 5000);
      this.ws.once('close', () => (clearTimeout(timer), r()));
      this.ws.close(code);
    });
  }
}
