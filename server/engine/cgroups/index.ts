// Per-sandbox cgroups (v1, v2 or hybrid): v1 under the server's own cgroup, v2 in Boxlab's delegated subtree; create, open, sweep.
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { StageName } from '../types.ts';
import { CONTROLLERS, detectLayout, unifiedMount, type CgroupLayout, type Controller } from './detect.ts';
import { cgError, errCode, nodeIO, sleep, type CgroupIO } from './io.ts';
import { checkPids, parsePids, type CgroupLimits } from './parse.ts';
import {
  BOX_PARENT_NAMES,
  ensureV2Base,
  resolveV2Base,
  rmdirIfUnused,
  siblingUnitBoxes,
  SUPERVISOR_LEAF,
  sweepLegacy,
  type SystemdHooks,
  type V2Base,
} from './delegate.ts';
import { makeSet, PARENT_NAME, removeIfEmpty, type CgroupSet, type Ctx, type Node } from './set.ts';
import { realSystemdHooks } from './systemd.ts';
import { writeV1Limits } from './v1.ts';
import { writeV2Limits } from './v2.ts';

export type { CgroupLimits } from './parse.ts';
export type { CgroupLayout, Controller } from './detect.ts';
export type { CgroupIO } from './io.ts';
export type { CgroupSet } from './set.ts';
export { PARENT_NAME } from './set.ts';
export type { V2Base, SystemdHooks } from './delegate.ts';

const j = path.posix.join;
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export interface CgroupOptions {
  /** Text of /proc/self/mountinfo (default: read it). */
  mountinfo?: string;
  /** Text of /proc/self/cgroup (default: read it). */
  selfCgroup?: string;
  /** Reads /proc/self/cgroup now (tests: a fake whose answer changes when the fake systemd moves us). */
  readSelfCgroup?: () => Promise<string>;
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
  /** systemd detection, delegation check and StartTransientUnit (tests pass a fake); default the real host. */
  systemd?: SystemdHooks;
}

/** Reads the /proc texts (unless given) and the cgroup2 root's cgroup.controllers, then detects. */
export async function resolveLayout(opts: CgroupOptions = {}): Promise<CgroupLayout> {
  const io = opts.io ?? nodeIO;
  const mountinfo = opts.mountinfo ?? (await fsp.readFile('/proc/self/mountinfo', 'utf8'));
  const selfCgroup = opts.selfCgroup ?? (await (opts.readSelfCgroup ?? (() => fsp.readFile('/proc/self/cgroup', 'utf8')))());
  const uni = unifiedMount(mountinfo, selfCgroup);
  let unifiedControllers: string | undefined;
  if (uni) unifiedControllers = await io.read(j(opts.fsRoot ?? '/', uni.mountPoint, 'cgroup.controllers')).catch(() => '');
  return detectLayout({ mountinfo, selfCgroup, unifiedControllers });
}

/** The host's layout does not change while we run: read /proc once per process, not once per box. */
let hostLayout: Promise<CgroupLayout> | null = null;
/** Likewise the v2 subtree: decided (and a transient scope asked for) once per process, so runs never nest. */
let hostBase: Promise<V2Base | undefined> | null = null;
const injected = (opts: CgroupOptions) =>
  Boolean(opts.mountinfo || opts.selfCgroup || opts.readSelfCgroup || opts.fsRoot || opts.io || opts.systemd);
const layoutFor = (opts: CgroupOptions) => (injected(opts) ? resolveLayout(opts) : (hostLayout ??= resolveLayout(opts)));

function hooksFor(opts: CgroupOptions, layout: CgroupLayout): SystemdHooks {
  const u = layout.unified!;
  return opts.systemd ?? realSystemdHooks(u.mountPoint, u.mountRoot, opts.fsRoot ?? '/');
}

/** The v2 subtree when any controller Boxlab uses lives on cgroup2 (pure v2, or hybrid with some there). */
async function baseFor(opts: CgroupOptions, layout: CgroupLayout): Promise<V2Base | undefined> {
  const uni = layout.unified;
  if (!uni || !CONTROLLERS.some((c) => layout.controllers[c]?.version === 2)) return undefined;
  const fsRoot = opts.fsRoot ?? '/';
  return resolveV2Base(j(fsRoot, uni.mountPoint), j(fsRoot, uni.ownDir), hooksFor(opts, layout));
}

async function context(opts: CgroupOptions): Promise<Ctx> {
  const layout = await layoutFor(opts);
  const base = injected(opts) ? await baseFor(opts, layout) : await (hostBase ??= baseFor(opts, layout));
  return {
    io: opts.io ?? nodeIO,
    clock: { now: opts.now ?? (() => performance.now()), sleep: opts.sleep ?? sleep },
    fsRoot: opts.fsRoot ?? '/',
    layout,
    base,
    hooks: base ? hooksFor(opts, layout) : undefined,
    killTimeoutMs: opts.killTimeoutMs ?? 5000,
    removeTimeoutMs: opts.removeTimeoutMs ?? 2000,
  };
}

/** Where Boxlab keeps its v2 cgroups on this host (for the x-ray, the README's checks and tests), or undefined on v1. */
export async function v2Base(opts: CgroupOptions = {}): Promise<V2Base | undefined> {
  return (await context(opts)).base;
}

function checkId(id: string): void {
  if (!ID_RE.test(id)) throw new Error(`sandbox id "${id}" must be 1-128 chars of [A-Za-z0-9_.-] not starting with . - or _`);
}

