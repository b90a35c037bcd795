// pty-reader.ts: reads every pty master in one worker thread, so the server's event loop never polls a pty.
//
// Why: epoll on a pty master runs n_tty_poll(), which, when no input is parsed yet, waits in flush_work() for the
// kworker that moves the box's output into the master's buffer (drivers/tty/n_tty.c, tty_buffer_flush_work). The
// waiting is uninterruptible (D state) and holds the whole epoll_wait: every socket and timer of the server waits
// for that kworker, which on a busy machine waits for a CPU. Measured (perf sched:sched_switch on the server's main
// thread during a paste with ten typists): 32,244 such sleeps in 8 s, loop stalls of 34-203 ms with the thread
// neither running nor runnable (docs/reliability.md, "Event-loop stalls"). In a worker the same wait only delays
// output, never input, health or other sessions.
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';

// Plain CommonJS run with eval: no file to locate in dist/ or under tsx. One tty.ReadStream per master, as before.
// Reads stop while more than WINDOW bytes are unconfirmed by the main thread, so output after its pause() stays
// bounded (the pause travels as a message) the way a paused stream's would.
const WINDOW = 32 * 1024;
const WORKER = `
const { parentPort } = require('node:worker_threads');
const tty = require('node:tty');
const WINDOW = ${WINDOW};
const streams = new Map();
const flow = (s) => (s.paused || s.inflight >= WINDOW ? s.stream.pause() : s.stream.resume());
parentPort.on('message', (m) => {
  if (m.op === 'open') {
    let stream;
    try {
      stream = new tty.ReadStream(m.fd);
    } catch (err) {
      // The fd is ours (a dup made for this worker): closed here, so 'close' means closed as it does below.
      try {
        require('node:fs').closeSync(m.fd);
      } catch {}
      parentPort.postMessage({ id: m.id, ev: 'error', code: err.code, message: err.message });
      parentPort.postMessage({ id: m.id, ev: 'close' });
      return;
    }
    const s = { stream, paused: false, inflight: 0 };
    streams.set(m.id, s);
    stream.on('data', (b) => {
      const copy = new Uint8Array(b); // its own ArrayBuffer (b may share a pooled slab): moved, not cloned
      s.inflight += copy.length;
      parentPort.postMessage({ id: m.id, ev: 'data', data: copy }, [copy.buffer]);
      flow(s);
    });
    stream.on('error', (err) => parentPort.postMessage({ id: m.id, ev: 'error', code: err.code, message: err.message }));
    stream.on('end', () => parentPort.postMessage({ id: m.id, ev: 'end' }));
    stream.on('close', () => {
      streams.delete(m.id);
      parentPort.postMessage({ id: m.id, ev: 'close' });
    });
    return;
  }
  const s = streams.get(m.id);
  if (!s) return;
  if (m.op === 'destroy') return void s.stream.destroy();
  if (m.op === 'pause') s.paused = true;
  else if (m.op === 'resume') s.paused = false;
  else if (m.op === 'ack') s.inflight -= m.n;
  flow(s);
});
`;

type WorkerEvent =
  | { id: number; ev: 'data'; data: Uint8Array }
  | { id: number; ev: 'error'; code?: string; message: string }
  | { id: number; ev: 'end' | 'close' };

