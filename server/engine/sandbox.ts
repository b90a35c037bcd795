// sandbox.ts: the live sandbox handle (pty, signals, stats) and its teardown in the seed's order.
import type { SubCgroup } from './cgroups/delegate-box.ts';
import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';
import type { EngineDeps } from './deps.ts';
import type { Built } from './main-process.ts';
import { nsInodes } from './main-process.ts';
import { InputQueue } from './input.ts';
import { unmountLayers } from './overlay.ts';
import type { AsyncQueue } from './queue.ts';
import type { StageClock } from './stages.ts';
import { releaseUidSlot } from './uid-registry.ts';
import { SIGKILL, type ChildEvent, type PtyMaster } from './syscalls.ts';
import type {
  ExitInfo,
  InputStats,
  NamespaceInfo,
  NamespaceKind,
  SandboxConfig,
  SandboxHandle,
  SandboxStats,
  StageEvent,
} from './types.ts';

const ALL_NS: NamespaceKind[] = ['pid', 'mnt', 'uts', 'ipc', 'net', 'user', 'cgroup', 'time'];
/** Input that may wait for a box that does not read its terminal (SandboxConfig.inputQueueBytes overrides). */
export const DEFAULT_INPUT_QUEUE_BYTES = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function exitInfo(waitStatus: number): ExitInfo {
  const sig = waitStatus & 0x7f;
  if (sig === 0) {
    const code = (waitStatus >> 8) & 0xff;
    return { code, signal: null, status: code };
  }
  return { code: null, signal: sig, status: 128 + sig };
}

/**
 * Releases what `built` holds, in the seed's order: PID 1 (and with it the PID namespace) dies; the namespaced
 * parent unmounts /proc and /dev inside and exits; then the overlay and tmpfs go, then the cgroups.
 * Each step runs even if an earlier one failed; the first error is rethrown at the end.
 */
async function drain(q: AsyncQueue<ChildEvent>, fn: (e: ChildEvent) => void): Promise<void> {
  try {
    for (;;) fn(await q.next(3000));
  } catch {
    // The queue ends when the namespaced parent closes the status pipe: the normal way out.
  }
}

/** Bounds on the wait, after PID 1 exited, for the end of its output (EIO on the pty master, EOF on the pipes). */
const PTY_OUTPUT_END_MS = 5000;
const PIPE_OUTPUT_END_MS = 500;

/** Bound on the wait for a destroyed master's fd to be closed by the thread that reads it. */
const MASTER_CLOSE_MS = 5000;

/**
 * destroy() of the master's stream, resolved once its fd is closed: the pty reader closes it in its worker thread
 * (native-bindings/pty-reader.ts), after destroy() returned, and a destroyed box must hold no fd of ours.
 */
