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
  /** Skip plain text that would scroll out of the buffer anyway (see Mirror.hold). Default true. */
  skipPlain?: boolean;
}

/** Plain output: printable ASCII, TAB, CR, LF. Anything else (ESC, other C0, UTF-8) goes to the parser as is. */
export function isPlain(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c >= 0x20 ? c > 0x7e : c !== 0x0a && c !== 0x0d && c !== 0x09) return false;
  }
  return true;
}

function countCrlf(b: Buffer): number {
  let n = 0;
  for (let i = b.indexOf(CRLF); i !== -1; i = b.indexOf(CRLF, i + 2)) n++;
  return n;
}
const CRLF = Buffer.from('\r\n');
/** Held plain text is handed to the parser beyond this (a line longer than the buffer can hold is never skipped). */
const HOLD_MAX = 256 * 1024;

/**
 * Serializing a screen with 1000 lines of scrollback takes 10-40 ms of the event loop (measured under load). A class
 * reconnecting at once (a Wi-Fi drop) or following one broadcast would run them back to back in one turn: the
 * serializations of all mirrors run one per event-loop turn (setImmediate), so sockets and ptys are served between.
 */
const serializeQueue: (() => void)[] = [];
let serializing = false;
function serializeSoon(job: () => void): void {
  serializeQueue.push(job);
  if (serializing) return;
  serializing = true;
  const next = (): void => {
    const j = serializeQueue.shift();
    if (!j) return void (serializing = false);
    j();
    setImmediate(next);
  };
  setImmediate(next);
}

/** What a mirror does while a snapshot waits for its serialization: bytes, resizes and later snapshots, in order. */
type Frozen = { bytes: Uint8Array } | { rows: number; cols: number } | { snap: Snap };
interface Snap {
  promise: Promise<MirrorSnapshot>;
  resolve(s: MirrorSnapshot): void;
  reject(err: Error): void;
  /** The mirror's version (writes and resizes) the snapshot shows. */
  version: number;
}

/** Private state of @xterm/headless 6 read to prove a skip safe; anything missing means "not safe". */
interface CoreView {
  _core?: { buffer?: { scrollTop?: number; scrollBottom?: number }; _inputHandler?: { _parser?: { currentState?: number } } };
}

export class Mirror {
  private readonly term: Headless.Terminal;
  private readonly serializer: Serialize.SerializeAddon;
  private readonly scrollback: number;
  private readonly flow?: MirrorOptions['flow'];
  private pendingBytes = 0;
  private disposed = false;
  private readonly skipPlain: boolean;
  /** Plain chunks not yet given to the parser, and the CRLF count of each. */
  private held: Buffer[] = [];
  private heldCrlf: number[] = [];
  private heldBytes = 0;
  private heldCrlfTotal = 0;
  /** Bytes never parsed because they would have scrolled out of the buffer (tests, bench). */
  skippedBytes = 0;
  /** Serializations run (tests: concurrent snapshots of an unchanged screen share one). */
  serializations = 0;
  /** Bumped by every write and resize: equal versions show the same screen. */
  private version = 0;
  /** Non-null while a snapshot waits to be serialized: the parser is held at its point, later input waits here. */
  private frozen: Frozen[] | null = null;
  /** The latest snapshot (pending or done), shared by every caller while nothing changed. */
  private lastSnap: Snap | null = null;
  /** The snapshot the parser is held for. */
  private inflight: Snap | null = null;

  constructor(opts: MirrorOptions = {}) {
    this.scrollback = opts.scrollback ?? 1000;
    this.flow = opts.flow;
    this.skipPlain = opts.skipPlain ?? true;
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
    return this.pendingBytes + this.heldBytes;
  }

