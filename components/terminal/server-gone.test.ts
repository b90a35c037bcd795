// Unit tests: after a server restart or shutdown the page says plainly that the box is gone and offers a new one,
// instead of retrying forever with stale stats (fake socket, clock and fetch).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoxlabClient } from './BoxlabClient';
import { FakeEnv, FakeSink, flush } from './testing/fake-client';
import { GONE } from './client-types';

const limits = { memory: '100M', cpuLimit: '0.5', pids: 64, disk: '64M', lifetimeSec: 1800, idleSec: 600 };
const created = (bootId?: string) => ({
  status: 201,
  body: { sessionId: 's1', token: 'tok_abc', limits, wsPath: '/ws', ...(bootId ? { bootId } : {}) },
});
const hello = { type: 'hello', sessionId: 's1', state: 'running', limits, resumed: false, cgroupVersion: 1 };
const stats = {
  memory: { current: 1, limit: 2, oomKills: 0 },
  cpu: { usageUsec: 1, quotaFraction: 0.5, nrThrottled: 0, throttledUsec: 0 },
  pids: { current: 1, max: 64 },
  cgroupVersion: 1,
};

async function running(bootId?: string) {
  const env = new FakeEnv();
  env.sessionReplies = [created(bootId)];
  const client = new BoxlabClient(new FakeSink(), env.deps());
  client.start();
  await flush();
  env.ws.open();
  env.ws.text(hello);
  env.ws.text({ type: 'stats', stats });
  assert.ok(client.getView().stats);
  return { env, client };
}

/** The socket drops (server killed), the server stays down for `downFor` attempts, then refuses the old token. */
async function dropAndComeBack(env: FakeEnv, client: BoxlabClient, downFor: number) {
  env.healthUp = false;
  env.ws.drop(1006);
  await flush();
  for (let i = 0; i < downFor; i++) {
    assert.equal(client.getView().phase, 'reconnecting');
    env.advance(client.getView().retryAt! - env.t);
    env.ws.drop(1006); // never opened
    await flush();
  }
  env.healthUp = true;
  env.advance(client.getView().retryAt! - env.t);
  env.ws.drop(1006); // the new server answers 401 to the old token
  await flush();
}

test('while the server is down the stats are cleared, not left stale', async () => {
  const { env, client } = await running('boot-1');
  env.healthUp = false;
  env.ws.drop(1006);
  await flush();
  assert.equal(client.getView().phase, 'reconnecting');
  assert.equal(client.getView().stats, null);
});

test('killed server back with a new bootId: "The server restarted; your box is gone", no more retries', async () => {
  const { env, client } = await running('boot-1');
  env.healthBootId = 'boot-2';
  await dropAndComeBack(env, client, 3);
  const v = client.getView();
  assert.equal(v.phase, 'ended');
  assert.equal(v.message, GONE.restarted);
  assert.equal(v.stats, null);
  assert.equal(env.store.size, 0, 'the stale token is forgotten');
  assert.equal(env.timers.size, 0, 'no retry scheduled');
  // Start (the overlay's button) asks for a new session.
  env.sessionReplies = [created('boot-2')];
  client.newSession();
  await flush();
  assert.equal(env.requests.filter((r) => r.method === 'POST').length, 2);
});

test('same server, session refused: the session ended while away (not a restart)', async () => {
  const { env, client } = await running('boot-1');
  env.healthBootId = 'boot-1';
  await dropAndComeBack(env, client, 0);
  assert.equal(client.getView().message, GONE.away);
});

test('a server that sends no bootId: the box is gone, without guessing why', async () => {
  const { env, client } = await running(undefined);
  await dropAndComeBack(env, client, 1);
  assert.equal(client.getView().phase, 'ended');
  assert.equal(client.getView().message, GONE.unknown);
});

test('close 4503 (shutdown): the box is gone at once; when health answers again, "the server restarted"', async () => {
  const { env, client } = await running('boot-1');
  env.healthUp = false;
  env.ws.drop(4503);
  await flush();
  assert.equal(client.getView().phase, 'ended');
  assert.equal(client.getView().message, GONE.shutdown);
  assert.equal(client.getView().stats, null);
  assert.equal(env.sockets.length, 1, 'no reconnect to a session that cannot exist');
  for (let i = 0; i < 3; i++) {
    env.advance(10_000);
    await flush();
  }
  assert.equal(client.getView().message, GONE.shutdown, 'still down');
  env.healthUp = true;
  env.healthBootId = 'boot-2';
  env.advance(10_000);
  await flush();
  assert.equal(client.getView().phase, 'ended');
  assert.equal(client.getView().message, GONE.restarted);
  assert.equal(env.timers.size, 0, 'polling stopped');
});

test('Start during the shutdown wait stops the polling and asks for a session', async () => {
  const { env, client } = await running('boot-1');
  env.healthUp = false;
  env.ws.drop(4503);
  await flush();
  env.sessionReplies = [created('boot-2')];
  client.newSession();
  await flush();
  assert.equal(client.getView().phase, 'creating');
  const healthBefore = env.requests.filter((r) => r.url.endsWith('/api/health')).length;
  env.advance(60_000);
  await flush();
  assert.equal(env.requests.filter((r) => r.url.endsWith('/api/health')).length, healthBefore, 'no more health polls');
});
