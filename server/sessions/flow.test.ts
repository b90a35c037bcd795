// FlowControl and PauseGate: a fake pty floods while a fake client acks slowly; pause/resume happen and memory stays bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowControl, FrameCoalescer, PauseGate } from './flow.ts';
import { FLOW } from '../protocol/messages.ts';

test('pauses above high, resumes only below low, transitions reported once', () => {
  const changes: boolean[] = [];
  const f = new FlowControl((p) => changes.push(p), { highWater: 100, lowWater: 20 });
  f.sent(60);
  f.sent(40);
  assert.equal(f.paused, false, 'exactly high is not above high');
  f.sent(1);
  assert.equal(f.paused, true);
  f.sent(500);
  assert.deepEqual(changes, [true], 'no second pause event');
  f.ack(500);
  assert.equal(f.unacked, 101);
  assert.equal(f.paused, true, '101 is not below low');
  f.ack(81);
  assert.equal(f.paused, true, '20 is not below low');
  f.ack(1);
  assert.equal(f.paused, false);
  assert.deepEqual(changes, [true, false]);
  f.ack(1000);
  assert.equal(f.unacked, 0, 'over-ack clamps at zero');
  assert.deepEqual(f.stats, { pauses: 1, resumes: 1, resyncs: 0, maxUnacked: 601 });
});

test('reset (new client) clears the debt and resumes', () => {
  const changes: boolean[] = [];
  const f = new FlowControl((p) => changes.push(p), { highWater: 10, lowWater: 5 });
  f.sent(50);
  f.reset();
  assert.equal(f.unacked, 0);
  assert.deepEqual(changes, [true, false]);
  f.reset();
  assert.deepEqual(changes, [true, false], 'reset while running changes nothing');
});

test('resync after resyncMs without acks; an ack while paused postpones it', () => {
  let now = 0;
  const changes: boolean[] = [];
  const f = new FlowControl((p) => changes.push(p), { highWater: 10, lowWater: 5, resyncMs: 5000, now: () => now });
  assert.equal(f.check(), null, 'nothing to do while running');
  f.sent(100);
  now = 3000;
  assert.equal(f.check(), 2000);
  f.ack(10); // progress, still above low
  now = 7000;
  assert.equal(f.check(), 1000, 'the ack at 3000 moved the deadline to 8000');
  now = 8000;
  assert.equal(f.check(), null);
  assert.equal(f.paused, false);
  assert.equal(f.unacked, 0);
  assert.equal(f.stats.resyncs, 1);
  assert.deepEqual(changes, [true, false]);
  assert.throws(() => new FlowControl(() => {}, { highWater: 10, lowWater: 10 }), /low/);
});

test('PauseGate: the target is paused while any holder wants it, retarget re-applies the hold', () => {
  const calls: string[] = [];
  const a = { pause: () => calls.push('a.pause'), resume: () => calls.push('a.resume') };
  const b = { pause: () => calls.push('b.pause'), resume: () => calls.push('b.resume') };
  const g = new PauseGate(a);
  g.set('socket', true);
  g.set('mirror', true);
  g.set('socket', false);
  assert.deepEqual(calls, ['a.pause']);
  g.retarget(b);
  assert.deepEqual(calls, ['a.pause', 'b.pause']);
  g.set('mirror', false);
  assert.deepEqual(calls, ['a.pause', 'b.pause', 'b.resume']);
  g.set('mirror', false);
  assert.equal(calls.length, 3);
});

