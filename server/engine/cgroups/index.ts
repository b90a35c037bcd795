// Per-sandbox cgroups (v1, v2 or hybrid) under the server's own cgroup: create, open, sweep after a crash.
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { StageName } from '../types.ts';
import { CONTROLLERS, detectLayout, unifiedMount, type CgroupLayout, type Controller } from './detect.ts';
import { cgError, errCode, nodeIO, sleep, type CgroupIO } from './io.ts';
import { checkPids, type CgroupLimits } from './parse.ts';
import { makeSet, PARENT_NAME, removeIfEmpty, type CgroupSet, type Ctx, type Node } from './set.ts';
import { writeV1Limits } from './v1.ts';
import { ensureV2Parent, writeV2Limits } from './v2.ts';

export type { CgroupLimits } from './parse.ts';
export type { CgroupLayout, Controller } from './detect.ts';
export type { CgroupIO } from './io.ts';
export type { CgroupSet } from './set.ts';
export { PARENT_NAME } from './set.ts';
export { parseMemory, parseCpuFraction } from './parse.ts';

const j = path.posix.join;
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export interface CgroupOptions {
  /** Text of /proc/self/mountinfo (default: read it). */
  mountinfo?: string;
  /** Text of /proc/self/cgroup (default: read it). */
  selfCgroup?: string;
  /** Directory standing in for "/" (tests); default "/". */
  fsRoot?: string;
  /** Monotonic ms clock and sleep, injectable for tests. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** File operations (tests fake the kernel's cgroupfs behaviour); default real fs. */
  io?: CgroupIO;
  /** Bound of killAll (default 5000 ms) and of remove's EBUSY retries (default 2000 ms). */
  killTimeoutMs?: number;
  removeTimeoutMs?: number;
}

/** Reads the /proc texts (unless given) and the cgroup2 root's cgroup.controllers, then detects. */
export async function resolveLayout(opts: CgroupOptions = {}): Promise<CgroupLayout> {
  const io = opts.io ?? nodeIO;
  const mountinfo = opts.mountinfo ?? (await fsp.readFile('/proc/self/mountinfo', 'utf8'));
  const selfCgroup = opts.selfCgroup ?? (await fsp.readFile('/proc/self/cgroup', 'utf8'));
  const uni = unifiedMount(mountinfo, selfCgroup);
  let unifiedControllers: string | undefined;
  if (uni) unifiedControllers = await io.read(j(opts.fsRoot ?? '/', uni.mountPoint, 'cgroup.controllers')).catch(() => '');
  return detectLayout({ mountinfo, selfCgroup, unifiedControllers });
}

/** The host's layout does not change while we run: read /proc once per process, not once per box. */
let hostLayout: Promise<CgroupLayout> | null = null;
const layoutFor = (opts: CgroupOptions) =>
  opts.mountinfo || opts.selfCgroup || opts.fsRoot || opts.io ? resolveLayout(opts) : (hostLayout ??= resolveLayout(opts));

async function context(opts: CgroupOptions): Promise<Ctx> {
  return {
    io: opts.io ?? nodeIO,
    clock: { now: opts.now ?? (() => performance.now()), sleep: opts.sleep ?? sleep },
    fsRoot: opts.fsRoot ?? '/',
    layout: await layoutFor(opts),
    killTimeoutMs: opts.killTimeoutMs ?? 5000,
    removeTimeoutMs: opts.removeTimeoutMs ?? 2000,
  };
}

function checkId(id: string): void {
  if (!ID_RE.test(id)) throw new Error(`sandbox id "${id}" must be 1-128 chars of [A-Za-z0-9_.-] not starting with . - or _`);
}

/** Real directory of `<own>/boxlab` for a controller. */
const parentDir = (ctx: Ctx, c: Controller) => j(ctx.fsRoot, ctx.layout.controllers[c]!.ownDir, PARENT_NAME);

/** The box's cgroup directories, one per hierarchy (co-mounted v1 controllers and all v2 ones share). */
function plan(ctx: Ctx, id: string): Node[] {
  const byDir = new Map<string, Node>();
  for (const c of CONTROLLERS) {
    const p = ctx.layout.controllers[c];
    if (!p) continue;
    const dir = j(parentDir(ctx, c), id);
    const n = byDir.get(dir) ?? { dir, version: p.version, controllers: [] };
    n.controllers.push(c);
    byDir.set(dir, n);
  }
  return [...byDir.values()];
}

