// main-process.ts: container_main_process, the outer parent's side of creation: each host-side stage, in the seed's order.
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupSet } from './cgroups/index.ts';
import type { EngineDeps } from './deps.ts';
import { layerPaths, mountOverlay, mountUpperTmpfs, type Layers } from './overlay.ts';
import { AsyncQueue } from './queue.ts';
import type { StageClock } from './stages.ts';
import { ensureRunDir, processStartTime, sandboxesDir, UID_BASE, UID_RANGE, writeRecord, type SandboxRecord } from './state.ts';
import { addUidSlotOwners, claimUidSlot, ownerOf, type UidClaim } from './uid-registry.ts';
import { CLONE, type BoxProcess, type ChildEvent, type PtyMaster } from './syscalls.ts';
import { SyscallError } from '../../native-bindings/errors.ts';
import { SandboxError, STAGES, type Defense, type NamespaceKind, type SandboxConfig, type StageName } from './types.ts';
import type { ResolvedLimits } from './config.ts';

export const NS_FLAGS = CLONE.NEWNS | CLONE.NEWUTS | CLONE.NEWIPC | CLONE.NEWNET | CLONE.NEWCGROUP | CLONE.NEWPID;
const NS_KINDS: NamespaceKind[] = ['user', 'mnt', 'uts', 'ipc', 'net', 'cgroup', 'pid', 'time'];
/** Each child stage should take microseconds; a stall this long means something is wrong, never a slow box. */
const STAGE_TIMEOUT_MS = 10_000;
export const BOX_OOM_SCORE_ADJ = 500;

export const DEFENSE_BITS: Record<Defense, number> = {
  seccomp: 1,
  caps: 2,
  no_new_privs: 4,
  mask_proc: 8,
  close_fds: 16,
  rlimits: 32,
  pivot_root: 64,
  proc_ro: 128,
};
/** BX_LAB in boxlab_child.h: lab mode (the namespaced parent caps nested namespaces, /proc is mounted plainly). */
export const LAB_BIT = 1 << 16;

/** The bits for the helper: the defenses switched off, and in lab mode the /proc masks and read-only /proc, which
 * would make the kernel refuse every nested proc mount (mount_too_revealing in fs/namespace.c; docs/lab-mode.md). */
export function disableBits(config: SandboxConfig): number {
  const off = (config.disable ?? []).reduce((m, d) => m | (DEFENSE_BITS[d] ?? 0), 0);
  return config.lab ? off | DEFENSE_BITS.mask_proc | DEFENSE_BITS.proc_ro | LAB_BIT : off;
}

function labCaps(deps: EngineDeps): bigint {
  if (deps.capKeepLab === undefined) {
    throw new SandboxError('prepare_state', new SyscallError('config', 22), 'lab mode: this engine has no lab capability set');
  }
  return deps.capKeepLab;
}

/** Everything creation made, so that teardown (or a failure half way) releases exactly that. */
export interface Built {
  id: string;
  dir: string;
  slot: number;
  slotClaim?: UidClaim;
  uidBase: number;
  layers: Layers;
  record: SandboxRecord;
  cgroups?: CgroupSet;
  upperMounted: boolean;
  overlayMounted: boolean;
  proc?: BoxProcess;
  events?: AsyncQueue<ChildEvent>;
  initPid?: number;
  pty?: PtyMaster;
}

export function nsInodes(deps: EngineDeps, pid: number, kinds: NamespaceKind[]): Partial<Record<NamespaceKind, number>> {
  const out: Partial<Record<NamespaceKind, number>> = {};
  for (const k of kinds) {
    // The pid namespace an unshare made applies to children only: /proc/<pid>/ns/pid_for_children shows it.
    const ino = deps.sys.nsInode(pid, k === 'pid' ? 'pid_for_children' : k);
    if (ino !== null) out[k] = ino;
  }
  return out;
}

