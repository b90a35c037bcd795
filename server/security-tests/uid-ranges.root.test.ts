// Two servers (own run dirs and ports) and a `boxlab run` on one host at once: every live box has its own host uid range.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { readRecords, UID_RANGE, type SandboxRecord } from '../engine/state.ts';
import { mountsUnder } from '../engine/sweep.ts';
import { pruneUidSlots, UID_REGISTRY, uidSlotEntries } from '../engine/uid-registry.ts';
import { TestClient, newSession } from '../root/testing/test-client.ts';
import { SKIP, sleep } from './testing/harness.ts';

const ROOT = path.join(import.meta.dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'boxlab.js');
const RUNS = { a: '/run/boxlab-harden-uids-a', b: '/run/boxlab-harden-uids-b', cli: '/run/boxlab-harden-uids-cli' };
const PORTS = { a: 43011, b: 43012 };

const started: ChildProcess[] = [];
function child(args: string[], env: Record<string, string>): ChildProcess {
  const p = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let log = '';
  p.stdout!.on('data', (b) => (log += b));
  p.stderr!.on('data', (b) => (log += b));
  (p as ChildProcess & { log: () => string }).log = () => log;
  started.push(p);
  return p;
}

/** Waits for the server to listen; a deadline in time, not tries: under emulation (CI's v2 guest) two servers
 * compiling their TypeScript at once took 44 s in a quiet guest and more than 45 s in CI. */
async function serverUp(port: number, p: ChildProcess, ms = 180_000): Promise<string> {
  const url = `http://127.0.0.1:${port}`;
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (p.exitCode !== null || p.signalCode !== null)
      throw new Error(`server on ${port} exited ${p.exitCode}: ${(p as ChildProcess & { log: () => string }).log()}`);
    try {
      await fetch(url); // any answer: it listens
      return url;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`server on ${port} did not come up in ${ms / 1000} s: ${(p as ChildProcess & { log: () => string }).log()}`);
}

async function openShell(url: string): Promise<TestClient> {
  const s = await newSession(url);
  const c = new TestClient(url, s.token);
  await c.opened();
  await c.waitMessage('state', (m) => m.state === 'running', 20_000);
  return c;
}

/** "0 <host base> <count>" lines of /proc/<pid>/uid_map (or gid_map), read from the host. */
function idMap(pid: number, file: 'uid_map' | 'gid_map'): [number, number, number][] {
  return fs
    .readFileSync(`/proc/${pid}/${file}`, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number, number]);
}

const liveBoxes = (runDir: string): SandboxRecord[] =>
  readRecords(runDir).filter((r) => r.init?.pid && fs.existsSync(`/proc/${r.init.pid}`));