/** The main thread's view of one master read in the worker: 'data' (Buffer), 'error', 'end', 'close'. */
export class RemotePtyStream extends EventEmitter {
  /** Set at once by destroy(): no write after it (the owner's fd goes at release, the worker's copy soon after). */
  destroyed = false;
  /** True once the worker reported the fd closed ('close' emitted). */
  closed = false;
  /**
   * Called once the stream is both destroyed and closed (before that 'close' is emitted): the owner's own fd of the
   * same master may go then. Not at a 'close' of the worker's own (EIO: the box is gone): until destroy() the owner
   * may still write or ioctl its fd, whose number must not be reused meanwhile.
   */
  release: (() => void) | null = null;
  /** Events before the first 'data' listener: kept, as a readable stream keeps its data until someone listens. */
  private backlog: WorkerEvent[] | null = [];
  constructor(
    private readonly reader: PtyReader,
    readonly id: number,
  ) {
    super();
    // The worker reads from the moment the master is taken, mid-creation; the sandbox listens when it is built and
    // the session once creation resolved. Replayed in a later turn, as a stream's first read would come: after the
    // promise continuations of this turn have attached everyone.
    this.on('newListener', (ev) => {
      if (ev === 'data' && this.backlog) setImmediate(() => this.flush());
    });
  }
  private flush(): void {
    const events = this.backlog ?? [];
    this.backlog = null;
    for (const e of events) this.dispatch(e);
  }
  pause(): this {
    if (!this.destroyed) this.reader.post({ op: 'pause', id: this.id });
    return this;
  }
  resume(): this {
    if (!this.destroyed) this.reader.post({ op: 'resume', id: this.id });
    return this;
  }
  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    // Kept events are not replayed after destroy() (a destroyed stream emits only 'close'), so a 'close' cannot
    // wait in the backlog for a 'data' listener that never comes. One already kept (the worker's stream ended on
    // EIO, the box gone before anyone listened: a failed creation) is emitted, in a later tick as a stream would.
    const kept = this.backlog;
    this.backlog = null;
    const close = kept?.find((e) => e.ev === 'close');
    if (close) process.nextTick(() => this.dispatch(close));
    else if (this.closed) this.releaseOnce();
    else this.reader.post({ op: 'destroy', id: this.id });
    return this;
  }
  private releaseOnce(): void {
    const r = this.release;
    this.release = null;
    r?.();
  }
  /** @internal an event from the worker. */
  deliver(e: WorkerEvent): void {
    if (this.backlog) this.backlog.push(e);
    else this.dispatch(e);
  }
  private dispatch(e: WorkerEvent): void {
    if (this.closed) return;
    // After destroy() only 'close' comes through, as from a destroyed stream (an 'error' nobody listens to any more
    // would throw).
    if (this.destroyed && e.ev !== 'close') return;
    if (e.ev === 'data') {
      this.emit('data', Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength));
      // Consumed: the worker may read on (unless a pause() sent before this reached it first).
      this.reader.post({ op: 'ack', id: this.id, n: e.data.byteLength });
    } else if (e.ev === 'error') this.emit('error', Object.assign(new Error(e.message), { code: e.code }));
    else if (e.ev === 'end') this.emit('end');
    else {
      this.closed = true;
      if (this.destroyed) this.releaseOnce();
      this.emit('close');
    }
  }
}

/** One worker for all masters; it keeps the process alive only while a master is open. */
export class PtyReader {
  private worker: Worker | null = null;
  private readonly open = new Map<number, RemotePtyStream>();
  private nextId = 1;

  read(fd: number): RemotePtyStream {
    const w = this.start();
    const s = new RemotePtyStream(this, this.nextId++);
    this.open.set(s.id, s);
    if (this.open.size === 1) w.ref();
    w.postMessage({ op: 'open', id: s.id, fd });
    return s;
  }

  /** @internal */
  post(m: { op: 'pause' | 'resume' | 'destroy'; id: number } | { op: 'ack'; id: number; n: number }): void {
    this.worker?.postMessage(m);
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    // execArgv []: plain CommonJS needs no preload of the parent's (a TypeScript loader, a bench's probes).
    const w = new Worker(WORKER, { eval: true, name: 'boxlab pty reader', execArgv: [] });
    w.on('message', (e: WorkerEvent) => {
      const s = this.open.get(e.id);
      if (!s) return;
      if (e.ev === 'close') {
        this.open.delete(e.id);
        if (this.open.size === 0) w.unref();
      }
      s.deliver(e);
    });
    // The worker only fails if Node does: every stream open on it ends with the error.
    w.on('error', (err) => this.fail(err));
    w.on('exit', (code) => this.fail(new Error(`pty reader worker exited (${code})`)));
    this.worker = w;
    return w;
  }

  private fail(err: Error): void {
    this.worker = null;
    const open = [...this.open.values()];
    this.open.clear();
    for (const s of open) {
      s.deliver({ id: s.id, ev: 'error', message: err.message });
      s.deliver({ id: s.id, ev: 'close' });
    }
  }
}

export const ptyReader = new PtyReader();
