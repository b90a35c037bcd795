// Every protocol schema, both directions, with valid and malformed input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  CLOSE,
  FLOW,
  LIMITS,
  clientProtocols,
  createSessionResponse,
  fullResponse,
  healthResponse,
  parseClientMessage,
  parseServerMessage,
  tokenSchema,
} from './messages.ts';

const ok = (text: string) => {
  const r = parseClientMessage(text);
  assert.ok(r.ok, `expected ok for ${text}: ${r.ok ? '' : r.error}`);
  return r.msg;
};
const bad = (text: string, re: RegExp) => {
  const r = parseClientMessage(text);
  assert.equal(r.ok, false, `expected rejection of ${text}`);
  if (!r.ok) assert.match(r.error, re);
};

test('constants match the spec', () => {
  assert.deepEqual(CLOSE, {
    NORMAL: 1000,
    POLICY: 1008,
    TOO_BIG: 1009,
    REPLACED: 4001,
    BAD_MESSAGES: 4400,
    SESSION_GONE: 4404,
    TIMEOUT: 4408,
    SHUTDOWN: 4503,
  });
  assert.equal(LIMITS.maxPayload, 65536);
  assert.equal(LIMITS.maxInputFrame, 16384);
  assert.equal(FLOW.highWater, 262144);
  assert.equal(FLOW.lowWater, 65536);
  assert.equal(FLOW.ackEvery, 32768);
  assert.equal(FLOW.resyncMs, 5000);
});

