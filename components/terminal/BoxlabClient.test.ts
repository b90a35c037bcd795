// Unit tests of BoxlabClient against a fake WebSocket, clock and fetch: session life, acks, resume, reconnect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoxlabClient } from './BoxlabClient';
import { FakeEnv, FakeSink, flush } from './testing/fake-client';
import type { StageEvent } from './protocol';

const limits = { memory: '100M', cpuLimit: '0.5', pids: 64, disk: '64M', lifetimeSec: 1800, idleSec: 600 };
const created = { status: 201, body: { sessionId: 's1', token: 'tok_abc', limits, wsPath: '/ws' } };
const hello = (resumed = false, state = 'running') => ({ type: 'hello', sessionId: 's1', state, limits, resumed, cgroupVersion: 1 });
const stage = (name: string, ok = true): StageEvent => ({
  type: 'stage',
  stage: name as StageEvent['stage'],
  role: 'outer',
  hostPid: 10,
  boxPid: null,
  t: 1,
  durationMs: 0.4,
  ok,
});

async function started(env = new FakeEnv()) {
  env.sessionReplies = [created];
  const sink = new FakeSink();
  const client = new BoxlabClient(sink, env.deps());
  client.start();
  await flush();
  env.ws.open();
  return { env, sink, client };
}

test('start POSTs a session, stores it and opens /ws with the token subprotocol', async () => {
  const { env, client } = await started();
  assert.deepEqual(env.requests[0], { url: 'http://box.test:3000/api/session', method: 'POST' });
  assert.equal(env.ws.url, 'ws://box.test:3000/ws');
  assert.deepEqual(env.ws.protocols, ['boxlab.v1', 'boxlab.token.tok_abc']);
  assert.equal(env.ws.binaryType, 'arraybuffer');
  assert.match([...env.store.values()][0] ?? '', /tok_abc/);
  assert.equal(client.getView().phase, 'creating');
  env.ws.text(hello());
  assert.equal(client.getView().phase, 'running');
  assert.equal(client.getView().limits?.memory, '100M');
});

test('resize before hello is sent after hello; same size is not resent', async () => {
  const { env, client } = await started();
  client.resize(30, 100);
  assert.equal(env.ws.json().length, 0);
  env.ws.text(hello());
  client.resize(30, 100);
  client.resize(31, 100);
  const resizes = env.ws.json().filter((m) => m.type === 'resize');
  assert.deepEqual(resizes, [
    { type: 'resize', rows: 30, cols: 100 },
    { type: 'resize', rows: 31, cols: 100 },
  ]);
});

test('acks only what xterm parsed, in steps of at least 32 KiB', async () => {
  const { env, sink, client } = await started();
  env.ws.text(hello());
  for (let i = 0; i < 5; i++) env.ws.binary(new Uint8Array(10_000));
  assert.equal(env.ws.json().filter((m) => m.type === 'ack').length, 0, 'nothing parsed yet, nothing acked');
  sink.parseAll();
  const acks = env.ws.json().filter((m) => m.type === 'ack');
  assert.deepEqual(acks, [{ type: 'ack', bytes: 40_000 }]);
  assert.equal(client.metrics.bytesIn, 50_000);
});

test('parse callbacks of a previous socket do not ack on the new one', async () => {
  const { env, sink } = await started();
  env.ws.text(hello());
  env.ws.binary(new Uint8Array(40_000));
  env.ws.drop(1006);
  await flush();
  env.advance(10_000);
  const second = env.ws;
  assert.notEqual(second, env.sockets[0]);
  second.open();
  second.text(hello(true));
  sink.parseAll();
  assert.equal(second.json().filter((m) => m.type === 'ack').length, 0);
});

test('keystrokes go out as binary frames of at most 16 KiB, and are dropped while disconnected', async () => {
  const { env, client } = await started();
  env.ws.text(hello());
  assert.equal(client.input('ls\r'), true);
  assert.deepEqual([...(env.ws.frames()[0] ?? [])], [...Buffer.from('ls\r')]);
  client.input('x'.repeat(40_000));
  assert.deepEqual(
    env.ws
      .frames()
      .slice(1)
      .map((f) => f.length),
    [16_384, 16_384, 7_232],
  );
  env.ws.drop(1006);
  await flush();
  assert.equal(client.input('y'), false);
});

