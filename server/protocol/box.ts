// Wire types of a box shared by the engine, the server and the browser: stage names and events, stats, exit.
// No node, no DOM: bundled into the browser (the engine re-exports these from server/engine/types.ts).

export type ProcessRole = 'outer' | 'namespaced_parent' | 'inner_child';

/** Every stage, in the order the seed draws them. docs/stages.md documents each. */
export const STAGES = [
  'prepare_state', // outer: state dir + uid range slot
  'fork1', // outer: posix_spawn of the namespaced parent (boxlab-nsexec), first so it starts while we work on
  'cgroup_create', // outer: cgroups made and limited
  'upper_tmpfs', // outer: size-capped tmpfs for upper/work
  'unshare_user', // namespaced parent: new user namespace
  'uid_map', // outer: uid_map/gid_map/setgroups written for it
  'overlay_mount', // outer: idmapped lower + overlay merged root
  'cgroup_attach', // outer: namespaced parent put in the cgroups
  'unshare_ns', // namespaced parent: mount, uts, ipc, net, cgroup, pid
  'hostname', // namespaced parent: sethostname in new UTS ns
  'net_lo_up', // namespaced parent: lo brought up in new net ns
  'fork2', // namespaced parent: fork of the inner child (PID 1)
  'mount_private', // inner child: / made rslave so nothing propagates to the host
  'mount_proc', // inner child: fresh /proc of the new PID namespace
  'mount_dev', // inner child: minimal /dev, devpts, shm
  'mask_paths', // inner child: runc's masked and read-only paths
  'pty_open', // inner child: pty in the box's own devpts, master handed to outer
  'pivot_root', // inner child: pivot_root + old root detached
  'chdir', // inner child: chdir to workdir
  'seccomp', // inner child: syscall filter installed (while CAP_SYS_ADMIN in the userns still allows it)
  'drop_privileges', // inner child: rlimits, bounding set, capabilities, no_new_privs, fds closed on exec
  'exec', // inner child: execve of the shell (the event is sent just before)
  'running', // outer: exec succeeded (status pipe closed on exec)
  'child_exit', // namespaced parent: inner child exited
  'umount_proc', // namespaced parent: /proc unmounted inside the namespace
  'umount_dev', // namespaced parent: /dev unmounted inside the namespace
  'namespaced_parent_exit', // outer: namespaced parent reaped
  'overlay_umount', // outer: merged, lower and tmpfs unmounted
  'cgroup_remove', // outer: cgroups removed
  'cleanup_done', // outer: state removed
] as const;
export type StageName = (typeof STAGES)[number];

export type NamespaceKind = 'pid' | 'mnt' | 'uts' | 'ipc' | 'net' | 'user' | 'cgroup' | 'time';

export interface StageEvent {
  type: 'stage';
  stage: StageName;
  role: ProcessRole;
  /** pid of the process doing the stage as the host sees it (null when not known). */
  hostPid: number | null;
  /** pid as seen inside the box's PID namespace (null for processes outside it). */
  boxPid: number | null;
  /** Monotonic time in ms (performance.now() scale of the server), start and duration. */
  t: number;
  durationMs: number;
  ok: boolean;
  /** Namespace inodes that changed at this stage (host view of /proc/<pid>/ns/*). */
  namespaces?: Partial<Record<NamespaceKind, number>>;
  detail?: string;
  error?: SandboxErrorInfo;
}

export interface SandboxErrorInfo {
  stage: StageName;
  syscall: string;
  errno: number;
  code: string;
  path?: string;
  message: string;
  /** The sandbox that failed (its id names its state dir and cgroups). */
  sandboxId?: string;
}

export interface SandboxStats {
  memory: { current: number; limit: number; oomKills: number; swapCurrent?: number };
  cpu: { usageUsec: number; quotaFraction: number; nrThrottled: number; throttledUsec: number };
  /** refused: pids.events "max" of the box's own cgroup (absent from older recordings). */
  pids: { current: number; max: number; refused?: number };
  cgroupVersion: 1 | 2;
}

export interface ExitInfo {
  /** Exit code of PID 1, or null when it was killed. */
  code: number | null;
  signal: number | null;
  /** What the CLI returns: code, or 128+signal. */
  status: number;
}
