// Unit tests of cgroup value files and of the CFS quota (limit text: server/protocol/size.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cfsQuotaUs, parseKeyed, parseLimit, parsePids } from './parse.ts';

test('cfsQuotaUs scales to a 100 ms period and keeps the 1 ms floor', () => {
  assert.equal(cfsQuotaUs(0.25), 25000);
  assert.equal(cfsQuotaUs(2), 200000);
  assert.equal(cfsQuotaUs(0.01), 1000);
  assert.equal(cfsQuotaUs(0.333), 33300);
});

test('cgroup value files parse', () => {
  const k = parseKeyed('oom_kill_disable 0\nunder_oom 0\noom_kill 3\n');
  assert.equal(k.get('oom_kill'), 3);
  assert.equal(parseLimit('max\n'), -1);
  assert.equal(parseLimit('9223372036854771712\n'), -1);
  assert.equal(parseLimit('67108864\n'), 67108864);
  assert.throws(() => parseLimit('garbage'), /unexpected cgroup value/);
  assert.deepEqual(parsePids('12\n345\n\n'), [12, 345]);
});
