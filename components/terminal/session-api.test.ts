// serverHealth: a full or draining cluster node (503 with its state) is up; a balancer's own 503 or no answer is down.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClientDeps, HttpResponse } from './client-types';
import { serverHealth } from './session-api';

function depsAnswering(status: number, body: unknown): ClientDeps {
  const res: HttpResponse = { status, ok: status >= 200 && status < 300, headers: { get: () => null }, json: async () => body };
  return { fetch: async () => res, origin: 'http://x' } as unknown as ClientDeps;
}

test('serverHealth: 200 and a node that is full or draining (503 with a state) are up; other 503s and errors are down', async () => {
  assert.deepEqual(await serverHealth(depsAnswering(200, { bootId: 'b1' })), { bootId: 'b1' });
  assert.deepEqual(await serverHealth(depsAnswering(503, { bootId: 'b2', state: 'draining' })), { bootId: 'b2' });
  assert.deepEqual(await serverHealth(depsAnswering(503, { bootId: 'b3', state: 'full' })), { bootId: 'b3' });
  assert.equal(await serverHealth(depsAnswering(503, { error: 'no server' })), null, "the balancer's own 503");
  assert.equal(await serverHealth(depsAnswering(502, {})), null);
  const failing = { fetch: async () => Promise.reject(new Error('down')), origin: 'http://x' } as unknown as ClientDeps;
  assert.equal(await serverHealth(failing), null);
});