describe('host uid ranges are machine-wide', { skip: SKIP }, () => {
  const clients: TestClient[] = [];
  after(async () => {
    for (const c of clients) c.ws.close();
    const running = started.filter((p) => p.exitCode === null && p.signalCode === null);
    for (const p of running) p.kill('SIGTERM');
    await Promise.all(running.map((p) => new Promise((r) => p.on('exit', r))));
    for (const dir of Object.values(RUNS)) {
      // Our own run dirs only (never the default /run/boxlab): whatever a failed run left.
      spawnSync(process.execPath, [BIN, 'sweep'], { env: { ...process.env, BOXLAB_RUN: dir }, stdio: 'ignore' });
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('two servers and boxlab run: disjoint uid_map and gid_map ranges, each held in the one registry', {
    timeout: 400_000,
  }, async (t) => {
    // No warm pool (on by default): this test counts each server's boxes, one per session.
    const env = { BOXLAB_STATIC_DIR: '/nonexistent/out', BOXLAB_MAX_PER_CLIENT: '3', BOXLAB_WARM_POOL: '0' };
    const srvA = child(['--import', 'tsx', path.join(ROOT, 'server/root/compose.ts'), '--port', String(PORTS.a)], {
      ...env,
      BOXLAB_RUN: RUNS.a,
    });
    const srvB = child(['--import', 'tsx', path.join(ROOT, 'server/root/compose.ts'), '--port', String(PORTS.b)], {
      ...env,
      BOXLAB_RUN: RUNS.b,
    });
    const [urlA, urlB] = await Promise.all([serverUp(PORTS.a, srvA), serverUp(PORTS.b, srvB)]);
    // The CLI box lives until the after() hook's SIGTERM: its lifetime must not depend on how long the servers took to
    // come up (in CI's v2 guest that was more than the 120 s a `sleep 120` box once lived, and its box was gone).
    const cli = child([BIN, 'run', '--', '/bin/sh', '-c', 'echo up; exec sleep 3600'], { BOXLAB_RUN: RUNS.cli });
    // Sessions on both servers created at the same time, while the CLI box comes up.
    clients.push(...(await Promise.all([openShell(urlA), openShell(urlB), openShell(urlA), openShell(urlB)])));
    for (const end = Date.now() + 180_000; Date.now() < end && liveBoxes(RUNS.cli).length === 0; ) {
      if (cli.exitCode !== null || cli.signalCode !== null)
        throw new Error(`boxlab run exited ${cli.exitCode}: ${(cli as ChildProcess & { log: () => string }).log()}`);
      await sleep(100);
    }

    const boxes = Object.entries(RUNS).flatMap(([who, dir]) => liveBoxes(dir).map((r) => ({ who, r })));
    assert.deepEqual(boxes.map((b) => b.who).sort(), ['a', 'a', 'b', 'b', 'cli']);
    const ranges = boxes.map(({ who, r }) => {
      const uid = idMap(r.init!.pid, 'uid_map');
      const gid = idMap(r.init!.pid, 'gid_map');
      assert.equal(uid.length, 1, `${r.id}: one uid_map line`);
      assert.deepEqual(gid, uid, `${r.id}: gid_map is the uid_map`);
      const [inside, base, count] = uid[0]!;
      assert.deepEqual([inside, count], [0, UID_RANGE]);
      // The registry entry that holds it: slot, id and the box's own dir.
      const entry = uidSlotEntries().find((e) => e.id === r.id);
      assert.ok(entry, `${r.id} has an entry in ${UID_REGISTRY}`);
      assert.equal(entry.path, r.slotEntry);
      assert.equal(base, (1 << 30) + entry.slot * UID_RANGE, `${r.id}: its uid_map is its registry slot's range`);
      return { who, id: r.id, base, end: base + count };
    });
    ranges.sort((x, y) => x.base - y.base);
    for (let i = 1; i < ranges.length; i++) {
      assert.ok(ranges[i - 1]!.end <= ranges[i]!.base, `overlap: ${JSON.stringify(ranges[i - 1])} and ${JSON.stringify(ranges[i])}`);
    }
    t.diagnostic(ranges.map((x) => `${x.who}:${x.id} ${x.base}-${x.end - 1}`).join(', '));
  });

  test('server A killed -9: its boxes die with it, but their slots stay held until the sweep unmounted them', {
    timeout: 60_000,
  }, async (t) => {
    const srvA = started[0]!;
    const recs = readRecords(RUNS.a);
    assert.equal(recs.length, 2);
    srvA.kill('SIGKILL');
    await new Promise((r) => srvA.on('exit', r));
    // PDEATHSIG: the namespaced parents, then each PID 1 with its whole PID namespace. Until reaped (a zombie still
    // has /proc/<pid>/stat) a process counts as alive for the registry too, so wait for both to be gone.
    const pids = recs.flatMap((r) => [r.init!.pid, r.namespacedParent!.pid]);
    for (let i = 0; i < 200 && pids.some((p) => fs.existsSync(`/proc/${p}`)); i++) await sleep(50);
    assert.ok(
      pids.every((p) => !fs.existsSync(`/proc/${p}`)),
      'the boxes died with their server',
    );
    assert.ok(
      recs.every((r) => mountsUnder(r.dir).length > 0),
      'their mounts (files of their uids) are still there',
    );
    // A claim anywhere on the host now must not take these slots: the registry still counts them as held.
    pruneUidSlots();
    for (const r of recs)
      assert.ok(
        uidSlotEntries().some((e) => e.id === r.id),
        `${r.id}: slot still held after a prune`,
      );
    const sw = spawnSync(process.execPath, [BIN, 'sweep'], { env: { ...process.env, BOXLAB_RUN: RUNS.a }, encoding: 'utf8' });
    assert.equal(sw.status, 0, sw.stderr);
    for (const r of recs) assert.ok(!uidSlotEntries().some((e) => e.id === r.id), `${r.id}: slot freed by the sweep`);
    t.diagnostic(`killed server ${srvA.pid}; ${recs.length} slots held until the sweep, then freed`);
  });
});
