// Lessons API, checks over the socket, progress, and the classroom (auth, dashboard, spectate, broadcast, actions) over FakeSandbox.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SandboxHandle } from '../engine/types.ts';
import type { BoxProbe } from '../lessons/probe.ts';
import { TestClient, http, newSession, rawUpgrade, start } from '../root/testing/test-client.ts';
import { MiB } from '../protocol/size.ts';
import { fileProbe, typedInto } from '../lessons/testing/fake-file-probe.ts';

const TOKEN = 'instructor-token-for-tests-0123456789';
const LEARNER = 'L'.repeat(43);

/** Just enough of a probe for the first step of xray-tour: /root/hello.txt exists once the learner typed the command. */
const fakeProbe = (sb: SandboxHandle): BoxProbe =>
  fileProbe(sb, '/root/hello.txt', 'hello\n', () => typedInto(sb).includes('echo hello > /root/hello.txt'));

async function setup(t: TestContext) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlab-class-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const s = await start(
    t,
    {},
    { course: { instructorToken: TOKEN, dbPath: path.join(dir, 'boxlab.db'), checkIntervalMs: 100, probeFor: fakeProbe } },
  );
  return { ...s, dbPath: path.join(dir, 'boxlab.db') };
}

async function learner(url: string, name: string, slug: string | null = 'xray-tour', id = LEARNER) {
  const { sessionId, token } = await newSession(url);
  const c = new TestClient(url, token);
  await c.opened();
  await c.waitMessage('state', (m) => m.state === 'running');
  c.control({ type: 'lesson', slug, step: 0, learner: id, name });
  return { c, sessionId, token };
}

/** A TestClient on /ws/watch: TestClient appends "/ws" to its URL, which lands in a dummy query parameter here. */
function watcher(url: string, protocols: string[], query = ''): TestClient {
  return new TestClient(`${url}/ws/watch?${query}${query ? '&' : ''}_=`, null, { protocols, origin: url });
}

test('lessons and progress over HTTP', async (t) => {
  const { url } = await setup(t);
  const list = JSON.parse((await http(url, 'GET', '/api/lessons')).body);
  assert.equal(list.cgroupVersion, 1);
  assert.ok(list.lessons.length >= 12);
  assert.equal(list.lessons[0].slug, 'xray-tour');
  assert.equal(list.lessons[0].steps, undefined, 'the list carries summaries only');
  const one = JSON.parse((await http(url, 'GET', '/api/lessons/pid-namespace')).body);
  assert.equal(one.lesson.steps.length, 4);
  assert.ok(!JSON.stringify(one).includes('"wrong"'), 'test-only wrong actions stay on the server');
  assert.equal((await http(url, 'GET', '/api/lessons/nope')).status, 404);
  assert.equal((await http(url, 'POST', '/api/lessons')).status, 405);
  assert.equal((await http(url, 'GET', '/api/progress')).status, 400);
  const p = await http(url, 'GET', '/api/progress', undefined, { 'X-Boxlab-Learner': LEARNER });
  assert.deepEqual(JSON.parse(p.body), { progress: {} });
});

test('a step turns green from a check on the sandbox; progress is stored and shown on the dashboard', async (t) => {
  const { url } = await setup(t);
  const { c, sessionId } = await learner(url, 'Ada');
  const first = await c.waitMessage('check', () => true, 3000);
  assert.deepEqual([first.slug, first.step, first.ok, first.passed], ['xray-tour', 0, false, false]);
  const t0 = Date.now();
  c.type('echo hello > /root/hello.txt\r');
  const ok = await c.waitMessage('check', (m) => m.ok, 3000);
  const latency = Date.now() - t0;
  assert.equal(ok.passed, true);
  assert.ok(latency < 1000, `green ${latency} ms after Enter (quick re-check after Enter)`);
  t.diagnostic(`check latency after Enter (fake probe): ${latency} ms`);
  const p = JSON.parse((await http(url, 'GET', '/api/progress', undefined, { 'X-Boxlab-Learner': LEARNER })).body);
  assert.deepEqual(p.progress['xray-tour'].steps, [0]);
  const dash = JSON.parse((await http(url, 'GET', '/api/classroom', undefined, { Authorization: `Bearer ${TOKEN}` })).body);
  const row = dash.sessions.find((s: { sessionId: string }) => s.sessionId === sessionId);
  assert.equal(row.name, 'Ada');
  assert.deepEqual([row.lesson.slug, row.lesson.step, row.stuckSec], ['xray-tour', 0, 0]);
  assert.ok(row.stats && row.stats.pids.max > 0, 'sandbox health');
  assert.ok(dash.checkCost.file.runs >= 1);
  // Moving on: the next step's check starts; coming back to a passed step shows it passed at once.
  c.control({ type: 'lesson', slug: 'xray-tour', step: 1, learner: LEARNER });
  await c.waitMessage('check', (m) => m.step === 1, 3000);
  c.control({ type: 'lesson', slug: 'xray-tour', step: 0, learner: LEARNER });
  await c.waitMessage('check', (m) => m.step === 0 && m.passed && m.message === 'passed', 3000);
});

