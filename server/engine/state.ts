// state.ts: the run directory (per-sandbox dirs, uid-range slots, state records) that a restart after a crash sweeps.
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, constants } from 'node:fs';
import { join } from 'node:path';

export const RUN_DIR = process.env.BOXLAB_RUN ?? '/run/boxlab';
/** Host uids of session N are [UID_BASE + N*UID_RANGE, +UID_RANGE): sessions are strangers even outside their namespaces. */
export const UID_BASE = 1 << 30;
export const UID_RANGE = 65536;
export const MAX_SLOTS = 4096;

export interface SandboxRecord {
  id: string;
  slot: number;
  createdAt: string;
  serverPid: number;
  namespacedParent?: { pid: number; starttime: string };
  init?: { pid: number; starttime: string };
  dir: string;
  cgroups?: Record<string, string>;
}

export function sandboxesDir(runDir = RUN_DIR): string {
  return join(runDir, 'sandboxes');
}

const readyRunDirs = new Set<string>();

export function ensureRunDir(runDir = RUN_DIR, force = false): void {
  // Once per process: this is on the path of every box creation.
  if (readyRunDirs.has(runDir) && !force) return;
  // 0711: the inner child (an unprivileged host uid) must traverse down to its merged root, but nobody may list
  // the sandboxes; each sandbox dir is then 0710 with the box's own gid (see main-process.ts).
  mkdirSync(join(runDir, 'slots'), { recursive: true, mode: 0o700 });
  mkdirSync(sandboxesDir(runDir), { recursive: true, mode: 0o711 });
  chmodSync(runDir, 0o711);
  chmodSync(sandboxesDir(runDir), 0o711);
  readyRunDirs.add(runDir);
}

/** Claims a free uid-range slot with O_EXCL, so a CLI and a server running at once never share a range. */
export function claimSlot(id: string, runDir = RUN_DIR, start = Math.floor(Math.random() * MAX_SLOTS)): number {
  for (let i = 0; i < MAX_SLOTS; i++) {
    const slot = (start + i) % MAX_SLOTS;
    try {
      const fd = openSync(join(runDir, 'slots', String(slot)), constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
      writeFileSync(fd, id);
      closeSync(fd);
      return slot;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new Error(`no free uid range: all ${MAX_SLOTS} slots of ${runDir}/slots are taken`);
}

export function releaseSlot(slot: number, runDir = RUN_DIR): void {
  rmSync(join(runDir, 'slots', String(slot)), { force: true });
}

export function writeRecord(rec: SandboxRecord): void {
  writeFileSync(join(rec.dir, 'state.json'), JSON.stringify(rec), { mode: 0o600 });
}

/** Records of every sandbox dir; a dir without state.json (creation under way, or a crash right at the start)
 * reads as serverPid 0 with its age, so a sweep leaves young ones alone. */
export function readRecords(runDir = RUN_DIR): (SandboxRecord & { ageMs: number })[] {
  let names: string[] = [];
  try {
    names = readdirSync(sandboxesDir(runDir));
  } catch {
    return [];
  }
  const out: (SandboxRecord & { ageMs: number })[] = [];
  for (const name of names) {
    const dir = join(sandboxesDir(runDir), name);
    let ageMs = 0;
    try {
      ageMs = Date.now() - statSync(dir).mtimeMs;
      out.push({ ...(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as SandboxRecord), ageMs });
    } catch {
      out.push({ id: name, slot: -1, createdAt: '', serverPid: 0, dir, ageMs });
    }
  }
  return out;
}

/** Field 22 of /proc/<pid>/stat: with the pid it names one process, so a reused pid is never killed by mistake. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}
