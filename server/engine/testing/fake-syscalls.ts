// fake-syscalls.ts: a recording test double of the Syscalls interface and of the C helper's children (youki's test syscall).
import { PassThrough } from 'node:stream';
import { SyscallError } from '../../../native-bindings/errors.ts';
import type { CgroupLimits, CgroupSet } from '../cgroups/index.ts';
import type { EngineDeps } from '../deps.ts';
import type { BoxProcess, ChildEvent, PtyMaster, SpawnRequest, Syscalls, WaitResult } from '../syscalls.ts';
import { STAGES, type StageName } from '../types.ts';

export interface Call {
  name: string;
  args: unknown[];
}

const NP = 'namespaced_parent';
const IC = 'inner_child';
/** What the C children report, in order, split at the outer parent's control bytes. */
const BEFORE_GO: [StageName, typeof NP | typeof IC][] = [['unshare_user', NP]];
const AFTER_GO: [StageName, typeof NP | typeof IC][] = [
  ['unshare_ns', NP],
  ['hostname', NP],
  ['net_lo_up', NP],
  ['fork2', NP],
  ['mount_private', IC],
  ['mount_proc', IC],
  ['mount_dev', IC],
  ['mask_paths', IC],
  ['pty_open', IC],
];
const AFTER_PTY: [StageName, typeof NP | typeof IC][] = [
  ['pivot_root', IC],
  ['chdir', IC],
  ['seccomp', IC],
  ['drop_privileges', IC],
  ['exec', IC],
];

export const FAKE_NP_PID = 4242;
export const FAKE_INIT_PID = 4243;
export const FAKE_MASTER_FD = 7;

/** Scripted children: answer control bytes like the C code would, and fail where the request says. */
class FakeBox implements BoxProcess {
  pid = FAKE_NP_PID;
  private listeners: ((e: ChildEvent) => void)[] = [];
  private ends: (() => void)[] = [];
  private ended = false;
  private execDone!: (r: { ok: true } | { ok: false; errno: number }) => void;
  execResult = new Promise<{ ok: true } | { ok: false; errno: number }>((r) => (this.execDone = r));
  stdio?: BoxProcess['stdio'];
  initAlive = false;
  cgroupPlaced = false;
  constructor(
    private req: SpawnRequest,
    private calls: Call[],
    private failErrno: number,
  ) {
    if (req.stdio === 'pipe') this.stdio = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() };
    setImmediate(() => this.run(BEFORE_GO));
  }

  private event(stage: StageName, role: typeof NP | typeof IC, ok: boolean, value = 0): void {
    const now = process.hrtime.bigint();
    const e: ChildEvent = {
      stage: STAGES.indexOf(stage),
      role,
      ok,
      errno: ok ? 0 : this.failErrno,
      pid: role === IC ? 1 : FAKE_NP_PID,
      value,
      tStart: now,
      tEnd: now + 1000n,
      syscall: ok ? '' : 'fake_call',
      detail: ok ? '' : `/fake/${stage}`,
    };
    for (const fn of this.listeners) fn(e);
  }

  /** Emits a run of stages; stops at the injected failure, which ends both children. */
  private run(stages: [StageName, typeof NP | typeof IC][]): void {
    for (const [stage, role] of stages) {
      if (STAGES.indexOf(stage) === this.req.failAt) {
        this.event(stage, role, false);
        if (role === IC) this.execDone({ ok: false, errno: this.failErrno });
        this.exitAll(role === IC ? 127 << 8 : null);
        return;
      }
      if (stage === 'fork2') this.initAlive = true;
      this.event(stage, role, true, stage === 'fork2' ? FAKE_INIT_PID : stage === 'pty_open' ? FAKE_MASTER_FD : 0);
    }
    if (stages === AFTER_PTY) this.execDone({ ok: true });
  }

  /** PID 1 dies (status given), then the namespaced parent cleans up and closes the status pipe. */
  exitAll(status: number | null): void {
    if (this.ended) return;
    if (status !== null || this.initAlive) {
      this.initAlive = false;
      this.event('child_exit', NP, true, status ?? 9);
      this.event('umount_proc', NP, true);
      this.event('umount_dev', NP, true);
    }
    this.ended = true;
    this.execDone({ ok: false, errno: 0 });
    for (const fn of this.ends) fn();
  }

  onEvent(fn: (e: ChildEvent) => void): void {
    this.listeners.push(fn);
  }
  onEnd(fn: () => void): void {
    if (this.ended) fn();
    else this.ends.push(fn);
  }
  control(byte: 'G' | 'P' | 'X'): void {
    this.calls.push({ name: 'control', args: [byte] });
    if (this.ended) return;
    if (byte === 'G') setImmediate(() => this.run(AFTER_GO));
    // In pipe mode the C child goes on without waiting for 'P'.
    if (byte === 'P' || (byte === 'G' && this.req.stdio === 'pipe')) setImmediate(() => setImmediate(() => this.run(AFTER_PTY)));
    if (byte === 'X' && !this.initAlive) setImmediate(() => this.exitAll(null));
  }
  close(): void {
    this.calls.push({ name: 'close', args: [] });
  }
}