test('classroom auth: 401 without or with a wrong token, 403 for a learner token; watch sockets likewise', async (t) => {
  const { url } = await setup(t);
  const { token, sessionId } = await learner(url, 'Bo');
  assert.equal((await http(url, 'GET', '/api/classroom')).status, 401);
  assert.equal((await http(url, 'GET', '/api/classroom', undefined, { Authorization: 'Bearer nope' })).status, 401);
  assert.equal((await http(url, 'GET', '/api/classroom', undefined, { Authorization: `Bearer ${token}` })).status, 403);
  assert.equal((await http(url, 'POST', '/api/classroom/action', '{"action":"end"}', { Authorization: `Bearer ${token}` })).status, 403);
  assert.equal((await http(url, 'GET', '/api/classroom/auth', undefined, { Authorization: `Bearer ${TOKEN}` })).status, 200);
  const up = (protocols: string, q: string) => rawUpgrade(url, { Origin: url, 'Sec-WebSocket-Protocol': protocols }, `/ws/watch${q}`);
  assert.equal((await up('boxlab.v1', `?session=${sessionId}`)).status, 401);
  assert.equal(
    (await up(`boxlab.v1, boxlab.token.${token}`, `?session=${sessionId}`)).status,
    403,
    'learners cannot spectate, not even themselves',
  );
  assert.equal((await up('boxlab.v1, boxlab.instructor.wrong-token-xxxxxxxx', `?session=${sessionId}`)).status, 401);
  assert.equal((await up(`boxlab.v1, boxlab.instructor.${TOKEN}`, '?session=ffffffffffff')).status, 404);
  assert.equal((await up(`boxlab.v1, boxlab.token.${token}`, '')).status, 404, 'nothing broadcast yet');
  assert.equal(
    (
      await rawUpgrade(
        url,
        { Origin: 'https://evil.example', 'Sec-WebSocket-Protocol': `boxlab.v1, boxlab.instructor.${TOKEN}` },
        `/ws/watch?session=${sessionId}`,
      )
    ).status,
    403,
  );
  assert.equal((await up(`boxlab.v1, boxlab.instructor.${TOKEN}`, `?session=${sessionId}`)).status, 101);
});

test('spectate: snapshot then live output, read-only; broadcast reaches a following learner; goto, reset and end', async (t) => {
  const { url, fake, srv } = await setup(t);
  const a = await learner(url, 'Ada');
  a.c.type('echo before-spectate\r');
  await a.c.waitText(/before-spectate\r\n/);
  const spy = watcher(url, ['boxlab.v1', `boxlab.instructor.${TOKEN}`], `session=${a.sessionId}`);
  await spy.opened();
  const w = await spy.waitMessage('watch');
  assert.deepEqual([w.sessionId, w.name, w.kind], [a.sessionId, 'Ada', 'spectate']);
  const snap = await spy.waitMessage('snapshot');
  assert.match(snap.data, /before-spectate/);
  a.c.type('echo live-line\r');
  await spy.waitText(/live-line/);
  const inputBefore = fake.made.at(-1)!.input.length;
  spy.type('echo from-the-instructor\r');
  await spy.waitMessage('error', (m) => /read-only/.test(m.message));
  assert.equal(fake.made.at(-1)!.input.length, inputBefore, 'viewer keystrokes are never written');

  // The instructor's own terminal, broadcast to learners who follow.
  const inst = JSON.parse((await http(url, 'POST', '/api/classroom/session', '', { Authorization: `Bearer ${TOKEN}` })).body);
  const ic = new TestClient(url, inst.token);
  await ic.waitMessage('state', (m) => m.state === 'running');
  assert.equal(fake.made.at(-1)!.config.lab, true, "the instructor's box is a lab box (the unshare demo works)");
  assert.ok(
    fake.made.slice(0, -1).every((f) => !f.config.lab),
    'learner boxes are not, outside lab lessons',
  );
  const b = await learner(url, 'Bea', null, 'B'.repeat(43));
  const r = await http(url, 'POST', '/api/classroom/action', JSON.stringify({ action: 'broadcast', sessionId: inst.sessionId }), {
    Authorization: `Bearer ${TOKEN}`,
  });
  assert.equal(JSON.parse(r.body).affected, 2);
  await b.c.waitMessage('broadcast', (m) => m.active && m.name === 'Instructor');
  const follow = watcher(url, ['boxlab.v1', `boxlab.token.${b.token}`]);
  assert.equal((await follow.waitMessage('watch')).kind, 'broadcast');
  await follow.waitMessage('snapshot');
  ic.type('echo demo-for-the-class\r');
  await follow.waitText(/demo-for-the-class/);
  assert.doesNotMatch(b.c.text(), /demo-for-the-class/, "the learner's own terminal is untouched");

  const g = await http(url, 'POST', '/api/classroom/action', '{"action":"goto","slug":"overlayfs"}', { Authorization: `Bearer ${TOKEN}` });
  assert.equal(JSON.parse(g.body).affected, 2);
  await a.c.waitMessage('goto', (m) => m.slug === 'overlayfs');
  assert.equal(
    (await http(url, 'POST', '/api/classroom/action', '{"action":"goto","slug":"nope"}', { Authorization: `Bearer ${TOKEN}` })).status,
    404,
  );
  const made = fake.made.length;
  await http(url, 'POST', '/api/classroom/action', JSON.stringify({ action: 'reset', sessionId: a.sessionId }), {
    Authorization: `Bearer ${TOKEN}`,
  });
  assert.equal(fake.made.length, made + 1, 'a fresh sandbox for that learner');
  const end = await http(url, 'POST', '/api/classroom/action', '{"action":"end"}', { Authorization: `Bearer ${TOKEN}` });
  assert.equal(JSON.parse(end.body).affected, 3);
  await a.c.waitMessage('class_ended');
  assert.equal((await a.c.waitClose()).code, 4404);
  assert.equal((await follow.waitClose()).code, 4404);
  assert.equal(srv.manager.size, 0);
  assert.ok(
    fake.made.every((f) => f.destroyed),
    'every sandbox torn down',
  );
});

