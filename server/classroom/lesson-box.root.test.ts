// Real boxes: the cgroup-memory lesson's 64 MiB box, read back from its cgroup, is replaced by a default box when the learner leaves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from '../root/compose.ts';
import { TestClient, newSession } from '../root/testing/test-client.ts';

const root = process.getuid?.() === 0;
const MiB = 1024 * 1024;

test('cgroup-memory (64M) → the playground → another lesson: each box has the limit it should, read from its cgroup', {
  skip: !root && 'needs root',
}, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlab-lesson-box-root-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const srv = await startServer({
    config: { port: 0, staticDir: '/nonexistent/out', memoryBytes: 256 * MiB },
    course: { dbPath: path.join(dir, 'boxlab.db'), checkIntervalMs: 200 },
    log: () => {},
  });
  t.after(() => srv.close());
  const { sessionId, token } = await newSession(srv.url);
  const c = new TestClient(srv.url, token);
  t.after(() => (c.closed ? undefined : c.close()));
  await c.waitMessage('state', (m) => m.state === 'running', 15_000);
  const session = srv.manager.get(sessionId)!;
  /** Waits for a running box other than `not` and returns the memory limit its cgroup holds. */
  const nextBoxLimit = async (not: string | undefined): Promise<number> => {
    await c.until(
      () => session.state === 'running' && !!session.sandbox && session.sandbox.id !== not,
      20_000,
      `a new running box (not ${not})`,
    );
    return (await session.sandbox!.stats()).memory.limit;
  };
  assert.equal((await session.sandbox!.stats()).memory.limit, 256 * MiB, 'a default box first');

  let box = session.sandbox!.id;
  c.control({ type: 'lesson', slug: 'cgroup-memory', step: 0 });
  assert.equal(await nextBoxLimit(box), 64 * MiB, "the lesson's box");
  box = session.sandbox!.id;

  c.control({ type: 'lesson', slug: null, step: 0 }); // the playground page
  assert.equal(await nextBoxLimit(box), 256 * MiB, 'a default box again after leaving the lesson');
  box = session.sandbox!.id;

  // Back into the lesson and out to a lesson without settings: the next lesson does not reuse the 64M box.
  c.control({ type: 'lesson', slug: 'cgroup-memory', step: 0 });
  assert.equal(await nextBoxLimit(box), 64 * MiB);
  box = session.sandbox!.id;
  c.control({ type: 'lesson', slug: 'overlayfs', step: 0 });
  assert.equal(await nextBoxLimit(box), 256 * MiB);
  box = session.sandbox!.id;
  await new Promise((r) => setTimeout(r, 800)); // a few runner ticks: the default box stays
  assert.equal(session.sandbox?.id, box, 'no further rebuild');
});
