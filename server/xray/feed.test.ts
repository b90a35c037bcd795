// The x-ray over the real WebSocket (FakeSandbox): subscribe, full then diffs, unsubscribe stops, bad views refused, reattach resets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClient, newSession, start } from '../root/testing/test-client.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('subscribe over the socket: a full x-ray arrives; [] stops the sampler; a new socket must subscribe again', async (t) => {
  const { url, srv } = await start(t);
  const { token, sessionId } = await newSession(url);
  const a = new TestClient(url, token);
  await a.opened();
  await a.until(() => a.of('state').some((m) => m.state === 'running'), 3000, 'running');
  const session = srv.manager.get(sessionId)!;
  assert.equal(session.xray.active, false, 'no sampler before a view is opened');
  a.control({ type: 'xray', views: ['ns', 'cgroup', 'procs'] });
  const first = await a.waitMessage('xray');
  assert.equal(first.full, true);
  assert.equal(first.ns!.length >= 7, true, 'host side of every namespace kind');
  assert.ok(first.stats, 'cgroup stats of the (fake) sandbox');
  assert.deepEqual(first.procs!.set, [], 'the fake sandbox has no real PID 1 to read');
  assert.equal(session.xray.active, true);
  a.control({ type: 'xray', views: [] });
  await a.until(() => !session.xray.active, 1000, 'sampler stopped');
  const count = a.of('xray').length;
  await sleep(400);
  assert.equal(a.of('xray').length, count, 'nothing after unsubscribing');

  a.control({ type: 'xray', views: ['ns'] });
  await a.until(() => a.of('xray').length > count);
  await a.close();
  await a.until(() => !session.xray.active, 1000, 'detach stops the sampler');
  const b = new TestClient(url, token);
  await b.opened();
  await sleep(300);
  assert.equal(b.of('xray').length, 0, 'the new socket has not subscribed yet');
  b.control({ type: 'xray', views: ['ns'] });
  assert.equal((await b.waitMessage('xray')).full, true);
  await b.close();
});

test('bad subscriptions are bad_message (unknown view, extra keys, too many views)', async (t) => {
  const { url } = await start(t);
  const { token } = await newSession(url);
  const c = new TestClient(url, token);
  await c.opened();
  c.control({ type: 'xray', views: ['secrets'] });
  c.control({ type: 'xray', views: ['ns'], follow: true });
  c.control({ type: 'xray', views: ['ns', 'ns', 'ns', 'ns', 'ns', 'ns'] });
  c.control({ type: 'xray' });
  await c.until(() => c.of('error').length === 4);
  assert.ok(c.of('error').every((e) => e.code === 'bad_message'));
  assert.equal(c.of('xray').length, 0);
  await c.close();
});
