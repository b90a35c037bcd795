// The sampler over recorded /proc, layers and cgroup trees (v1 and v2): full then diff messages, bounds, timers only while watched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCgroups } from '../engine/cgroups/index.ts';
import type { SandboxStats } from '../engine/types.ts';
import { xrayMsg, type XrayMsg } from '../protocol/xray.ts';
import { XraySampler, type XraySource } from './sampler.ts';
import { XrayFeed } from './feed.ts';
import { ID, PIDS, SECRET, makeCgroupTree, makeFixture, type Fixture } from './testing/fixture-proc.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function source(fx: Fixture, version: 1 | 2, id = ID): Promise<XraySource & { dirs: Record<string, string> }> {
  const tree = makeCgroupTree(fx.root, version);
  const set = await openCgroups(ID, { fsRoot: tree.fsRoot, mountinfo: tree.mountinfo, selfCgroup: tree.selfCgroup });
  return {
    id,
    pids: { namespacedParent: PIDS.namespacedParent, init: PIDS.init },
    layers: fx.layers,
    stats: () => set.stats(),
    dirs: tree.dirs,
  };
}

const ALL = ['procs', 'ns', 'cgroup', 'fs', 'mounts'] as const;
function sampler(src: XraySource, fx: Fixture, sent: XrayMsg[] = [], intervalMs = 250) {
  const statfs = () => ({ blocks: 16384, bfree: 16382, bsize: 4096 }); // a 64M tmpfs with 8K used
  return new XraySampler(src, (m) => sent.push(m), { procRoot: fx.proc, intervalMs, budgetMs: 60_000, statfs });
}

