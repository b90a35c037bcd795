// Real sandboxes through the real server and a ws client: echo, resize, reconnect, isolation, auth, shutdown cleanup, SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readRecords, type SandboxRecord } from '../engine/state.ts';
import { mountsUnder } from '../engine/sweep.ts';
import { FLOW } from '../protocol/messages.ts';
import { startServer } from '../root/compose.ts';
import { TestClient, http, newSession, rawUpgrade } from '../root/testing/test-client.ts';

const PROMPT = /# (\x1b\[6n)?$/; // busybox ash: "root@box-…:~# " then a cursor-position query
const root = process.getuid?.() === 0;
const mine = (pid: number): SandboxRecord[] => readRecords().filter((r) => r.serverPid === pid);
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Nothing of these sandboxes is left: no state dir, no mount under it, no cgroup, no process. */
function assertGone(records: SandboxRecord[]): void {
  for (const r of records) {
    assert.equal(existsSync(r.dir), false, `${r.dir} removed`);
    assert.deepEqual(mountsUnder(r.dir), [], `no mounts under ${r.dir}`);
    for (const p of Object.values(r.cgroups ?? {})) assert.equal(existsSync(p), false, `cgroup ${p} removed`);
    for (const p of [r.init?.pid, r.namespacedParent?.pid]) if (p) assert.equal(alive(p), false, `pid ${p} gone`);
  }
}

async function shell(url: string, token: string): Promise<TestClient> {
  const c = new TestClient(url, token);
  await c.opened();
  await c.waitMessage('state', (m) => m.state === 'running', 10_000);
  await c.waitText(PROMPT, 5000);
  return c;
}

/** Types a command and waits for its output and the next prompt. */
async function run(c: TestClient, cmd: string, expect: RegExp): Promise<string> {
  const from = c.text().length;
  c.type(`${cmd}\r`);
  await c.until(() => expect.test(c.text().slice(from)) && PROMPT.test(c.text()), 5000, `${cmd} → ${expect}`);
  return c.text().slice(from);
}

test('real sandboxes: echo, resize, isolation, auth, reconnect, reset, shutdown leaves nothing', {
  skip: !root && 'needs root',
}, async (t) => {
  // warmPool 0: this test counts the process's boxes, one per session (the pool has its own tests).
  const srv = await startServer({ config: { port: 0, staticDir: '/nonexistent/out', maxPerClient: 2, warmPool: 0 }, log: () => {} });
  t.after(() => srv.close());
  const { url } = srv;
  const s1 = await newSession(url);
  const a = await shell(url, s1.token);
  assert.deepEqual(a.invalid, []);
  assert.equal(a.of('stage').filter((s) => s.event.ok).length, a.of('stage').length, 'every stage ok');
  assert.deepEqual(
    a
      .of('stage')
      .map((s) => s.event.stage)
      .slice(-2),
    ['exec', 'running'],
  );
  await run(a, 'echo hi', /\r\nhi\r\n/);

  a.control({ type: 'resize', rows: 33, cols: 101 });
  await run(a, 'stty size', /\r\n33 101\r\n/);

  const s2 = await newSession(url);
  const b = await shell(url, s2.token);
  const h1 = await run(a, 'hostname', /box-\w+/);
  const h2 = await run(b, 'hostname', /box-\w+/);
  assert.match(h1, new RegExp(`box-${s1.sessionId.slice(0, 8)}`));
  assert.match(h2, new RegExp(`box-${s2.sessionId.slice(0, 8)}`));
  await run(a, 'echo secret-a > /root/only-in-a; cat /root/only-in-a', /\r\nsecret-a\r\n/);
  await run(b, 'cat /root/only-in-a 2>/dev/null || echo ABSENT-IN-B', /\r\nABSENT-IN-B\r\n/);
  await run(b, 'echo pid=$$', /\r\npid=1\r\n/);

  // A third client: no token → 401 before any socket; a third session from this address → 503.
  assert.equal((await rawUpgrade(url, { Origin: url, 'Sec-WebSocket-Protocol': 'boxlab.v1' })).status, 401);
  assert.equal(
    (await rawUpgrade(url, { Origin: 'http://evil.example', 'Sec-WebSocket-Protocol': `boxlab.v1, boxlab.token.${s1.token}` })).status,
    403,
  );
  assert.equal((await http(url, 'POST', '/api/session')).status, 503);

  // Reconnect: same sandbox, screen restored from the mirror.
  await a.close();
  const a2 = new TestClient(url, s1.token);
  await a2.opened();
  const snap = await a2.waitMessage('snapshot', () => true, 5000);
  assert.equal(a2.of('hello')[0]?.resumed, true);
  assert.match(snap.data, /33 101/);
  assert.match(snap.data, /secret-a/);
  assert.deepEqual([snap.rows, snap.cols], [33, 101]);
  await run(a2, 'cat /root/only-in-a', /\r\nsecret-a\r\n/);

  const stats = await a2.waitMessage('stats', () => true, 3000);
  assert.equal(stats.stats.pids.max, 128);
  assert.ok(stats.stats.memory.current > 0 && stats.stats.memory.limit === 256 * 1024 * 1024);

  // Reset: a fresh sandbox in place (the file is gone), the old one fully released.
  const before = mine(process.pid);
  assert.equal(before.length, 2);
  const oldA = before.find((r) => r.id === srv.manager.get(s1.sessionId)!.sandbox!.id)!;
  a2.control({ type: 'reset' });
  await a2.until(() => a2.of('state').filter((s) => s.state === 'running').length >= 1 && PROMPT.test(a2.text()), 10_000, 'reset');
  assertGone([oldA]);
  await run(a2, 'cat /root/only-in-a 2>/dev/null || echo FRESH', /\r\nFRESH\r\n/);

  // Exit then restart.
  a2.type('exit 7\r');
  const exit = await a2.waitMessage('exit', () => true, 5000);
  assert.equal(exit.status, 7);
  await a2.until(() => mine(process.pid).length === 1, 5000, 'exited sandbox released');
  a2.control({ type: 'restart' });
  await a2.until(() => a2.of('state').filter((s) => s.state === 'running').length >= 2 && PROMPT.test(a2.text()), 10_000, 'restart');

  const live = mine(process.pid);
  assert.equal(live.length, 2);
  await srv.close();
  assert.equal((await a2.waitClose()).code, 4503);
  assert.equal((await b.waitClose()).code, 4503);
  assert.deepEqual(mine(process.pid), []);
  assertGone(live);
});