test('503 full shows a countdown and retries after retryAfterSec', async () => {
  const env = new FakeEnv();
  env.sessionReplies = [{ status: 503, body: { error: 'full', retryAfterSec: 7 } }, created];
  const client = new BoxlabClient(new FakeSink(), env.deps());
  client.start();
  await flush();
  const v = client.getView();
  assert.equal(v.phase, 'full');
  assert.equal(v.retryAt, env.t + 7000);
  assert.equal(env.sockets.length, 0);
  env.advance(6_999);
  assert.equal(env.requests.length, 1);
  env.advance(1);
  await flush();
  assert.equal(env.requests.length, 2);
  assert.equal(env.sockets.length, 1);
});

test('a reload resumes the stored session: no POST, snapshot written before live bytes', async () => {
  const { env } = await started();
  env.ws.text(hello());
  const sink2 = new FakeSink();
  const reloaded = new BoxlabClient(sink2, env.deps());
  assert.equal(reloaded.resume(), true);
  assert.equal(env.requests.length, 1, 'no second POST');
  assert.equal(reloaded.getView().phase, 'connecting');
  const ws = env.ws;
  assert.deepEqual(ws.protocols, ['boxlab.v1', 'boxlab.token.tok_abc']);
  ws.open();
  ws.text(hello(true));
  ws.text({ type: 'stage', event: stage('prepare_state') });
  ws.text({ type: 'stage', event: stage('cgroup_create') });
  ws.text({ type: 'snapshot', data: '$ echo hi\r\nhi\r\n$ ', rows: 24, cols: 80 });
  ws.binary(new TextEncoder().encode('live'));
  assert.deepEqual(
    sink2.log.map((x) => (typeof x === 'string' ? x : new TextDecoder().decode(x))),
    ['RESET', '$ echo hi\r\nhi\r\n$ ', 'live'],
  );
  assert.equal(reloaded.getView().stages.length, 2);
  assert.equal(reloaded.getView().resumed, true);
});

test('503 host_memory keeps its reason and message (the page names the memory limit; its own countdown replaces the static retry sentence), then retries', async () => {
  const env = new FakeEnv();
  const message = 'This server has no memory to back another 256 MiB box: boxes already hold 768 MiB of 1000 MiB the host can back.';
  const retry = 'Try again in 5 s, when a box is due to end.';
  env.sessionReplies = [{ status: 503, body: { error: 'host_memory', message: `${message} ${retry}`, retry, retryAfterSec: 5 } }, created];
  const client = new BoxlabClient(new FakeSink(), env.deps());
  client.start();
  await flush();
  const v = client.getView();
  assert.deepEqual([v.phase, v.refusal, v.message, v.retryAt], ['full', 'host_memory', message, env.t + 5000]);
  env.advance(5000);
  await flush();
  assert.equal(env.sockets.length, 1);
  assert.equal(client.getView().refusal, null, 'a new attempt forgets the refusal');
});

test('stages are replaced on hello (full replay) and restart at prepare_state', async () => {
  const { env, client } = await started();
  env.ws.text(hello());
  for (const s of ['prepare_state', 'cgroup_create', 'fork1']) env.ws.text({ type: 'stage', event: stage(s) });
  assert.equal(client.getView().stages.length, 3);
  env.ws.text({ type: 'stage', event: stage('prepare_state') });
  assert.deepEqual(
    client.getView().stages.map((s) => s.stage),
    ['prepare_state'],
  );
  env.ws.text(hello(true));
  assert.equal(client.getView().stages.length, 0);
});

