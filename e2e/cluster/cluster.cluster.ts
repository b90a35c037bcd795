// `npm run test:cluster` (root): HAProxy and 3 Boxlab nodes, each in a network namespace of its own with its own
// address; 60 sessions through the balancer spread within 20%, a class's learners land on its node, a reconnect (a
// Node client, then a Chromium reload) lands on its node and gets its screen back, a drained node takes no new sessions while its live ones work, kill -9 of a node: DOWN within 5 s, the
// others keep their boxes, its restart sweeps; one PostgreSQL for all (BOXLAB_DATABASE_URL): a step passed on one node
// shows in the progress another node answers; then a second test: nothing left (netns, veth, processes, boxes, database).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FLOW } from '../../server/protocol/messages.ts';
import { http, TestClient } from '../../server/root/testing/test-client.ts';
import { buildWebBundle, webBundleStale } from '../../server/cli/serve.ts';
import { launchBrowser, screenText, waitForPhase, waitForScreen } from '../browser.ts';
import { runCommand } from '../terminal-actions.ts';
import { haproxyConfig } from '../../scripts/cluster/haproxy-cfg.ts';
import { clusterLeftovers, createClusterNet, type ClusterNet } from './cluster-net.ts';
import { startHaproxy, startNode, type Balancer, type NodeProcess } from './processes.ts';
import { startThrowawayPg, type ThrowawayPg } from '../../server/db/testing/throwaway-pg.ts';

const NODES = 3;
const SESSIONS = 60;
const LB_PORT = 47080;
const NODE_PORT = 47001;
const AGENT_PORT = 47002;
const PROMPT = /# (\x1b\[6n)?$/;
const load = () => loadavg()[0]!.toFixed(1);

interface Browser {
  cookie: string | null;
}
interface Live {
  browser: Browser;
  token: string;
  node: string;
  client: TestClient;
}

const LB = `http://127.0.0.1:${LB_PORT}`;
const seen = { records: new Map<string, { cgroups: string[]; dir: string }>(), pids: [] as number[], runDirs: [] as string[] };
let net: ClusterNet | null = null;
let lb: Balancer | null = null;
let db: ThrowawayPg | null = null;
const nodes: NodeProcess[] = [];
const clients: TestClient[] = [];

const nodeOf = (b: Browser) => /BOXLAB_NODE=([^;]+)/.exec(b.cookie ?? '')?.[1] ?? '?';
function takeCookie(b: Browser, set: string | string[] | undefined): void {
  const c = [set ?? []].flat().find((x) => x.startsWith('BOXLAB_NODE='));
  if (c) b.cookie = c.split(';')[0]!;
}

/** A new session through the balancer, up to its WebSocket being open (not yet its prompt). */
async function attachSession(b: Browser): Promise<Live> {
  const r = await http(LB, 'POST', '/api/session', '', b.cookie ? { Cookie: b.cookie } : {});
  if (r.status !== 201) throw new Error(`POST /api/session via the balancer: ${r.status} ${r.body}`);
  takeCookie(b, r.headers['set-cookie']);
  const { token } = JSON.parse(r.body) as { token: string };
  const client = attach(b, token);
  await client.opened();
  return { browser: b, token, node: nodeOf(b), client };
}

async function openSession(b: Browser): Promise<Live> {
  const l = await attachSession(b);
  await l.client.waitText(PROMPT, 120_000);
  return l;
}

function attach(b: Browser, token: string): TestClient {
  const c = new TestClient(LB, token, { headers: b.cookie ? { Cookie: b.cookie } : {} });
  c.autoAck = FLOW.ackEvery;
  clients.push(c);
  return c;
}

async function echo(l: Live, word: string): Promise<void> {
  l.client.type(`echo ${word}-$((6*7))\r`);
  await l.client.waitText(new RegExp(`${word}-42`), 20_000);
}

