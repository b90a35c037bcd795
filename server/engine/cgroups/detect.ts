// Pure detection of where each cgroup controller lives (v1 mount or the cgroup2 mount) from /proc texts.
import path from 'node:path';

/** Controllers a sandbox uses: limits (memory, cpu, pids), v1 usage stats (cpuacct), v1 kill (freezer). */
export const CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'pids', 'freezer'] as const;
export type Controller = (typeof CONTROLLERS)[number];
/** Controllers that must be present or the box would run unlimited. */
export const REQUIRED: readonly Controller[] = ['memory', 'cpu', 'pids'];

export interface MountEntry {
  mountId: number;
  parentId: number;
  majorMinor: string;
  /** Path inside the filesystem that is mounted here (for cgroupfs: the cgroup shown as the mount root). */
  root: string;
  mountPoint: string;
  mountOptions: string[];
  optionalFields: string[];
  fsType: string;
  source: string;
  superOptions: string[];
}

/** Undoes the octal escapes the kernel uses in mountinfo (show_path/mangle: space, tab, newline, backslash). */
export function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * Parses /proc/<pid>/mountinfo (proc(5)): "id parent maj:min root mountpoint opts [optional...] - fstype source superopts".
 * The optional fields are variable in number, so the " - " separator is found by field, not by position.
 */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (f.length < 7 || sep < 0 || f.length < sep + 3) {
      throw new Error(`mountinfo line is malformed: "${line}"`);
    }
    out.push({
      mountId: Number(f[0]),
      parentId: Number(f[1]),
      majorMinor: f[2]!,
      root: unescapeMountField(f[3]!),
      mountPoint: unescapeMountField(f[4]!),
      mountOptions: f[5]!.split(','),
      optionalFields: f.slice(6, sep),
      fsType: f[sep + 1]!,
      source: unescapeMountField(f[sep + 2]!),
      superOptions: (f[sep + 3] ?? '').split(','),
    });
  }
  return out;
}

export interface ProcCgroup {
  /** v1 controller (or "name=systemd") -> path of our cgroup in that hierarchy. */
  v1: Map<string, string>;
  /** Our path in the unified hierarchy (the "0::" line), if any. */
  v2?: string;
}

/** Parses /proc/<pid>/cgroup (cgroups(7)): "hierarchy-ID:controller-list:cgroup-path". */
export function parseProcCgroup(text: string): ProcCgroup {
  const res: ProcCgroup = { v1: new Map() };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a < 0 || b < 0) throw new Error(`/proc/self/cgroup line is malformed: "${line}"`);
    const id = line.slice(0, a);
    const ctrls = line.slice(a + 1, b);
    const p = line.slice(b + 1);
    if (id === '0' && ctrls === '') res.v2 = p;
    else for (const c of ctrls.split(',')) if (c) res.v1.set(c, p);
  }
  return res;
}

export interface Placement {
  version: 1 | 2;
  /** Where the hierarchy is mounted (host path, without any fsRoot). */
  mountPoint: string;
  /** The mount's root inside the hierarchy (mountinfo field 4), usually "/". */
  mountRoot: string;
  /** Our own cgroup path from /proc/self/cgroup. */
  ownPath: string;
  /** Directory of our own cgroup: mountPoint + ownPath made relative to mountRoot. */
  ownDir: string;
}

export interface CgroupLayout {
  controllers: Partial<Record<Controller, Placement>>;
  /** The cgroup2 mount through which we reach our cgroup, when one exists. */
  unified?: Placement & { controllers: string[] };
}

/** ownPath seen through a mount whose root is mountRoot; null when that mount cannot reach our cgroup. */
export function dirThroughMount(mountPoint: string, mountRoot: string, ownPath: string): string | null {
  const own = ownPath.replace(/ \(deleted\)$/, '');
  if (!own.startsWith('/')) return null;
  const rootNorm = mountRoot === '/' ? '' : mountRoot.replace(/\/+$/, '');
  if (rootNorm && own !== rootNorm && !own.startsWith(rootNorm + '/')) return null;
  const rest = own.slice(rootNorm.length).replace(/^\/+|\/+$/g, '');
  return rest ? path.posix.join(mountPoint, rest) : path.posix.normalize(mountPoint);
}

export interface DetectInput {
  mountinfo: string;
  selfCgroup: string;
  /** Text of cgroup.controllers at the root of the cgroup2 mount; read by the caller (see unifiedMount). */
  unifiedControllers?: string;
}

/** The cgroup2 mount that reaches our cgroup, if any (so the caller knows which cgroup.controllers to read). */
export function unifiedMount(mountinfo: string, selfCgroup: string): Placement | undefined {
  const own = parseProcCgroup(selfCgroup).v2;
  if (own === undefined) return undefined;
  for (const m of parseMountinfo(mountinfo)) {
    if (m.fsType !== 'cgroup2') continue;
    const dir = dirThroughMount(m.mountPoint, m.root, own);
    if (dir) return { version: 2, mountPoint: m.mountPoint, mountRoot: m.root, ownPath: own, ownDir: dir };
  }
  return undefined;
}

/**
 * For each controller: a v1 mount whose super options name it wins (a controller is bound to one
 * hierarchy at a time, cgroups(7)); otherwise it is on cgroup2 when the mount root's cgroup.controllers
 * lists it. Throws when a required controller is nowhere, naming what was found.
 */
export function detectLayout(input: DetectInput, required: readonly Controller[] = REQUIRED): CgroupLayout {
  const mounts = parseMountinfo(input.mountinfo);
  const self = parseProcCgroup(input.selfCgroup);
  const layout: CgroupLayout = { controllers: {} };
  const uni = unifiedMount(input.mountinfo, input.selfCgroup);
  if (uni) {
    const ctrls = (input.unifiedControllers ?? '').trim().split(/\s+/).filter(Boolean);
    layout.unified = { ...uni, controllers: ctrls };
  }
  for (const c of CONTROLLERS) {
    const own = self.v1.get(c);
    let found: Placement | undefined;
    for (const m of mounts) {
      if (m.fsType !== 'cgroup' || !m.superOptions.includes(c) || own === undefined) continue;
      const dir = dirThroughMount(m.mountPoint, m.root, own);
      if (dir) {
        found = { version: 1, mountPoint: m.mountPoint, mountRoot: m.root, ownPath: own, ownDir: dir };
        break;
      }
    }
    if (!found && layout.unified?.controllers.includes(c)) {
      const { controllers: _c, ...p } = layout.unified;
      found = p;
    }
    if (found) layout.controllers[c] = found;
  }
  const need = new Set<Controller>(required);
  // v1 cpu has no usage counter of its own: cpuacct.usage is where it lives.
  if (layout.controllers.cpu?.version === 1) need.add('cpuacct');
  const missing = [...need].filter((c) => !layout.controllers[c]);
  if (missing.length) {
    const v1 = mounts.filter((m) => m.fsType === 'cgroup').map((m) => m.mountPoint);
    const v2 = layout.unified ? `${layout.unified.mountPoint} [${layout.unified.controllers.join(' ')}]` : 'none';
    throw new Error(`cgroup controller(s) ${missing.join(', ')} not found: v1 mounts ${v1.join(' ') || 'none'}, cgroup2 ${v2}`);
  }
  return layout;
}

/** Version the set reports: 2 only when every limit controller is on cgroup2. */
export function layoutVersion(layout: CgroupLayout): 1 | 2 {
  return REQUIRED.every((c) => layout.controllers[c]?.version === 2) ? 2 : 1;
}
