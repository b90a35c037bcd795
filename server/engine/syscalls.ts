// The one interface through which the engine reaches the kernel (youki's Syscall trait): real in native-bindings/, recording fake in tests.

/** What the C helper reports for one stage of the namespaced parent or the inner child. */
export interface ChildEvent {
  stage: number;
  role: 'namespaced_parent' | 'inner_child';
  ok: boolean;
  errno: number;
  /** pid in the reporting process's own pid namespace (1 for PID 1 of the box). */
  pid: number;
  value: number;
  /** CLOCK_MONOTONIC in ns, the clock of process.hrtime.bigint(). */
  tStart: bigint;
  tEnd: bigint;
  syscall: string;
  detail: string;
}

export interface SpawnRequest {
  root: string;
  hostname: string;
  workdir: string;
  argv: string[];
  env: string[];
  stdio: 'pty' | 'pipe';
  rows: number;
  cols: number;
  nsFlags: number;
  capKeep: bigint;
  disable: number;
  failAt: number;
  rlimitNofile: number;
  rlimitFsize: number;
  devOpts: string;
  shmOpts: string;
  seccompFilter: Buffer | null;
  /** cgroup v2 only: start the namespaced parent inside this cgroup (clone3 CLONE_INTO_CGROUP, Linux 5.7). */
  cgroupDir?: string;
}

/** A running double fork: the namespaced parent's pid and the channels to it. */
export interface BoxProcess {
  pid: number;
  /** Events in the order written; 'end' when both children closed the status pipe. */
  onEvent(fn: (e: ChildEvent) => void): void;
  onEnd(fn: () => void): void;
  /** Resolves when PID 1's execve succeeded (ok) or it failed before (errno). */
  execResult: Promise<{ ok: true } | { ok: false; errno: number }>;
  /** Bytes to the children: 'G' go, 'P' pty taken, 'X' abort. */
  control(byte: 'G' | 'P' | 'X'): void;
  /** Pipe mode: the outer ends of the box's stdin, stdout, stderr. */
  stdio?: { stdin: NodeJS.WritableStream; stdout: NodeJS.ReadableStream; stderr: NodeJS.ReadableStream };
  /** Releases the outer ends of the status/control pipes. */
  close(): void;
  /** True when it was born in SpawnRequest.cgroupDir; false when the kernel fell back to posix_spawn (attach it). */
  cgroupPlaced?: boolean;
}

export interface WaitResult {
  pid: number;
  exited: boolean;
  code: number | null;
  signal: number | null;
}

/**
 * A pty master fd taken into this process, O_NONBLOCK: output is read through `stream`; input goes through
 * tryWrite only (the stream's own write would be a blocking write on a master: libuv's uv_tty_init cannot reopen
 * a master and falls back to blocking writes, which spin on EAGAIN).
 */
export interface PtyMaster {
  fd: number;
  /** `closed` is true once the fd is closed ('close' was emitted), which may come after destroy() returned. */
  stream: NodeJS.ReadableStream & { pause(): unknown; resume(): unknown; destroy(): unknown; readonly closed?: boolean };
  /** write(2) of as much of chunk as the kernel takes now: the count, 0 when the pty is full (EAGAIN). Throws otherwise (EIO: no reader left; EBADF after destroy). */
  tryWrite(chunk: Buffer): number;
}

export interface Syscalls {
  spawnBox(req: SpawnRequest): BoxProcess;
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  umount2(target: string, flags: number): void;
  /** open_tree(OPEN_TREE_CLONE) + mount_setattr(MOUNT_ATTR_IDMAP, user ns of pid) + move_mount onto target. */
  idmappedBind(source: string, target: string, usernsPid: number): void;
  /** Takes fd `targetFd` of process `pid` (pidfd_open + pidfd_getfd) and wraps it as a pty master stream. */
  takePtyMaster(pid: number, targetFd: number): PtyMaster;
  setWinsize(fd: number, rows: number, cols: number): void;
  kill(pid: number, signal: number): void;
  /** waitpid(pid, WNOHANG): null while it runs. */
  waitpid(pid: number): WaitResult | null;
  /** Compiled seccomp filter of the box's policy, or of lab mode's (cached). */
  seccompFilter(variant?: 'box' | 'lab'): Buffer | null;
  chown(path: string, uid: number, gid: number): void;
  /** Writes a kernel file of /proc/<pid>/ (uid_map, gid_map, setgroups). */
  writeProcFile(pid: number, name: string, data: string): void;
  /** Inode of /proc/<pid>/ns/<kind> (the namespace's identity), or null if unreadable. */
  nsInode(pid: number, kind: string): number | null;
}

export const CLONE = {
  NEWNS: 0x00020000,
  NEWCGROUP: 0x02000000,
  NEWUTS: 0x04000000,
  NEWIPC: 0x08000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
} as const;

export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  REMOUNT: 32,
  BIND: 4096,
  REC: 16384,
  PRIVATE: 1 << 18,
} as const;

export const MNT_DETACH = 2;
export const SIGKILL = 9;
export const SIGTERM = 15;
