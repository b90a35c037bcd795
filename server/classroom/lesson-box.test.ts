// Leaving a lesson with its own limits gives a default box back (playground or another lesson); the instructor's lab box stays.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestClient, http, newSession, start } from '../web/test-client.ts';

const TOKEN = 'instructor-token-for-tests-0123456789';

async function setup(t: TestContext) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlab-lesson-box-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return start(t, { maxPerClient: 10 }, { course: { instructorToken: TOKEN, dbPath: path.join(dir, 'boxlab.db'), checkIntervalMs: 100 } });
}

test('cgroup-memory (64M) then the playground: the box is rebuilt with the default 256M', async (t) => {
  const { url, fake } = await setup(t);
  const { token } = await newSession(url);
  const c = new TestClient(url, token);
  await c.waitMessage('state', (m) => m.state === 'running');
  c.control({ type: 'lesson', slug: 'cgroup-memory', step: 0 });
  await c.until(() => fake.made.some((f) => f.config.memory === '64M' && !f.destroyed), 3000, 'a 64M box');
  c.control({ type: 'lesson', slug: null, step: 0 }); // the playground page says "no lesson" after its hello
  await c.until(() => fake.made.at(-1)!.config.memory === '256M' && !fake.made.at(-1)!.destroyed, 3000, 'a default box');
  assert.deepEqual(fake.made.filter((f) => !f.destroyed).map((f) => f.config.memory), ['256M'], 'the 64M box is gone');
  const made = fake.made.length;
  await new Promise((r) => setTimeout(r, 400)); // a few runner ticks: no rebuild loop
  assert.equal(fake.made.length, made);
});

test("a lab lesson's box is not kept after it; the instructor's lab box is never rebuilt for having no lesson", async (t) => {
  const { url, fake } = await setup(t);
  const { token } = await newSession(url);
  const c = new TestClient(url, token);
  await c.waitMessage('state', (m) => m.state === 'running');
  c.control({ type: 'lesson', slug: 'lab-hostname', step: 0 });
  await c.until(() => fake.made.some((f) => f.config.lab === true && !f.destroyed), 3000, 'a lab box');
  c.control({ type: 'lesson', slug: 'overlayfs', step: 0 });
  await c.until(() => !fake.made.at(-1)!.config.lab && !fake.made.at(-1)!.destroyed && fake.made.at(-1) !== fake.made.find((f) => f.config.lab), 3000, 'a plain box');

  const inst = JSON.parse((await http(url, 'POST', '/api/classroom/session', '', { Authorization: `Bearer ${TOKEN}` })).body);
  const ic = new TestClient(url, inst.token);
  await ic.waitMessage('state', (m) => m.state === 'running');
  const made = fake.made.length;
  assert.equal(fake.made.at(-1)!.config.lab, true);
  ic.control({ type: 'lesson', slug: null, step: 0 });
  ic.control({ type: 'lesson', slug: 'overlayfs', step: 0 });
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(fake.made.length, made, "the instructor's lab box stays");
});
