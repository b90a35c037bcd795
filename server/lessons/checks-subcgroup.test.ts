// The `subcgroup` word over a fake probe: the learner's own cgroup, never the engine's init/ leaf, and its bounds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeProbe } from './testing/fake-probe.ts';
import { CHECKS } from './checks.ts';

const MiB = 2 ** 20;
const cg = (path: string, over: Partial<{ memoryMax: number | null; oomKills: number; procs: number[] }> = {}) => ({
  path,
  memoryMax: null,
  memoryCurrent: 0,
  oomKills: 0,
  pidsMax: null,
  pidsRefused: 0,
  procs: [],
  controllers: ['memory', 'pids'],
  ...over,
});
const run = async (probe: FakeProbe, params: unknown) => {
  const def = CHECKS.subcgroup!;
  return def.run(probe, def.params.parse(params), {});
};

test('subcgroup: no subtree, only init/, then a child with a limit and an OOM kill', async () => {
  const probe = new FakeProbe();
  assert.match((await run(probe, { subcgroup: 'mine', memoryMax: '32M' })).message, /no cgroup subtree of its own/);
  probe.subtree = [cg('init', { memoryMax: 8 * MiB, oomKills: 3, procs: [1] })];
  assert.equal((await run(probe, { subcgroup: 'any', oomKills: 1 })).ok, false, "the engine's init/ leaf is not the learner's");
  probe.subtree.push(cg('mine'));
  assert.match((await run(probe, { subcgroup: 'mine', memoryMax: '32M' })).message, /still "max"/);
  probe.subtree[1] = cg('mine', { memoryMax: 64 * MiB });
  assert.match((await run(probe, { subcgroup: 'mine', memoryMax: '32M' })).message, /64 MiB, above 32 MiB/);
  probe.subtree[1] = cg('mine', { memoryMax: 16 * MiB });
  assert.equal((await run(probe, { subcgroup: 'mine', memoryMax: '32M' })).ok, true);
  assert.match((await run(probe, { subcgroup: 'mine', memoryMax: '32M', oomKills: 1 })).message, /0 OOM kill/);
  probe.subtree[1] = cg('mine', { memoryMax: 16 * MiB, oomKills: 1 });
  const r = await run(probe, { subcgroup: 'mine', memoryMax: '32M', oomKills: 1 });
  assert.equal(r.ok, true, r.message);
  assert.match(r.message, /\/sys\/fs\/cgroup\/mine: memory.max 16 MiB, 1 OOM kill/);
});

test('subcgroup: paths are plain relative cgroup names; an OOM step is a bomb step', () => {
  const def = CHECKS.subcgroup!;
  assert.throws(() => def.params.parse({ subcgroup: '../etc' }));
  assert.throws(() => def.params.parse({ subcgroup: '/abs' }));
  assert.equal(def.limit?.(def.params.parse({ subcgroup: 'any', oomKills: 1 })), 'memory');
  assert.equal(def.limit?.(def.params.parse({ subcgroup: 'any', memoryMax: '1M' })), undefined);
});
