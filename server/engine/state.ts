// state.ts: the run directory (per-sandbox dirs and state records) that a restart after a crash sweeps.
import { chmodSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromEnv } from '../protocol/settings.ts';

export const RUN_DIR = fromEnv('runDir', process.env);
/** Host uids of session N are [UID_BASE + N*UID_RANGE, +UID_RANGE): sessions are strangers even outside their namespaces.
 * Slots N come from the machine-wide registry (uid-registry.ts), not from the run dir. */
export const UID_BASE = 1 << 30;
export const UID_RANGE = 65536;

export interface SandboxRecord {
  id: string;
  slot: number;
  /** The uid registry entry that holds the slot. */
  slotEntry?: string;
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
  mkdirSync(sandboxesDir(runDir), { recursive: true, mode: 0o711 });
  chmodSync(runDir, 0o711);
  chmodSync(sandboxesDir(runDir), 0o711);
  readyRunDirs.add(runDir);
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

/** Mount points under dir, deepest first (mountinfo field 5, octal escapes decoded). */
export function mountsUnder(dir: string, mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string[] {
  const prefix = dir.endsWith('/') ? dir : dir + '/';
  return mountinfo
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m)
    .map((m) => m.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))))
    .filter((m) => m.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
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
