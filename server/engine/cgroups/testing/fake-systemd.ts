// Test support only: a recorded-style systemd v2 tree on the fake cgroupfs, and a fake systemd that starts delegated scopes.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { SystemdHooks } from '../delegate.ts';
import { FakeKernel } from './fake-kernel.ts';
import type { CgroupOptions } from '../index.ts';

export const MNT = '/sys/fs/cgroup';
const fx = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

/** Builds fixtures/<file> (lines "cgroup | subtree_control | procs [| delegate]") on a fresh pure-v2 fake. */
export async function systemdTree(file = 'systemd-v2-tree.txt'): Promise<{ k: FakeKernel; delegated: Set<string> }> {
  const k = await FakeKernel.create([{ mount: MNT, kind: 'v2' }]);
  const delegated = new Set<string>();
  for (const raw of fx(file).split('\n')) {
    if (!raw.trim() || raw.startsWith('#')) continue;
    const [cg = '', subtree, procs, flag] = raw.split('|').map((s) => s.trim());
    const rel = path.posix.join(MNT, cg);
    if (cg !== '/') await k.mkcg(rel);
    await k.setRel(`${rel}/cgroup.subtree_control`, subtree ? subtree + '\n' : '');
    for (const pid of (procs ?? '').split(/\s+/).filter(Boolean)) await k.place(rel, Number(pid));
    if (flag === 'delegate') delegated.add(k.abs(rel));
  }
  return { k, delegated };
}

export interface FakeSystemd extends SystemdHooks {
  /** Scopes started, in order. */
  started: string[];
  /** Make startScope fail (e.g. no busctl, no D-Bus). */
  failStart?: string;
  /** What version() answers (null: unknown, as when busctl cannot ask). */
  systemdVersion: number | null;
}

/**
 * systemd as CGROUP_DELEGATION.md describes it: StartTransientUnit(Delegate=yes) makes system.slice/<name>,
 * enables the delegatable controllers on the way down, moves only the given pid, and marks the cgroup delegated.
 */
export function fakeSystemd(k: FakeKernel, pid: number, delegated: Set<string>, systemd = true): FakeSystemd {
  const hooks: FakeSystemd = {
    systemd,
    pid,
    started: [],
    systemdVersion: null,
    version: async () => hooks.systemdVersion,
    isDelegated: async (dir) => delegated.has(dir),
    async startScope(name, p) {
      if (hooks.failStart) throw new Error(hooks.failStart);
      const rel = `${MNT}/system.slice/${name}`;
      await k.setRel(`${MNT}/system.slice/cgroup.subtree_control`, 'cpu io memory pids\n');
      await k.mkcg(rel);
      await k.place(rel, p);
      delegated.add(k.abs(rel));
      hooks.started.push(name);
    },
    async ownDirNow() {
      return k.abs((await k.whereIs(pid, MNT)) ?? MNT);
    },
  };
  return hooks;
}

/** Options for the cgroup API as process `pid` on the fake: /proc/self/cgroup follows wherever the pid is now. */
export function optsFor(k: FakeKernel, hooks: SystemdHooks): CgroupOptions {
  return {
    mountinfo: fx('v2-mountinfo.txt'),
    readSelfCgroup: async () => `0::${((await k.whereIs(hooks.pid, MNT)) ?? MNT).slice(MNT.length) || '/'}\n`,
    fsRoot: k.root,
    io: k.io,
    systemd: hooks,
  };
}
