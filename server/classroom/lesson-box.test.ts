// Leaving a lesson with its own limits gives a default box back (playground or another lesson); the instructor's lab box stays.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SandboxHandle } from '../engine/types.ts';
import type { BoxProbe } from '../lessons/probe.ts';
import { TestClient, http, newSession, start } from '../root/testing/test-client.ts';
import { MiB } from '../protocol/size.ts';
import { fileProbe } from '../lessons/testing/fake-file-probe.ts';

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
  await c.until(() => fake.made.some((f) => f.config.memoryBytes === 64 * MiB && !f.destroyed), 3000, 'a 64M box');
  c.control({ type: 'lesson', slug: null, step: 0 }); // the playground page says "no lesson" after its hello
  await c.until(() => fake.made.at(-1)!.config.memoryBytes === 256 * MiB && !fake.made.at(-1)!.destroyed, 3000, 'a default box');
  assert.deepEqual(
    fake.made.filter((f) => !f.destroyed).map((f) => f.config.memoryBytes),
    [256 * MiB],
    'the 64M box is gone',
  );
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
  await c.until(
    () => !fake.made.at(-1)!.config.lab && !fake.made.at(-1)!.destroyed && fake.made.at(-1) !== fake.made.find((f) => f.config.lab),
    3000,
    'a plain box',
  );

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

/** /root/hello.txt of xray-tour step 1, with the time the fake box echoed the command that writes it as its ctime. */
function timedProbe(sb: SandboxHandle): BoxProbe {
  let seen = 0;
  let ctimeMs: number | null = null;
  let out = '';
  sb.on('data', (b: Buffer) => {
    out += b.toString();
    const n = out.split('echo hello > /root/hello.txt').length - 1;
    if (n > seen) (seen = n), (ctimeMs = Date.now());
  });
  return fileProbe(
    sb,
    '/root/hello.txt',
    'hello\n',
    () => ctimeMs !== null,
    () => ctimeMs,
  );
}

test('a step ignores a file written before it opened (no ✗ for a leftover, no pass either); written in the step, it passes', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlab-lesson-box-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { url } = await start(
    t,
    {},
    { course: { instructorToken: TOKEN, dbPath: path.join(dir, 'boxlab.db'), checkIntervalMs: 100, probeFor: timedProbe } },
  );
  const { token } = await newSession(url);
  const c = new TestClient(url, token);
  await c.waitMessage('state', (m) => m.state === 'running');
  c.control({ type: 'lesson', slug: 'xray-tour', step: 1 });
  c.type('echo hello > /root/hello.txt\r'); // while on step 2: not step 1's work
  await c.waitText(/hello\.txt/);
  await new Promise((r) => setTimeout(r, 50));
  c.control({ type: 'lesson', slug: 'xray-tour', step: 0 });
  const first = await c.waitMessage('check', (m) => m.step === 0);
  assert.equal(first.ok, false);
  assert.match(first.message, /as it was when this step opened/);
  await new Promise((r) => setTimeout(r, 300)); // ticks: still not passed
  assert.ok(c.of('check').every((m) => m.step !== 0 || !m.ok));
  c.type('echo hello > /root/hello.txt\r');
  const ok = await c.waitMessage('check', (m) => m.step === 0 && m.ok);
  assert.equal(ok.passed, true);
});
