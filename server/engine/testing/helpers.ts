// helpers.ts: shared helpers of the engine's root test suite: boxes that always die, command runs with timeouts, leak checks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Controller } from '../cgroups/detect.ts';
import { cgroupView } from '../cgroups/view.ts';
import { ensureImage, defaultImagePath } from '../../rootfs/index.ts';
import { createSandbox, type ExitInfo, type SandboxConfig, type StageEvent } from '../index.ts';
import type { Sandbox } from '../sandbox.ts';
import { RUN_DIR, UID_BASE, UID_RANGE } from '../state.ts';
import { uidSlotEntries } from '../uid-registry.ts';

export const isRoot = process.getuid?.() === 0;
export const SKIP_NOT_ROOT = isRoot ? false : 'needs root: makes real namespaces, mounts and cgroups';
/**
 * Slow hosts (the qemu TCG guest of the cgroup v2 runs: ~10x slower) set BOXLAB_TEST_TIME_FACTOR: timeouts scale by
 * it, and CPU-share lower bounds (which only prove the loops ran) are relaxed; limits themselves are never relaxed.
 */
export const TIME_FACTOR = Math.max(1, Number(process.env.BOXLAB_TEST_TIME_FACTOR) || 1);
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let image: Promise<string> | null = null;
/** The busybox image (built once if missing). */
export function testImage(): Promise<string> {
  image ??= ensureImage(defaultImagePath(), () => {});
  return image;
}

/** Rejects with `what` after ms; the timer never keeps the process alive. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    t.unref();
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}

/** What a leak check needs to know of one box, captured while it was alive. */
export interface BoxTrace {
  id: string;
  pids: number[];
  /** pid -> /proc/<pid>/stat starttime, so a reused pid is never mistaken for a leak. */
  starts: Map<number, string>;
  /** Host uid range of the box's user namespace, from the prepare_state event. */
  uidBase: number | null;
}

export function startTime(pid: number): string | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** An onStage callback that notes each reporting process's start time while it is alive, for leak checks. */
export function stageRecorder(): { events: StageEvent[]; starts: Map<number, string>; onStage: (e: StageEvent) => void } {
  const events: StageEvent[] = [];
  const starts = new Map<number, string>();
  return {
    events,
    starts,
    onStage: (e) => {
      events.push(e);
      if (e.hostPid && e.hostPid !== process.pid && !starts.has(e.hostPid)) {
        const s = startTime(e.hostPid);
        if (s) starts.set(e.hostPid, s);
      }
    },
  };
}

/** Builds a trace from a box id and its stage events (works for failed creations too). */
export function traceOf(id: string, events: readonly StageEvent[], extraPids: number[] = [], known = new Map<number, string>()): BoxTrace {
  const pids = new Set<number>([...extraPids, ...known.keys()]);
  for (const e of events) if (e.hostPid && e.hostPid !== process.pid) pids.add(e.hostPid);
  const starts = new Map<number, string>(known);
  for (const p of pids) {
    const s = starts.has(p) ? null : startTime(p);
    if (s) starts.set(p, s);
  }
  const m = events.find((e) => e.stage === 'prepare_state')?.detail?.match(/uid range (\d+)-/);
  return { id, pids: [...pids], starts, uidBase: m ? Number(m[1]) : null };
}

/** Every box a test file made: destroyed at the end of each test, checked for leftovers at the end of the file. */
export class BoxTracker {
  readonly traces: BoxTrace[] = [];
  readonly errors: Error[] = [];
  private live = new Set<Sandbox>();

  async create(config: Partial<SandboxConfig>, onStage?: (e: StageEvent) => void): Promise<Sandbox> {
    const rec = stageRecorder();
    const box = await createSandbox(
      { baseDir: await testImage(), ...config },
      {
        onStage: (e) => {
          rec.onStage(e);
          onStage?.(e);
        },
      },
    );
    // The engine emits 'error' when an automatic teardown fails; without a listener that would crash the runner.
    box.on('error', (err: Error) => void this.errors.push(err));
    this.live.add(box);
    this.traces.push(traceOf(box.id, box.events, [box.pids.init, box.pids.namespacedParent], rec.starts));
    return box;
  }

