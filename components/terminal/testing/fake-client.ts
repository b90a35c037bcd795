// Test doubles for BoxlabClient: a fake WebSocket, clock, fetch, storage and xterm sink (no browser needed).
import type { ClientDeps, TerminalSink, WebSocketLike } from '../client-types';

export class FakeWebSocket implements WebSocketLike {
  binaryType = 'blob';
  readyState = 0;
  sent: (string | Uint8Array)[] = [];
  closedWith: number | null = null;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {}

  send(data: string | Uint8Array): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    this.sent.push(typeof data === 'string' ? data : new Uint8Array(data));
  }
  close(code = 1000): void {
    this.closedWith = code;
    this.readyState = 3;
  }
  // Server side of the fake.
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  text(msg: object): void {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  binary(bytes: Uint8Array): void {
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    this.onmessage?.({ data: ab });
  }
  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
  json(): Record<string, unknown>[] {
    return this.sent.filter((m): m is string => typeof m === 'string').map((m) => JSON.parse(m));
  }
  frames(): Uint8Array[] {
    return this.sent.filter((m): m is Uint8Array => typeof m !== 'string');
  }
}

export class FakeSink implements TerminalSink {
  /** What was written, with 'RESET' marking each reset, in order. */
  log: (string | Uint8Array)[] = [];
  pending: (() => void)[] = [];
  write(data: Uint8Array | string, parsed?: () => void): void {
    this.log.push(data);
    if (parsed) this.pending.push(parsed);
  }
  reset(): void {
    this.log.push('RESET');
  }
  /** Let "xterm" finish parsing everything written so far. */
  parseAll(): void {
    const p = this.pending;
    this.pending = [];
    for (const fn of p) fn();
  }
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export class FakeEnv {
  t = 1_000_000;
  timers = new Map<number, { at: number; fn: () => void }>();
  private nextId = 1;
  sockets: FakeWebSocket[] = [];
  requests: { url: string; method: string }[] = [];
  store = new Map<string, string>();
  /** Replies for POST /api/session, used in order (the last one repeats). */
  sessionReplies: Reply[] = [];
  healthUp = true;
  /** The bootId GET /api/health answers with (undefined: an older server that sends none). */
  healthBootId: string | undefined = undefined;

  deps(): ClientDeps {
    return {
      origin: 'http://box.test:3000',
      fetch: async (url, init) => {
        this.requests.push({ url, method: init?.method ?? 'GET' });
        let r: Reply;
        if (url.endsWith('/api/health')) {
          if (!this.healthUp) throw new TypeError('fetch failed');
          r = { status: 200, body: { ok: true, ...(this.healthBootId ? { bootId: this.healthBootId } : {}) } };
        } else {
          r = (this.sessionReplies.length > 1 ? this.sessionReplies.shift() : this.sessionReplies[0]) ?? { status: 500, body: {} };
        }
        return {
          status: r.status,
          ok: r.status >= 200 && r.status < 300,
          headers: { get: (n: string) => r.headers?.[n.toLowerCase()] ?? null },
          json: async () => r.body,
        };
      },
      createWebSocket: (url, protocols) => {
        const ws = new FakeWebSocket(url, protocols);
        this.sockets.push(ws);
        return ws;
      },
      storage: {
        getItem: (k) => this.store.get(k) ?? null,
        setItem: (k, v) => void this.store.set(k, v),
        removeItem: (k) => void this.store.delete(k),
      },
      now: () => this.t,
      setTimeout: (fn, ms) => {
        const id = this.nextId++;
        this.timers.set(id, { at: this.t + ms, fn });
        return id;
      },
      clearTimeout: (id) => void this.timers.delete(id as number),
      random: () => 0.5,
    };
  }

  /** Move the clock and run what fell due, earliest first. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, v]) => v.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].fn();
    }
    this.t = end;
  }

  get ws(): FakeWebSocket {
    const ws = this.sockets.at(-1);
    if (!ws) throw new Error('no socket opened');
    return ws;
  }
}

export const flush = () => new Promise<void>((r) => setImmediate(r));
