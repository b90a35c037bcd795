// breakdown.ts: where a box's create time goes: per-stage medians and the critical path cut into segments (pure).
import type { StageEvent, StageName } from '../../server/engine/types.ts';
import { STAGES } from '../../server/engine/types.ts';
import { median } from './stats.ts';

/** One measured box: its events, and the ms from our createSandbox() call to the engine clock's zero. */
export interface BoxRun {
  events: readonly StageEvent[];
  /** createSandbox() call -> StageClock t0 (config parsing, deps, id). */
  offsetMs: number;
  createMs: number;
}

export interface StageRow {
  stage: StageName;
  role: string;
  /** Median start, in ms since createSandbox() was called. */
  start: number;
  duration: number;
  /** Share of samples in which the stage was seen. */
  seen: number;
}

export function stageRows(runs: readonly BoxRun[]): StageRow[] {
  const rows: StageRow[] = [];
  for (const stage of STAGES) {
    const starts: number[] = [];
    const durs: number[] = [];
    let role = '';
    for (const r of runs) {
      const e = r.events.find((x) => x.stage === stage && x.ok);
      if (!e) continue;
      role = e.role;
      starts.push(r.offsetMs + e.t);
      durs.push(e.durationMs);
    }
    if (durs.length) rows.push({ stage, role, start: median(starts), duration: median(durs), seen: durs.length / runs.length });
  }
  return rows;
}

export interface Segment {
  name: string;
  what: string;
  ms: number;
}

const end = (e: StageEvent) => e.t + e.durationMs;

/**
 * The path from createSandbox() to its resolve, cut at the events: host stages run one after another; the
 * waits are the children working (or a pipe wake-up) while Node has nothing to do. Medians of each piece,
 * so they need not add up exactly to the median total.
 */
export function criticalPath(runs: readonly BoxRun[]): Segment[] {
  const pieces: Record<string, { what: string; v: number[] }> = {};
  const add = (name: string, what: string, v: number) => (pieces[name] ??= { what, v: [] }).v.push(v);
  for (const r of runs) {
    const by = new Map<StageName, StageEvent>();
    for (const e of r.events) if (e.ok && !by.has(e.stage)) by.set(e.stage, e);
    const g = (s: StageName) => by.get(s);
    const need = [
      'prepare_state',
      'cgroup_create',
      'upper_tmpfs',
      'fork1',
      'uid_map',
      'overlay_mount',
      'cgroup_attach',
      'exec',
      'running',
    ] as const;
    if (!need.every((s) => g(s))) continue;
    const e = (s: (typeof need)[number]) => g(s)!;
    add('setup', 'createSandbox() call to the first stage (config, deps, id)', r.offsetMs + e('prepare_state').t);
    for (const s of ['prepare_state', 'fork1', 'cgroup_create', 'upper_tmpfs'] as const) add(s, 'host stage', e(s).durationMs);
    // The child starts while Node makes the cgroups and the tmpfs; only what is left of its start waits here.
    add(
      'wait unshare_user',
      'child start + unshare(CLONE_NEWUSER) not hidden behind cgroup_create/upper_tmpfs, and the wake-up',
      e('uid_map').t - end(e('upper_tmpfs')),
    );
    for (const s of ['uid_map', 'overlay_mount', 'cgroup_attach'] as const) add(s, 'host stage', e(s).durationMs);
    add(
      'children to exec',
      "from 'go' to the inner child's last event before execve (unshare_ns ... drop_privileges)",
      end(e('exec')) - end(e('cgroup_attach')),
    );
    add('execve to Node', 'execve of the shell, exec pipe EOF, Node wakes and drains events', e('running').t - end(e('exec')));
    add('running', 'host stage (namespace inodes)', e('running').durationMs);
    add('resolve', 'running stage end to the awaiting caller', r.createMs - r.offsetMs - end(e('running')));
  }
  return Object.entries(pieces).map(([name, p]) => ({ name, what: p.what, ms: median(p.v) }));
}
