// Where Boxlab makes its cgroup v2 subtree: a delegated systemd unit (<unit>/supervisor + <unit>/boxes), or /sys/fs/cgroup/boxlab without systemd.
import path from 'node:path';
import os from 'node:os';
import { SyscallError } from '../../../native-bindings/errors.ts';
import { SandboxError } from '../types.ts';
import { cgError, errCode, type CgroupIO } from './io.ts';
import { parsePids } from './parse.ts';

const j = path.posix.join;

/** Leaf of a delegated unit the server's own process moves into (systemd's CGROUP_DELEGATION.md, "no internal processes"). */
export const SUPERVISOR_LEAF = 'supervisor';
/** Child of a delegated unit holding one cgroup per box. */
export const UNIT_BOXES = 'boxes';
/** Without systemd: the documented subtree <cgroup2 mount>/boxlab holds one cgroup per box. */
export const SUBTREE_NAME = 'boxlab';
/** Names of the cgroups Boxlab makes itself as box parents (set.ts only ever removes children of these). */
export const BOX_PARENT_NAMES = new Set([SUBTREE_NAME, UNIT_BOXES]);

/** A systemd unit cgroup Boxlab owns by name: boxlab.service, boxlab@x.service, boxlab-1234.scope. */
export const BOXLAB_UNIT_RE = /^boxlab([-@.][A-Za-z0-9_.@:-]*)?\.(scope|service)$/;
const UNIT_RE = /\.(scope|service)$/;

export interface V2Base {
  kind: 'unit' | 'subtree';
  /** Directory whose children are the boxes' cgroups. */
  boxesDir: string;
  /** unit: the delegated unit's cgroup; subtree: the cgroup2 mount root. */
  top: string;
  /** unit: where our process lives; subtree: null (we stay where we were started). */
  supervisorDir: string | null;
  /** How we got here, for logs and the x-ray: "delegated unit boxlab.service", "transient scope boxlab-12.scope", ... */
  how: string;
  /** The cgroup this process was in before any move (legacy sweep walks its ancestors). */
  startedIn: string;
}

export interface SystemdHooks {
  /** Is systemd the init system (sd_booted(3): /run/systemd/system exists)? */
  systemd: boolean;
  /** Our pid (only this process is ever moved). */
  pid: number;
  /** Does systemd mark this cgroup delegated (user.delegate / trusted.delegate xattr, systemd >= 251)? */
  isDelegated(dir: string): Promise<boolean>;
  /** Asks systemd for a transient scope `name` with Delegate=yes holding `pid` (D-Bus StartTransientUnit). */
  startScope(name: string, pid: number): Promise<void>;
  /** systemd's major version (Manager.Version over D-Bus), null when unknown; asked only for a boxlab* unit without xattr. */
  version?(): Promise<number | null>;
  /** Directory of our cgroup on the unified hierarchy, read again (after startScope). */
  ownDirNow(): Promise<string>;
}

/** The delegated unit whose cgroup is `ownDir` (or whose supervisor leaf it is), or null. */
async function delegatedUnit(ownDir: string, hooks: SystemdHooks): Promise<{ unit: string; how: string } | null> {
  const candidates = path.posix.basename(ownDir) === SUPERVISOR_LEAF ? [path.posix.dirname(ownDir)] : [ownDir];
  for (const unit of candidates) {
    const name = path.posix.basename(unit);
    if (!UNIT_RE.test(name)) continue;
    if (await hooks.isDelegated(unit).catch(() => false)) return { unit, how: `delegated unit ${name}` };
    // Older systemd (< 251) sets no xattr: a unit named boxlab* is taken as started with Delegate=yes (README).
    // systemd >= 251 sets trusted.delegate for every Delegate=yes unit, so there its absence means "not delegated":
    // a boxlab.service without Delegate=yes then gets a transient scope like any caller (seen under systemd 252).
    if (BOXLAB_UNIT_RE.test(name) && ((await hooks.version?.().catch(() => null)) ?? 0) < 251)
      return { unit, how: `unit ${name} (by name)` };
  }
  return null;
}

/**
 * Decides the subtree. Under systemd, a process not already in a delegated unit asks for a transient scope
 * boxlab-<pid>.scope with Delegate=yes for itself (like `systemd-run --scope -p Delegate=yes`, and like runc's
 * and crun's systemd drivers); only our own pid moves, never our caller's shell or siblings.
 */
