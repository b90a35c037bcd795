// Lesson packs served beside the built-in course (`--lessons DIR`): listed and fetched, images through the no-follow
// route, used by a class (goto, checks, dashboard), and re-read on change without a restart, keeping the last good file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SandboxHandle } from '../engine/types.ts';
import type { BoxProbe } from '../lessons/probe.ts';
import { loadConfig } from '../web/config.ts';
import { TestClient, http, newSession, start } from '../root/testing/test-client.ts';
import { fileProbe, typedInto } from '../lessons/testing/fake-file-probe.ts';

const EXAMPLE = fileURLToPath(new URL('../../examples/lesson-pack', import.meta.url));
const TOKEN = 'instructor-token-for-tests-0123456789';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The first step of first-steps: /root/note.txt holds "boxlab" once the learner typed the command. */
const fakeProbe = (sb: SandboxHandle): BoxProbe =>
  fileProbe(sb, '/root/note.txt', 'boxlab\n', () => typedInto(sb).includes('echo boxlab > /root/note.txt'));

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 5000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out: ${what}`);
    await sleep(50);
  }
}

test('--lessons is repeatable and adds up; BOXLAB_LESSONS takes a colon list', () => {
  assert.deepEqual(loadConfig({}, ['--lessons', '/a', '--lessons=/b']).lessonDirs, ['/a', '/b']);
  assert.deepEqual(loadConfig({ BOXLAB_LESSONS: '/x:/y' }, []).lessonDirs, ['/x', '/y']);
  assert.deepEqual(loadConfig({}, []).lessonDirs, []);
});

test('a pack is served beside the built-in course, used by a class, and reloaded when its files change', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlab-packs-'));
  t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const pack = path.join(tmp, 'my-pack');
  fs.cpSync(EXAMPLE, pack, { recursive: true });
  fs.writeFileSync(path.join(tmp, 'secret.png'), 'not for learners');
  fs.symlinkSync('../../secret.png', path.join(pack, 'images/escape.png'));
  const { url, logs } = await start(t, loadConfig({}, ['--port', '0', '--lessons', pack]), {
    course: { instructorToken: TOKEN, dbPath: path.join(tmp, 'db.sqlite'), checkIntervalMs: 100, probeFor: fakeProbe },
  });

  // Listed after the built-in course, with the pack's title; its manifest's limits are the lessons' defaults.
  const list = JSON.parse((await http(url, 'GET', '/api/lessons')).body);
  const slugs: string[] = list.lessons.map((l: { slug: string }) => l.slug);
  assert.deepEqual(slugs.slice(-2), ['first-steps', 'second-look']);
  assert.equal(slugs[0], 'xray-tour');
  const first = list.lessons.find((l: { slug: string }) => l.slug === 'first-steps');
  assert.deepEqual(first.pack, { id: 'my-pack', title: 'Example pack: your own path', order: 10, builtin: false });
  assert.deepEqual(first.sandbox, { pids: 64 });
  const one = JSON.parse((await http(url, 'GET', '/api/lessons/first-steps')).body).lesson;
  assert.ok(JSON.stringify(one.intro).includes('"t":"table"'));
  assert.ok(!JSON.stringify(one).includes('something-else'), 'wrong actions stay on the server');

  // Images: the pack's own files; no traversal, no symlink, nothing of another lesson's folder.
  const img = await http(url, 'GET', '/api/lessons/first-steps/files/images/layers.svg');
  assert.equal(img.status, 200);
  assert.equal(img.headers['content-type'], 'image/svg+xml');
  assert.match(String(img.headers['content-security-policy']), /sandbox/);
  for (const bad of [
    'images/escape.png',
    '..%2Fsecret.png',
    'images/..%2F..%2Fsecret.png',
    '%2Fetc%2Fpasswd.png',
    'first-steps.md',
    'images/nope.png',
  ]) {
    assert.equal((await http(url, 'GET', `/api/lessons/first-steps/files/${bad}`)).status, 404, bad);
  }
  assert.equal((await http(url, 'GET', '/api/lessons/nope/files/images/layers.svg')).status, 404);
  assert.equal((await http(url, 'GET', '/api/lessons/xray-tour/files/images/layers.svg')).status, 404, "only the lesson's own pack");

  // A class uses the pack: the instructor moves everyone there, the learner's check runs, the dashboard shows it.
  const { token } = await newSession(url);
  const c = new TestClient(url, token);
  t.after(() => c.close());
  await c.opened();
  await c.waitMessage('state', (m) => m.state === 'running');
  c.control({ type: 'lesson', slug: null, step: 0, learner: 'P'.repeat(43), name: 'Ada' });
  const g = await http(url, 'POST', '/api/classroom/action', '{"action":"goto","slug":"first-steps"}', AUTH);
  assert.equal(g.status, 200);
  await c.waitMessage('goto', (m) => m.slug === 'first-steps');
  c.control({ type: 'lesson', slug: 'first-steps', step: 0, learner: 'P'.repeat(43), name: 'Ada' });
  // The pack's manifest asks for pids 64: the box is rebuilt with it first, then the step's check runs.
  await c.waitMessage('check', (m) => m.slug === 'first-steps' && /Rebuilding your sandbox .*pids 64/.test(String(m.message)));
  const red = await c.waitMessage('check', (m) => m.slug === 'first-steps' && !/Rebuilding/.test(String(m.message)));
  assert.equal(red.ok, false);
  c.type('echo boxlab > /root/note.txt\r');
  const green = await c.waitMessage('check', (m) => m.slug === 'first-steps' && m.ok === true);
  assert.equal(green.passed, true);
  const dash = JSON.parse((await http(url, 'GET', '/api/classroom', undefined, AUTH)).body);
  assert.equal(dash.sessions[0].lesson.title, 'First steps: a file and a process');

  // A changed file is picked up without a restart.
  const file = path.join(pack, 'first-steps.md');
  const text = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, text.replace('title: "First steps: a file and a process"', 'title: "First steps, edited"'));
  await until('the edited title', async () => {
    const l = JSON.parse((await http(url, 'GET', '/api/lessons/first-steps')).body).lesson;
    return l.title === 'First steps, edited' ? true : undefined;
  });
  // A broken file keeps its last good version, and the log says where it broke.
  fs.writeFileSync(file, text.replace('title: "First steps: a file and a process"', 'title: First steps: broken'));
  const logged = await until('the parse error in the log', async () => logs.find((l) => l.includes('first-steps.md:2: YAML')));
  assert.match(logged, /keeping the last good version/);
  assert.equal(JSON.parse((await http(url, 'GET', '/api/lessons/first-steps')).body).lesson.title, 'First steps, edited');
  // A new file is a new lesson.
  fs.writeFileSync(
    path.join(pack, 'third.md'),
    text.replace('order: 1', 'order: 3').replace('title: "First steps: a file and a process"', 'title: Third'),
  );
  await until('the new lesson', async () => ((await http(url, 'GET', '/api/lessons/third')).status === 200 ? true : undefined));
});
