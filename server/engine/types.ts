// Public types of the sandbox engine: config, stage events, errors, and the handle the web server and CLI use.
import type { SyscallError } from '../../native-bindings/errors.ts';
import type { SubCgroup } from './cgroups/delegate-box.ts';

/** The seed's SandboxConfig, plus what a playground needs. Limits are numbers: their text ("100M", "0.5") is parsed
 * once where it comes in (flags, env, lesson front matter) by server/protocol/size.ts. */
export interface SandboxConfig {
  /** Image directory used as the read-only lower layer (the seed's --base-dir). */
  baseDir: string;
  /** Memory limit in bytes. */
  memoryBytes: number;
  /** CPU limit as a fraction of one core, e.g. 0.5. */
  cpuFraction: number;
  /** Max number of tasks in the box. */
  pids: number;
  /** Shell or binary to exec inside, with its arguments. */
  shell: string;
  args?: string[];
  /** Working directory inside the box. */
  workdir: string;
  hostname: string;
  env: Record<string, string>;
  /** Size cap in bytes of the tmpfs that holds the writable upper layer. */
  diskBytes: number;
  /** Size cap in bytes of the box's /dev/shm. */
  shmBytes: number;
  /** 'pty': a terminal made in the box's own devpts; 'pipe': stdin/stdout/stderr pipes (docker run -i). */
  stdio: 'pty' | 'pipe';
  /** Initial terminal size for 'pty'. */
  rows?: number;
  cols?: number;
  /** Lab mode (docs/lab-mode.md): the learner may make nested namespaces, mount and pivot_root inside the box, with
   * CAP_SYS_ADMIN/CAP_NET_ADMIN in the box's own user namespace; /proc is unmasked and read-write. */
  lab?: boolean;
  /** Defenses to switch off, only for the security suite proving each one matters. */
  disable?: Defense[];
  /** Fault injection for tests: fail at this stage with EPERM-like error. */
  failAt?: StageName;
  /** Input bytes that may wait for a box that does not read (default 1 MiB); more is refused by write(). */
  inputQueueBytes?: number;
}

/** Input accounting of a sandbox: bytes waiting, handed to the box, refused over the cap. */
export interface InputStats {
  queued: number;
  written: number;
  refused: number;
  cap: number;
}

/** Defenses that can be switched off one at a time by the security suite (never by the web server). */
export type Defense =
  | 'seccomp'
  | 'caps'
  | 'no_new_privs'
  | 'mask_proc'
  | 'close_fds'
  | 'rlimits'
  | 'pivot_root'
  | 'proc_ro';

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

/**
 * The engine's error, as crun's libcrun_error_t: which stage of which box failed, wrapping the failed call (a
 * SyscallError: syscall, errno, code, path) as its standard ES2022 `cause` rather than copying it. `info` is the
 * plain wire form a StageEvent carries. The inner child's failures reach it over the capped status pipe (stages.ts).
 */
export class SandboxError extends Error {
  readonly stage: StageName;
  /** The box that failed (its id names its state dir and cgroups), once known. */
  sandboxId?: string;
  declare readonly cause: SyscallError;
  constructor(stage: StageName, cause: SyscallError, message?: string) {
    super(message ?? `${stage}: ${cause.syscall}${cause.path ? `(${cause.path})` : ''} failed: ${cause.code}`, { cause });
    this.name = 'SandboxError';
    this.stage = stage;
  }
  get errno(): number {
    return this.cause.errno;
  }
  get code(): string {
    return this.cause.code;
  }
  get info(): SandboxErrorInfo {
    const { syscall, errno, code, path } = this.cause;
    return {
      stage: this.stage, syscall, errno, code, ...(path !== undefined ? { path } : {}), message: this.message,
      ...(this.sandboxId !== undefined ? { sandboxId: this.sandboxId } : {}),
    };
  }
}

export interface SandboxStats {
  memory: { current: number; limit: number; oomKills: number; swapCurrent?: number };
  cpu: { usageUsec: number; quotaFraction: number; nrThrottled: number; throttledUsec: number };
  pids: { current: number; max: number };
  cgroupVersion: 1 | 2;
}

export interface ExitInfo {
  /** Exit code of PID 1, or null when it was killed. */
  code: number | null;
  signal: number | null;
  /** What the CLI returns: code, or 128+signal. */
  status: number;
}

export interface NamespaceInfo {
  /** Inode numbers of /proc/<pid>/ns/* for the server (host) and for the box's PID 1. */
  host: Partial<Record<NamespaceKind, number>>;
  box: Partial<Record<NamespaceKind, number>>;
}

/**
 * A live sandbox. Made by createSandbox() in server/engine/index.ts, which resolves once the
 * shell runs (stage 'running') or rejects with a SandboxError after cleaning up.
 * Events: 'stage' (StageEvent), 'data' (Buffer, pty or stdout bytes; never decoded),
 * 'stderr' (Buffer, pipe mode only), 'exit' (ExitInfo, once, after PID 1 died),
 * 'destroyed' (after every resource is released).
 */
export interface SandboxHandle {
  readonly id: string;
  readonly config: SandboxConfig;
  /** Host pids: namespaced parent and inner child (PID 1 inside). */
  readonly pids: { namespacedParent: number; init: number };
  /** Every stage event so far, in order. */
  readonly events: readonly StageEvent[];
  /** Host paths of the layers: lower image, upper dir, merged root. */
  readonly layers: { lower: string; upper: string; merged: string };
  on(event: 'stage', fn: (e: StageEvent) => void): this;
  on(event: 'data' | 'stderr', fn: (b: Buffer) => void): this;
  on(event: 'exit', fn: (e: ExitInfo) => void): this;
  on(event: 'destroyed', fn: () => void): this;
  /** The input queue emptied (pty) or the stdin socket drained (pipe). */
  on(event: 'drain', fn: () => void): this;
  // biome-ignore lint/suspicious/noExplicitAny: the listener types of the on() overloads above differ; off() takes any of them
  off(event: string, fn: (...a: any[]) => void): this;
  /**
   * Keystrokes / stdin bytes. Never blocks: they are written at once as far as the box reads, the rest waits in a
   * bounded queue, in order. False: refused whole (the queue would exceed inputQueueBytes, or the box is gone).
   */
  write(data: Buffer | string): boolean;
  /** Input bytes written but not yet taken by the box. */
  readonly inputQueued: number;
  readonly inputStats: InputStats;
  /** Close stdin (pipe mode). */
  endInput(): void;
  /** Flow control: stop / restart reading the pty (reads are batched per event-loop turn). */
  pause(): void;
  resume(): void;
  resize(rows: number, cols: number): void;
  /** Signal PID 1 (or with group=true every process of the box). */
  signal(sig: number, group?: boolean): void;
  wait(): Promise<ExitInfo>;
  stats(): Promise<SandboxStats>;
  /** Lab mode on cgroup v2: the cgroups below the box's own (its init/ leaf and what the learner made); else []. */
  cgroupSubtree(): Promise<SubCgroup[]>;
  namespaces(): Promise<NamespaceInfo>;
  /** Kill everything, then clean in the seed's order. Idempotent; resolves when nothing is left. */
  destroy(): Promise<void>;
}

export interface CreateOptions {
  /** Called for each stage event as it happens (also emitted as 'stage' on the handle). */
  onStage?: (e: StageEvent) => void;
}