/** Runs the creation stages; on failure throws a SandboxError with what was built attached for teardown. */
export async function containerMainProcess(
  id: string,
  config: SandboxConfig,
  limits: ResolvedLimits,
  deps: EngineDeps,
  clock: StageClock,
): Promise<Built> {
  const { sys } = deps;
  const failAt = config.failAt;
  const outer = <T>(stage: StageName, fn: () => T | Promise<T>, extra?: (r: T) => object) =>
    clock.outer(stage, failAt === stage, fn, extra);

  const dir = join(sandboxesDir(deps.runDir), id);
  const built: Built = {
    id,
    dir,
    slot: -1,
    uidBase: -1,
    layers: layerPaths(dir),
    upperMounted: false,
    overlayMounted: false,
    record: { id, slot: -1, createdAt: new Date().toISOString(), serverPid: process.pid, dir },
  };
  try {
    await outer(
      'prepare_state',
      () => {
        ensureRunDir(deps.runDir);
        try {
          mkdirSync(dir, { mode: 0o700 });
        } catch (err) {
          // The run dir was removed under us (a manual cleanup): make it again once.
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          ensureRunDir(deps.runDir, true);
          mkdirSync(dir, { mode: 0o700 });
        }
        // Machine-wide: no live box of any server or CLI run on this host holds the same uids.
        built.slotClaim = claimUidSlot(id, dir, [ownerOf(process.pid)], { registry: deps.uidRegistry });
        built.slot = built.slotClaim.slot;
        built.record.slotEntry = built.slotClaim.entry;
        built.uidBase = UID_BASE + built.slot * UID_RANGE;
        // Only this box's root (host gid uidBase) may walk through to its merged root: other host users and other
        // boxes may not, since their ids differ.
        sys.chown(dir, 0, built.uidBase);
        chmodSync(dir, 0o710);
        built.record.slot = built.slot;
        writeRecord(built.record);
      },
      () => ({ detail: `uid range ${built.uidBase}-${built.uidBase + UID_RANGE - 1}` }),
    );

    const makeCgroups = async () => {
      built.cgroups = await outer(
        'cgroup_create',
        () => deps.cgroups(id, limits.cgroup),
        (cg) => ({
          detail: `cgroup v${cg.version}: ${Object.values(cg.paths)[0] ?? ''}`,
        }),
      );
      built.record.cgroups = built.cgroups.paths as Record<string, string>;
      // Recorded now: a crash before fork2 must not hide cgroups that live outside our own subtree from the sweep.
      writeRecord(built.record);
    };
    // On cgroup v2 the cgroups come first so that the namespaced parent is born in them (clone3 CLONE_INTO_CGROUP:
    // no attach write, never a moment outside the limits). Otherwise it starts first: its exec and
    // unshare(CLONE_NEWUSER) run while we make the cgroups and the tmpfs (bench/: hides ~1 ms of the create path).
    const intoCgroup = deps.cgroupPlacement === 'clone';
    if (intoCgroup) await makeCgroups();
    const cgroupDir = intoCgroup && built.cgroups?.version === 2 ? built.cgroups.paths.memory : undefined;
    const proc = await outer(
      'fork1',
      () =>
        sys.spawnBox({
          root: built.layers.merged,
          hostname: config.hostname,
          workdir: config.workdir,
          argv: [config.shell, ...(config.args ?? [])],
          env: Object.entries(config.env).map(([k, v]) => `${k}=${v}`),
          stdio: config.stdio,
          rows: config.rows ?? 24,
          cols: config.cols ?? 80,
          nsFlags: NS_FLAGS,
          capKeep: config.lab ? labCaps(deps) : deps.capKeep,
          disable: disableBits(config),
          failAt: failAt ? STAGES.indexOf(failAt) : -1,
          rlimitNofile: 1024,
          rlimitFsize: limits.diskBytes,
          devOpts: 'mode=755,size=65536,nr_inodes=64',
          shmOpts: `mode=1777,size=${limits.shmBytes},nr_inodes=${limits.shmInodes}`,
          seccompFilter: (config.disable ?? []).includes('seccomp') ? null : sys.seccompFilter(config.lab ? 'lab' : 'box'),
          cgroupDir,
        }),
      (p) => ({
        detail: `namespaced parent pid ${p.pid}${p.cgroupPlaced ? ', born in its cgroup (clone3 CLONE_INTO_CGROUP)' : ''}`,
        hostPidOverride: p.pid,
      }),
    );
    built.proc = proc;
    built.record.namespacedParent = { pid: proc.pid, starttime: processStartTime(proc.pid) ?? '' };
    // Before uid_map, so before any process runs with the slot's uids: a crash of ours from here on leaves the slot
    // held while the namespaced parent (and with it PID 1, PDEATHSIG) lives.
    addUidSlotOwners(built.slotClaim!, [built.record.namespacedParent]);
    const events = new AsyncQueue<ChildEvent>();
    built.events = events;
    proc.onEvent((e) => events.push(e));
    proc.onEnd(() => events.close(new Error('the namespaced parent exited')));

    if (!intoCgroup) await makeCgroups();

    await outer(
      'upper_tmpfs',
      () => {
        mountUpperTmpfs(sys, built.layers, limits.diskBytes, limits.diskInodes, built.uidBase);
        built.upperMounted = true;
      },
      () => ({ detail: `tmpfs size=${config.diskBytes} nr_inodes=${limits.diskInodes}` }),
    );

    const child = async (stage: StageName) => {
      let e: ChildEvent;
      try {
        e = await events.next(STAGE_TIMEOUT_MS);
      } catch (err) {
        throw new SandboxError(
          stage,
          SyscallError.of({ syscall: 'read', errno: 0, code: 'ECHILD', cause: err }),
          `${stage}: ${(err as Error).message}`,
        );
      }
      const name = STAGES[e.stage] ?? `stage ${e.stage}`;
      // The new PID namespace has no /proc/<pid>/ns/pid_for_children entry until its first process exists
      // (fs/proc/namespaces.c), so it is reported at fork2 rather than at unshare_ns.
      const ns = !e.ok
        ? undefined
        : name === 'unshare_user'
          ? nsInodes(deps, proc.pid, ['user'])
          : name === 'unshare_ns'
            ? nsInodes(deps, proc.pid, ['mnt', 'uts', 'ipc', 'net', 'cgroup'])
            : name === 'fork2'
              ? nsInodes(deps, proc.pid, ['pid'])
              : undefined;
      clock.child(e, built.initPid ?? null, ns);
      if (!e.ok) throw clock.childError(e);
      if (name !== stage) {
        throw new SandboxError(
          stage,
          SyscallError.of({ syscall: 'read', errno: 0, code: 'EPROTO' }),
          `expected stage ${stage}, got ${name}`,
        );
      }
      return e;
    };

    await child('unshare_user');
    await outer(
      'uid_map',
      () => {
        // setgroups must be denied before gid_map (user_namespaces(7)); it also keeps the box from
        // dropping groups that deny it access (CVE-2014-8989).
        sys.writeProcFile(proc.pid, 'setgroups', 'deny');
        sys.writeProcFile(proc.pid, 'uid_map', `0 ${built.uidBase} ${UID_RANGE}\n`);
        sys.writeProcFile(proc.pid, 'gid_map', `0 ${built.uidBase} ${UID_RANGE}\n`);
      },
      () => ({ detail: `0 -> ${built.uidBase} (${UID_RANGE} ids)` }),
    );
    await outer(
      'overlay_mount',
      () => {
        mountOverlay(sys, config.baseDir, built.layers, proc.pid);
        built.overlayMounted = true;
      },
      () => ({ detail: `lower=${config.baseDir} (idmapped) upper=tmpfs` }),
    );
    await outer(
      'cgroup_attach',
      async () => {
        // Born there already (clone3): nothing to write; a kernel that fell back to posix_spawn gets the write.
        if (!proc.cgroupPlaced) await built.cgroups!.addProcess(proc.pid);
        // Under host memory pressure the boxes go first, never the server; written by a privileged process it is
        // also the floor the box's root cannot go below (proc(5), oom_score_adj_min).
        sys.writeProcFile(proc.pid, 'oom_score_adj', String(BOX_OOM_SCORE_ADJ));
      },
      () => ({
        detail: `pid ${proc.pid}${proc.cgroupPlaced ? ' placed at clone3, no cgroup.procs write' : ''}, oom_score_adj ${BOX_OOM_SCORE_ADJ}`,
      }),
    );
    proc.control('G');

    await child('unshare_ns');
    await child('hostname');
    await child('net_lo_up');
    const fork2 = await child('fork2');
    built.initPid = fork2.value;
    built.record.init = { pid: fork2.value, starttime: processStartTime(fork2.value) ?? '' };
    writeRecord(built.record);
    addUidSlotOwners(built.slotClaim!, [built.record.init]);
    for (const s of ['mount_private', 'mount_proc', 'mount_dev', 'mask_paths'] as const) await child(s);
    const pty = await child('pty_open');
    if (config.stdio === 'pty') {
      built.pty = sys.takePtyMaster(built.initPid, pty.value);
      proc.control('P');
    }
    for (const s of ['pivot_root', 'chdir', 'seccomp', 'drop_privileges', 'exec'] as const) await child(s);
    const exec = await proc.execResult;
    if (!exec.ok) {
      // The failure event itself follows on the status pipe; wait for it so the error names the call.
      await child('exec');
      throw new SandboxError('exec', SyscallError.of({ syscall: 'execve', errno: exec.errno, code: 'EEXEC', path: config.shell }));
    }
    // Lab mode on cgroup v2: the box's root gets its own cgroup subtree (delegate-box.ts), once PID 1 runs: its
    // processes move into <box>/init and the learner can make child cgroups below the box's limits. On v1 there is
    // no delegation to a user namespace (cgroups(7)), so lab boxes there get none.
    let delegated = '';
    await outer(
      'running',
      async () => {
        if (config.lab && built.cgroups?.version === 2) {
          const d = await built.cgroups.delegate(built.uidBase!, built.uidBase!);
          if (d?.skipped) delegated = `; no cgroup subtree for the box (${d.skipped})`;
          else if (d)
            delegated = `; cgroup subtree delegated to the box's root (init/, children get ${d.controllers.join(' ') || 'no controllers'})`;
        }
        return nsInodes(deps, built.initPid!, NS_KINDS);
      },
      (ns) => ({
        namespaces: ns,
        hostPidOverride: built.initPid,
        boxPid: 1,
        detail: `${config.shell} is PID 1${delegated}`,
      }),
    );
    return built;
  } catch (err) {
    (err as { built?: Built }).built = built;
    if (err instanceof SandboxError) err.sandboxId = id;
    throw err;
  }
}