function closeMaster(pty: PtyMaster): Promise<void> {
  const s = pty.stream;
  return new Promise<void>((resolve, reject) => {
    // Always destroy(): a master whose reader already ended (EIO) still holds its owner's fd until then.
    s.destroy();
    if (s.closed) return resolve();
    const timer = setTimeout(
      () => reject(new Error(`pty master fd ${pty.fd} not closed ${MASTER_CLOSE_MS} ms after destroy`)),
      MASTER_CLOSE_MS,
    );
    s.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export async function teardown(
  built: Built,
  deps: EngineDeps,
  clock: StageClock,
  onChildEvent?: (e: ChildEvent) => void,
  initExited = false,
): Promise<void> {
  const { sys } = deps;
  const errors: unknown[] = [];
  const step = async (fn: () => unknown) => {
    try {
      await fn();
    } catch (err) {
      errors.push(err);
    }
  };
  // Once PID 1 is known to have exited its pid may be reused: only a live box is killed.
  if (built.initPid && !initExited) await step(() => sys.kill(built.initPid!, SIGKILL));
  if (built.proc) {
    const proc = built.proc;
    await step(() => proc.control('X'));
    // The namespaced parent reports child_exit, umount_proc, umount_dev, then closes the status pipe.
    if (built.events && onChildEvent) await drain(built.events, onChildEvent);
    await step(() =>
      clock.outer(
        'namespaced_parent_exit',
        false,
        async () => {
          for (let i = 0; ; i++) {
            const w = sys.waitpid(proc.pid);
            if (w) return w;
            if (i === 200) sys.kill(proc.pid, SIGKILL);
            if (i > 400) throw new Error(`namespaced parent ${proc.pid} did not exit`);
            await sleep(i < 20 ? 1 : 10);
          }
        },
        (w) => ({ detail: w.exited ? `exit ${w.code}` : `signal ${w.signal}`, hostPidOverride: proc.pid }),
      ),
    );
    await step(() => proc.close());
  }
  if (built.pty) await step(() => closeMaster(built.pty!));
  // Pipe mode: our ends of the box's stdio are closed even if endInput() was never called, or a paused
  // stdout never got to read its EOF.
  for (const s of Object.values(built.proc?.stdio ?? {})) (s as { destroy?: () => void }).destroy?.();
  if (built.cgroups) await step(() => built.cgroups!.killAll());
  if (built.overlayMounted || built.upperMounted) {
    await step(() => clock.outer('overlay_umount', false, () => unmountLayers(sys, built.layers)));
  }
  if (built.cgroups) await step(() => clock.outer('cgroup_remove', false, () => built.cgroups!.remove()));
  // A failed unmount or cgroup removal keeps the state record (and its dir, which may still hold mounts), so that
  // the next sweep finds the leftovers by id and retries instead of losing track of them.
  if (errors.length) throw errors[0];
  await step(() =>
    clock.outer('cleanup_done', false, () => {
      rmSync(built.dir, { recursive: true, force: true });
      if (built.slotClaim) releaseUidSlot(built.slotClaim);
    }),
  );
  if (errors.length) throw errors[0];
}

export class Sandbox extends EventEmitter implements SandboxHandle {
  readonly id: string;
  readonly pids: { namespacedParent: number; init: number };
  readonly layers: { lower: string; upper: string; merged: string };
  private exit: ExitInfo | null = null;
  private exitWaiters: ((e: ExitInfo) => void)[] = [];
  private destroying: Promise<void> | null = null;
  private childExitStatus: number | null = null;
  private outputDone = false;
  /** Pty mode: keystrokes waiting for the box to read them; pipe mode counts the stdin socket's buffer instead. */
  private readonly input: InputQueue | null;
  private readonly inputCap: number;
  private pipeRefused = 0;

  constructor(
    readonly config: SandboxConfig,
    private readonly built: Built,
    private readonly deps: EngineDeps,
    private readonly clock: StageClock,
  ) {
    super();
    this.id = built.id;
    this.pids = { namespacedParent: built.proc!.pid, init: built.initPid! };
    this.layers = { lower: config.baseDir, upper: built.layers.upper, merged: built.layers.merged };
    this.inputCap = config.inputQueueBytes ?? DEFAULT_INPUT_QUEUE_BYTES;
    const pty = built.pty;
    this.input = pty
      ? new InputQueue((chunk) => pty.tryWrite(chunk), {
          cap: this.inputCap,
          onDrain: () => this.emit('drain'),
          // EIO: no slave is open any more (the shell is gone); its exit is reported through the status pipe.
          onError: () => undefined,
        })
      : null;
    built.proc?.stdio?.stdin.on('drain', () => this.emit('drain'));
    this.wireOutput();
    // After exec the namespaced parent's next event is child_exit: PID 1 is gone, so the box is too.
    void this.watchExit();
  }

  get events(): readonly StageEvent[] {
    return this.clock.events;
  }

  private wireOutput(): void {
    const done = () => {
      if (this.outputDone) return;
      this.outputDone = true;
      this.maybeExit();
    };
    const pty = this.built.pty;
    if (pty) {
      pty.stream.on('data', (b: Buffer) => this.emit('data', b));
      // Reading a pty master whose slaves are all closed fails with EIO: that is its end of file (pty(7)).
      pty.stream.on('error', done);
      pty.stream.on('end', done);
      pty.stream.on('close', done);
      return;
    }
    const io = this.built.proc!.stdio!;
    let open = 2;
    const one = () => --open === 0 && done();
    io.stdout.on('data', (b: Buffer) => this.emit('data', b));
    io.stderr.on('data', (b: Buffer) => this.emit('stderr', b));
    for (const s of [io.stdout, io.stderr]) {
      s.on('end', one);
      s.on('error', one);
    }
    io.stdin.on('error', () => undefined);
  }

  private async watchExit(): Promise<void> {
    try {
      const e = await this.built.events!.next();
      this.clock.child(e, this.built.initPid ?? null);
      if (e.ok) this.childExitStatus = e.value;
    } catch {
      // The namespaced parent died without reporting: PID 1 died with it (PDEATHSIG).
    }
    if (this.childExitStatus === null) this.childExitStatus = 9; // killed
    // The output's own end (EIO on the master, EOF on the pipes) normally comes first; this bound only keeps a
    // paused or stuck reader from holding the exit forever. A pty is read in a worker thread that may still be
    // starting when a quick shell is already gone (CI: 500 ms lost a whole output under emulation).
    setTimeout(
      () => {
        this.outputDone = true;
        this.maybeExit();
      },
      this.built.pty ? PTY_OUTPUT_END_MS : PIPE_OUTPUT_END_MS,
    ).unref();
    this.maybeExit();
  }

  private maybeExit(): void {
    if (this.exit || this.childExitStatus === null || !this.outputDone) return;
    this.exit = exitInfo(this.childExitStatus);
    this.input?.close();
    this.emit('exit', this.exit);
    for (const w of this.exitWaiters.splice(0)) w(this.exit);
    // A failed cleanup surfaces to whoever awaits destroy(); never as an 'error' event nobody listens to.
    void this.destroy().catch(() => undefined);
  }

  write(data: Buffer | string): boolean {
    if (this.exit || this.destroying) return false;
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    if (this.input) return this.input.push(buf);
    // Pipe mode: the stdin socket is non-blocking (libuv) and buffers in memory; the cap bounds that buffer.
    const stdin = this.built.proc!.stdio!.stdin as NodeJS.WritableStream & { writableLength?: number };
    if ((stdin.writableLength ?? 0) + buf.length > this.inputCap) {
      this.pipeRefused += buf.length;
      return false;
    }
    stdin.write(buf);
    return true;
  }

  get inputQueued(): number {
    if (this.input) return this.input.queued;
    return (this.built.proc?.stdio?.stdin as { writableLength?: number } | undefined)?.writableLength ?? 0;
  }

  get inputStats(): InputStats {
    if (this.input) return { ...this.input.stats, cap: this.inputCap };
    const queued = this.inputQueued;
    const written = (this.built.proc?.stdio?.stdin as { bytesWritten?: number } | undefined)?.bytesWritten ?? 0;
    return { queued, written, refused: this.pipeRefused, cap: this.inputCap };
  }

  endInput(): void {
    this.built.proc?.stdio?.stdin.end();
  }

  pause(): void {
    // A running box has a pty, or (pipe mode) the process's stdio.
    (this.built.pty?.stream ?? this.built.proc!.stdio!.stdout).pause();
  }

  resume(): void {
    (this.built.pty?.stream ?? this.built.proc!.stdio!.stdout).resume();
  }

  resize(rows: number, cols: number): void {
    // Once destroy() began the reader's thread may close the master at any moment and its number be reused.
    if (this.built.pty && !this.exit && !this.destroying) this.deps.sys.setWinsize(this.built.pty.fd, rows, cols);
  }

  signal(sig: number, group = false): void {
    if (this.exit) return;
    // A negative pid signals the process group; PID 1's group is the box's session leader group.
    this.deps.sys.kill(group ? -this.pids.init : this.pids.init, sig);
  }

  wait(): Promise<ExitInfo> {
    return this.exit ? Promise.resolve(this.exit) : new Promise((r) => this.exitWaiters.push(r));
  }

  stats(): Promise<SandboxStats> {
    return this.built.cgroups!.stats();
  }

  cgroupSubtree(): Promise<SubCgroup[]> {
    return this.exit ? Promise.resolve([]) : this.built.cgroups!.subtree();
  }

  async namespaces(): Promise<NamespaceInfo> {
    return {
      host: nsInodes(this.deps, process.pid, ALL_NS),
      box: this.exit ? {} : nsInodes(this.deps, this.pids.init, ALL_NS),
    };
  }

  destroy(): Promise<void> {
    // Before teardown closes the master: no retry may write to a fd number that could be reused.
    this.input?.close();
    const onEvent = (e: ChildEvent) => void this.clock.child(e, this.built.initPid ?? null);
    this.destroying ??= teardown(this.built, this.deps, this.clock, onEvent, this.childExitStatus !== null).finally(() =>
      this.emit('destroyed'),
    );
    return this.destroying;
  }
}