test("a lesson with its own limits gets a sandbox rebuilt with them (never above the server's)", async (t) => {
  const { url, fake, srv } = await setup(t);
  const { c } = await learner(url, 'Cy', 'cgroup-memory');
  await c.waitMessage('check', (m) => /Rebuilding your sandbox/.test(m.message), 3000);
  await c.until(() => fake.made.some((f) => f.config.memoryBytes === 64 * MiB && !f.destroyed), 3000, 'a 64M sandbox');
  assert.equal(fake.made.filter((f) => !f.destroyed).length, 1, 'the old sandbox was torn down');
  // Leaving it (issue 17 item 7): a lesson without settings gets a default box back, not the 64M one.
  c.control({ type: 'lesson', slug: 'overlayfs', step: 0, learner: LEARNER });
  await c.waitMessage('check', (m) => m.slug === 'overlayfs', 3000);
  await c.until(() => fake.made.some((f) => f.config.memoryBytes === 256 * MiB && !f.destroyed), 3000, 'a default sandbox again');
  await c.waitMessage('state', (m) => m.state === 'running');
  await c.until(
    () => fake.made.at(-1)!.config.memoryBytes === 256 * MiB && srv.manager.sessions()[0]?.session.state === 'running',
    3000,
    'running',
  );
  const made = fake.made.length;
  c.control({ type: 'lesson', slug: 'xray-tour', step: 0, learner: LEARNER });
  await c.waitMessage('check', (m) => m.slug === 'xray-tour', 3000);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(fake.made.length, made, 'a lesson without settings keeps a default sandbox');
  c.control({ type: 'lesson', slug: 'cgroup-pids', step: 0, learner: LEARNER });
  await c.until(
    () => fake.made.some((f) => f.config.pids === 32 && f.config.memoryBytes === 256 * MiB && !f.destroyed),
    3000,
    'a pids-32 sandbox with the default memory',
  );
});

test('a flood of lesson messages runs the check at most about once per 50 ms', async (t) => {
  const { url, srv } = await setup(t);
  const { c } = await learner(url, 'Flo');
  await c.waitMessage('check');
  const before = srv.course.runner.cost.summary().file?.runs ?? 0;
  const t0 = Date.now();
  for (let i = 0; i < 200; i++) c.control({ type: 'lesson', slug: 'xray-tour', step: i % 2, learner: LEARNER });
  await new Promise((r) => setTimeout(r, 400));
  const runs = Object.values(srv.course.runner.cost.summary()).reduce((n, v) => n + v.runs, 0) - before;
  const ms = Date.now() - t0;
  assert.ok(runs <= ms / 50 + 4, `${runs} check runs in ${ms} ms for 200 messages`);
});