  write(chunk: Uint8Array): void {
    if (this.disposed || chunk.length === 0) return;
    this.version++;
    if (this.skipPlain && isPlain(chunk)) return this.hold(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    this.release();
    this.feed(chunk);
  }

  /**
   * Parsing every byte of a flood cost the server ~30 ms of CPU per MB, more than everything else it does per byte
   * (docs/performance.md, Terminal). Plain text changes nothing but the cells it writes, and once the text after it
   * holds rows + scrollback + 2 CRLF-ended lines, those cells have scrolled out of the buffer: the buffer's final
   * content is the last lines alone, whatever the parser's state before them (the first, partial, row of the kept
   * text scrolls out too). So whole held chunks are dropped from the front while that holds, provided the
   * parser has consumed everything before them and sits in its ground state (not inside an escape sequence the
   * plain bytes would continue), with the full scroll region (rows outside a region keep old text), on the normal
   * buffer (the alternate one would be safe too; kept out to stay simple). Modes and attributes are untouched by
   * plain text, so the snapshot is byte for byte the same (mirror.test.ts compares it against a full parse).
   */
  private hold(chunk: Buffer): void {
    const crlf = countCrlf(chunk);
    this.held.push(chunk);
    this.heldCrlf.push(crlf);
    this.heldBytes += chunk.length;
    this.heldCrlfTotal += crlf;
    const need = this.term.rows + this.scrollback + 2;
    if (this.held.length > 1 && this.heldCrlfTotal - this.heldCrlf[0] >= need && this.canSkip()) {
      while (this.held.length > 1 && this.heldCrlfTotal - this.heldCrlf[0] >= need) {
        const b = this.held.shift()!;
        this.heldCrlfTotal -= this.heldCrlf.shift()!;
        this.heldBytes -= b.length;
        this.skippedBytes += b.length;
      }
    }
    if (this.heldBytes > HOLD_MAX) this.release();
  }

  private canSkip(): boolean {
    if (this.pendingBytes > 0) return false;
    const core = (this.term as unknown as CoreView)._core;
    return (
      this.term.buffer.active.type === 'normal' &&
      core?._inputHandler?._parser?.currentState === 0 &&
      core.buffer?.scrollTop === 0 &&
      core.buffer.scrollBottom === this.term.rows - 1
    );
  }

  /** Hands held plain text to the parser (before anything else is written, a resize or a snapshot). */
  private release(): void {
    if (!this.held.length) return;
    const held = this.held;
    this.held = [];
    this.heldCrlf = [];
    this.heldBytes = 0;
    this.heldCrlfTotal = 0;
    this.feed(held.length === 1 ? held[0] : Buffer.concat(held));
  }

  private feed(chunk: Uint8Array): void {
    const n = chunk.length;
    this.pendingBytes += n;
    this.flow?.sent(n);
    if (this.frozen) return void this.frozen.push({ bytes: chunk });
    this.parse(chunk);
  }

  private parse(chunk: Uint8Array): void {
    const n = chunk.length;
    this.term.write(chunk, () => {
      if (this.disposed) return;
      this.pendingBytes -= n;
      this.flow?.ack(n);
    });
  }

  resize(rows: number, cols: number): void {
    if (this.disposed) return;
    this.release();
    if (this.frozen) {
      this.version++;
      return void this.frozen.push({ rows, cols });
    }
    if (rows === this.term.rows && cols === this.term.cols) return;
    this.version++;
    this.term.resize(cols, rows);
  }

  /**
   * Screen + scrollback as of every byte written before this call, and none written after: the write callback runs
   * right after the parser finishes the preceding chunks, and from this call on later bytes (and resizes) wait in
   * `frozen` until the serialization, queued one per event-loop turn, is done. Callers asking while nothing changed
   * share one serialization (a class following one broadcast, a reconnect during a pending one).
   */
  snapshot(): Promise<MirrorSnapshot> {
    if (this.disposed) return Promise.reject(new Error('mirror disposed'));
    this.release();
    if (this.lastSnap && this.lastSnap.version === this.version) return this.lastSnap.promise;
    let resolve!: (s: MirrorSnapshot) => void;
    let reject!: (err: Error) => void;
    const promise = new Promise<MirrorSnapshot>((res, rej) => ((resolve = res), (reject = rej)));
    const snap: Snap = { promise, resolve, reject, version: this.version };
    this.lastSnap = snap;
    if (this.frozen) this.frozen.push({ snap });
    else this.freezeFor(snap);
    return promise;
  }

  /** Holds the parser at this point and serializes once it got there (in the shared queue), then thaws. */
  private freezeFor(snap: Snap): void {
    this.frozen = [];
    this.inflight = snap;
    this.term.write('', () => {
      if (this.disposed) return;
      serializeSoon(() => {
        if (this.disposed) return;
        this.serializations++;
        this.inflight = null;
        snap.resolve({ data: this.serializer.serialize({ scrollback: this.scrollback }), rows: this.term.rows, cols: this.term.cols });
        this.thaw();
      });
    });
  }

  /** Replays what waited, in order, up to the next waiting snapshot (which freezes again). */
  private thaw(): void {
    const ops = this.frozen ?? [];
    this.frozen = null;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      if ('snap' in op) {
        this.freezeFor(op.snap);
        this.frozen!.push(...ops.slice(i + 1));
        return;
      }
      if ('bytes' in op) this.parse(op.bytes);
      else if (op.rows !== this.term.rows || op.cols !== this.term.cols) this.term.resize(op.cols, op.rows);
    }
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
    this.held = [];
    this.heldBytes = 0;
    const gone = new Error('mirror disposed');
    for (const op of this.frozen ?? []) if ('snap' in op) op.snap.reject(gone);
    this.frozen = null;
    this.inflight?.reject(gone);
    this.inflight = null;
    if (this.pendingBytes > 0) this.flow?.ack(this.pendingBytes);
    this.pendingBytes = 0;
    this.term.dispose();
  }
}