test('the stages of a pooled box arrive in one message: a series of their own from prepare_state, else appended', async () => {
  const { env, client } = await started();
  env.ws.text(hello());
  env.ws.text({ type: 'stage', event: stage('fork1') });
  env.ws.text({ type: 'stages', events: ['prepare_state', 'cgroup_create', 'running'].map((s) => stage(s)) });
  assert.deepEqual(
    client.getView().stages.map((s) => s.stage),
    ['prepare_state', 'cgroup_create', 'running'],
  );
  env.ws.text({ type: 'stages', events: [stage('exec')] });
  assert.deepEqual(
    client.getView().stages.map((s) => s.stage),
    ['prepare_state', 'cgroup_create', 'running', 'exec'],
  );
});

test('a dropped socket reconnects with growing backoff; hello resets the attempt count', async () => {
  const { env, client } = await started();
  env.ws.text(hello());
  env.ws.drop(1006);
  await flush();
  let v = client.getView();
  assert.equal(v.phase, 'reconnecting');
  assert.equal(v.attempt, 1);
  assert.equal(v.retryAt, env.t + 250);
  env.advance(250);
  assert.equal(env.sockets.length, 2);
  env.healthUp = false; // server down: keep trying instead of declaring the session gone
  env.ws.drop(1006);
  await flush();
  v = client.getView();
  assert.equal(v.phase, 'reconnecting');
  assert.equal(v.retryAt, env.t + 500);
  env.advance(500);
  env.ws.open();
  env.ws.text(hello(true));
  assert.equal(client.getView().attempt, 0);
  assert.equal(client.getView().phase, 'running');
});

test('upgrade refused while the server is up means the session is gone: storage cleared', async () => {
  const { env, client } = await started();
  env.ws.text(hello());
  env.ws.drop(1006);
  await flush();
  env.advance(250);
  env.ws.drop(1006); // never opened, health answers
  await flush();
  assert.equal(client.getView().phase, 'ended');
  assert.equal(env.store.size, 0);
  assert.equal(env.timers.size, 0, 'no retry scheduled');
});

test('close 4001 stops in "replaced" until takeOver; 4404 and 4408 end the session', async () => {
  const { env, client } = await started();
  env.ws.text(hello());
  env.ws.drop(4001);
  await flush();
  assert.equal(client.getView().phase, 'replaced');
  assert.equal(env.timers.size, 0);
  client.takeOver();
  assert.equal(env.sockets.length, 2);
  env.ws.open();
  env.ws.text(hello(true));
  env.ws.drop(4408);
  await flush();
  assert.equal(client.getView().phase, 'ended');
  assert.match(client.getView().message ?? '', /idle/);
  assert.equal(env.store.size, 0);
});

test('reset and restart send their message, clear the screen and the stages; exit shows the status', async () => {
  const { env, sink, client } = await started();
  env.ws.text(hello());
  env.ws.text({ type: 'stage', event: stage('prepare_state') });
  client.reset();
  assert.deepEqual(env.ws.json().at(-1), { type: 'reset' });
  assert.equal(sink.log.at(-1), 'RESET');
  assert.equal(client.getView().stages.length, 0);
  assert.equal(client.getView().phase, 'creating');
  env.ws.text({ type: 'state', state: 'running' });
  env.ws.text({ type: 'exit', code: 3, signal: null, status: 3 });
  assert.equal(client.getView().phase, 'exited');
  assert.equal(client.getView().exit?.status, 3);
  client.restart();
  assert.deepEqual(env.ws.json().at(-1), { type: 'restart' });
  assert.equal(client.getView().exit, null);
});

test('pings measure latency; unknown and malformed text frames are ignored', async () => {
  const { env, client } = await started();
  env.ws.text(hello());
  assert.equal(env.ws.json().filter((m) => m.type === 'ping').length, 0, 'no ping while the page settles');
  env.advance(1000);
  const ping = env.ws.json().find((m) => m.type === 'ping');
  assert.ok(ping);
  env.t += 12;
  env.ws.text({ type: 'pong', t: ping.t });
  assert.equal(client.getView().latencyMs, 12);
  env.ws.onmessage?.({ data: '{not json' });
  env.ws.text({ type: 'mystery' });
  assert.equal(client.getView().phase, 'running');
});