test('messages.ts imports nothing from node (it is bundled into the browser)', () => {
  const src = readFileSync(new URL('./messages.ts', import.meta.url), 'utf8');
  const imports = [...src.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
  assert.deepEqual(imports.sort(), ['./box.ts', './lessons.ts', './xray.ts', 'zod']);
  const box = readFileSync(new URL('./box.ts', import.meta.url), 'utf8');
  assert.doesNotMatch(box, /from 'node:/);
  const xray = readFileSync(new URL('./xray.ts', import.meta.url), 'utf8');
  assert.deepEqual(
    [...xray.matchAll(/from '([^']+)'/g)].map((m) => m[1]),
    ['zod'],
  );
  const lessons = readFileSync(new URL('./lessons.ts', import.meta.url), 'utf8');
  assert.deepEqual(
    [...lessons.matchAll(/from '([^']+)'/g)].map((m) => m[1]),
    ['zod'],
  );
});

test('resize: valid bounds accepted, out of range and non-integers rejected (no clamping)', () => {
  assert.deepEqual(ok('{"type":"resize","rows":24,"cols":80}'), { type: 'resize', rows: 24, cols: 80 });
  ok('{"type":"resize","rows":1,"cols":1}');
  ok('{"type":"resize","rows":500,"cols":1000}');
  bad('{"type":"resize","rows":0,"cols":80}', /rows/);
  bad('{"type":"resize","rows":501,"cols":80}', /rows/);
  bad('{"type":"resize","rows":24,"cols":1001}', /cols/);
  bad('{"type":"resize","rows":24.5,"cols":80}', /rows/);
  bad('{"type":"resize","rows":"24","cols":80}', /rows/);
  bad('{"type":"resize","rows":24}', /cols/);
});

test('ack: positive integers only', () => {
  assert.deepEqual(ok('{"type":"ack","bytes":32768}'), { type: 'ack', bytes: 32768 });
  bad('{"type":"ack","bytes":0}', /bytes/);
  bad('{"type":"ack","bytes":-5}', /bytes/);
  bad('{"type":"ack","bytes":1.5}', /bytes/);
  bad('{"type":"ack"}', /bytes/);
  bad('{"type":"ack","bytes":1e300}', /bytes/);
});

test('reset, restart, ping', () => {
  assert.deepEqual(ok('{"type":"reset"}'), { type: 'reset' });
  assert.deepEqual(ok('{"type":"restart"}'), { type: 'restart' });
  assert.deepEqual(ok('{"type":"ping","t":123.5}'), { type: 'ping', t: 123.5 });
  bad('{"type":"ping"}', /t/);
  bad('{"type":"ping","t":"now"}', /t/);
  bad('{"type":"reset","extra":1}', /extra|Unrecognized/);
});

test('malformed frames: not JSON, not an object, missing or unknown type, prototype keys', () => {
  bad('', /JSON/);
  bad('{"type":', /JSON/);
  bad('[1,2]', /object/);
  bad('null', /object/);
  bad('"resize"', /object/);
  bad('{}', /type/);
  bad('{"type":5}', /type/);
  bad('{"type":"launch_missiles"}', /unknown message type "launch_missiles"/);
  bad('{"type":"hello","sessionId":"x"}', /unknown message type/); // a server message is not a client message
  bad('{"type":"resize","rows":24,"cols":80,"__proto__":{"admin":true}}', /Unrecognized|__proto__/);
  const long = 'x'.repeat(5000);
  const r = parseClientMessage(`{"type":"${long}"}`);
  assert.ok(!r.ok && r.error.length < 100, 'error text does not echo unbounded input');
});

test('server messages parse (browser side) and reject bad shapes', () => {
  const limits = { memory: '256M', cpuLimit: '0.5', pids: 128, disk: '64M', lifetimeSec: 7200, idleSec: 1800 };
  const hello = { type: 'hello', sessionId: 'abc', state: 'creating', limits, resumed: false, cgroupVersion: 1 };
  assert.ok(parseServerMessage(JSON.stringify(hello)).ok);
  assert.ok(!parseServerMessage(JSON.stringify({ ...hello, state: 'dancing' })).ok);
  assert.ok(!parseServerMessage(JSON.stringify({ ...hello, cgroupVersion: 3 })).ok);
  const event = {
    type: 'stage',
    stage: 'pivot_root',
    role: 'inner_child',
    hostPid: 10,
    boxPid: 1,
    t: 1.5,
    durationMs: 0.2,
    ok: true,
    namespaces: { mnt: 4026531840 },
  };
  assert.ok(parseServerMessage(JSON.stringify({ type: 'stage', event })).ok);
  assert.ok(!parseServerMessage(JSON.stringify({ type: 'stage', event: { ...event, stage: 'teleport' } })).ok);
  const errEvent = { ...event, ok: false, error: { stage: 'pivot_root', syscall: 'pivot_root', errno: 1, code: 'EPERM', message: 'no' } };
  assert.ok(parseServerMessage(JSON.stringify({ type: 'stage', event: errEvent })).ok);
  assert.ok(parseServerMessage('{"type":"snapshot","data":"abc","rows":24,"cols":80}').ok);
  assert.ok(parseServerMessage('{"type":"exit","code":null,"signal":9,"status":137}').ok);
  assert.ok(!parseServerMessage('{"type":"exit","code":"0","signal":null,"status":0}').ok);
  const stats = {
    memory: { current: 1, limit: 2, oomKills: 0 },
    cpu: { usageUsec: 1, quotaFraction: 0.5, nrThrottled: 0, throttledUsec: 0 },
    pids: { current: 1, max: 128 },
    cgroupVersion: 1,
  };
  assert.ok(parseServerMessage(JSON.stringify({ type: 'stats', stats })).ok);
  assert.ok(parseServerMessage('{"type":"error","code":"bad_message","message":"x"}').ok);
  assert.ok(parseServerMessage('{"type":"pong","t":3}').ok);
  assert.ok(parseServerMessage('{"type":"state","state":"full"}').ok);
  assert.ok(!parseServerMessage('{"type":"resize","rows":1,"cols":1}').ok);
});

test('HTTP bodies and token format', () => {
  const token = Buffer.alloc(32, 7).toString('base64url');
  assert.ok(tokenSchema.safeParse(token).success);
  assert.ok(!tokenSchema.safeParse(token + '=').success);
  assert.ok(!tokenSchema.safeParse('short').success);
  const limits = { memory: '256M', cpuLimit: '0.5', pids: 128, disk: '64M', lifetimeSec: 7200, idleSec: 1800 };
  assert.ok(createSessionResponse.safeParse({ sessionId: 'a', token, limits, wsPath: '/ws' }).success);
  assert.ok(!createSessionResponse.safeParse({ sessionId: 'a', token, limits, wsPath: '/other' }).success);
  assert.ok(fullResponse.safeParse({ error: 'full', retryAfterSec: 5 }).success);
  assert.ok(!fullResponse.safeParse({ error: 'full', retryAfterSec: 0 }).success);
  assert.ok(healthResponse.safeParse({ ok: true, sessions: 0, capacity: 200, cgroupVersion: 1 }).success);
  assert.deepEqual(clientProtocols(token), ['boxlab.v1', `boxlab.token.${token}`]);
});
