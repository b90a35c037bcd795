// InputQueue against a fake pty: order, cap, refusal, drain, EAGAIN backoff, a dead fd, and no write after close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SyscallError } from '../../native-bindings/errors.ts';
import { InputQueue, type Timers } from './input.ts';

/** A pty whose kernel buffer takes `room` bytes until the reader consumes them. */
class FakePty {
  taken: Buffer[] = [];
  room: number;
  calls = 0;
  fail: Error | null = null;
  constructor(room: number) {
    this.room = room;
  }
  tryWrite = (chunk: Buffer): number => {
    this.calls++;
    if (this.fail) throw this.fail;
    const n = Math.min(this.room, chunk.length);
    this.room -= n;
    if (n) this.taken.push(Buffer.from(chunk.subarray(0, n)));
    return n;
  };
  /** The box reads: room for n more bytes. */
  read(n: number): void {
    this.room += n;
  }
  get bytes(): Buffer {
    return Buffer.concat(this.taken);
  }
}

/** Manual timers: run() fires what is due, recording the delays asked for. */
class FakeTimers implements Timers {
  pending: { fn: () => void; ms: number }[] = [];
  delays: number[] = [];
  set(fn: () => void, ms: number): unknown {
    const t = { fn, ms };
    this.pending.push(t);
    this.delays.push(ms);
    return t;
  }
  clear(h: unknown): void {
    this.pending = this.pending.filter((t) => t !== h);
  }
  fire(): void {
    const due = this.pending.splice(0);
    for (const t of due) t.fn();
  }
}

const seq = (from: number, n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (from + i) % 251));

test('writes at once what the pty takes; the rest waits in order and arrives complete when the box reads', () => {
  const pty = new FakePty(10);
  const timers = new FakeTimers();
  let drains = 0;
  const q = new InputQueue(pty.tryWrite, { cap: 100, timers, onDrain: () => drains++ });
  assert.equal(q.push(seq(0, 4)), true);
  assert.equal(q.queued, 0, 'a keystroke that fits is written synchronously (no timer on the echo path)');
  assert.equal(timers.pending.length, 0);
  assert.equal(q.push(seq(4, 30)), true);
  assert.equal(q.queued, 24);
  assert.equal(timers.pending.length, 1, 'a retry is armed');
  assert.equal(q.push(seq(34, 20)), true);
  assert.equal(pty.calls, 2, 'while a retry is armed, a push only queues (order is kept)');
  assert.equal(q.queued, 44);
  timers.fire(); // still full
  assert.equal(q.stats.blocked, 1);
  pty.read(25);
  timers.fire();
  assert.equal(q.queued, 19);
  pty.read(1000);
  timers.fire();
  assert.equal(q.queued, 0);
  assert.deepEqual(pty.bytes, seq(0, 54), 'every byte, in order');
  assert.equal(drains, 1);
  assert.equal(timers.pending.length, 0, 'nothing armed once empty');
  assert.equal(q.stats.written, 54);
});

test('over the cap a push is refused whole; what was queued is kept; below the cap input is taken again', () => {
  const pty = new FakePty(0);
  const timers = new FakeTimers();
  const q = new InputQueue(pty.tryWrite, { cap: 64, timers });
  assert.equal(q.push(seq(0, 40)), true);
  assert.equal(q.push(seq(40, 24)), true, 'exactly at the cap is accepted');
  assert.equal(q.push(seq(64, 1)), false, 'one byte over is refused');
  assert.equal(q.push(seq(64, 30)), false);
  assert.deepEqual([q.queued, q.stats.refused, q.stats.refusals], [64, 31, 2]);
  pty.read(20);
  timers.fire();
  assert.equal(q.queued, 44);
  assert.equal(q.push(seq(200, 20)), true, 'room again after the box read');
  pty.read(1000);
  timers.fire();
  assert.deepEqual(pty.bytes, Buffer.concat([seq(0, 64), seq(200, 20)]), 'refused bytes never arrive, the rest in order');
});

test('EAGAIN backs off exponentially to the ceiling, progress resets the delay', () => {
  const pty = new FakePty(0);
  const timers = new FakeTimers();
  const q = new InputQueue(pty.tryWrite, { cap: 1000, timers, retryMinMs: 1, retryMaxMs: 16 });
  q.push(seq(0, 100));
  for (let i = 0; i < 6; i++) timers.fire();
  assert.deepEqual(timers.delays, [2, 4, 8, 16, 16, 16, 16]);
  pty.read(10);
  timers.fire();
  assert.equal(timers.delays.at(-1), 1, 'after progress the next retry is soon');
});

test('at most maxPerAttempt bytes per attempt: a big queue yields to the event loop between attempts', () => {
  const pty = new FakePty(1 << 20);
  const timers = new FakeTimers();
  const q = new InputQueue(pty.tryWrite, { cap: 1 << 20, timers, maxPerAttempt: 1000 });
  q.push(seq(0, 2500));
  assert.equal(q.queued, 1500);
  assert.deepEqual(timers.delays, [0], 'still taking: next attempt on the next turn, no backoff');
  timers.fire();
  timers.fire();
  assert.equal(q.queued, 0);
  assert.deepEqual(pty.bytes, seq(0, 2500));
});

test('a dead fd (EIO) drops the queue, reports once, refuses later input; close() stops every retry', () => {
  const pty = new FakePty(0);
  const timers = new FakeTimers();
  const errors: string[] = [];
  const q = new InputQueue(pty.tryWrite, { cap: 100, timers, onError: (e) => errors.push(e.message) });
  q.push(seq(0, 50));
  pty.fail = new SyscallError('write', 5);
  timers.fire();
  assert.deepEqual(errors, ['write: EIO']);
  assert.equal(q.queued, 0);
  assert.equal(q.isClosed, true);
  assert.equal(q.push(seq(0, 1)), false);
  assert.equal(timers.pending.length, 0);

  const pty2 = new FakePty(0);
  const q2 = new InputQueue(pty2.tryWrite, { cap: 100, timers });
  q2.push(seq(0, 50));
  assert.equal(timers.pending.length, 1);
  const calls = pty2.calls;
  q2.close();
  assert.equal(timers.pending.length, 0, 'the retry timer is cleared');
  timers.fire();
  assert.equal(pty2.calls, calls, 'no write after close (the fd number may be reused)');
  assert.equal(q2.push(seq(0, 1)), false);
});

test('rejects a non-positive cap', () => {
  assert.throws(() => new InputQueue(() => 0, { cap: 0 }), RangeError);
});
