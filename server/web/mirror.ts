// Server-side headless xterm fed with exactly the bytes the socket gets, so a reconnect restores the screen (vscode PR 129207).
import { createRequire } from 'node:module';
import type * as Headless from '@xterm/headless';
import type * as Serialize from '@xterm/addon-serialize';

// Both packages ship webpack CJS bundles whose named exports Node's ESM loader cannot see.
const require = createRequire(import.meta.url);
const { Terminal } = require('@xterm/headless') as typeof Headless;
const { SerializeAddon } = require('@xterm/addon-serialize') as typeof Serialize;

export interface MirrorSnapshot {
  data: string;
  rows: number;
  cols: number;
}

export interface MirrorOptions {
  rows?: number;
  cols?: number;
  scrollback?: number;
  /** Told how many bytes were queued / parsed, so the owner can hold the pty while the parser lags. */
  flow?: { sent(n: number): void; ack(n: number): void };
}

export class Mirror {
  private readonly term: Headless.Terminal;
  private readonly serializer: Serialize.SerializeAddon;
  private readonly scrollback: number;
  private readonly flow?: MirrorOptions['flow'];
  private pendingBytes = 0;
  private disposed = false;
  private readonly waiting = new Set<(err?: Error) => void>();

  constructor(opts: MirrorOptions = {}) {
    this.scrollback = opts.scrollback ?? 1000;
    this.flow = opts.flow;
    this.term = new Terminal({
      rows: opts.rows ?? 24,
      cols: opts.cols ?? 80,
      scrollback: this.scrollback,
      allowProposedApi: true, // the serialize addon reads term.buffer, a proposed API in headless
    });
    this.serializer = new SerializeAddon();
    this.term.loadAddon(this.serializer);
  }

  get rows(): number {
    return this.term.rows;
  }
  get cols(): number {
    return this.term.cols;
  }
  /** Bytes written but not yet parsed. */
  get pending(): number {
    return this.pendingBytes;
  }

  write(chunk: Uint8Array): void {
    if (this.disposed || chunk.length === 0) return;
    const n = chunk.length;
    this.pendingBytes += n;
    this.flow?.sent(n);
    this.term.write(chunk, () => {
      if (this.disposed) return;
      this.pendingBytes -= n;
      this.flow?.ack(n);
    });
  }

  resize(rows: number, cols: number): void {
    if (this.disposed || (rows === this.term.rows && cols === this.term.cols)) return;
    this.term.resize(cols, rows);
  }

  /**
   * Screen + scrollback as of every byte written before this call, and none written after: the write
   * callback runs right after the parser finishes the preceding chunks, before it touches later ones.
   */
  snapshot(): Promise<MirrorSnapshot> {
    if (this.disposed) return Promise.reject(new Error('mirror disposed'));
    return new Promise((resolve, reject) => {
      const done = (err?: Error): void => {
        this.waiting.delete(done);
        if (err) reject(err);
      };
      this.waiting.add(done);
      this.term.write('', () => {
        if (!this.waiting.has(done)) return;
        done();
        resolve({ data: this.serializer.serialize({ scrollback: this.scrollback }), rows: this.term.rows, cols: this.term.cols });
      });
    });
  }

  /** Plain text of the buffer (tests and debugging). Call after snapshot() to be sure everything is parsed. */
  text(): string {
    const buf = this.term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buf.length; i++) lines.push(buf.getLine(i)?.translateToString(true) ?? '');
    while (lines.length && lines[lines.length - 1] === '') lines.pop();
    return lines.join('\n');
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const done of [...this.waiting]) done(new Error('mirror disposed'));
    if (this.pendingBytes > 0) this.flow?.ack(this.pendingBytes);
    this.pendingBytes = 0;
    this.term.dispose();
  }
}