async function until<T>(what: string, ms: number, f: () => Promise<T | null | undefined | false>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => null);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out (${ms} ms) waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Sandbox records of a node's run dir: what must be gone at the end (cgroups, processes, the box's dir). */
function recordBoxes(runDir: string): void {
  const dir = join(runDir, 'sandboxes');
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    try {
      const r = JSON.parse(readFileSync(join(dir, name, 'state.json'), 'utf8'));
      seen.records.set(r.id, {
        // A cgroup that is gone held no process any more (rmdir of a populated cgroup fails: EBUSY).
        cgroups: Object.values(r.cgroups ?? {}) as string[],
        dir: r.dir,
      });
    } catch {
      /* a box being made or destroyed */
    }
  }
}

async function health(n: NodeProcess): Promise<{ sessions: number; state: string }> {
  return JSON.parse((await http(`http://${n.net.address}:${NODE_PORT}`, 'GET', '/api/health')).body);
}

async function teardown(): Promise<void> {
  for (const c of clients) c.ws.terminate();
  await Promise.all(nodes.map((n) => n.stop().catch(() => {})));
  await lb?.stop().catch(() => {});
  await net?.destroy().catch(() => {});
  db?.stop();
  for (const d of seen.runDirs) rmSync(d, { recursive: true, force: true });
}
after(teardown);