test('v1: a full message with every view, valid on the wire, then only what changed', async (t) => {
  const fx = makeFixture();
  t.after(fx.cleanup);
  const src = await source(fx, 1);
  const s = sampler(src, fx);
  s.select(ALL); // samples driven by hand, no timer
  const first = (await s.sampleOnce())!;
  assert.equal(xrayMsg.safeParse(first).success, true, JSON.stringify(xrayMsg.safeParse(first).error?.issues[0]));
  assert.equal(first.full, true);
  assert.equal(first.seq, 1);
  assert.deepEqual(first.procs!.set.map((p) => p.hostPid).sort(), [200, 201, 202, 203, 205, 207]);
  assert.equal(first.ns!.length, 8);
  assert.deepEqual(first.stats, {
    memory: { current: 815104, limit: 268435456, oomKills: 0 },
    cpu: { usageUsec: 6087, quotaFraction: 0.5, nrThrottled: 0, throttledUsec: 0 },
    pids: { current: 3, max: 128, refused: 0 },
    cgroupVersion: 1,
  });
  assert.equal(first.fs!.set.length, 9);
  assert.deepEqual(
    first.fs!.lowerTop!.map((e) => e.name),
    ['bin', 'etc', 'opq', 'tmp'],
  );
  assert.equal(first.mounts!.list.length, 5);
  assert.equal(first.mounts!.hostCount, 3);
  assert.doesNotMatch(JSON.stringify(first), new RegExp(SECRET));

  assert.equal(await s.sampleOnce(), null, 'nothing changed: nothing to send');

  writeFileSync(join(fx.layers.upper, 'tmp/y'), 'new');
  rmSync(join(fx.layers.upper, 'tmp/x'));
  writeFileSync(join(src.dirs.memory!, 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n');
  const next = (await s.sampleOnce())!;
  assert.equal(next.full, false);
  assert.equal(next.seq, 2);
  assert.deepEqual(
    next.fs!.set.map((f) => f.path),
    ['/tmp/y'],
  );
  assert.deepEqual(next.fs!.del, ['/tmp/x']);
  assert.equal(next.fs!.lowerTop, undefined, 'the image listing only comes with full messages');
  assert.equal(next.stats!.memory.oomKills, 1);
  assert.equal(next.procs, undefined);
  assert.equal(next.ns, undefined);
  assert.equal(next.mounts, undefined);

  rmSync(join(fx.proc, '202'), { recursive: true }); // sleep exited, so its zombie child is no longer reachable
  const gone = (await s.sampleOnce())!;
  assert.deepEqual(gone.procs!.del.sort(), [202, 203]);
  assert.deepEqual(gone.procs!.set, []);
});

test('v2: stats from memory.current / memory.max ("max" is -1) / cpu.stat µs', async (t) => {
  const fx = makeFixture();
  t.after(fx.cleanup);
  const s = sampler(await source(fx, 2), fx);
  s.select(['cgroup']);
  const m = (await s.sampleOnce())!;
  assert.deepEqual(m.stats, {
    memory: { current: 1204224, limit: -1, oomKills: 0, swapCurrent: 0 },
    cpu: { usageUsec: 9120, quotaFraction: 0.5, nrThrottled: 1, throttledUsec: 2100 },
    pids: { current: 2, max: 128, refused: 0 },
    cgroupVersion: 2,
  });
  assert.equal(m.procs, undefined, 'only the watched view is sampled');
  assert.equal(m.fs, undefined);
});

test('PID 1 whose cgroup does not name this sandbox (recycled pid) is not sampled', async (t) => {
  const fx = makeFixture();
  t.after(fx.cleanup);
  const s = sampler(await source(fx, 1, 'bx-another000000'), fx);
  s.select(['mounts', 'ns', 'procs']);
  const m = (await s.sampleOnce())!;
  assert.deepEqual(m.procs!.set, []);
  assert.ok(m.ns!.every((r) => r.box === null));
  assert.deepEqual(m.mounts!.list, []);
});

test('timers: none until a view is watched, at most one message per interval, none after unwatching', async (t) => {
  const fx = makeFixture();
  t.after(fx.cleanup);
  let n = 0;
  const src: XraySource = {
    ...(await source(fx, 1)),
    // Stats that change on every read: the worst case for the rate bound.
    stats: async (): Promise<SandboxStats> => ({
      memory: { current: ++n, limit: 1, oomKills: 0 },
      cpu: { usageUsec: n, quotaFraction: 1, nrThrottled: 0, throttledUsec: 0 },
      pids: { current: 1, max: 1 },
      cgroupVersion: 1,
    }),
  };
  const sent: XrayMsg[] = [];
  const s = sampler(src, fx, sent, 40);
  assert.equal(s.active, false);
  await sleep(60);
  assert.equal(n, 0, 'no reads while nothing is watched');
  s.watch(['cgroup']);
  assert.equal(s.active, true);
  await sleep(420);
  s.watch([]);
  assert.equal(s.active, false);
  const count = sent.length;
  assert.ok(count >= 5 && count <= 12, `${count} messages in 420 ms at a 40 ms interval`);
  assert.equal(sent[0]?.full, true);
  assert.ok(sent.slice(1).every((m) => !m.full));
  for (let i = 1; i < sent.length; i++) assert.ok(sent[i]!.at - sent[i - 1]!.at >= 35, 'spaced by the interval');
  const reads = n;
  await sleep(120);
  assert.equal(sent.length, count, 'nothing sent after unwatching');
  assert.equal(n, reads, 'nothing read after unwatching');
  s.watch(['cgroup']);
  await sleep(60);
  assert.equal(sent[count]?.full, true, 'a new subscription starts with a full message');
  s.stop();
});

test('XrayFeed: a sampler only with both a source and a subscription', async (t) => {
  const fx = makeFixture();
  t.after(fx.cleanup);
  const sent: XrayMsg[] = [];
  const feed = new XrayFeed((m) => sent.push(m), { procRoot: fx.proc, intervalMs: 20 });
  feed.watch(['ns']);
  assert.equal(feed.active, false, 'no sandbox yet');
  const src = await source(fx, 1);
  feed.setSource(src);
  assert.equal(feed.active, true);
  await sleep(50);
  assert.equal(sent.length, 1, 'namespaces do not change: one full message');
  feed.setSource(null);
  assert.equal(feed.active, false);
  feed.setSource(src);
  await sleep(50);
  assert.equal(sent.length, 2);
  assert.equal(sent[1]?.full, true, 'a new sandbox starts over');
  feed.watch([]);
  assert.equal(feed.active, false);
});

test('a walk cut short by the time budget (loaded machine) deletes nothing: the last listing stays', async (t) => {
  const fx = makeFixture();
  t.after(fx.cleanup);
  let slow = false;
  let clock = 0;
  const sent: XrayMsg[] = [];
  const s = new XraySampler(await source(fx, 1), (m) => sent.push(m), {
    procRoot: fx.proc,
    budgetMs: 5,
    now: () => (slow ? (clock += 10) : clock),
    statfs: () => ({ blocks: 1, bfree: 1, bsize: 1 }),
  });
  s.select(['fs']);
  assert.equal((await s.sampleOnce())!.fs!.set.length, 9);
  slow = true;
  writeFileSync(join(fx.layers.upper, 'tmp/late'), '');
  assert.equal(await s.sampleOnce(), null, 'a partial walk sends nothing');
  slow = false;
  const m = (await s.sampleOnce())!;
  assert.deepEqual(
    m.fs!.set.map((f) => f.path),
    ['/tmp/late'],
  );
  assert.deepEqual(m.fs!.del, []);
});

test('a client toggling its subscription as fast as it can still gets at most one sample per interval', async (t) => {
  const fx = makeFixture();
  t.after(fx.cleanup);
  const sent: XrayMsg[] = [];
  const feed = new XrayFeed((m) => sent.push(m), { procRoot: fx.proc, intervalMs: 100 });
  feed.setSource(await source(fx, 1));
  const t0 = performance.now();
  while (performance.now() - t0 < 450) {
    feed.watch(['ns']);
    feed.watch([]);
    feed.watch(['ns', 'mounts']);
    await new Promise((r) => setImmediate(r));
  }
  feed.watch([]);
  assert.ok(sent.length >= 3 && sent.length <= 6, `${sent.length} samples in 450 ms at a 100 ms interval`);
  assert.equal(feed.active, false);
});

test('other boxes mounting on the host do not resend this box’s mount table', async (t) => {
  const fx = makeFixture();
  t.after(fx.cleanup);
  const s = sampler(await source(fx, 1), fx);
  s.select(['mounts']);
  assert.equal((await s.sampleOnce())!.mounts!.hostCount, 3);
  writeFileSync(join(fx.proc, 'self/mountinfo'), '1 0 8:1 / / rw - ext4 /dev/sda1 rw\n9 1 0:9 / /run/other rw - tmpfs t rw\n');
  assert.equal(await s.sampleOnce(), null);
});
