// Class actions reach every learner, on the playground page (lesson slug null) as on a lesson page: banner, move, reset notice, class over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestClient, http, newSession, start } from '../root/testing/test-client.ts';
import { CLASS_OVER, RESET_NOTICE } from './course.ts';

const TOKEN = 'instructor-token-for-tests-0123456789';
const auth = { Authorization: `Bearer ${TOKEN}` };

test('a playground learner follows every class action: broadcast (also when joining later), goto, reset notice, class over', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlab-class-actions-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { url, fake, srv } = await start(
    t,
    { maxPerClient: 10 },
    { course: { instructorToken: TOKEN, dbPath: path.join(dir, 'boxlab.db') } },
  );
  const act = async (body: object) => JSON.parse((await http(url, 'POST', '/api/classroom/action', JSON.stringify(body), auth)).body);
  /** The playground page: says "not in a lesson" after every hello, as components/classroom/useClassActions.ts does. */
  const playground = async (): Promise<TestClient> => {
    const { token } = await newSession(url);
    const c = new TestClient(url, token);
    await c.waitMessage('state', (m) => m.state === 'running');
    c.control({ type: 'lesson', slug: null, step: 0 });
    return c;
  };
  const p1 = await playground();
  const inst = JSON.parse((await http(url, 'POST', '/api/classroom/session', '', auth)).body);
  const ic = new TestClient(url, inst.token);
  await ic.waitMessage('state', (m) => m.state === 'running');

  assert.equal((await act({ action: 'broadcast', sessionId: inst.sessionId })).affected, 1, 'the playground learner is told');
  await p1.waitMessage('broadcast', (m) => m.active && m.name === 'Instructor');
  const p2 = await playground(); // arrives while the broadcast is on
  await p2.waitMessage('broadcast', (m) => m.active);
  assert.equal(ic.of('broadcast').length, 0, 'the instructor is not told about their own broadcast');

  assert.equal((await act({ action: 'goto', slug: 'overlayfs' })).affected, 2);
  await p1.waitMessage('goto', (m) => m.slug === 'overlayfs');
  await p2.waitMessage('goto', (m) => m.slug === 'overlayfs');

  const made = fake.made.length;
  assert.equal((await act({ action: 'reset_all' })).affected, 2);
  for (const p of [p1, p2]) {
    const notice = await p.waitMessage('class_reset');
    assert.equal(notice.message, RESET_NOTICE);
    // Told before the box is rebuilt: the notice comes ahead of the "creating" state of the fresh box.
    const at = p.order.indexOf('T:class_reset');
    assert.ok(at >= 0 && p.order.slice(at).includes('T:state'), p.order.slice(-8).join(' '));
    await p.waitMessage('state', (m) => m.state === 'running');
  }
  assert.equal(fake.made.length, made + 2, 'two fresh boxes');
  assert.equal(ic.of('class_reset').length, 0, "reset everyone leaves the instructor's box alone");

  assert.equal((await act({ action: 'end' })).affected, 3);
  for (const p of [p1, p2]) {
    assert.equal((await p.waitMessage('class_ended')).message, CLASS_OVER);
    assert.equal((await p.waitClose()).code, 4404);
  }
  assert.equal(srv.manager.size, 0);
});