test('three nodes behind HAProxy: spread, affinity, drain, kill -9', { timeout: 900_000 }, async () => {
  const figures: string[] = [`load ${load()} at the start`];
  if (webBundleStale()) await buildWebBundle(); // the nodes serve the page Chromium opens
  net = await createClusterNet(NODES);
  const base = `/run/boxlab-cluster-${net.id}`;
  // The shared database on the host, at the host end of n1's veth: every node routes there through its own link.
  const tDb = performance.now();
  db = await startThrowawayPg({ host: net.nodes[0]!.hostAddress, ports: [47900, 47999] });
  const databaseUrl = await db.createDatabase('boxlab');
  figures.push(`PostgreSQL up for the nodes in ${((performance.now() - tDb) / 1000).toFixed(1)} s (${db.dir})`);
  const startOne = (i: number) => {
    const runDir = `${base}-n${i + 1}`;
    const home = `${base}-home-n${i + 1}`;
    mkdirSync(home, { recursive: true, mode: 0o700 });
    if (!seen.runDirs.includes(runDir)) seen.runDirs.push(runDir, home);
    return startNode(net!, net!.nodes[i]!, {
      id: `n${i + 1}`,
      port: NODE_PORT,
      agentPort: AGENT_PORT,
      runDir,
      home,
      maxSessions: 40,
      allowedHosts: '127.0.0.1',
      extraEnv: { BOXLAB_IMAGE: '/var/lib/boxlab/images/busybox', BOXLAB_DATABASE_URL: databaseUrl },
    });
  };
  nodes.push(...(await Promise.all(Array.from({ length: NODES }, (_, i) => startOne(i)))));
  seen.pids.push(...nodes.map((n) => n.pid));
  mkdirSync(`${base}-lb`, { recursive: true, mode: 0o700 });
  seen.runDirs.push(`${base}-lb`);
  lb = await startHaproxy(
    `${base}-lb`,
    haproxyConfig({
      nodes: nodes.map((n) => ({ id: n.id, host: n.net.address, port: NODE_PORT, agentPort: AGENT_PORT })),
      bind: `127.0.0.1:${LB_PORT}`,
      checkHost: '127.0.0.1',
      adminSocket: `${base}-lb/admin.sock`,
      peerPort: LB_PORT + 1,
    }),
  );
  seen.pids.push(lb.pid);
  await until('every node UP', 30_000, async () => [...(await lb!.servers()).values()].every((s) => s.status === 'UP'));

  // 60 sessions, each from a browser of its own (no cookie yet), arriving one after another as a room does: each
  // POST once the previous one's WebSocket is open, the prompts awaited all at once. leastconn counts a session from
  // its WebSocket on (a POST is over in milliseconds), so a burst of POSTs at the same instant all see the same counts
  // and may land together: with 6 at once the spread was 17/24/19 at load 3, on the 20% edge (docs/cluster.md).
  const t0 = performance.now();
  const arriving: Promise<Live>[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    const opened = attachSession({ cookie: null });
    const atPrompt = opened.then(async (l) => (await l.client.waitText(PROMPT, 120_000), l));
    atPrompt.catch(() => {}); // observed by Promise.all below; not an unhandled rejection meanwhile
    arriving.push(atPrompt);
    await opened;
  }
  const live = await Promise.all(arriving);
  const perNode = new Map(nodes.map((n) => [n.id, live.filter((l) => l.node === n.id).length]));
  figures.push(
    `${SESSIONS} sessions at a prompt in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${[...perNode].map(([k, v]) => `${k} ${v}`).join(', ')}`,
  );
  for (const n of nodes) {
    assert.equal((await health(n)).sessions, perNode.get(n.id), `${n.id} holds the sessions its cookie names`);
    recordBoxes(join(`${base}-n${n.net.index}`));
  }
  const fair = SESSIONS / NODES;
  for (const [id, count] of perNode) assert.ok(Math.abs(count - fair) <= fair * 0.2, `${id}: ${count} sessions, not within 20% of ${fair}`);

  // A class is pinned to the node that holds it: learners already pinned elsewhere by a playground box join by its
  // code (typed lower-case with a dash) and land there; the instructor's roster lists them all.
  const instructor: Browser = { cookie: null };
  const AUTH = { Authorization: 'Bearer cluster-test-instructor-token-0123', 'Content-Type': 'application/json' };
  const made = await http(LB, 'POST', '/api/classroom/classes', JSON.stringify({ name: 'Cluster 101' }), AUTH);
  assert.equal(made.status, 201, made.body);
  takeCookie(instructor, made.headers['set-cookie']);
  const cls = JSON.parse(made.body) as { id: string; code: string };
  const home = nodeOf(instructor);
  const typed = `${cls.code.slice(0, 3).toLowerCase()}-${cls.code.slice(3)}`;
  const learners = await Promise.all(
    nodes.map(async (n, i) => {
      const b: Browser = { cookie: live.find((l) => l.node === n.id)!.browser.cookie };
      const info = await http(LB, 'GET', `/api/join/${typed}`, undefined, { Cookie: b.cookie! });
      assert.equal(info.status, 200, `join info from a browser pinned to ${n.id}: ${info.body}`);
      const j = await http(LB, 'POST', '/api/join', JSON.stringify({ code: typed, name: `learner ${i}` }), {
        Cookie: b.cookie!,
        'Content-Type': 'application/json',
      });
      assert.equal(j.status, 201, `join from a browser pinned to ${n.id}: ${j.body}`);
      takeCookie(b, j.headers['set-cookie']);
      const joined = JSON.parse(j.body) as { token: string; sessionId: string };
      const client = attach(b, joined.token);
      await client.waitText(PROMPT, 120_000);
      return { from: n.id, node: nodeOf(b), client, sessionId: joined.sessionId };
    }),
  );
  assert.deepEqual(
    learners.map((l) => l.node),
    nodes.map(() => home),
    'every learner lands on the class node',
  );
  const roster = await http(LB, 'GET', `/api/classroom/classes/${cls.id}`, undefined, { ...AUTH, Cookie: instructor.cookie! });
  assert.equal(JSON.parse(roster.body).members, nodes.length, "the instructor's class lists every learner");
  // The instructor spectates a learner who came from another node's browser: the watch socket reaches the class node.
  const far = learners.find((l) => l.from !== home)!;
  const watch = new TestClient(`${LB}/ws/watch?session=${far.sessionId}&_=`, null, {
    protocols: ['boxlab.v1', 'boxlab.instructor.cluster-test-instructor-token-0123'],
    origin: LB,
    headers: { Cookie: instructor.cookie! },
  });
  clients.push(watch);
  await watch.waitMessage('snapshot', () => true, 15_000);
  far.client.type('echo spectated-$((6*7))\r');
  await watch.waitText(/spectated-42/, 15_000);
  watch.ws.close();
  figures.push(
    `class ${cls.code} on ${home}: learners pinned to ${learners.map((l) => l.from).join(', ')} joined it there; the instructor spectated the one from ${far.from}`,
  );

  // Shared progress: a learner passes a step in a box on one node; another node answers their progress from the database.
  const LEARNER = 'P'.repeat(43);
  const a = live.find((l) => l.node === 'n1')!;
  const other = nodes.find((n) => n.id !== 'n1')!;
  a.client.control({ type: 'lesson', slug: 'xray-tour', step: 0, learner: LEARNER, name: 'Ada' });
  await a.client.waitMessage('check', (m) => m.slug === 'xray-tour', 15_000);
  a.client.type('echo hello > /root/hello.txt\r');
  await a.client.waitMessage('check', (m) => m.slug === 'xray-tour' && m.passed, 15_000);
  const t5 = performance.now();
  const direct = await until(`progress on ${other.id}`, 5000, async () => {
    const p = await http(`http://${other.net.address}:${NODE_PORT}`, 'GET', '/api/progress', undefined, { 'X-Boxlab-Learner': LEARNER });
    const steps = JSON.parse(p.body).progress?.['xray-tour']?.steps as number[] | undefined;
    return steps?.includes(0) ? steps : null;
  });
  const seenMs = performance.now() - t5;
  assert.deepEqual(direct, [0], `${other.id} answers the step passed on n1`);
  const pinned = live.find((l) => l.node === other.id)!.browser;
  const viaLb = await http(LB, 'GET', '/api/progress', undefined, { 'X-Boxlab-Learner': LEARNER, Cookie: pinned.cookie! });
  assert.deepEqual(JSON.parse(viaLb.body).progress['xray-tour'].steps, [0], `through the balancer, pinned to ${other.id}`);
  figures.push(`progress: step passed on n1, read from ${other.id} (direct and pinned through HAProxy) ${seenMs.toFixed(0)} ms later`);

  // PostgreSQL down under the running cluster (a crash: no checkpoint): terminals on every node keep working, the
  // nodes stay in the balance (the database is everyone's; taking every node out would stop the room), progress
  // answers 503 database_unavailable, a step passed meanwhile counts on its node and reaches the database once it is
  // back (server/lessons/progress.ts keeps it), where another node reads it.
  const tDown = performance.now();
  db.pause();
  for (const n of nodes) {
    const l = live.find((x) => x.node === n.id)!;
    await echo(l, `db-down-${n.id}`);
    assert.equal((await health(n)).state, 'ready', `${n.id} stays ready while the database is down`);
  }
  const refused = await until('progress refused while the database is down', 20_000, async () => {
    const r = await http(LB, 'GET', '/api/progress', undefined, { 'X-Boxlab-Learner': LEARNER, Cookie: pinned.cookie! });
    return r.status === 503 ? r : null;
  });
  assert.equal(JSON.parse(refused.body).error, 'database_unavailable');
  assert.ok(refused.headers['retry-after'], 'a Retry-After with the 503');
  a.client.control({ type: 'lesson', slug: 'xray-tour', step: 1, learner: LEARNER, name: 'Ada' });
  await a.client.waitMessage('check', (m) => m.slug === 'xray-tour' && m.step === 1, 15_000);
  a.client.type('sleep 1000 &\r');
  await a.client.waitMessage('check', (m) => m.slug === 'xray-tour' && m.step === 1 && m.passed, 20_000);
  db.resume();
  const tUp = performance.now();
  await until(`step 1 (passed during the outage) on ${other.id}`, 30_000, async () => {
    const p = await http(`http://${other.net.address}:${NODE_PORT}`, 'GET', '/api/progress', undefined, { 'X-Boxlab-Learner': LEARNER });
    const steps = p.status === 200 ? (JSON.parse(p.body).progress?.['xray-tour']?.steps as number[] | undefined) : undefined;
    return steps?.includes(1);
  });
  figures.push(
    `PostgreSQL down ${((tUp - tDown) / 1000).toFixed(1)} s: every node echoed and stayed ready, progress 503; the step passed meanwhile on n1 read from ${other.id} ${((performance.now() - tUp) / 1000).toFixed(1)} s after it came back`,
  );

  // A reconnect (a reload: same cookie, same token) lands on the same node and gets its screen back.
  const r = live[7]!;
  await echo(r, 'before-reload');
  r.client.ws.close();
  await r.client.waitClose(5000);
  const t1 = performance.now();
  r.client = attach(r.browser, r.token);
  const snap = await r.client.waitMessage('snapshot', () => true, 15_000);
  assert.match(snap.data, /before-reload-42/, 'the screen comes back from the node that holds the box');
  figures.push(`reconnect to its snapshot: ${(performance.now() - t1).toFixed(0)} ms (node ${r.node})`);
  await echo(r, 'after-reload');

  // Chromium through the balancer: Start, type, reload: the page lands on the same node and gets its screen back.
  const chromium = await launchBrowser();
  try {
    const ctx = await chromium.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    await page.goto(`${LB}/`);
    await page.waitForSelector('[data-testid=start]');
    await page.waitForTimeout(400); // the Start cover fades in once the terminal is ready
    await page.click('[data-testid=start]');
    await waitForPhase(page, 'running', 60_000);
    await waitForScreen(page, /[#$] ?$/, 60_000);
    assert.equal(await runCommand(page, 'echo chromium-$((6*7))', 20_000), 'chromium-42');
    const cookieOf = async () => (await ctx.cookies()).find((c) => c.name === 'BOXLAB_NODE')?.value;
    const pinned = await cookieOf();
    assert.ok(pinned, 'the balancer pinned the browser with its cookie');
    const id = await page.evaluate(() => window.__boxlab!.client.getView().sessionId);
    const t4 = performance.now();
    await page.reload();
    await page.waitForFunction(() => window.__boxlab !== undefined);
    await waitForPhase(page, 'running', 30_000);
    await waitForScreen(page, /chromium-42/, 15_000);
    const view = await page.evaluate(() => window.__boxlab!.client.getView());
    assert.equal(view.sessionId, id, 'the same session after the reload');
    assert.equal(view.resumed, true);
    assert.equal(await cookieOf(), pinned, 'still pinned to the same node');
    assert.match(await screenText(page), /chromium-42/);
    figures.push(`Chromium: a reload through the balancer got its screen back from ${pinned} in ${(performance.now() - t4).toFixed(0)} ms`);
  } finally {
    await chromium.close();
  }

  // Drain n1 (SIGUSR2): the balancer sees it, new sessions go elsewhere, n1's live sessions keep working.
  const [n1, n2, n3] = nodes as [NodeProcess, NodeProcess, NodeProcess];
  const t2 = performance.now();
  process.kill(n1.pid, 'SIGUSR2');
  await until('n1 out of the balance', 10_000, async () => /DRAIN|DOWN|NOLB/.test((await lb!.servers()).get('n1')!.status));
  figures.push(
    `drain (SIGUSR2) seen by HAProxy after ${(performance.now() - t2).toFixed(0)} ms: ${(await lb.servers()).get('n1')!.status}`,
  );
  assert.equal((await health(n1)).state, 'draining');
  const fresh = await Promise.all(Array.from({ length: 6 }, () => openSession({ cookie: null })));
  assert.deepEqual(
    fresh.filter((l) => l.node === 'n1').map((l) => l.node),
    [],
    'no new session on the drained node',
  );
  const onN1 = live.filter((l) => l.node === 'n1');
  await Promise.all(onN1.slice(0, 5).map((l, i) => echo(l, `drained-alive${i}`)));
  // A browser whose cookie names the drained node asks for another box: refused there (503), retried elsewhere.
  const again = await openSession({ cookie: onN1[0]!.browser.cookie });
  assert.notEqual(again.node, 'n1', 'a new box for a browser pinned to the drained node comes from another node');
  figures.push(
    `drained: ${fresh.length} new sessions on ${[...new Set(fresh.map((l) => l.node))].join('+')}, a browser pinned to n1 got its new box on ${again.node}; live sessions on n1 (${onN1.length}): the 5 asked all still echo`,
  );

  // kill -9 n2: HAProxy stops sending to it within 5 s; n1's and n3's boxes live on; new sessions go to n3.
  recordBoxes(`${base}-n2`);
  const t3 = performance.now();
  process.kill(n2.pid, 'SIGKILL');
  await until('n2 DOWN', 10_000, async () => (await lb!.servers()).get('n2')!.status.startsWith('DOWN'));
  const downMs = performance.now() - t3;
  figures.push(`kill -9 of n2: DOWN in HAProxy after ${downMs.toFixed(0)} ms`);
  assert.ok(downMs < 5000, `n2 marked DOWN after ${downMs.toFixed(0)} ms`);
  const afterKill = await Promise.all(Array.from({ length: 4 }, () => openSession({ cookie: null })));
  assert.deepEqual([...new Set(afterKill.map((l) => l.node))], ['n3'], 'new sessions go to the only ready node');
  await echo(live.find((l) => l.node === 'n3')!, 'n3-alive');
  await echo(onN1[1]!, 'n1-alive');
  const gone = live.filter((l) => l.node === 'n2');
  await Promise.all(gone.map((l) => l.client.waitClose(15_000)));
  // A browser pinned to the dead node gets a new box elsewhere (its old one is gone with the node).
  const moved = await openSession({ cookie: gone[0]!.browser.cookie });
  assert.notEqual(moved.node, 'n2');

  // Restart n2 on the same run dir: it sweeps what the killed process left, and HAProxy takes it back.
  const leftIds = readdirSync(`${base}-n2/sandboxes`);
  const left = leftIds.length;
  const n2b = await startOne(1);
  nodes[1] = n2b;
  seen.pids.push(n2b.pid);
  const swept = n2b.logs.find((l) => /swept leftovers of \d+ sandbox/.test(l));
  assert.ok(left === 0 || swept, `${left} records left by the killed node, and its restart says: ${n2b.logs.slice(0, 5).join(' | ')}`);
  // Nothing of the killed run is left; the restarted node's own warm-pool box (BOXLAB_WARM_POOL, default 1) may
  // already be there beside it (a CI run failed on that race when this counted every entry).
  const now = existsSync(`${base}-n2/sandboxes`) ? readdirSync(`${base}-n2/sandboxes`) : [];
  assert.deepEqual(
    now.filter((id) => leftIds.includes(id)),
    [],
    'nothing of the killed run left after the sweep',
  );
  assert.ok(now.length <= 1, `only the restarted node's warm-pool box may be there: ${now.join(', ')}`);
  await until('n2 UP again', 20_000, async () => (await lb!.servers()).get('n2')!.status === 'UP');
  figures.push(
    `n2 restarted: ${swept ?? 'nothing to sweep'}, then ${now.length} box(es) of its own (warm pool); ${n3.id} holds ${(await health(n3)).sessions}; load ${load()}`,
  );
  for (const n of nodes) recordBoxes(`${base}-n${n.net.index}`);
  console.log(`[cluster] ${figures.join('\n[cluster] ')}`);
});

test('nothing left: namespaces, veths, HAProxy and node processes, boxes (processes, cgroups, mounts, run dirs)', async () => {
  assert.ok(net, 'the first test made the cluster');
  const id = net.id;
  await teardown();
  assert.deepEqual(await clusterLeftovers(id), { namespaces: [], links: [] });
  for (const pid of seen.pids) assert.throws(() => process.kill(pid, 0), /ESRCH/, `process ${pid} is gone`);
  assert.ok(seen.records.size >= SESSIONS, `${seen.records.size} boxes recorded`);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  for (const [boxId, rec] of seen.records) {
    for (const cg of rec.cgroups) assert.equal(existsSync(cg), false, `${boxId}: cgroup ${cg} removed`);
    assert.equal(existsSync(rec.dir), false, `${boxId}: ${rec.dir} removed`);
    assert.ok(!mounts.includes(boxId), `${boxId}: no mount left`);
  }
  assert.ok(!mounts.includes(`boxlab-cluster-${id}`), 'no mount under the run dirs');
  for (const d of seen.runDirs) assert.equal(existsSync(d), false, d);
  assert.ok(db, 'the first test made the database');
  assert.equal(existsSync(db.dir), false, `${db.dir} removed`);
});
