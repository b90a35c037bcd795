// Public types of the sandbox engine: config, stage events, errors, and the handle the web server and CLI use.
import type { SyscallError } from '../../native-bindings/errors.ts';
import type { SubCgroup } from './cgroups/delegate-box.ts';

import type { ExitInfo, NamespaceKind, SandboxErrorInfo, SandboxStats, StageEvent, StageName } from '../protocol/box.ts';

// The wire-visible part lives in server/protocol/box.ts (the browser imports it); re-exported for the engine's users.
export { STAGES } from '../protocol/box.ts';
export type { ExitInfo, NamespaceKind, ProcessRole, SandboxErrorInfo, SandboxStats, StageEvent, StageName } from '../protocol/box.ts';

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
export type Defense = 'seccomp' | 'caps' | 'no_new_privs' | 'mask_proc' | 'close_fds' | 'rlimits' | 'pivot_root' | 'proc_ro';

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
      stage: this.stage,
      syscall,
      errno,
      code,
      ...(path !== undefined ? { path } : {}),
      message: this.message,
      ...(this.sandboxId !== undefined ? { sandboxId: this.sandboxId } : {}),
    };
  }
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