  /** Records a box id whose creation failed (the error carries what was built). */
  addFailed(id: string, events: readonly StageEvent[], starts: Map<number, string>): BoxTrace {
    const t = traceOf(id, events, [], starts);
    this.traces.push(t);
    return t;
  }

  async destroyAll(): Promise<void> {
    const boxes = [...this.live];
    this.live.clear();
    await Promise.allSettled(boxes.map((b) => within(b.destroy(), 15_000, `destroy ${b.id}`)));
  }

  leaks(): string[] {
    return this.traces.flatMap(leaksOf);
  }
}

/** Output and exit of one command run in a fresh pipe-mode box; the box is destroyed before returning. */
export interface RunResult {
  out: string;
  err: string;
  exit: ExitInfo;
  box: Sandbox;
  stats?: unknown;
}

export async function runInBox(
  tracker: BoxTracker,
  config: Partial<SandboxConfig>,
  opts: { timeoutMs?: number; input?: string; whileRunning?: (box: Sandbox) => Promise<unknown> } = {},
): Promise<RunResult> {
  const box = await tracker.create({ stdio: 'pipe', ...config });
  let out = '';
  let err = '';
  box.on('data', (b) => (out += b.toString()));
  box.on('stderr', (b) => (err += b.toString()));
  try {
    if (opts.input !== undefined) {
      box.write(opts.input);
      box.endInput();
    }
    if (opts.whileRunning) await opts.whileRunning(box);
    const exit = await within(box.wait(), opts.timeoutMs ?? 10_000, `box ${box.id} to exit (out=${JSON.stringify(out.slice(-200))})`);
    return { out, err, exit, box };
  } finally {
    await within(box.destroy(), 15_000, `destroy ${box.id}`);
  }
}

/** An interactive pipe-mode /bin/sh: each run() waits for a marker line carrying the command's exit code. */
export class PipeShell {
  out = '';
  err = '';
  private n = 0;
  private constructor(readonly box: Sandbox) {
    box.on('data', (b) => (this.out += b.toString()));
    box.on('stderr', (b) => (this.err += b.toString()));
  }

  static async open(tracker: BoxTracker, config: Partial<SandboxConfig> = {}): Promise<PipeShell> {
    return new PipeShell(await tracker.create({ ...config, stdio: 'pipe', shell: '/bin/sh', args: [] }));
  }

  async run(cmd: string, timeoutMs = 10_000): Promise<{ out: string; code: number }> {
    const tag = `__BOXLAB_DONE_${++this.n}_`;
    const from = this.out.length;
    this.box.write(`${cmd}\necho ${tag}$?\n`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.out.slice(from).match(new RegExp(`${tag}(\\d+)\\n`));
      if (m) return { out: this.out.slice(from, from + m.index!), code: Number(m[1]) };
      if (Date.now() > deadline)
        throw new Error(
          `timed out after ${timeoutMs} ms running ${JSON.stringify(cmd)}; out=${JSON.stringify(this.out.slice(from, from + 300))} err=${JSON.stringify(this.err.slice(-300))}`,
        );
      await sleep(10);
    }
  }
}

/** Directory of `pid`'s cgroup for a controller (v1, v2 or hybrid), found by the engine's own detection. */
export function cgroupDirOf(pid: number, controller: Controller): string {
  return cgroupView(pid).dir(controller);
}
export { cgroupView };

/** The box's own cgroup is a direct child of a box parent Boxlab made (boxlab/ on v1 and without systemd, boxes/ in a unit). */
export function isBoxCgroup(dir: string, id: string): boolean {
  return basename(dir) === id && ['boxlab', 'boxes'].includes(basename(dirname(dir)));
}

export const readTrim = (p: string) => readFileSync(p, 'utf8').trim();

/** Directories named `name` anywhere under /sys/fs/cgroup (cgroup dirs only: files are skipped). */
export function cgroupDirsNamed(name: string, root = '/sys/fs/cgroup', depth = 8): string[] {
  const out: string[] = [];
  let entries: import('node:fs').Dirent[] = [];
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const p = join(root, e.name);
    if (e.name === name) out.push(p);
    if (depth > 0) out.push(...cgroupDirsNamed(name, p, depth - 1));
  }
  return out;
}