export async function resolveV2Base(mountDir: string, ownDir: string, hooks: SystemdHooks): Promise<V2Base> {
  if (!hooks.systemd) {
    return {
      kind: 'subtree',
      boxesDir: j(mountDir, SUBTREE_NAME),
      top: mountDir,
      supervisorDir: null,
      how: `subtree ${j(mountDir, SUBTREE_NAME)} (no systemd)`,
      startedIn: ownDir,
    };
  }
  let found = await delegatedUnit(ownDir, hooks);
  if (!found) {
    let name = `boxlab-${hooks.pid}.scope`;
    try {
      try {
        await hooks.startScope(name, hooks.pid);
      } catch {
        // A scope of an earlier process with our pid may still exist (its boxes outlived a kill -9): another name.
        name = `boxlab-${hooks.pid}-${Math.random().toString(36).slice(2, 8)}.scope`;
        await hooks.startScope(name, hooks.pid);
      }
    } catch (e) {
      throw fail(
        'EPERM',
        'StartTransientUnit',
        ownDir,
        `cgroup v2 under systemd: ${ownDir} is not delegated to Boxlab and asking systemd for a scope failed (${(e as Error).message}); ` +
          `run under \`systemd-run --scope -p Delegate=yes --collect ...\` or a unit with Delegate=yes`,
      );
    }
    const now = await hooks.ownDirNow();
    found = await delegatedUnit(now, hooks);
    if (!found || path.posix.basename(found.unit) !== name) {
      throw fail('ESRCH', 'StartTransientUnit', now, `systemd started ${name} but this process is in ${now}`);
    }
    found.how = `transient scope ${name}`;
  }
  const { unit, how } = found;
  return { kind: 'unit', boxesDir: j(unit, UNIT_BOXES), top: unit, supervisorDir: j(unit, SUPERVISOR_LEAF), how, startedIn: ownDir };
}

/** A one-line cgroup_create error that says what is missing and how to fix it. */
function fail(code: string, syscall: string, p: string, message: string): SandboxError {
  const errno = (os.constants.errno as Record<string, number>)[code] ?? 5;
  return new SandboxError('cgroup_create', SyscallError.of({ syscall, errno, code, path: p }), `cgroup_create: ${message}`);
}

async function tokens(io: CgroupIO, file: string): Promise<string[]> {
  return (await io.read(file)).trim().split(/\s+/).filter(Boolean);
}

async function mkdirOk(io: CgroupIO, dir: string): Promise<void> {
  if (await io.exists(dir)) return;
  try {
    await io.mkdir(dir);
  } catch (e) {
    if (errCode(e) !== 'EEXIST') throw e;
  }
}

/** Enables `ctrls` in dir/cgroup.subtree_control; errors name the missing delegation or the processes in the way. */
async function enable(io: CgroupIO, dir: string, ctrls: readonly string[], base: V2Base): Promise<string[]> {
  const have = await tokens(io, j(dir, 'cgroup.subtree_control'));
  const missing = ctrls.filter((c) => !have.includes(c));
  if (!missing.length) return [];
  const avail = await tokens(io, j(dir, 'cgroup.controllers'));
  const absent = missing.filter((c) => !avail.includes(c));
  if (absent.length) {
    const fix =
      base.kind === 'unit'
        ? `give the unit Delegate=yes (or Delegate=${ctrls.join(' ')})`
        : 'the kernel or the cgroup2 mount does not offer them (check cgroup_no_v1= / cgroup_disable= on the kernel command line)';
    throw fail('ENOENT', 'open', j(dir, 'cgroup.controllers'), `controller(s) ${absent.join(', ')} not available in ${dir}: ${fix}`);
  }
  try {
    await io.write(j(dir, 'cgroup.subtree_control'), missing.map((c) => `+${c}`).join(' '));
  } catch (e) {
    if (errCode(e) !== 'EBUSY') throw e;
    const pids = parsePids(await io.read(j(dir, 'cgroup.procs')).catch(() => ''));
    throw fail(
      'EBUSY',
      'write',
      j(dir, 'cgroup.subtree_control'),
      `${dir} holds processes Boxlab did not start (${pids.slice(0, 8).join(' ') || 'none listed'}), so it cannot delegate controllers ` +
        `(cgroup v2 "no internal processes" rule); run boxlab in a cgroup of its own (a unit with Delegate=yes, or see README "Supported hosts")`,
    );
  }
  return missing;
}

