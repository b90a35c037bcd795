// Root test: the namespaced parent is born inside a cgroup v2 directory (clone3 CLONE_INTO_CGROUP), no attach write.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseMountinfo, parseProcCgroup } from '../server/engine/cgroups/detect.ts';
import type { BoxProcess, SpawnRequest } from '../server/engine/syscalls.ts';
import { realSyscalls } from './index.ts';

const isRoot = process.getuid?.() === 0;
const mnt = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).find((m) => m.fsType === 'cgroup2' && m.root === '/');
const skip = !isRoot ? 'needs root' : !mnt ? 'no cgroup2 mount' : false;

function request(cgroupDir?: string): SpawnRequest {
  return {
    root: '/nonexistent',
    hostname: 'clone3',
    workdir: '/',
    argv: ['/bin/true'],
    env: [],
    stdio: 'pipe',
    rows: 24,
    cols: 80,
    nsFlags: 0,
    capKeep: 0n,
    disable: 0,
    failAt: -1,
    rlimitNofile: 64,
    rlimitFsize: 1 << 20,
    devOpts: 'size=1k',
    shmOpts: 'size=1k',
    seccompFilter: null,
    cgroupDir,
  };
}

async function reap(p: BoxProcess): Promise<void> {
  p.control('X');
  for (let i = 0; i < 500; i++) {
    if (realSyscalls.waitpid(p.pid)) break;
    if (i === 300) realSyscalls.kill(p.pid, 9);
    await new Promise((r) => setTimeout(r, 5));
  }
  p.close();
  for (const s of Object.values(p.stdio ?? {})) (s as { destroy?: () => void }).destroy?.();
}

test('clone3(CLONE_INTO_CGROUP): born in the given cgroup; without cgroupDir: where we are', { skip }, async (t) => {
  const dir = path.join(mnt!.mountPoint, `boxlab-clone3-test-${process.pid}`);
  mkdirSync(dir);
  t.after(() => rmdirSync(dir));
  const own = parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8')).v2;

  const p = realSyscalls.spawnBox(request(dir));
  try {
    const cg = parseProcCgroup(readFileSync(`/proc/${p.pid}/cgroup`, 'utf8')).v2;
    t.diagnostic(`placed=${p.cgroupPlaced}, /proc/${p.pid}/cgroup 0:: ${cg}`);
    // A kernel without clone3 cgroup support falls back (placed false) and leaves the attach to the engine.
    if (p.cgroupPlaced) assert.equal(cg, `/${path.basename(dir)}`);
    else assert.equal(cg, own);
    assert.match(readFileSync(path.join(dir, 'cgroup.procs'), 'utf8'), p.cgroupPlaced ? new RegExp(`^${p.pid}$`, 'm') : /^$/);
  } finally {
    await reap(p);
  }

  const q = realSyscalls.spawnBox(request());
  try {
    assert.equal(q.cgroupPlaced, false);
    assert.equal(parseProcCgroup(readFileSync(`/proc/${q.pid}/cgroup`, 'utf8')).v2, own);
  } finally {
    await reap(q);
  }
});

test('clone3: a missing cgroup directory is an error naming it, and nothing is started', { skip }, () => {
  assert.throws(
    () => realSyscalls.spawnBox(request('/sys/fs/cgroup/nonexistent-boxlab-dir')),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ENOENT');
      assert.match(e.message, /clone3 \/sys\/fs\/cgroup\/nonexistent-boxlab-dir: ENOENT/);
      return true;
    },
  );
});
