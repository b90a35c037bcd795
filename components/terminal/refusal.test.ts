// The page tells the limits apart: a refused box carries which limit (reason) and the server's words into the view.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoxlabClient } from './BoxlabClient';
import { FakeEnv, FakeSink, flush } from './testing/fake-client';

async function refusedWith(status: number, body: Record<string, unknown>) {
  const env = new FakeEnv();
  env.sessionReplies = [{ status, body }];
  const client = new BoxlabClient(new FakeSink(), env.deps());
  client.start();
  await flush();
  return { env, view: client.getView() };
}

test("per-address refusal: phase full, reason client_full, the server's words, retry at retryAfterSec", async () => {
  const message = 'This network address already has 3 playground sandboxes, the most one address may have.';
  const { env, view } = await refusedWith(503, { error: 'full', reason: 'client_full', message, retryAfterSec: 1791, limit: 3 });
  assert.equal(view.phase, 'full');
  assert.equal(view.refusal, 'client_full');
  assert.equal(view.message, message);
  assert.equal(view.retryAt, env.t + 1_791_000);
});

test('a full server without a reason (older server) reads as server_full with the old words', async () => {
  const { view } = await refusedWith(503, { error: 'full', retryAfterSec: 5 });
  assert.equal(view.refusal, 'server_full');
  assert.equal(view.message, 'Every sandbox is in use.');
});

test('learner_has_box (409) and join_rate (429) are refusals with a countdown, not errors', async () => {
  for (const [status, reason] of [
    [409, 'learner_has_box'],
    [429, 'join_rate'],
  ] as const) {
    const { view } = await refusedWith(status, { error: 'full', reason, message: 'm', retryAfterSec: 60 });
    assert.equal(view.phase, 'full', reason);
    assert.equal(view.refusal, reason);
  }
});

test("an ended class (404 with words) is an error in the server's words", async () => {
  const { view } = await refusedWith(404, { error: 'not_found', message: 'This class has ended.' });
  assert.equal(view.phase, 'error');
  assert.equal(view.message, 'This class has ended.');
});
