// Server-side headless xterm fed with exactly the bytes the socket gets, so a reconnect restores the screen (vscode PR 129207).
import { createRequire } from 'node:module';
import type * as Headless from '@xterm/headless';

// Both packages ship webpack CJS bundles whose named exports Node's ESM loader cannot see.
const require = createRequire(import.meta.url);
const { Terminal } = require('@xterm/headless') as typeof Headless;
/** The part of @xterm/addon-serialize used here, typed locally: its typings pull in lib.dom (the server is checked without DOM). */
interface Serializer extends Headless.ITerminalAddon {
  serialize(opts?: { scrollback?: number }): string;
}
const { SerializeAddon } = require('@xterm/addon-serialize') as { SerializeAddon: new () => Serializer };

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
  /**
   * Free the headless Terminal after this many ms without output, keeping only its serialized screen (see
   * Mirror.hibernate); 0 = never. Default 0 here; the server passes its setting.
   */
  hibernateMs?: number;
}

/** Plain output: printable ASCII, TAB, CR, LF. Anything else (ESC, other C0, UTF-8) goes to the parser as is. */
export function isPlain(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
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
const EMPTY = Buffer.alloc(0);
/** Held plain text is handed to the parser beyond this (a line longer than the buffer can hold is never skipped). */
const HOLD_MAX = 256 * 1024;

/** Private state of @xterm/headless 6 read to prove a skip safe; anything missing means "not safe". */
interface CoreView {
  _core?: { buffer?: { scrollTop?: number; scrollBottom?: number }; _inputHandler?: { _parser?: { currentState?: number } } };
}

export class Mirror {
  /** null while hibernated (and before the first output): `frozen` then holds the whole state. */
  private term: Headless.Terminal | null = null;
  private serializer: Serializer | null = null;
  /** The serialized screen while hibernated, as UTF-8: the addon builds it with += (a rope of hundreds of parts). */
  private frozen: Buffer = EMPTY;
  private nrows: number;
  private ncols: number;
  private readonly hibernateMs: number;
  private lastWrite = 0;
  private hibernateTimer: NodeJS.Timeout | null = null;
  /** Times the Terminal was freed / re-created (tests, bench). */
  hibernations = 0;
  thaws = 0;
  private readonly scrollback: number;
  private readonly flow?: MirrorOptions['flow'];
  private pendingBytes = 0;
  private disposed = false;
  private readonly waiting = new Set<(err?: Error) => void>();
  private readonly skipPlain: boolean;
  /** Plain chunks not yet given to the parser, and the CRLF count of each. */
  private held: Buffer[] = [];
  private heldCrlf: number[] = [];
  private heldBytes = 0;
  private heldCrlfTotal = 0;
  /** Bytes never parsed because they would have scrolled out of the buffer (tests, bench). */
  skippedBytes = 0;

  constructor(opts: MirrorOptions = {}) {
    this.scrollback = opts.scrollback ?? 1000;
    this.flow = opts.flow;
    this.skipPlain = opts.skipPlain ?? true;
    this.nrows = opts.rows ?? 24;
    this.ncols = opts.cols ?? 80;
    this.hibernateMs = opts.hibernateMs ?? 0;
  }

  get rows(): number {
    return this.nrows;
  }
  get cols(): number {
    return this.ncols;
  }
  /** True while no Terminal is allocated (hibernated, or nothing written yet). */
  get hibernated(): boolean {
    return this.term === null;
  }

  /**
   * The Terminal, re-created from the serialized state when hibernated. A 113x41 headless Terminal is ~140 KiB of
   * V8 heap plus its buffer lines (docs/performance.md, memory per idle session): an idle session keeps only the
   * string. The restore goes through the parser like any output, so it counts as pending until parsed.
   */
  private live(): Headless.Terminal {
    if (this.term) return this.term;
    const term = new Terminal({
      rows: this.nrows,
      cols: this.ncols,
      scrollback: this.scrollback,
      allowProposedApi: true, // the serialize addon reads term.buffer, a proposed API in headless
    });
    this.serializer = new SerializeAddon();
    term.loadAddon(this.serializer);
    this.term = term;
    this.armHibernate();
    if (this.frozen.length) {
      this.thaws++;
      const n = this.frozen.length;
      this.pendingBytes += n;
      term.write(this.frozen, () => {
        if (!this.disposed) this.pendingBytes -= n;
      });
      this.frozen = EMPTY;
    }
    return term;
  }

  private armHibernate(): void {
    this.lastWrite = Date.now();
    if (this.hibernateMs <= 0 || this.hibernateTimer) return;
    // One timer re-armed for the remainder when it fires early, not one per write.
    const fire = (): void => {
      this.hibernateTimer = null;
      if (this.disposed || !this.term) return;
      const left = this.lastWrite + this.hibernateMs - Date.now();
      if (left > 0 || !this.hibernate()) {
        this.hibernateTimer = setTimeout(fire, Math.max(left, this.hibernateMs));
        this.hibernateTimer.unref();
      }
    };
    this.hibernateTimer = setTimeout(fire, this.hibernateMs);
    this.hibernateTimer.unref();
  }

  /**
   * Serializes the screen (the same string a reconnect gets) and frees the Terminal. Only when everything written is
   * parsed, the parser is in its ground state with the full scroll region (DECSTBM is not serialized) and nobody
   * waits for a snapshot; otherwise returns false and the timer tries again later. What the serialize addon keeps:
   * cells with attributes, scrollback, cursor, the alternate screen, the input modes (cursor keys, bracketed paste,
   * mouse). Not kept: tab stops, charsets, the saved cursor (DECSC), the window title: an idle shell has none set.
   */
  hibernate(): boolean {
    const term = this.term;
    if (!term || this.disposed) return false;
    if (this.pendingBytes > 0 || this.heldBytes > 0 || this.waiting.size > 0) return false;
    const core = (term as unknown as CoreView)._core;
    const ground =
      core?._inputHandler?._parser?.currentState === 0 && core.buffer?.scrollTop === 0 && core.buffer.scrollBottom === term.rows - 1;
    if (!ground) return false;
    this.frozen = Buffer.from(this.serializer!.serialize({ scrollback: this.scrollback }));
    term.dispose();
    this.term = null;
    this.serializer = null;
    this.hibernations++;
    return true;
  }

  /** Bytes written but not yet parsed. */
  get pending(): number {
    return this.pendingBytes + this.heldBytes;
  }

  write(chunk: Uint8Array): void {
    if (this.disposed || chunk.length === 0) return;
    this.armHibernate();
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
    const need = this.nrows + this.scrollback + 2;
    if (this.held.length > 1 && this.heldCrlfTotal - this.heldCrlf[0]! >= need && this.canSkip()) {
      while (this.held.length > 1 && this.heldCrlfTotal - this.heldCrlf[0]! >= need) {
        const b = this.held.shift()!;
        this.heldCrlfTotal -= this.heldCrlf.shift()!;
        this.heldBytes -= b.length;
        this.skippedBytes += b.length;
      }
    }
    if (this.heldBytes > HOLD_MAX) this.release();
  }

  private canSkip(): boolean {
    // Hibernated: the parser's state is in the string; held text waits for the next thaw instead.
    if (this.pendingBytes > 0 || !this.term) return false;
    const term = this.term;
    const core = (term as unknown as CoreView)._core;
    return (
      term.buffer.active.type === 'normal' &&
      core?._inputHandler?._parser?.currentState === 0 &&
      core.buffer?.scrollTop === 0 &&
      core.buffer.scrollBottom === term.rows - 1
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
    this.feed(held.length === 1 ? held[0]! : Buffer.concat(held));
  }

  private feed(chunk: Uint8Array): void {
    const n = chunk.length;
    this.pendingBytes += n;
    this.flow?.sent(n);
    this.live().write(chunk, () => {
      if (this.disposed) return;
      this.pendingBytes -= n;
      this.flow?.ack(n);
    });
  }

  resize(rows: number, cols: number): void {
    if (this.disposed || (rows === this.nrows && cols === this.ncols)) return;
    this.release();
    if (this.term || this.frozen.length) this.live().resize(cols, rows);
    this.nrows = rows;
    this.ncols = cols;
    this.armHibernate();
  }

  /**
   * Screen + scrollback as of every byte written before this call, and none written after: the write
   * callback runs right after the parser finishes the preceding chunks, before it touches later ones.
   */
  snapshot(): Promise<MirrorSnapshot> {
    if (this.disposed) return Promise.reject(new Error('mirror disposed'));
    // Hibernated: the string is the snapshot (what serialize() would give again), no Terminal needed.
    if (!this.term && !this.heldBytes) return Promise.resolve({ data: this.frozen.toString(), rows: this.nrows, cols: this.ncols });
    this.release();
    const term = this.live();
    return new Promise((resolve, reject) => {
      const done = (err?: Error): void => {
        this.waiting.delete(done);
        if (err) reject(err);
      };
      this.waiting.add(done);
      term.write('', () => {
        if (!this.waiting.has(done)) return;
        done();
        resolve({ data: this.serializer!.serialize({ scrollback: this.scrollback }), rows: term.rows, cols: term.cols });
      });
    });
  }

  /** Plain text of the buffer (tests and debugging). Call after snapshot() to be sure everything is parsed. */
  text(): string {
    const buf = this.live().buffer.active;
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
    for (const done of [...this.waiting]) done(new Error('mirror disposed'));
    if (this.pendingBytes > 0) this.flow?.ack(this.pendingBytes);
    this.pendingBytes = 0;
    if (this.hibernateTimer) clearTimeout(this.hibernateTimer);
    this.hibernateTimer = null;
    this.frozen = EMPTY;
    this.term?.dispose();
    this.term = null;
  }
}
