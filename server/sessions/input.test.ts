// Input flow end to end over loopback with the FakeSandbox (the engine's InputQueue in front of a fake pty):
// a box that does not read gets its queue filled to the cap, the rest refused with one notice; a box that reads
// slowly gets every byte, in order, through socket holds; the socket is never held for a box that stopped reading.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClient, newSession, start } from '../root/testing/test-client.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FRAME = 4096;
/** Numbered 64-byte lines (no CR: the fake shell would run them), so order and gaps are visible. */
function paste(bytes: number): Buffer {
  const b = Buffer.alloc(bytes, '../web');
  for (let i = 0, n = 0; i + 64 <= bytes; i += 64, n++) b.write(`${String(n).padStart(10, '0')}`, i);
  return b;
}
function send(c: TestClient, data: Buffer): void {
  for (let i = 0; i < data.length; i += FRAME) c.ws.send(data.subarray(i, i + FRAME), { binary: true });
}

async function shell(t: Parameters<typeof start>[0], cap: number, stallMs: number) {
  const { url, fake, srv } = await start(t, { inputQueueBytes: cap }, { input: { stallMs } });
  const { token, sessionId } = await newSession(url);
  const c = new TestClient(url, token);
  c.autoAck = 32 * 1024;
  await c.opened();
  await c.waitText(/\$ $/);
  return { c, sb: fake.made[0]!, session: srv.manager.get(sessionId)! };
}

test('a box that does not read: queue fills to the cap, the rest is refused with one notice; it drains in order when the box reads', async (t) => {
  const cap = 128 * 1024;
  const { c, sb, session } = await shell(t, cap, 100);
  c.type('sleep\r');
  await c.until(() => !sb.reading, 2000, 'sleep');
  const before = Buffer.concat(sb.input).length;
  const data = paste(512 * 1024);
  send(c, data);
  await c.waitMessage('error', (m) => m.code === 'input_refused', 3000);
  await c.until(() => session.inputFlow.stats.refusedBytes === data.length - cap, 3000, 'every frame over the cap refused');
  assert.equal(sb.inputQueued, cap);
  assert.equal(c.of('error').filter((m) => m.code === 'input_refused').length, 1, 'one notice per episode');
  await c.waitText(/\[boxlab\] input refused: the box is not reading its terminal/);
  assert.ok(session.inputFlow.stats.stalls >= 1, 'the hold ended for lack of progress');
  assert.equal(session.inputFlow.isHeld, false);
  // The socket is not held: control messages get answered.
  c.control({ type: 'ping', t: 42 });
  await c.waitMessage('pong', (m) => m.t === 42, 1000);

  sb.setReading(true);
  await c.waitMessage('error', (m) => m.code === 'input_resumed', 3000);
  await c.waitText(/reads its terminal again; 393216 bytes of input were dropped/);
  const got = Buffer.concat(sb.input).subarray(before);
  assert.equal(got.length, cap);
  assert.ok(got.equals(data.subarray(0, cap)), 'the queued input arrived complete and in order');
  // Input is taken again.
  c.type('\r');
  c.type('echo back\r');
  await c.waitText(/back\r\n\$ $/);
});

test('a box that reads slowly gets a paste 8x the cap complete, in order, through socket holds, without refusal', async (t) => {
  const cap = 128 * 1024;
  const { c, sb, session } = await shell(t, cap, 1000);
  // The "box" reads in bursts: 30 ms stopped, then 10 ms of reading (the fake pty has no kernel buffer to fill
  // while stopped, so a shorter window mostly measures how the queue's retry timer, up to 50 ms, meets it).
  let stop = false;
  void (async () => {
    while (!stop) {
      sb.setReading(false);
      await sleep(30);
      sb.setReading(true);
      await sleep(10);
    }
  })();
  t.after(() => (stop = true));
  const before = Buffer.concat(sb.input).length;
  const data = paste(1024 * 1024);
  send(c, data);
  await c.until(() => sb.input.reduce((n, b) => n + b.length, 0) - before >= data.length, 30_000, 'every byte');
  stop = true;
  sb.setReading(true);
  const got = Buffer.concat(sb.input).subarray(before);
  assert.ok(got.equals(data), 'complete and in order');
  assert.equal(session.inputFlow.stats.refusedBytes, 0);
  assert.equal(c.of('error').length, 0);
  assert.ok(session.inputFlow.stats.holds >= 1, `held ${session.inputFlow.stats.holds} times`);
  assert.ok(sb.inputStats.refused === 0);
  t.diagnostic(
    `holds ${session.inputFlow.stats.holds}, stalls ${session.inputFlow.stats.stalls}, max queued ${(sb.inputStats as { maxQueued?: number }).maxQueued}`,
  );
});

test('while the socket is held for a paste, output does not wait for acks (they queue behind it); after the hold it does again', async (t) => {
  const { url, fake, srv } = await start(t, { inputQueueBytes: 128 * 1024 }, { input: { stallMs: 5000 }, fake: { chunkSize: 16 * 1024 } });
  const { token, sessionId } = await newSession(url);
  const c = new TestClient(url, token); // never acks
  await c.opened();
  await c.waitText(/\$ $/);
  const sb = fake.made[0]!;
  const session = srv.manager.get(sessionId)!;
  c.type('yes\r');
  await c.until(() => sb.paused, 3000, 'output paused without acks');
  sb.setReading(false);
  send(c, paste(512 * 1024));
  await c.until(() => session.inputFlow.isHeld, 3000, 'hold');
  await c.until(() => !sb.paused && session.socketFlow.unacked > 2 * 256 * 1024, 3000, 'output flowing past the high watermark while held');
  sb.setReading(true);
  await c.until(() => !session.inputFlow.isHeld, 5000, 'hold released when the queue drained');
  await c.until(() => sb.paused, 3000, 'output paused again for want of acks');
  c.type('\x03');
});
