// Human words for the engine's stages and process roles, shared by the stage list and the future x-ray.
import { STAGES, type ProcessRole, type StageName } from '../../server/protocol/box';

export const ROLE_LABEL: Record<ProcessRole, string> = {
  outer: 'outer',
  namespaced_parent: 'namespaced parent',
  inner_child: 'inner child',
};

export const ROLE_HELP: Record<ProcessRole, string> = {
  outer: 'The Boxlab server, on the host, as root',
  namespaced_parent: 'First fork: owns the new user namespace and sets up the others',
  inner_child: 'Second fork: PID 1 of the box, becomes your shell',
};

export const STAGE_HELP: Record<StageName, string> = {
  prepare_state: 'State directory and a slot of host uids reserved',
  cgroup_create: 'cgroups created with memory, cpu and pids limits',
  upper_tmpfs: 'Size-capped tmpfs made for the writable layer',
  fork1: 'Namespaced parent forked',
  unshare_user: 'New user namespace: root inside, nobody outside',
  uid_map: 'uid_map, gid_map and setgroups written',
  overlay_mount: 'Image mounted read-only under a writable overlay',
  cgroup_attach: 'Namespaced parent moved into the cgroups',
  unshare_ns: 'New mount, UTS, IPC, network, cgroup and PID namespaces',
  hostname: 'Hostname set in the new UTS namespace',
  net_lo_up: 'Loopback brought up in the empty network namespace',
  fork2: 'Inner child forked: PID 1 of the box',
  mount_private: 'Mounts made slave so nothing leaks to the host',
  mount_proc: 'Fresh /proc for the new PID namespace',
  mount_dev: 'Minimal /dev, devpts and /dev/shm',
  mask_paths: 'Sensitive /proc and /sys paths masked or read-only',
  pty_open: 'Terminal opened in the box’s own devpts',
  pivot_root: 'pivot_root into the overlay; old root detached',
  chdir: 'Working directory entered',
  seccomp: 'Seccomp syscall filter installed',
  drop_privileges: 'rlimits, capabilities dropped, no_new_privs, fds closed',
  exec: 'execve of the shell',
  running: 'Shell running',
  child_exit: 'PID 1 exited',
  umount_proc: '/proc unmounted inside the namespace',
  umount_dev: '/dev unmounted inside the namespace',
  namespaced_parent_exit: 'Namespaced parent reaped',
  overlay_umount: 'Overlay, image and tmpfs unmounted',
  cgroup_remove: 'cgroups removed',
  cleanup_done: 'State removed: nothing left on the host',
};

/** "0.42 ms", "12.3 ms", "1.20 s": enough precision to compare stages without noise. */
export function formatMs(ms: number): string {
  if (ms < 0.01) return '<0.01 ms';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** Who does each stage (docs/stages.md); lets the list draw stages that have not happened yet. */
export const STAGE_ROLE: Record<StageName, ProcessRole> = Object.fromEntries(
  STAGES.map((s) => {
    const parent = ['unshare_user', 'unshare_ns', 'hostname', 'net_lo_up', 'fork2', 'child_exit', 'umount_proc', 'umount_dev'];
    const i = STAGES.indexOf(s);
    const inner = i >= STAGES.indexOf('mount_private') && i <= STAGES.indexOf('exec');
    return [s, parent.includes(s) ? 'namespaced_parent' : inner ? 'inner_child' : 'outer'];
  }),
) as Record<StageName, ProcessRole>;

/** Creation stages, prepare_state to running: the ones drawn as pending before they arrive. */
export const CREATION_STAGES: readonly StageName[] = STAGES.slice(0, STAGES.indexOf('running') + 1);