export class FakeSyscalls implements Syscalls {
  readonly calls: Call[] = [];
  box: FakeBox | null = null;
  /** errno the scripted children report when they fail. */
  failErrno = 1;
  private reaped = false;

  private rec(name: string, ...args: unknown[]): void {
    this.calls.push({ name, args });
  }

  names(): string[] {
    return this.calls.map((c) => c.name);
  }

  spawnBox(req: SpawnRequest): BoxProcess {
    this.rec('spawnBox', req);
    this.box = new FakeBox(req, this.calls, this.failErrno);
    // Like a kernel with clone3 CLONE_INTO_CGROUP: a given cgroup directory is where it is born.
    this.box.cgroupPlaced = Boolean(req.cgroupDir);
    return this.box;
  }
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
    this.rec('mount', source, target, fstype, flags, data);
  }
  umount2(target: string, flags: number): void {
    this.rec('umount2', target, flags);
  }
  idmappedBind(source: string, target: string, usernsPid: number): void {
    this.rec('idmappedBind', source, target, usernsPid);
  }
  takePtyMaster(pid: number, targetFd: number): PtyMaster {
    this.rec('takePtyMaster', pid, targetFd);
    const stream = new PassThrough() as unknown as PtyMaster['stream'];
    // The fake box reads every byte at once; tests of a full pty drive InputQueue with their own writer.
    return { fd: 99, stream, tryWrite: (chunk) => chunk.length };
  }
  setWinsize(fd: number, rows: number, cols: number): void {
    this.rec('setWinsize', fd, rows, cols);
  }
  kill(pid: number, signal: number): void {
    this.rec('kill', pid, signal);
    if (pid === FAKE_INIT_PID && this.box?.initAlive) setImmediate(() => this.box!.exitAll(signal));
  }
  waitpid(pid: number): WaitResult | null {
    this.rec('waitpid', pid);
    if (this.reaped) throw SyscallError.of({ syscall: 'waitpid', code: 'ECHILD', message: 'waitpid: ECHILD' });
    this.reaped = true;
    return { pid, exited: true, code: 0, signal: null };
  }
  seccompFilter(): Buffer | null {
    return Buffer.alloc(8);
  }
  chown(path: string, uid: number, gid: number): void {
    this.rec('chown', path, uid, gid);
  }
  writeProcFile(pid: number, name: string, data: string): void {
    this.rec('writeProcFile', pid, name, data);
  }
  nsInode(pid: number, kind: string): number | null {
    return pid === process.pid ? 4026531800 + kind.length : 4026532000 + kind.length;
  }
}

/** A recording CgroupSet: every call lands in `calls` with the others, so the order is visible. */
export function fakeCgroups(calls: Call[], version: 1 | 2 = 1): (id: string, limits: CgroupLimits) => Promise<CgroupSet> {
  return async (id, limits) => {
    calls.push({ name: 'cgroups.create', args: [id, limits] });
    return {
      sandboxId: id,
      version,
      paths: { memory: `/fake/memory/boxlab/${id}` },
      addProcess: async (pid: number) => void calls.push({ name: 'cgroups.addProcess', args: [pid] }),
      stats: async () => ({
        memory: { current: 1, limit: limits.memoryBytes, oomKills: 0 },
        cpu: { usageUsec: 0, quotaFraction: limits.cpuFraction, nrThrottled: 0, throttledUsec: 0 },
        pids: { current: 1, max: limits.pids },
        cgroupVersion: 1,
      }),
      procs: async () => [],
      killAll: async () => void calls.push({ name: 'cgroups.killAll', args: [] }),
      remove: async () => void calls.push({ name: 'cgroups.remove', args: [] }),
      delegate: async (uid: number, gid: number) => {
        calls.push({ name: 'cgroups.delegate', args: [uid, gid] });
        return version === 2 ? { controllers: ['memory', 'pids', 'cpu'], moved: [] } : null;
      },
      subtree: async () => [],
    };
  };
}

export function fakeDeps(runDir: string): { deps: EngineDeps; sys: FakeSyscalls } {
  const sys = new FakeSyscalls();
  return { sys, deps: { sys, cgroups: fakeCgroups(sys.calls), runDir, uidRegistry: `${runDir}/uids`, capKeep: 0xa00405fbn } };
}
