// The browser's x-ray state: applies the server's full and diff messages, keeps a short cgroup history and what just changed.
import type { SandboxStats } from '../../server/protocol/box';
import type { XrayCgroup, XrayFile, XrayFsMeta, XrayLowerTop, XrayMount, XrayMsg, XrayNs, XrayProc } from '../../server/protocol/xray';

export interface StatPoint {
  at: number;
  memory: number;
  /** Cores used since the previous point (usage_usec delta over wall time). */
  cpu: number | null;
  /** Throttled time since the previous point, as a share of wall time. */
  throttled: number | null;
  pids: number;
}

export interface XrayState {
  seq: number;
  at: number;
  /** Browser clock when the last message arrived: maps "now" onto the server's clock for the history. */
  receivedAt: number;
  costMs: number;
  procs: ReadonlyMap<number, XrayProc>;
  procsTruncated: boolean;
  ns: readonly XrayNs[] | null;
  stats: SandboxStats | null;
  history: readonly StatPoint[];
  /** Lab mode on cgroup v2: the cgroups below the box's delegated one ([] elsewhere). */
  cgroups: readonly XrayCgroup[];
  /** Server time of the sample that saw oomKills go up (the gauge flashes for a while after it). */
  oomAt: number | null;
  files: ReadonlyMap<string, XrayFile>;
  fsMeta: XrayFsMeta | null;
  lowerTop: XrayLowerTop;
  /** path → server time it appeared or changed, so fresh changes can be highlighted. */
  touched: ReadonlyMap<string, number>;
  mounts: {
    list: readonly XrayMount[];
    truncated: boolean;
    hostCount: number;
    mergedPath: string;
    nested?: { ino: number; pid: number; list: readonly XrayMount[] }[];
  } | null;
}

export const HISTORY = 120;

export const EMPTY_XRAY: XrayState = {
  seq: 0,
  at: 0,
  receivedAt: 0,
  costMs: 0,
  procs: new Map(),
  procsTruncated: false,
  ns: null,
  stats: null,
  history: [],
  cgroups: [],
  oomAt: null,
  files: new Map(),
  fsMeta: null,
  lowerTop: [],
  touched: new Map(),
  mounts: null,
};

function point(prev: StatPoint | undefined, prevStats: SandboxStats | null, s: SandboxStats, at: number): StatPoint {
  const dt = prev ? (at - prev.at) * 1000 : 0; // µs
  const ok = prev && prevStats && dt > 0;
  return {
    at,
    memory: s.memory.current,
    cpu: ok ? Math.max(0, (s.cpu.usageUsec - prevStats.cpu.usageUsec) / dt) : null,
    throttled: ok ? Math.min(1, Math.max(0, (s.cpu.throttledUsec - prevStats.cpu.throttledUsec) / dt)) : null,
    pids: s.pids.current,
  };
}

/** Applies one x-ray message; `full` starts from scratch (new subscription or new sandbox). */
export function applyXray(state: XrayState, msg: XrayMsg, receivedAt: number = Date.now()): XrayState {
  const base = msg.full ? EMPTY_XRAY : state;
  if (!msg.full && msg.seq <= state.seq) return state; // a stale message of an older socket
  const next: XrayState = { ...base, seq: msg.seq, at: msg.at, receivedAt, costMs: msg.costMs };
  if (msg.procs) {
    const procs = new Map(base.procs);
    for (const pid of msg.procs.del) procs.delete(pid);
    for (const p of msg.procs.set) procs.set(p.hostPid, p);
    next.procs = procs;
    next.procsTruncated = msg.procs.truncated;
  }
  if (msg.ns) next.ns = msg.ns;
  if (msg.cgroups) next.cgroups = msg.cgroups;
  if (msg.stats) {
    const prev = base.history[base.history.length - 1];
    next.history = [...base.history, point(prev, base.stats, msg.stats, msg.at)].slice(-HISTORY);
    if (base.stats && msg.stats.memory.oomKills > base.stats.memory.oomKills) next.oomAt = msg.at;
    next.stats = msg.stats;
  }
  if (msg.fs) {
    const files = new Map(base.files);
    const touched = new Map(base.touched);
    for (const path of msg.fs.del) {
      files.delete(path);
      touched.delete(path);
    }
    for (const f of msg.fs.set) {
      files.set(f.path, f);
      if (!msg.full) touched.set(f.path, msg.at);
    }
    next.files = files;
    next.touched = touched;
    next.fsMeta = msg.fs.meta;
    if (msg.fs.lowerTop) next.lowerTop = msg.fs.lowerTop;
  }
  if (msg.mounts) next.mounts = msg.mounts;
  return next;
}

/**
 * The server sends stats only when they change, so a quiet box sends none: while the cgroups view is open the
 * history is extended with the last stats. Unchanged stats mean unchanged usage_usec, hence exactly 0 cpu.
 */
export function extendHistory(state: XrayState, now: number = Date.now(), everyMs = 500): XrayState {
  const last = state.history[state.history.length - 1];
  if (!state.stats || !last || !state.receivedAt) return state;
  const at = state.at + (now - state.receivedAt);
  if (at - last.at < everyMs) return state;
  const p: StatPoint = { at, memory: last.memory, cpu: 0, throttled: 0, pids: last.pids };
  return { ...state, history: [...state.history, p].slice(-HISTORY) };
}

export type Source = 'image' | 'upper' | 'both' | 'deleted';

/** Where a top-level entry of the merged root comes from: the image, the upper layer, both (a merged dir), or hidden. */
export function mergedTop(lowerTop: XrayLowerTop, files: ReadonlyMap<string, XrayFile>): Array<{ name: string; source: Source }> {
  const upper = new Map<string, Source>();
  for (const f of files.values()) {
    const name = f.path.split('/')[1];
    if (!name) continue;
    const inImage = lowerTop.some((e) => e.name === name);
    if (f.path === `/${name}`) {
      // The entry itself is in the upper layer: a whiteout hides it, an opaque dir or a file replaces the image's.
      const whole = f.kind === 'whiteout' ? 'deleted' : f.change === 'opaque' || f.kind !== 'dir' || !inImage ? 'upper' : 'both';
      upper.set(name, whole);
    } else if (!upper.has(name)) upper.set(name, inImage ? 'both' : 'upper');
  }
  const names = [...new Set([...lowerTop.map((e) => e.name), ...upper.keys()])].sort();
  return names.map((name) => ({ name, source: upper.get(name) ?? 'image' }));
}
