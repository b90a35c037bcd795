// Classes over HTTP on FakeSandbox: create (auth, validation), join by code/name/resume, caps per class and learner
// rather than per address, typed refusals, progress with times, CSV export, archive.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SandboxHandle } from '../engine/types.ts';
import type { BoxProbe } from '../lessons/probe.ts';
import type { ServerConfig } from '../web/config.ts';
import { TestClient, http, start } from '../root/testing/test-client.ts';
import { fileProbe, typedInto } from '../lessons/testing/fake-file-probe.ts';

const TOKEN = 'instructor-token-for-tests-0123456789';
const AUTH = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };

/** Step 0 of xray-tour passes once the learner typed the command (as in classroom.test.ts). */
const fakeProbe = (sb: SandboxHandle): BoxProbe =>
  fileProbe(sb, '/root/hello.txt', 'hello\n', () => typedInto(sb).includes('echo hello > /root/hello.txt'));

async function setup(t: TestContext, config: Partial<ServerConfig> = {}, dbPath?: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlab-classes-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const db = dbPath ?? path.join(dir, 'boxlab.db');
  const s = await start(t, config, { course: { instructorToken: TOKEN, dbPath: db, checkIntervalMs: 100, probeFor: fakeProbe } });
  return { ...s, dbPath: db };
}

const post = (url: string, p: string, body: unknown, headers: Record<string, string> = { 'Content-Type': 'application/json' }) =>
  http(url, 'POST', p, JSON.stringify(body), headers).then((r) => ({ ...r, json: r.body ? JSON.parse(r.body) : null }));
const get = (url: string, p: string, headers: Record<string, string> = AUTH) =>
  http(url, 'GET', p, undefined, headers).then((r) => ({
    ...r,
    json: r.headers['content-type']?.includes('json') ? JSON.parse(r.body) : null,
  }));
const newClass = (
  url: string,
  body: unknown = { name: 'Kernel 101', lessons: ['xray-tour'], limits: { memory: '128m', cpus: '0.25', pids: 64 }, cap: 40 },
) => post(url, '/api/classroom/classes', body, AUTH);