/** Directory holding the boxes for a controller: v1 `<own>/boxlab`, v2 the delegated subtree's box parent. */
function parentDir(ctx: Ctx, c: Controller): string {
  const p = ctx.layout.controllers[c]!;
  return p.version === 2 && ctx.base ? ctx.base.boxesDir : j(ctx.fsRoot, p.ownDir, PARENT_NAME);
}

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
    if (v2 && ctx.base) {
      const limitCtrls = v2.controllers.filter((c) => c === 'memory' || c === 'cpu' || c === 'pids');
      cur = { syscall: 'write', path: ctx.base.top };
      await ensureBase(ctx, limitCtrls);
    }
    for (const n of nodes) {
      cur = { syscall: 'mkdir', path: n.dir };
      // A parent another process's sweep removed meanwhile is made again, and on v2 delegated again.
      await mkdirLeaf(ctx.io, n.dir, n.version === 2 && ctx.base ? () => ensureBase(ctx, n.controllers) : undefined);
      created.push(n);
      cur = { syscall: 'write', path: n.dir };
      if (n.version === 1) await writeV1Limits(ctx.io, n.dir, n.controllers, limits);
      else await writeV2Limits(ctx.io, n.dir, n.controllers, limits);
    }
  } catch (e) {
    // Only what this call made: an EEXIST leaf may be a live box with the same id.
    await makeSet(ctx, sandboxId, created)
      .remove()
      .catch(() => {});
    if (errCode(e) === 'EEXIST') {
      throw cgError(stage, e, cur, `cgroup of sandbox ${sandboxId} already exists (a leftover? sweepCgroups removes them)`);
    }
    throw cgError(stage, e, cur);
  }
  return makeSet(ctx, sandboxId, nodes);
}

/** ensureV2Base, with our own placement remembered: once in <unit>/supervisor we stay there. */
async function ensureBase(ctx: Ctx, ctrls: Controller[]): Promise<void> {
  const base = ctx.base!;
  ctrls = ctrls.filter((c) => c === 'memory' || c === 'cpu' || c === 'pids');
  const own = placed.has(base.top) && base.supervisorDir ? base.supervisorDir : await ctx.hooks!.ownDirNow();
  await ensureV2Base(ctx.io, base, ctx.hooks!.pid, own, ctrls);
  if (base.kind === 'unit') placed.add(base.top);
}
const placed = new Set<string>();

/** Makes <own>/boxlab (if missing) and the leaf; a concurrent sweep may rmdir the parent in between, so retry once. */
async function mkdirLeaf(io: CgroupIO, dir: string, parentMade?: () => Promise<void>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const parent = path.posix.dirname(dir);
    try {
      await io.mkdir(parent);
      await parentMade?.();
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
export async function sweepCgroups(
  opts: CgroupOptions & { filter?: (sandboxId: string) => boolean; recorded?: string[] } = {},
): Promise<string[]> {
  const ctx = await context(opts);
  const own = [...new Set(CONTROLLERS.filter((c) => ctx.layout.controllers[c]).map((c) => parentDir(ctx, c)))];
  // Other boxlab units' boxes, and the parents of box cgroups dead servers recorded (their scopes may differ from ours).
  // Only with a filter: a sibling unit may be another live server's, whose boxes are never ours to judge.
  const others = ctx.base && opts.filter ? await siblingUnitBoxes(ctx.io, ctx.base) : [];
  for (const d of opts.filter ? (opts.recorded ?? []) : []) {
    const parent = path.posix.dirname(d);
    if (BOX_PARENT_NAMES.has(path.posix.basename(parent)) && !own.includes(parent) && !others.includes(parent)) others.push(parent);
  }
  const parents = [...own, ...others];
  const ids = new Set<string>();
  for (const p of parents) for (const name of await ctx.io.listDirs(p)) if (ID_RE.test(name)) ids.add(name);
  const removed: string[] = [];
  const errors: unknown[] = [];
  for (const id of [...ids].sort()) {
    if (opts.filter && !opts.filter(id)) continue;
    const nodes = plan(ctx, id);
    for (const p of others) {
      const dir = j(p, id);
      if (await ctx.io.exists(dir)) nodes.push({ dir, version: 2, controllers: [] });
    }
    const present: string[] = [];
    for (const n of nodes) if (await ctx.io.exists(n.dir)) present.push(n.dir);
    const set = makeSet(
      ctx,
      id,
      nodes.filter((n) => present.includes(n.dir)),
    );
    try {
      await set.killAll();
      await set.remove();
      removed.push(...present);
    } catch (e) {
      errors.push(e); // one stuck box must not keep the others around
    }
  }
  for (const p of own) await removeIfEmpty(ctx, p);
  // A dead server's unit (nobody left in its supervisor leaf): once its boxes/ and supervisor/ are gone, systemd
  // sees it empty and collects it. A live server's unit is left alone, even with no box at the moment.
  for (const p of others) {
    if (path.posix.basename(p) !== 'boxes') continue;
    const sup = j(path.posix.dirname(p), SUPERVISOR_LEAF);
    if ((await ctx.io.exists(sup)) && parsePids(await ctx.io.read(j(sup, 'cgroup.procs')).catch(() => '')).length) continue;
    if (await rmdirIfUnused(ctx.io, p)) await rmdirIfUnused(ctx.io, sup);
  }
  if (ctx.base && ctx.layout.unified)
    await sweepLegacy(ctx.io, j(ctx.fsRoot, ctx.layout.unified.mountPoint), ctx.base.startedIn).catch(() => []);
  if (errors.length) throw errors[0];
  return removed;
}

/** After this process's last box: removes its own box parents if empty (v1 <own>/boxlab, v2 subtree boxlab/ or boxes/). */
export async function pruneOwnParents(opts: CgroupOptions = {}): Promise<void> {
  const ctx = await context(opts);
  for (const p of new Set(CONTROLLERS.filter((c) => ctx.layout.controllers[c]).map((c) => parentDir(ctx, c)))) {
    await removeIfEmpty(ctx, p).catch(() => {});
  }
}