/** Creates the box's cgroups under `<own>/boxlab/<sandboxId>` and writes its limits. Undoes itself on failure. */
export async function createCgroups(sandboxId: string, limits: CgroupLimits, opts: CgroupOptions = {}): Promise<CgroupSet> {
  checkId(sandboxId);
  checkPids(limits.pids);
  if (!(limits.memoryBytes > 0) || !(limits.cpuFraction > 0)) throw new Error('memoryBytes and cpuFraction must be positive');
  const ctx = await context(opts);
  const nodes = plan(ctx, sandboxId);
  const created: Node[] = [];
  const stage: StageName = 'cgroup_create';
  let cur = { syscall: 'mkdir', path: '' };
  try {
    const v2 = nodes.find((n) => n.version === 2);
    if (v2 && ctx.layout.unified) {
      const limitCtrls = v2.controllers.filter((c) => c === 'memory' || c === 'cpu' || c === 'pids');
      cur = { syscall: 'write', path: path.posix.dirname(v2.dir) };
      await ensureV2Parent(ctx.io, j(ctx.fsRoot, ctx.layout.unified.mountPoint), j(ctx.fsRoot, ctx.layout.unified.ownDir), limitCtrls);
    }
    for (const n of nodes) {
      cur = { syscall: 'mkdir', path: n.dir };
      await mkdirLeaf(ctx.io, n.dir);
      created.push(n);
      cur = { syscall: 'write', path: n.dir };
      if (n.version === 1) await writeV1Limits(ctx.io, n.dir, n.controllers, limits);
      else await writeV2Limits(ctx.io, n.dir, n.controllers, limits);
    }
  } catch (e) {
    // Only what this call made: an EEXIST leaf may be a live box with the same id.
    await makeSet(ctx, sandboxId, created).remove().catch(() => {});
    if (errCode(e) === 'EEXIST') {
      throw cgError(stage, e, cur, `cgroup of sandbox ${sandboxId} already exists (a leftover? sweepCgroups removes them)`);
    }
    throw cgError(stage, e, cur);
  }
  return makeSet(ctx, sandboxId, nodes);
}

/** Makes <own>/boxlab (if missing) and the leaf; a concurrent sweep may rmdir the parent in between, so retry once. */
async function mkdirLeaf(io: CgroupIO, dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const parent = path.posix.dirname(dir);
    try {
      await io.mkdir(parent);
    } catch (e) {
      if (errCode(e) !== 'EEXIST') throw e;
    }
    try {
      await io.mkdir(dir);
      return;
    } catch (e) {
      if (errCode(e) !== 'ENOENT' || attempt >= 2) throw e;
    }
  }
}

/** A handle on an existing box's cgroups (after a server restart), without creating anything. */
export async function openCgroups(sandboxId: string, opts: CgroupOptions = {}): Promise<CgroupSet> {
  checkId(sandboxId);
  const ctx = await context(opts);
  return makeSet(ctx, sandboxId, plan(ctx, sandboxId));
}
/**
 * After a crash: kills and removes every `<own>/boxlab/<id>` cgroup (optionally only ids `filter` accepts),
 * then removes `<own>/boxlab` dirs left empty. Returns the removed box directories.
 * On hybrid hosts `<own>` may be "/" for some controllers, shared with other servers: pass a filter there.
 */
export async function sweepCgroups(opts: CgroupOptions & { filter?: (sandboxId: string) => boolean } = {}): Promise<string[]> {
  const ctx = await context(opts);
  const parents = [...new Set(CONTROLLERS.filter((c) => ctx.layout.controllers[c]).map((c) => parentDir(ctx, c)))];
  const ids = new Set<string>();
  for (const p of parents) for (const name of await ctx.io.listDirs(p)) if (ID_RE.test(name)) ids.add(name);
  const removed: string[] = [];
  const errors: unknown[] = [];
  for (const id of [...ids].sort()) {
    if (opts.filter && !opts.filter(id)) continue;
    const nodes = plan(ctx, id);
    const present: string[] = [];
    for (const n of nodes) if (await ctx.io.exists(n.dir)) present.push(n.dir);
    const set = makeSet(ctx, id, nodes.filter((n) => present.includes(n.dir)));
    try {
      await set.killAll();
      await set.remove();
      removed.push(...present);
    } catch (e) {
      errors.push(e); // one stuck box must not keep the others around
    }
  }
  for (const p of parents) await removeIfEmpty(ctx, p);
  if (errors.length) throw errors[0];
  return removed;
}