test('real pty flood: paused near the high watermark without acks, Ctrl-C gets through, acks resume', {
  skip: !root && 'needs root',
}, async (t) => {
  const srv = await startServer({ config: { port: 0, staticDir: '/nonexistent/out' }, log: () => {} });
  t.after(() => srv.close());
  const { token, sessionId } = await newSession(srv.url);
  const c = await shell(srv.url, token);
  const session = srv.manager.get(sessionId)!;
  c.ack();
  const r0 = c.received;
  c.type('cat /dev/zero | tr "\\0" y\r');
  await c.until(() => session.socketFlow.paused, 5000, 'pause');
  await new Promise((r) => setTimeout(r, 500));
  const got = c.received - r0;
  t.diagnostic(`received ${got} B without acking; unacked ${session.socketFlow.unacked}`);
  assert.ok(got >= FLOW.highWater && got <= FLOW.highWater + 128 * 1024, `received ${got}`);
  c.type('\x03');
  c.autoAck = FLOW.ackEvery;
  c.ack();
  const t0 = performance.now();
  await c.waitText(/\^C\r\n.*# (\x1b\[6n)?$/s, 5000);
  t.diagnostic(`Ctrl-C to prompt ${(performance.now() - t0).toFixed(0)} ms after ${session.socketFlow.stats.pauses} pause(s)`);
  await run(c, 'echo done', /\r\ndone\r\n/);
});

test('SIGTERM: the server process closes sockets with 4503, destroys its sandboxes and exits 0', {
  skip: !root && 'needs root',
}, async (t) => {
  const entry = fileURLToPath(new URL('../root/compose.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', entry, '--port', '0', '--static-dir', '/nonexistent/out', '--warm-pool', '0'], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 20_000);
    child.stdout.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
  const c = await shell(url, (await newSession(url)).token);
  await run(c, 'echo alive', /\r\nalive\r\n/);
  const records = mine(child.pid!);
  assert.equal(records.length, 1);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  assert.equal((await c.waitClose(10_000)).code, 4503);
  assert.equal(await exited, 0, out);
  assert.match(out, /SIGTERM: closing sessions/);
  assert.deepEqual(mine(child.pid!), []);
  assertGone(records);
});
