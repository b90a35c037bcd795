// The double fork as data: one row per stage (arrived or still to come), and the three processes with their pids and lifetimes.
import { STAGES, type ProcessRole, type StageEvent, type StageName } from '../../server/protocol/box';
import { CREATION_STAGES, STAGE_HELP, STAGE_ROLE } from './stage-info';
import type { LessonSlug } from './ui';

export interface ForkRow {
  stage: StageName;
  role: ProcessRole;
  phase: 'create' | 'teardown';
  /** Not arrived yet: drawn faint (creation in progress, or the cleanup still to come). */
  pending: boolean;
  ok: boolean;
  durationMs: number | null;
  hostPid: number | null;
  boxPid: number | null;
  help: string;
  detail?: string;
  namespaces?: StageEvent['namespaces'];
  error?: string;
}

export interface ForkProc {
  role: ProcessRole;
  hostPid: number | null;
  boxPid: number | null;
  /** Row where the process appears (fork) and where it ends (exit), as row indexes; null: not (yet). */
  born: number | null;
  died: number | null;
}

export interface ForkModel {
  rows: ForkRow[];
  procs: Record<ProcessRole, ForkProc>;
  /** Index of the first teardown row (the divider goes above it), or rows.length. */
  teardownAt: number;
  failed: boolean;
  /** prepare_state to running, ms. */
  readyMs: number | null;
}

export const TEARDOWN_STAGES: readonly StageName[] = STAGES.slice(STAGES.indexOf('child_exit'));

/** The lesson that explains each stage (the lessons page uses these slugs). */
export const STAGE_LESSON: Partial<Record<StageName, LessonSlug>> = {
  cgroup_create: 'cgroup-memory',
  cgroup_attach: 'cgroup-pids',
  upper_tmpfs: 'overlayfs',
  overlay_mount: 'overlayfs',
  fork1: 'double-fork',
  fork2: 'double-fork',
  unshare_user: 'user-namespace',
  uid_map: 'user-namespace',
  unshare_ns: 'pid-namespace',
  hostname: 'uts-namespace',
  net_lo_up: 'network-namespace',
  mount_private: 'mount-namespace',
  mount_proc: 'pid-namespace',
  mount_dev: 'mount-namespace',
  mask_paths: 'mount-namespace',
  pivot_root: 'chroot-vs-pivot-root',
  seccomp: 'capabilities-seccomp',
  drop_privileges: 'capabilities-seccomp',
  child_exit: 'double-fork',
  umount_proc: 'double-fork',
  umount_dev: 'double-fork',
  namespaced_parent_exit: 'double-fork',
  overlay_umount: 'overlayfs',
  cgroup_remove: 'cgroup-memory',
};

const pendingRow = (stage: StageName, phase: ForkRow['phase']): ForkRow => ({
  stage,
  role: STAGE_ROLE[stage],
  phase,
  pending: true,
  ok: true,
  durationMs: null,
  hostPid: null,
  boxPid: null,
  help: STAGE_HELP[stage],
});

/**
 * Rows in arrival order; while a box is being built, the creation stages still to come; once it runs, the
 * teardown stages in the seed's cleanup order (child exits, namespaced parent unmounts /proc and /dev, outer
 * unmounts the overlay and removes the cgroups) drawn faint until they happen.
 */
export function forkModel(events: readonly StageEvent[], creating: boolean): ForkModel {
  const rows: ForkRow[] = events.map((e) => ({
    stage: e.stage,
    role: e.role,
    phase: TEARDOWN_STAGES.includes(e.stage) ? 'teardown' : 'create',
    pending: false,
    ok: e.ok,
    durationMs: e.durationMs,
    hostPid: e.hostPid,
    boxPid: e.boxPid,
    help: STAGE_HELP[e.stage] ?? e.stage,
    detail: e.detail,
    namespaces: e.namespaces,
    error: e.error?.message,
  }));
  const seen = new Set(events.map((e) => e.stage));
  const failed = events.some((e) => !e.ok);
  if (!failed && events.length && creating) for (const s of CREATION_STAGES) if (!seen.has(s)) rows.push(pendingRow(s, 'create'));
  if (!failed && seen.has('running')) for (const s of TEARDOWN_STAGES) if (!seen.has(s)) rows.push(pendingRow(s, 'teardown'));
  const idx = (s: StageName) => rows.findIndex((r) => r.stage === s);
  const first = (role: ProcessRole) => events.find((e) => e.role === role && e.hostPid !== null);
  const at = (s: StageName) => (idx(s) >= 0 ? idx(s) : null);
  const outer = first('outer');
  const parent = first('namespaced_parent');
  const child = first('inner_child');
  const procs: Record<ProcessRole, ForkProc> = {
    outer: { role: 'outer', hostPid: outer?.hostPid ?? null, boxPid: null, born: rows.length ? 0 : null, died: null },
    namespaced_parent: {
      role: 'namespaced_parent',
      hostPid: parent?.hostPid ?? null,
      boxPid: null,
      born: at('fork1'),
      died: at('namespaced_parent_exit'),
    },
    inner_child: {
      role: 'inner_child',
      hostPid: child?.hostPid ?? null,
      boxPid: child?.boxPid ?? null,
      born: at('fork2'),
      died: at('child_exit'),
    },
  };
  const t0 = events[0]?.t;
  const running = events.find((e) => e.stage === 'running');
  const teardownAt = rows.findIndex((r) => r.phase === 'teardown');
  return {
    rows,
    procs,
    failed,
    teardownAt: teardownAt < 0 ? rows.length : teardownAt,
    readyMs: running && t0 !== undefined ? running.t + running.durationMs - t0 : null,
  };
}