export interface EnsureReport {
  /** Controllers this call enabled, per cgroup. */
  enabled: Array<{ dir: string; controllers: string[] }>;
  /** True when this call moved our own process into the supervisor leaf. */
  movedSelf: boolean;
}

/**
 * Makes the subtree ready for boxes: unit mode moves our own pid (only it) into <unit>/supervisor once, then
 * enables controllers on <unit> and <unit>/boxes (never on anything systemd owns above the unit); subtree mode
 * enables them on the mount root and <mount>/boxlab. Idempotent: a ready tree costs only reads.
 */
export async function ensureV2Base(
  io: CgroupIO,
  base: V2Base,
  pid: number,
  ownDirNow: string,
  ctrls: readonly string[],
): Promise<EnsureReport> {
  const rep: EnsureReport = { enabled: [], movedSelf: false };
  const step = async (dir: string) => {
    const got = await enable(io, dir, ctrls, base);
    if (got.length) rep.enabled.push({ dir, controllers: got });
  };
  try {
    if (base.kind === 'unit' && ownDirNow !== base.supervisorDir) {
      await mkdirOk(io, base.supervisorDir!);
      await io.write(j(base.supervisorDir!, 'cgroup.procs'), String(pid));
      rep.movedSelf = true;
    }
    await step(base.top);
    await mkdirOk(io, base.boxesDir);
    await step(base.boxesDir);
  } catch (e) {
    throw cgError('cgroup_create', e, { syscall: 'write', path: base.top });
  }
  return rep;
}

/** rmdir of a cgroup Boxlab made, only when it has no processes and no children; true when it is gone. */
export async function rmdirIfUnused(io: CgroupIO, dir: string): Promise<boolean> {
  try {
    if ((await io.listDirs(dir)).length) return false;
    if (parsePids(await io.read(j(dir, 'cgroup.procs'))).length) return false;
    await io.rmdir(dir);
    return true;
  } catch (e) {
    const c = errCode(e);
    if (c === 'ENOENT') return true;
    if (c === 'EBUSY' || c === 'ENOTEMPTY') return false;
    throw e;
  }
}

/**
 * Box parents a sweep looks in besides our own: the `boxes` of other boxlab units beside ours (a server killed
 * with -9 leaves its scope alive while its boxes run).
 */
export async function siblingUnitBoxes(io: CgroupIO, base: V2Base): Promise<string[]> {
  if (base.kind !== 'unit') return [];
  const parent = path.posix.dirname(base.top);
  const out: string[] = [];
  for (const name of await io.listDirs(parent)) {
    const unit = j(parent, name);
    if (unit === base.top || !BOXLAB_UNIT_RE.test(name)) continue;
    if (await io.exists(j(unit, UNIT_BOXES))) out.push(j(unit, UNIT_BOXES));
  }
  return out;
}

/**
 * Leftovers of earlier Boxlab versions, which made <own>/boxlab and moved the caller's processes into
 * <own>/server at every run (nesting server/server/...): removes each such level that is now unused,
 * innermost first, walking from where this process started up to the mount root. Busy ones stay.
 */
export async function sweepLegacy(io: CgroupIO, mountDir: string, startedIn: string): Promise<string[]> {
  const removed: string[] = [];
  const rel = path.posix.relative(mountDir, startedIn);
  if (rel.startsWith('..')) return removed;
  const chain = [mountDir];
  for (const part of rel.split('/').filter(Boolean)) chain.push(j(chain[chain.length - 1]!, part));
  for (const dir of chain.reverse()) {
    const legacy = j(dir, SUBTREE_NAME);
    if (dir !== mountDir && (await io.exists(legacy)) && (await rmdirIfUnused(io, legacy))) removed.push(legacy);
    if (path.posix.basename(dir) === 'server' && dir !== startedIn && (await rmdirIfUnused(io, dir))) removed.push(dir);
  }
  return removed;
}
