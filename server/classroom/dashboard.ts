// The instructor's dashboard data: every live session with its learner's name, lesson and step, time stuck, and sandbox health.
import type { SandboxStats } from '../engine/types.ts';
import type { DashboardResponse, DashboardSession, DashboardStats } from '../protocol/lessons.ts';
import type { LoadedLesson } from '../lessons/loader.ts';
import type { CheckRunner } from '../lessons/runner.ts';
import type { ProgressStore } from '../lessons/progress.ts';
import type { SessionManager } from '../sessions/manager.ts';

interface Sample {
  stats: SandboxStats;
  at: number;
  cpuPercent: number | null;
}

export class Dashboard {
  /** Last stats per sandbox: cpu % is the usage delta between two polls of the dashboard. */
  private readonly samples = new Map<string, Sample>();

  constructor(
    private readonly manager: SessionManager,
    private readonly runner: CheckRunner,
    private readonly lessons: () => Map<string, LoadedLesson>,
    private readonly store: () => ProgressStore,
    private readonly instructors: Set<string>,
  ) {}

  /** Reads every running sandbox's cgroup stats (in parallel, each bounded) only while someone looks at the dashboard. */
  async build(broadcast: string | null, cgroupVersion: 1 | 2): Promise<DashboardResponse> {
    const now = Date.now();
    const infos = this.manager.sessions();
    const live = new Set<string>();
    const rows = await Promise.all(
      infos.map(async (info): Promise<DashboardSession> => {
        const s = info.session;
        const st = this.runner.states.get(s.id);
        const sb = s.sandbox;
        let stats: DashboardStats | null = null;
        if (sb && s.state === 'running') {
          live.add(sb.id);
          const fresh = await withTimeout(sb.stats(), 800).catch(() => null);
          if (fresh) stats = this.toDashboard(sb.id, fresh, performance.now());
        }
        const lesson = st?.slug ? this.lessons().get(st.slug)?.lesson : undefined;
        const instructor = this.instructors.has(s.id);
        // A database that does not answer costs the dashboard this column, not the whole view.
        const done = st?.key
          ? await this.store()
              .progress(st.key, this.stepCounts())
              .then((p) => Object.values(p).filter((x) => x.done).length)
              .catch(() => 0)
          : 0;
        return {
          sessionId: s.id,
          name: instructor ? 'Instructor' : st?.name || info.name || `learner ${s.id.slice(0, 4)}`,
          instructor,
          state: s.state === 'new' ? 'creating' : s.state,
          attached: s.client !== null,
          lesson:
            lesson && st
              ? {
                  slug: lesson.slug,
                  title: lesson.title,
                  step: st.step,
                  steps: lesson.steps.length,
                  stepTitle: lesson.steps[st.step]?.title ?? '',
                }
              : null,
          stuckSec: lesson && st ? (st.passedAt !== null ? 0 : Math.round((now - st.stepSince) / 1000)) : null,
          check: st?.last ? { ok: st.last.ok, message: st.last.message } : null,
          stats,
          idleSec: Math.round((now - info.lastActivity) / 1000),
          ageSec: Math.round((now - info.createdAt) / 1000),
          lessonsDone: done,
        };
      }),
    );
    for (const id of this.samples.keys()) if (!live.has(id)) this.samples.delete(id);
    rows.sort((a, b) => Number(b.instructor) - Number(a.instructor) || a.name.localeCompare(b.name));
    return { cgroupVersion, broadcast, sessions: rows, checkCost: this.runner.cost.summary() };
  }

  private stepCounts(): Record<string, number> {
    return Object.fromEntries([...this.lessons().values()].map((l) => [l.lesson.slug, l.specs.length]));
  }

  private toDashboard(id: string, s: SandboxStats, at: number): DashboardStats {
    const prev = this.samples.get(id);
    let cpuPercent: number | null = prev?.cpuPercent ?? null;
    if (prev && at - prev.at > 200)
      cpuPercent = Math.round(((s.cpu.usageUsec - prev.stats.cpu.usageUsec) / 1000 / (at - prev.at)) * 1000) / 10;
    if (!prev || at - prev.at > 200) this.samples.set(id, { stats: s, at, cpuPercent });
    return {
      memory: { current: s.memory.current, limit: s.memory.limit, oomKills: s.memory.oomKills },
      cpu: { usageUsec: s.cpu.usageUsec, quotaFraction: s.cpu.quotaFraction, nrThrottled: s.cpu.nrThrottled, cpuPercent },
      pids: { current: s.pids.current, max: s.pids.max },
    };
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}