test('flood with a slow acking client: pause/resume cycle, client backlog bounded by high + one batch', async () => {
  const CHUNK = 16 * 1024;
  const TOTAL = 8 * 1024 * 1024;
  const pty = { paused: false, produced: 0, pauses: 0, resumes: 0 };
  const flow = new FlowControl((p) => {
    pty.paused = p;
    if (p) pty.pauses++;
    else pty.resumes++;
  });
  // The client parses 4 KiB per timer tick (far slower than the pty) and acks every ACK_EVERY parsed bytes.
  let backlog = 0;
  let maxBacklog = 0;
  let parsedSinceAck = 0;
  let consumed = 0;
  const clientTick = setInterval(() => {
    for (let i = 0; i < 16 && backlog > 0; i++) {
      const n = Math.min(4096, backlog);
      backlog -= n;
      consumed += n;
      parsedSinceAck += n;
      if (parsedSinceAck >= FLOW.ackEvery) {
        flow.ack(parsedSinceAck);
        parsedSinceAck = 0;
      }
    }
  }, 1);
  try {
    await new Promise<void>((done) => {
      const step = (): void => {
        if (pty.produced >= TOTAL) return done();
        if (!pty.paused) {
          pty.produced += CHUNK;
          backlog += CHUNK;
          flow.sent(CHUNK);
          maxBacklog = Math.max(maxBacklog, backlog);
        }
        setImmediate(step);
      };
      step();
    });
  } finally {
    clearInterval(clientTick);
  }
  assert.ok(pty.pauses >= 10, `expected many pauses, got ${pty.pauses}`);
  assert.ok(pty.resumes >= pty.pauses - 1, `resumes ${pty.resumes} follow pauses ${pty.pauses}`);
  assert.ok(maxBacklog <= FLOW.highWater + CHUNK, `client backlog peaked at ${maxBacklog}`);
  assert.ok(flow.stats.maxUnacked <= FLOW.highWater + CHUNK, `unacked peaked at ${flow.stats.maxUnacked}`);
  assert.ok(consumed > TOTAL / 2, 'the client made progress');
});

const turn = () => new Promise<void>((r) => setImmediate(r));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

test('FrameCoalescer: output after a quiet spell goes out at the end of the turn, in one frame', async () => {
  const frames: Buffer[] = [];
  const c = new FrameCoalescer((b) => frames.push(b), { streamMs: 50 });
  c.push(Buffer.from('e'));
  c.push(Buffer.from('cho'));
  assert.equal(frames.length, 0);
  await turn();
  assert.deepEqual(frames.map(String), ['echo'], 'no timer: an echo is never held back');
  await sleep(60);
  c.push(Buffer.alloc(2000, 1)); // quiet again: immediate, even though big
  await turn();
  assert.equal(frames.length, 2);
});

test('FrameCoalescer: a stream (big frame moments ago) is batched for streamMs, or until maxFrame', async () => {
  let t = 0;
  const frames: Buffer[] = [];
  const c = new FrameCoalescer((b) => frames.push(b), { streamMs: 30, streamMinBytes: 1024, maxFrame: 10_000, now: () => t });
  c.push(Buffer.alloc(4095));
  await turn();
  assert.equal(frames.length, 1);
  t = 1;
  c.push(Buffer.alloc(4095)); // streaming: waits for the timer
  await turn();
  c.push(Buffer.alloc(4095));
  await turn();
  assert.equal(frames.length, 1, 'held while streaming');
  c.push(Buffer.alloc(4095)); // 12,285 queued >= maxFrame: sent at once
  assert.equal(frames.length, 2);
  assert.equal(frames[1]?.length, 3 * 4095);
  t = 2;
  c.push(Buffer.alloc(100));
  await sleep(45);
  assert.equal(frames.length, 3, 'the timer sends the rest');
  assert.deepEqual(c.stats, { frames: 3, bytes: 4 * 4095 + 100, streamed: 2 });
  t = 100;
  c.push(Buffer.from('x')); // quiet for longer than streamMs: back to end-of-turn
  await turn();
  assert.equal(frames.length, 4);
});

test('FrameCoalescer: small frames never start streaming; flush() sends now; dispose() drops and cancels', async () => {
  let t = 0;
  const frames: Buffer[] = [];
  const c = new FrameCoalescer((b) => frames.push(b), { streamMs: 30, streamMinBytes: 1024, now: () => t });
  for (let i = 0; i < 5; i++) {
    c.push(Buffer.from('k'));
    await turn();
    t += 1;
  }
  assert.equal(frames.length, 5, 'keystroke echoes back to back: one frame each, no timer');
  c.push(Buffer.alloc(2000));
  c.flush();
  assert.equal(frames.length, 6, 'flush before a control message keeps the order');
  c.push(Buffer.from('late'));
  c.dispose();
  await sleep(40);
  assert.equal(frames.length, 6);
  assert.equal(c.pending, 0);
});
