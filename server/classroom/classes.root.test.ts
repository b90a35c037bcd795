// A real server process and real boxes: a class's limits read back from the kernel (cgroup files) for a learner who
// joined by code; then the server process restarts and the class, roster and progress are still there, and the
// learner's resume code gives a box with the same limits again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readRecords } from '../engine/state.ts';
import { defaultImagePath } from '../rootfs/index.ts';
import { TestClient, http } from '../root/testing/test-client.ts';

const root = process.getuid?.() === 0;
const repo = fileURLToPath(new URL('../..', import.meta.url));
const TOKEN = 'classes-root-test-token-0123456789';
const AUTH = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };
const RUN = process.env.BOXLAB_RUN ?? '/run/boxlab-classes';
const PROMPT = /# (\x1b\[6n)?$/;

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });

/** `node server/root/compose.ts` as `boxlab serve` runs it, with its own database (BOXLAB_HOME) and run dir. */
function serve(port: number, home: string, image: string): Promise<ChildProcess> {
  const env = {
    ...process.env,
    BOXLAB_HOME: home,
    BOXLAB_IMAGE: image,
    BOXLAB_RUN: RUN,
    BOXLAB_INSTRUCTOR_TOKEN: TOKEN,
    BOXLAB_MAX_PER_CLIENT: '1',
    BOXLAB_WARM_POOL: '0',
  }; // one box per session is counted: no pool
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'server/root/compose.ts', '--port', String(port), '--static-dir', '/nonexistent/out'],
    { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 60_000);
    const on = (b: Buffer) => {
      out += b.toString();
      if (out.includes('listening on')) clearTimeout(t), resolve(child);
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
    child.on('exit', (code) => (clearTimeout(t), reject(new Error(`server exited ${code}: ${out}`))));
  });
}
const stop = (c: ChildProcess) =>
  new Promise<void>((resolve) => (c.exitCode !== null ? resolve() : (c.once('exit', () => resolve()), c.kill('SIGTERM'))));

const json = async (
  url: string,
  method: string,
  p: string,
  body?: unknown,
  headers: Record<string, string> = { 'Content-Type': 'application/json' },
) => {
  const r = await http(url, method, p, body === undefined ? undefined : JSON.stringify(body), headers);
  return { status: r.status, body: r.body ? JSON.parse(r.body) : null };
};

/** The box's limits as the kernel has them: v2 memory.max/cpu.max/pids.max, or v1 memory.limit_in_bytes/cfs quota/pids.max. */
function kernelLimits(serverPid: number): { memory: number; cpu: number; pids: number } {
  const recs = readRecords(RUN).filter((r) => r.serverPid === serverPid && r.cgroups);
  assert.equal(recs.length, 1, `one box of server ${serverPid} in ${RUN}`);
  const dirs = Object.values(recs[0]?.cgroups ?? {});
  const read = (...names: string[]) => {
    for (const d of dirs) for (const n of names) if (fs.existsSync(path.join(d, n))) return fs.readFileSync(path.join(d, n), 'utf8').trim();
    throw new Error(`none of ${names.join(', ')} under ${dirs.join(', ')}`);
  };
  const memory = Number(read('memory.max', 'memory.limit_in_bytes'));
  const cpuMax = read('cpu.max', 'cpu.cfs_quota_us').split(' ');
  const cpu = cpuMax.length === 2 ? Number(cpuMax[0]) / Number(cpuMax[1]) : Number(cpuMax[0]) / Number(read('cpu.cfs_period_us'));
  return { memory, cpu, pids: Number(read('pids.max')) };
}

async function shell(url: string, token: string): Promise<TestClient> {
  const c = new TestClient(url, token);
  await c.opened();
  await c.waitMessage('state', (m) => m.state === 'running', 20_000);
  await c.waitText(PROMPT, 10_000);
  return c;
}

test('join by code → a box with the class limits (kernel view); the class survives a server restart', {
  skip: !root && 'needs root',
  timeout: 180_000,
}, async (t) => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlab-classes-root-'));
  const image = defaultImagePath();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child = await serve(port, home, image);
  t.after(async () => {
    await stop(child);
    fs.rmSync(home, { recursive: true, force: true });
  });

  const created = await json(
    url,
    'POST',
    '/api/classroom/classes',
    { name: 'Root test class', lessons: ['xray-tour'], limits: { memory: '96M', cpus: '0.3', pids: 50 }, cap: 5 },
    AUTH,
  );
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const cls = created.body;
  // Per-address cap 1 for this server: two learners from this one address still join the class.
  const joined = await json(url, 'POST', '/api/join', { code: cls.code.toLowerCase(), name: 'Ada' });
  assert.equal(joined.status, 201, JSON.stringify(joined.body));
  const other = await json(url, 'POST', '/api/join', { code: cls.code, name: 'Grace' });
  assert.equal(other.status, 201, JSON.stringify(other.body));
  const c = await shell(url, joined.body.token);
  const k = kernelLimits(child.pid!);
  assert.deepEqual(k, { memory: 96 * 1024 * 1024, cpu: 0.3, pids: 50 });

  // A step of the class's lesson, passed by the real check.
  c.control({ type: 'lesson', slug: 'xray-tour', step: 0, learner: 'Q'.repeat(43) });
  c.type('echo hello > /root/hello.txt\r');
  await c.waitMessage('check', (m) => m.passed, 15_000);
  c.close();

  await stop(child);
  assert.deepEqual(
    readRecords(RUN).filter((r) => r.serverPid === child.pid),
    [],
    'the old server left no box',
  );
  child = await serve(port, home, image);
  const d = await json(url, 'GET', `/api/classroom/classes/${cls.id}`, undefined, AUTH);
  assert.equal(d.status, 200);
  assert.deepEqual(d.body.roster.map((m: { name: string }) => m.name).sort(), ['Ada', 'Grace']);
  const ada = d.body.roster.find((m: { name: string }) => m.name === 'Ada');
  const step = ada.steps.find((s: { slug: string; step: number }) => s.slug === 'xray-tour' && s.step === 0);
  assert.ok(step?.openedAt && step.passedAt >= step.openedAt, JSON.stringify(ada.steps));
  assert.equal(ada.sessionId, null, 'no box after the restart');

  // Ada comes back in a new browser with her resume code alone: the same member, a box with the class limits.
  const back = await json(url, 'POST', '/api/join', { resume: joined.body.resume });
  assert.equal(back.status, 201, JSON.stringify(back.body));
  assert.equal(back.body.memberId, joined.body.memberId);
  const c2 = await shell(url, back.body.token);
  assert.deepEqual(kernelLimits(child.pid!), { memory: 96 * 1024 * 1024, cpu: 0.3, pids: 50 });
  c2.control({ type: 'lesson', slug: 'xray-tour', step: 0 });
  const chk = await c2.waitMessage('check', undefined, 10_000);
  assert.equal(chk.passed, true, 'her passed step is hers again (from the database, not this browser)');
  c2.close();
});
