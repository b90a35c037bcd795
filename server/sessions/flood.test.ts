// Flow control end to end over loopback: a flooding FakeSandbox, a client that acks slowly or not at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FLOW } from '../protocol/messages.ts';
import { TestClient, newSession, start } from '../root/testing/test-client.ts';

const CHUNK = 16 * 1024; // the fake's batch per turn, like one engine read batch
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function flooding(t: Parameters<typeof start>[0], extra: Parameters<typeof start>[2] = {}) {
  const { url, fake, srv } = await start(t, {}, { fake: { chunkSize: CHUNK }, ...extra });
  const { token, sessionId } = await newSession(url);
  const c = new TestClient(url, token);
  await c.opened();
  await c.waitText(/\$ $/);
  const session = srv.manager.get(sessionId)!;
  c.type('yes\r');
  return { c, fake, session, sb: fake.made[0]! };
}

test('no acks: the pty is paused near the high watermark and keystrokes still get through', async (t) => {
  const { c, sb, session } = await flooding(t);
  await c.until(() => sb.paused, 3000, 'pause');
  await sleep(300);
  assert.equal(sb.pauseCalls, 1);
  assert.ok(c.received <= FLOW.highWater + CHUNK, `client got ${c.received} bytes unacked`);
  assert.ok(sb.emitted <= FLOW.highWater + 2 * CHUNK, `pty emitted ${sb.emitted}`);
  assert.ok(session.socketFlow.unacked <= FLOW.highWater + CHUNK);
  const before = sb.input.length;
  c.type('\x03'); // Ctrl-C is a keystroke: never held back by flow control
  await c.until(() => sb.input.length === before + 1, 500, 'keystroke while paused');
  c.ack();
  await c.waitText(/\^C\r\n\$ $/);
  assert.ok(sb.resumeCalls >= 1);
});

test('slow acks: repeated pause/resume cycles, server-side buffering stays bounded, Ctrl-C stops it fast', async (t) => {
  const { c, sb, session } = await flooding(t);
  // A client parsing ~2 MB/s: it acks 32 KiB every 16 ms.
  let acked = 0;
  const timer = setInterval(() => {
    const pending = c.received - acked;
    if (pending >= FLOW.ackEvery) {
      c.control({ type: 'ack', bytes: FLOW.ackEvery });
      acked += FLOW.ackEvery;
    }
  }, 16);
  t.after(() => clearInterval(timer));
  const heap0 = process.memoryUsage().heapUsed;
  // Bounded by bytes, not by wall time: a loaded CI machine changes the rate, not the pause/resume pattern.
  const t0flood = performance.now();
  await c.until(() => acked >= 8 * FLOW.highWater, 15_000, 'client acked 8 high watermarks');
  const heap1 = process.memoryUsage().heapUsed;
  clearInterval(timer);
  const secs = (performance.now() - t0flood) / 1000;
  const rate = c.received / secs / 1e6;
  t.diagnostic(
    `received ${c.received} B in ${secs.toFixed(2)} s (${rate.toFixed(2)} MB/s); pauses ${sb.pauseCalls}, resumes ${sb.resumeCalls}; ` +
      `max unacked ${session.socketFlow.stats.maxUnacked}; max mirror backlog ${session.mirrorFlow.stats.maxUnacked}; heap +${((heap1 - heap0) / 1e6).toFixed(1)} MB`,
  );
  assert.ok(sb.pauseCalls >= 5, `pauses ${sb.pauseCalls}`);
  assert.ok(sb.resumeCalls >= 4, `resumes ${sb.resumeCalls}`);
  assert.ok(session.socketFlow.stats.maxUnacked <= FLOW.highWater + CHUNK, `max unacked ${session.socketFlow.stats.maxUnacked}`);
  assert.ok(session.mirrorFlow.stats.maxUnacked <= FLOW.highWater + CHUNK, `mirror backlog ${session.mirrorFlow.stats.maxUnacked}`);
  assert.ok(sb.emitted - c.received <= FLOW.highWater + CHUNK, 'nothing piles up between pty and socket');
  c.autoAck = FLOW.ackEvery;
  c.ack();
  const t0 = performance.now();
  c.type('\x03');
  await c.waitText(/\^C\r\n\$ $/, 3000);
  const stopMs = performance.now() - t0;
  t.diagnostic(`Ctrl-C to prompt: ${stopMs.toFixed(1)} ms`);
  assert.ok(stopMs < 500, `Ctrl-C took ${stopMs} ms`);
  c.type('echo ok\r');
  await c.waitText(/\r\nok\r\n\$ $/);
});

test('lost acks: resync resumes the pty after resyncMs without any ack', async (t) => {
  const { c, sb, session } = await flooding(t, { flow: { resyncMs: 300 } });
  await c.until(() => sb.paused, 3000, 'pause');
  const pausedAt = performance.now();
  await c.until(() => sb.resumeCalls >= 1, 2000, 'resync');
  const waited = performance.now() - pausedAt;
  assert.ok(waited >= 250 && waited < 1000, `resynced after ${waited.toFixed(0)} ms`);
  assert.equal(session.socketFlow.stats.resyncs, 1);
  await c.until(() => sb.pauseCalls >= 2, 3000, 'paused again after resync');
  c.type('\x03');
  c.autoAck = FLOW.ackEvery;
  c.ack();
  await c.waitText(/\^C\r\n\$ $/);
});

test('detached session: a flood with nobody attached is held by the mirror, not buffered without bound', async (t) => {
  const { c, sb, session } = await flooding(t);
  await c.until(() => c.received > 100_000);
  c.ack();
  await c.close();
  await sleep(300);
  const emitted = sb.emitted;
  await sleep(200);
  t.diagnostic(`mirror backlog peak ${session.mirrorFlow.stats.maxUnacked}, pty emitted ${sb.emitted - emitted} B in 200 ms detached`);
  assert.ok(session.mirrorFlow.stats.maxUnacked <= FLOW.highWater + CHUNK);
  assert.ok(session.mirror.pending <= FLOW.highWater + CHUNK);
  assert.equal(session.socketFlow.unacked, 0, 'nothing owed by a departed client');
});
