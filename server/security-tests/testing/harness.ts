// harness.ts: what every security probe needs: a probe image, a real box to run in, kernel-side reads and leak checks.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Controller } from '../../engine/cgroups/detect.ts';
import { cgroupView } from '../../engine/cgroups/view.ts';
import { fileURLToPath } from 'node:url';
import { createSandbox, type ExitInfo, type SandboxConfig } from '../../engine/index.ts';
import { RUN_DIR, UID_RANGE } from '../../engine/state.ts';
import { uidSlotEntries } from '../../engine/uid-registry.ts';
import { defaultImagePath, ensureImage } from '../../rootfs/index.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PROBE_SOURCES = ['probe.c', 'probe_sys.c'].map((f) => path.join(HERE, 'probes', f));

const hasCc = (() => {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
/** Why the privileged suite cannot run here, or false. */
export const SKIP: string | false =
  process.getuid?.() !== 0 ? 'needs root: real namespaces, mounts and cgroups' : !hasCc ? 'needs a C compiler (cc) for the probes' : false;

/** The suite's mode: BOXLAB_SECURITY_MODE=lab makes every box a lab-mode box unless a test says otherwise. */
export const SUITE_LAB = process.env.BOXLAB_SECURITY_MODE === 'lab';

export type Box = Awaited<ReturnType<typeof createSandbox>>;
export type BoxConfig = Partial<SandboxConfig> & { baseDir: string };

export interface ProbeImage {
  /** The image dir: busybox + /probe (static C), /probe-suid (setuid-root copy), /etc/probe-secret (0600). */
  image: string;
  /** Host dir outside the image (0755) with `public` (0644, holds `token`) and `secret` (0600, root-only). */
  marker: string;
  token: string;
  cleanup(): void;
}

/** Copies the busybox image into a temp dir and adds the probes; cleanup() removes it all. */
export async function buildProbeImage(): Promise<ProbeImage> {
  const base = await ensureImage(defaultImagePath(), () => {});
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlab-sec-'));
  const cleanup = () => fs.rmSync(root, { recursive: true, force: true });
  try {
    // The box's uid must be able to reach the marker (to show an escape), so the dirs are world-traversable.
    fs.chmodSync(root, 0o755);
    const image = path.join(root, 'image');
    execFileSync('cp', ['-a', '--', base, image]);
    const probe = path.join(image, 'probe');
    execFileSync('cc', ['-static', '-O1', '-Wall', '-Werror', '-o', probe, ...PROBE_SOURCES], { stdio: 'pipe' });
    fs.copyFileSync(probe, path.join(image, 'probe-suid'));
    fs.chmodSync(path.join(image, 'probe-suid'), 0o4755);
    fs.writeFileSync(path.join(image, 'etc', 'probe-secret'), 'box-secret\n', { mode: 0o600 });
    const marker = path.join(root, 'marker');
    const token = `host-marker-${randomBytes(6).toString('hex')}`;
    fs.mkdirSync(marker, { mode: 0o755 });
    fs.writeFileSync(path.join(marker, 'public'), token, { mode: 0o644 });
    fs.writeFileSync(path.join(marker, 'secret'), 'host-secret', { mode: 0o600 });
    return { image, marker, token, cleanup };
  } catch (err) {
    cleanup();
    throw err;
  }
}

/** A running box with its output collected; close() destroys it and checks nothing of it is left. */
export class LiveBox {
  private text = '';
  private waiters: (() => void)[] = [];
  readonly uidBase: number;

  constructor(readonly box: Box) {
    const add = (b: Buffer) => {
      this.text += b.toString('latin1');
      for (const w of this.waiters.splice(0)) w();
    };
    box.on('data', add);
    box.on('stderr', add);
    const prep = box.events.find((e) => e.stage === 'prepare_state')?.detail ?? '';
    const m = /uid range (\d+)-/.exec(prep);
    if (!m) throw new Error(`no uid range in the prepare_state event: ${prep}`);
    this.uidBase = Number(m[1]);
  }

  get id(): string {
    return this.box.id;
  }
  /** Output with the pty's \r removed. */
  get out(): string {
    return this.text.replace(/\r/g, '');
  }
  get lines(): string[] {
    return this.out.split('\n');
  }

  async waitFor(re: RegExp, ms = 10_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = re.exec(this.out);
      if (m) return m;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${re} in box output:\n${this.out.slice(-2000)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.waiters.push(() => (clearTimeout(t), r()));
      });
    }
  }

  async exit(ms = 30_000): Promise<ExitInfo> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`box did not exit within ${ms} ms; output:\n${this.out.slice(-2000)}`)), ms);
    });
    try {
      return await Promise.race([this.box.wait(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Destroys the box, then fails if a mount, cgroup, state dir, uid slot entry or process of its uid range survived. */
  async close(): Promise<void> {
    await this.box.destroy();
    const left = leftovers(this.id, this.uidBase);
    if (left.length) throw new Error(`box ${this.id} left behind: ${left.join(', ')}`);
  }
}

/** Starts a box (pipe mode unless told); stdin is closed at once unless `keepStdin` (then write to box.box). */
export async function startBox(config: BoxConfig & { keepStdin?: boolean }): Promise<LiveBox> {
  const { keepStdin, ...given } = config;
  // BOXLAB_SECURITY_MODE=lab runs the whole suite against lab-mode boxes (docs/lab-mode.md): the outer boundary
  // must hold in both modes. A test that sets `lab` itself keeps its choice.
  const rest = { lab: SUITE_LAB, ...given };
  const box: Box = await createSandbox({ stdio: 'pipe', ...rest });
  try {
    const live = new LiveBox(box);
    if (rest.stdio !== 'pty' && !keepStdin) box.endInput();
    return live;
  } catch (err) {
    await box.destroy();
    throw err;
  }
}

export interface BoxRun {
  out: string;
  lines: string[];
  exit: ExitInfo;
  id: string;
  uidBase: number;
}

/** Runs `sh -c script` (or the given shell/args) to completion in a fresh box; always destroys and leak-checks it. */
export async function runInBox(config: BoxConfig & { script?: string }, timeoutMs = 30_000): Promise<BoxRun> {
  const { script, ...rest } = config;
  const live = await startBox(script === undefined ? rest : { ...rest, shell: '/bin/sh', args: ['-c', script] });
  try {
    const exit = await live.exit(timeoutMs);
    return { out: live.out, lines: live.lines, exit, id: live.id, uidBase: live.uidBase };
  } finally {
    await live.close();
  }
}

/** Lines "KIND NAME REST..." of the probe program as NAME -> REST. */
export function answers(lines: string[], kind: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of lines) {
    const m = new RegExp(`(?:^|[^a-z])${kind} (\\S+) (.*)$`).exec(l.trim());
    if (m) out.set(m[1]!, m[2]!.trim());
  }
  return out;
}

// ---- kernel-side reads -------------------------------------------------------------------------------------

interface CgMount {
  mountPoint: string;
  root: string;
  fstype: string;
  superOpts: string[];
}

function cgroupMounts(): CgMount[] {
  const out: CgMount[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre = '', post] = line.split(' - ');
    if (!post) continue;
    const f = pre.split(' ');
    const [fstype, , superOpts = ''] = post.split(' ');
    if (fstype === 'cgroup' || fstype === 'cgroup2')
      out.push({ mountPoint: f[4] ?? '', root: f[3] ?? '', fstype, superOpts: superOpts.split(',') });
  }
  return out;
}

/** Host directory of `pid`'s cgroup for a controller (v1, v2 or hybrid), found by the engine's own detection. */
export function cgroupDirOf(pid: number, controller: Controller): string {
  return cgroupView(pid).dir(controller);
}
export { cgroupView };

export const readCg = (dir: string, file: string): string => fs.readFileSync(path.join(dir, file), 'utf8').trim();

/**
 * Where the engine would have put the box's cgroups: v1 <mount>/<this process's cgroup>/boxlab/<id> per hierarchy;
 * v2 <mount>/boxlab/<id> without systemd, <unit>/boxes/<id> in a delegated unit (we live in <unit>/supervisor).
 */
function cgroupCandidates(id: string): string[] {
  const mounts = cgroupMounts();
  const out: string[] = [];
  for (const line of fs.readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
    const [hier, ctrls = '', cgPath = ''] = line.split(':');
    const mnt =
      hier === '0'
        ? mounts.find((m) => m.fstype === 'cgroup2')
        : mounts.find((m) => m.fstype === 'cgroup' && ctrls.split(',').some((c) => m.superOpts.includes(c)));
    if (!mnt) continue;
    const own = path.join(mnt.mountPoint, path.relative(mnt.root, cgPath));
    out.push(path.join(own, 'boxlab', id));
    if (hier === '0') out.push(path.join(mnt.mountPoint, 'boxlab', id), path.join(path.dirname(own), 'boxes', id));
  }
  return out;
}

/** Host pids whose real, effective, saved or fs uid lies in [base, base + UID_RANGE): the box's processes. */
export function procsInUidRange(base: number): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let status: string;
    try {
      status = fs.readFileSync(`/proc/${name}/status`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    const uids = /^Uid:\s+(.*)$/m.exec(status)?.[1]?.split(/\s+/).map(Number) ?? [];
    if (uids.some((u) => u >= base && u < base + UID_RANGE)) pids.push(Number(name));
  }
  return pids;
}

export function leftovers(id: string, uidBase: number): string[] {
  const found: string[] = [];
  if (fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(id)) found.push('a mount');
  for (const dir of cgroupCandidates(id)) if (fs.existsSync(dir)) found.push(`cgroup ${dir}`);
  for (const pid of procsInUidRange(uidBase)) found.push(`process ${pid}`);
  if (fs.existsSync(path.join(RUN_DIR, 'sandboxes', id))) found.push('its state dir');
  if (uidSlotEntries().some((e) => e.id === id)) found.push('its uid slot entry');
  return found;
}

/** Worst event-loop delay (ms) and slowest host `true` spawn (ms) seen while `during` runs: is the host responsive? */
export async function hostResponsiveness<T>(during: () => Promise<T>): Promise<{ result: T; maxLagMs: number; maxSpawnMs: number }> {
  let maxLagMs = 0;
  let maxSpawnMs = 0;
  let last = performance.now();
  const lag = setInterval(() => {
    const now = performance.now();
    maxLagMs = Math.max(maxLagMs, now - last - 20);
    last = now;
  }, 20);
  const probe = () => {
    const t = performance.now();
    execFileSync('/bin/true');
    maxSpawnMs = Math.max(maxSpawnMs, performance.now() - t);
  };
  const spawn = setInterval(probe, 250);
  try {
    const pending = during();
    await sleep(20);
    probe(); // at least one sample even when the bomb is over quickly
    const result = await pending;
    return { result, maxLagMs, maxSpawnMs };
  } finally {
    clearInterval(lag);
    clearInterval(spawn);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
