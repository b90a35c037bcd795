// web-client.ts: a minimal protocol-v1 client in Node (ws) for the web benches: session, keystrokes, acks, output hooks.
import { WebSocket } from 'ws';
import { FLOW, clientProtocols, parseServerMessage, type ServerMessage } from '../../server/protocol/messages.ts';

export interface BenchClientOptions {
  /** Ack after this many received bytes (the client does no parsing, so received = processed). */
  ackEvery?: number;
}

/** The output ends with a prompt: "# " possibly followed by ash's cursor-position query. */
export const PROMPT_END = /[#$] (\x1b\[6n)?$/;
const DSR = Buffer.from('\x1b[6n');

export class BenchClient {
  rows = 24;
  readonly messages: ServerMessage[] = [];
  received = 0;
  /** The last 4 KiB of output as latin1 text, for prompt matching. */
  tail = '';
  private unacked = 0;
  private readonly ackEvery: number;
  private waiters: { test(): boolean; resolve(): void }[] = [];
  onBytes: ((b: Buffer, t: number) => void) | null = null;

  private constructor(
    readonly ws: WebSocket,
    opts: BenchClientOptions,
  ) {
    this.ackEvery = opts.ackEvery ?? FLOW.ackEvery;
    ws.on('message', (data: Buffer, isBinary) => {
      const t = performance.now();
      if (isBinary) {
        this.received += data.length;
        this.tail = (this.tail + data.toString('latin1')).slice(-4096);
        this.onBytes?.(data, t);
        // busybox ash asks for the cursor position (DSR 6) after each prompt; a terminal answers it.
        if (data.includes(DSR)) this.write(`\x1b[${this.rows};1R`);
        this.unacked += data.length;
        if (this.unacked >= this.ackEvery) {
          ws.send(JSON.stringify({ type: 'ack', bytes: this.unacked }));
          this.unacked = 0;
        }
      } else {
        const r = parseServerMessage(data.toString('utf8'));
        if (r.ok) this.messages.push(r.msg);
      }
      if (this.waiters.length) this.waiters = this.waiters.filter((w) => (w.test() ? (w.resolve(), false) : true));
    });
  }

  /** POST /api/session, then open the socket (the sandbox is built on attach). */
  static async connect(url: string, opts: BenchClientOptions = {}): Promise<BenchClient> {
    const r = await fetch(`${url}/api/session`, { method: 'POST' });
    if (r.status !== 201) throw new Error(`POST /api/session → ${r.status} ${await r.text()}`);
    const { token } = (await r.json()) as { token: string };
    const ws = new WebSocket(url.replace(/^http/, 'ws') + '/ws', clientProtocols(token), { origin: url, perMessageDeflate: false });
    ws.binaryType = 'nodebuffer';
    // Listen before 'open' resolves: a server with a ready box sends hello, stages and the prompt in the frames
    // right after the handshake, which ws emits before an await continuation could add the listener.
    const client = new BenchClient(ws, opts);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  /** Resolves when test() holds after some frame (checked now and after every frame), or rejects after timeoutMs. */
  until(test: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${what}; output ends ${JSON.stringify(this.tail.slice(-200))}`)),
        timeoutMs,
      );
      this.waiters.push({ test, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  /** A shell prompt at the very end of the output (busybox ash: "... # "). */
  waitPrompt(timeoutMs = 20_000): Promise<void> {
    return this.until(() => PROMPT_END.test(this.tail), timeoutMs, 'a prompt');
  }

  write(data: string | Buffer): void {
    this.ws.send(typeof data === 'string' ? Buffer.from(data) : data, { binary: true });
  }

  resize(rows: number, cols: number): void {
    this.rows = rows;
    this.ws.send(JSON.stringify({ type: 'resize', rows, cols }));
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((r) => {
      this.ws.once('close', () => r());
      this.ws.close(1000);
    });
  }
}