/** Host pids whose real uid lies in [base, base + UID_RANGE): every process of one box, however it got there. */
export function pidsInUidRange(base: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const uid = Number(readFileSync(`/proc/${name}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)?.[1]);
      if (uid >= base && uid < base + UID_RANGE) out.push(Number(name));
    } catch {
      // Exited while we looked.
    }
  }
  return out;
}

/** "pid comm state ppid=N cg=<memory cgroup>" for naming a leftover process. */
function describePid(pid: number): string {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    const cg = readFileSync(`/proc/${pid}/cgroup`, 'utf8').match(/^\d+:(?:[^:]*\bmemory\b[^:]*)?:(.*)$/m)?.[1] ?? '?';
    return `${pid} ${s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'))} ${f[0]} ppid=${f[1]} cg=${cg}`;
  } catch {
    return `${pid} (gone)`;
  }
}

/** Our own children that are zombies (exited, never reaped). */
export function zombieChildren(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const s = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      if (f[0] === 'Z' && Number(f[1]) === process.pid) out.push(Number(name));
    } catch {
      // Gone.
    }
  }
  return out;
}

export const fdCount = () => readdirSync('/proc/self/fd').length;

/** Our fds with what they point to ("12 -> pipe:[345]"), for naming what leaked. */
export function fdTable(): string[] {
  return readdirSync('/proc/self/fd').map((fd) => {
    try {
      return `${fd} -> ${readlinkSync(`/proc/self/fd/${fd}`)}`;
    } catch {
      return fd;
    }
  });
}

/** Fds opened since `before` (a fdTable()), ignoring the one readdir itself used. */
export const newFds = (before: string[]) => fdTable().filter((f) => !before.includes(f) && !f.includes('/proc/'));

/** Slots whose machine-wide registry entry names `id` (uid-registry.ts). */
export function slotsOf(id: string): string[] {
  return uidSlotEntries()
    .filter((e) => e.id === id)
    .map((e) => String(e.slot));
}

function slotTakenByOther(t: BoxTrace): boolean {
  const slot = (t.uidBase! - UID_BASE) / UID_RANGE;
  return uidSlotEntries().some((e) => e.slot === slot && e.id !== t.id);
}

const exists = (p: string) => {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
};

/** Everything a box may leave behind; [] when nothing is left. */
export function leaksOf(t: BoxTrace): string[] {
  const problems: string[] = [];
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(t.id));
  if (mounts.length) problems.push(`${t.id}: ${mounts.length} mount(s) left: ${mounts[0]}`);
  const cg = cgroupDirsNamed(t.id);
  if (cg.length) problems.push(`${t.id}: cgroup dir(s) left: ${cg.join(' ')}`);
  if (exists(join(RUN_DIR, 'sandboxes', t.id))) problems.push(`${t.id}: run dir entry left`);
  const slots = slotsOf(t.id);
  if (slots.length) problems.push(`${t.id}: uid slot file(s) left: ${slots.join(' ')}`);
  for (const [pid, st] of t.starts) if (startTime(pid) === st) problems.push(`${t.id}: process ${pid} still alive`);
  // A released uid range may already belong to a newer box (of this or another test run): only when no other id
  // holds its slot are processes in the range this box's.
  if (t.uidBase !== null && !slotTakenByOther(t)) {
    const left = pidsInUidRange(t.uidBase);
    // Checked again after the scan: a box may have claimed the slot meanwhile.
    if (left.length && !slotTakenByOther(t)) problems.push(`${t.id}: processes of its uid range left: ${left.map(describePid).join('; ')}`);
  }
  return problems;
}

/** The closing test of every file: all of its boxes are gone (mounts, cgroups, processes, run dir, uid slots). */
export function testNoLeftovers(tracker: BoxTracker, opts: { skip?: string | boolean; timeout?: number }): void {
  test('no leftovers: every box of this file is gone (mounts, cgroups, processes, run dir, uid slots)', opts, async () => {
    await tracker.destroyAll();
    assert.ok(tracker.traces.length > 0, 'no box was made');
    assert.deepEqual(tracker.leaks(), []);
    assert.deepEqual(tracker.errors.map(String), []);
    assert.deepEqual(zombieChildren(), []);
  });
}