test('creating a class: instructor only, validated, a code, a link and a QR code', async (t) => {
  const { url } = await setup(t);
  assert.equal((await post(url, '/api/classroom/classes', { name: 'x' })).status, 401);
  for (const [body, why] of [
    [{ name: '' }, /name/],
    [{ name: 'x', lessons: ['no-such-lesson'] }, /no such lesson/],
    [{ name: 'x', limits: { memory: '10G' } }, /more than this server/],
    [{ name: 'x', limits: { memory: 'lots' } }, /size/],
    [{ name: 'x', limits: { memory: '1M' } }, /at least 16M/],
    [{ name: 'x', limits: { pids: 100000 } }, /more than this server/],
    [{ name: 'x', cap: 0 }, /./],
    [{ name: 'two\nlines' }, /class name: .*control/],
    [{ name: 'x', extra: 1 }, /./],
  ] as const) {
    const r = await newClass(url, body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.match(r.json.message, why);
  }
  const r = await newClass(url);
  assert.equal(r.status, 201);
  const c = r.json;
  assert.match(c.code, /^[A-HJKMNP-Z2-9]{6}$/);
  assert.deepEqual(c.limits, { memory: '128M', cpuLimit: '0.25', pids: 64 });
  assert.equal(c.link, `${url}/join?code=${c.code}`);
  assert.match(c.qrSvg, /^<svg[^>]*viewBox/);
  const list = await get(url, '/api/classroom/classes');
  assert.deepEqual(
    list.json.active.map((x: { id: string }) => x.id),
    [c.id],
  );
  assert.equal((await get(url, `/api/join/${c.code.toLowerCase()}`, {})).json.name, 'Kernel 101', 'codes are case-insensitive');
});

test('thirty learners behind one address join a class; the playground cap per address still holds', async (t) => {
  const { url, srv, fake } = await setup(t, { maxPerClient: 3 });
  const { json: c } = await newClass(url);
  const joins = await Promise.all(Array.from({ length: 30 }, (_, i) => post(url, '/api/join', { code: c.code, name: `Learner ${i}` })));
  assert.deepEqual(
    joins.map((j) => j.status),
    Array(30).fill(201),
  );
  // The same address asks for playground boxes: three, then a refusal that says it is the per-address limit.
  for (let i = 0; i < 3; i++) assert.equal((await http(url, 'POST', '/api/session')).status, 201);
  const refused = await http(url, 'POST', '/api/session');
  assert.equal(refused.status, 503);
  const body = JSON.parse(refused.body);
  assert.equal(body.reason, 'client_full');
  assert.equal(body.limit, 3);
  assert.match(body.message, /address already has 3 playground sandboxes/);
  assert.equal(refused.headers['retry-after'], String(body.retryAfterSec));
  // A learner's box has the class's limits.
  const first = joins[0]!.json;
  assert.equal(first.limits.memory, '128M');
  const one = new TestClient(url, first.token);
  assert.equal((await one.waitMessage('hello')).limits.memory, '128M', 'the page is told the class limits');
  await one.waitMessage('state', (m) => m.state === 'running');
  const made = fake.made.at(-1)!;
  assert.deepEqual([made.config.memoryBytes, made.config.cpuFraction, made.config.pids], [128 * 2 ** 20, 0.25, 64]);
  assert.equal(srv.manager.info(first.sessionId)?.name, 'Learner 0');
  one.close();
});

test('refusals name their limit: class full, learner has a box, server full', async (t) => {
  const { url } = await setup(t, { maxSessions: 3, maxPerClient: 3 });
  const { json: c } = await newClass(url, { name: 'Small', cap: 2 });
  const a = await post(url, '/api/join', { code: c.code, name: 'Ana' });
  const b = await post(url, '/api/join', { code: c.code, name: 'ana' });
  assert.equal(b.json.name, 'ana (2)', 'a duplicate name is told apart');
  const full = await post(url, '/api/join', { code: c.code, name: 'Cy' });
  assert.equal(full.status, 503);
  assert.equal(full.json.reason, 'class_full');
  assert.equal(full.json.limit, 2);
  assert.match(full.json.message, /class is full \(2 learners\)/);
  assert.equal((await post(url, `/api/classroom/classes/${c.id}/cap`, { cap: 3 })).status, 401, 'instructor only');
  assert.equal((await post(url, `/api/classroom/classes/${c.id}/cap`, { cap: 0 }, AUTH)).status, 400);
  assert.equal((await post(url, `/api/classroom/classes/${c.id}/cap`, { cap: 3 }, AUTH)).json.cap, 3);
  const cy = await post(url, '/api/join', { code: c.code, name: 'Cy' });
  assert.equal(cy.status, 201, 'a raised cap takes the learner who was refused');
  assert.equal((await get(url, `/api/classroom/classes/${c.id}`)).json.cap, 3);
  // Ana's box is open in a browser: joining again as her from elsewhere is refused with learner_has_box.
  const ana = new TestClient(url, a.json.token);
  await ana.waitMessage('state', (m) => m.state === 'running');
  const again = await post(url, '/api/join', { code: c.code, name: 'Ana', resume: a.json.resume });
  assert.equal(again.status, 409);
  assert.equal(again.json.reason, 'learner_has_box');
  ana.close();
  await ana.waitClose().catch(() => {});
  // Detached now: the resume takes her place over (her old session ends, 4001) and gives the same member back.
  const back = await post(url, '/api/join', { resume: a.json.resume.toLowerCase() });
  assert.equal(back.status, 201, back.body);
  assert.equal(back.json.memberId, a.json.memberId);
  assert.equal(back.json.resumed, true);
  assert.equal(back.json.resume, '', 'a resume code is shown once, at the first join');
  // The server's own cap: 3 sessions (Ana, ana (2), Cy) → the next box, a playground one or a member's, is server_full.
  assert.equal(JSON.parse((await http(url, 'POST', '/api/session')).body).reason, 'server_full');
  const c2 = (await newClass(url, { name: 'Other' })).json;
  const sf = await post(url, '/api/join', { code: c2.code, name: 'Dee' });
  assert.equal(sf.json.reason, 'server_full');
  assert.equal(sf.json.limit, 3);
  assert.equal((await post(url, '/api/join', { code: c.code, name: 'Ana', resume: 'AAAAA-AAAAA' })).status, 404);
  assert.equal((await post(url, '/api/join', { code: c.code, name: 'bad\u202Ename' })).status, 400);
  assert.equal((await post(url, '/api/join', { code: c.code })).status, 400, 'a code without a name');
});

test('joins are rate-limited per address, wrong codes cost more', async (t) => {
  const { url } = await setup(t);
  let first429: Awaited<ReturnType<typeof post>> | null = null;
  let n = 0;
  for (; n < 40 && !first429; n++) {
    const r = await post(url, '/api/join', { code: 'AAAAAA', name: 'guess' });
    if (r.status === 429) first429 = r;
    else assert.equal(r.status, 404);
  }
  assert.ok(first429, 'guessing codes is stopped');
  assert.ok(n <= 20, `stopped after ${n} wrong codes (burst 90, 5 each)`);
  assert.equal(first429.json.reason, 'join_rate');
  assert.ok(Number(first429.headers['retry-after']) >= 1);
});

test('progress with times, roster, CSV export, end → archived (read-only), kept across a restart', async (t) => {
  const first = await setup(t);
  const { json: c } = await newClass(first.url);
  const j = await post(first.url, '/api/join', { code: c.code, name: 'Zoë, "the" learner' });
  const l = new TestClient(first.url, j.json.token);
  await l.waitMessage('state', (m) => m.state === 'running');
  l.control({ type: 'lesson', slug: 'xray-tour', step: 0, learner: 'X'.repeat(43), name: 'spoofed name' });
  l.type('echo hello > /root/hello.txt\r');
  await l.waitMessage('check', (m) => m.passed);
  const dash = await get(first.url, '/api/classroom');
  assert.equal(
    dash.json.sessions.find((s: { sessionId: string }) => s.sessionId === j.json.sessionId)?.name,
    'Zoë, "the" learner',
    'the class name wins over what the page says',
  );
  const d = (await get(first.url, `/api/classroom/classes/${c.id}`)).json;
  assert.equal(d.roster.length, 1);
  assert.equal(d.roster[0].sessionId, j.json.sessionId);
  const s0 = d.roster[0].steps.find((s: { slug: string; step: number }) => s.slug === 'xray-tour' && s.step === 0);
  assert.ok(s0.openedAt > 0 && s0.passedAt >= s0.openedAt, JSON.stringify(s0));
  // Her progress from any browser: the resume code names it (the learner id of this browser does not).
  const mine = await get(first.url, '/api/progress', { 'x-boxlab-resume': j.json.resume });
  assert.deepEqual(mine.json.progress['xray-tour'].steps, [0]);
  const browsers = await get(first.url, '/api/progress', { 'x-boxlab-learner': 'X'.repeat(43) });
  assert.deepEqual(browsers.json.progress, {}, "the page's own learner id got nothing");
  const csv = await get(first.url, `/api/classroom/classes/${c.id}/export.csv`);
  assert.equal(csv.status, 200);
  assert.match(String(csv.headers['content-type']), /^text\/csv/);
  assert.match(String(csv.headers['content-disposition']), /attachment; filename="Kernel-101-[A-Z0-9]{6}\.csv"/);
  assert.match(csv.body, /"Zoë, ""the"" learner",\S+,xray-tour,[^\r]*,1,[^\r]*,passed,/);
  assert.equal((await get(first.url, `/api/classroom/classes/${c.id}/export.csv`, {})).status, 401);
  const ended = await post(first.url, `/api/classroom/classes/${c.id}/end`, {}, AUTH);
  assert.equal(ended.json.affected, 1);
  assert.equal((await l.waitMessage('class_ended')).type, 'class_ended');
  assert.equal((await post(first.url, `/api/classroom/classes/${c.id}/end`, {}, AUTH)).status, 400);
  assert.equal((await post(first.url, '/api/join', { code: c.code, name: 'Late' })).status, 404, 'an archived class takes no one');
  assert.equal((await post(first.url, '/api/join', { resume: j.json.resume })).status, 404);
  // The dashboard's global "End class" archives every open class too.
  const other = (await newClass(first.url, { name: 'Still open' })).json;
  await post(first.url, '/api/join', { code: other.code, name: 'Max' });
  const all = await post(first.url, '/api/classroom/action', { action: 'end' }, AUTH);
  assert.equal(all.json.affected, 1);
  assert.equal((await get(first.url, '/api/classroom/classes')).json.active.length, 0);
  await first.srv.close();
  // A new server on the same database: the archived class, its roster and progress are all there.
  const second = await setup(t, {}, first.dbPath);
  const list = (await get(second.url, '/api/classroom/classes')).json;
  assert.deepEqual(list.archived.map((x: { id: string }) => x.id).sort(), [c.id, other.id].sort());
  const d2 = (await get(second.url, `/api/classroom/classes/${c.id}`)).json;
  assert.equal(d2.roster[0].name, 'Zoë, "the" learner');
  assert.ok(d2.roster[0].steps.some((s: { passedAt: number | null }) => s.passedAt));
  assert.equal((await get(second.url, `/api/classroom/classes/${c.id}/export.csv`)).body, csv.body);
});

test('a balancer learns where a class lives: its creation, its join info and a join name the code in x-boxlab-class (docs/cluster.md)', async (t) => {
  const { url } = await setup(t);
  const r = await newClass(url);
  assert.equal(r.status, 201);
  assert.equal(r.headers['x-boxlab-class'], r.json.code);
  const info = await get(url, `/api/join/${r.json.code}`, {});
  assert.equal(info.status, 200);
  assert.equal(info.headers['x-boxlab-class'], r.json.code);
  const joined = await post(url, '/api/join', { code: r.json.code, name: 'Ada' });
  assert.equal(joined.status, 201);
  assert.equal(joined.headers['x-boxlab-class'], r.json.code, 'the join too: the balancer pins the browser with it');
  const none = await get(url, '/api/join/ZZZZZZ', {});
  assert.equal(none.status, 404);
  assert.equal(none.headers['x-boxlab-class'], undefined, 'no header for a class this server does not hold');
});