test('dispose closes the socket and stops every timer', async () => {
  const { env, client } = await started();
  env.ws.text(hello());
  client.dispose();
  assert.equal(env.sockets[0]?.closedWith, 1000);
  assert.equal(env.timers.size, 0);
  assert.equal(env.store.size, 1, 'dispose keeps the session for the next page load');
});

test('with scheduleRender, a burst of control messages (new phases too) notifies listeners once per frame; getView is always current', async () => {
  const env = new FakeEnv();
  env.sessionReplies = [created];
  const frames: (() => void)[] = [];
  const client = new BoxlabClient(new FakeSink(), { ...env.deps(), scheduleRender: (fn) => void frames.push(fn) });
  let notified = 0;
  client.subscribe(() => notified++);
  client.start();
  assert.equal(notified, 0, 'idle → creating: told in the frame, not inside the click');
  assert.equal(client.getView().phase, 'creating');
  frames.shift()!();
  assert.equal(notified, 1);
  await flush();
  env.ws.open();
  env.ws.text(hello(false, 'creating'));
  for (const s of ['prepare_state', 'fork1', 'cgroup_create', 'running']) env.ws.text({ type: 'stage', event: stage(s) });
  assert.equal(client.getView().stages.length, 4, 'the view itself is never stale');
  assert.equal(notified, 1, 'stage events wait for the frame');
  assert.equal(frames.length, 1, 'one frame asked for the whole burst');
  env.ws.text({ type: 'state', state: 'running' });
  assert.equal(notified, 1, 'creating → running: in the same frame, not inside the message task');
  assert.equal(client.getView().phase, 'running');
  assert.equal(frames.length, 1, 'still one frame for the burst and the new phase');
  frames.shift()!();
  assert.equal(notified, 2, 'the frame tells the burst and the new phase once');
  env.ws.text({ type: 'pong', t: env.t });
  assert.equal(frames.length, 1, 'the next change asks for a new frame');
  frames.shift()!();
  assert.equal(notified, 3);
  env.ws.text({ type: 'pong', t: env.t });
  client.dispose();
  frames.shift()!();
  assert.equal(notified, 3, 'nothing after dispose');
});

test('createOverSocket: Start asks the socket for the session (no POST), keeps `created` for the reconnect', async () => {
  const env = new FakeEnv();
  const token = 'T'.repeat(43);
  const client = new BoxlabClient(new FakeSink(), { ...env.deps(), createOverSocket: () => true });
  client.start();
  await flush();
  assert.equal(env.requests.length, 0, 'no POST before the socket');
  assert.equal(env.ws.url, 'ws://box.test:3000/ws');
  assert.deepEqual(env.ws.protocols, ['boxlab.v1', 'boxlab.new']);
  env.ws.open();
  env.ws.text({ type: 'created', sessionId: 's1', token, limits, wsPath: '/ws', bootId: 'b1' });
  assert.match([...env.store.values()][0] ?? '', new RegExp(token));
  env.ws.text(hello());
  assert.equal(client.getView().phase, 'running');
  env.ws.drop(1006);
  await flush();
  env.advance(60_000);
  await flush();
  assert.deepEqual(env.ws.protocols, ['boxlab.v1', `boxlab.token.${token}`], 'the reconnect carries the token');
  assert.equal(env.requests.filter((r) => r.method === 'POST').length, 0);
});

test('createOverSocket: a refused upgrade falls back to the POST, which makes the session or says why', async () => {
  const env = new FakeEnv();
  env.sessionReplies = [created];
  const client = new BoxlabClient(new FakeSink(), { ...env.deps(), createOverSocket: () => true });
  client.start();
  await flush();
  assert.deepEqual(env.ws.protocols, ['boxlab.v1', 'boxlab.new']);
  env.ws.drop(1006); // the upgrade answered 503: the page sees a close before open
  await flush();
  assert.deepEqual(env.requests[0], { url: 'http://box.test:3000/api/session', method: 'POST' });
  assert.equal(env.sockets.length, 2);
  assert.deepEqual(env.ws.protocols, ['boxlab.v1', 'boxlab.token.tok_abc']);
  env.ws.open();
  env.ws.text(hello());
  assert.equal(client.getView().phase, 'running');
});
