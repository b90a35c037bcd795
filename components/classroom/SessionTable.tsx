// The dashboard's table: one row per live session with the learner's lesson and step, time stuck, last check and sandbox health.
'use client';
import type { DashboardSession } from '../../server/protocol/lessons';

const mib = (n: number) => `${Math.round(n / 1048576)}`;
function duration(sec: number): string {
  if (sec < 60) return `${sec}s`;
  if (sec < 3600) return `${Math.floor(sec / 60)}m ${String(sec % 60).padStart(2, '0')}s`;
  return `${Math.floor(sec / 3600)}h ${String(Math.floor((sec % 3600) / 60)).padStart(2, '0')}m`;
}

function Gauge({ value, max, label, warn }: { value: number; max: number; label: string; warn?: boolean }) {
  const pct = max > 0 ? Math.min(100, (value / max) * 100) : 0;
  return (
    <span className="flex items-center gap-1.5" title={label}>
      <span className="h-1.5 w-12 overflow-hidden rounded bg-raised">
        <span className={`block h-full ${warn || pct > 90 ? 'bg-bad' : pct > 70 ? 'bg-warn' : 'bg-ok'}`} style={{ width: `${pct}%` }} />
      </span>
      <span className="font-mono text-[0.6875rem] text-muted">{label}</span>
    </span>
  );
}

export function SessionTable(props: {
  rows: DashboardSession[];
  selected: string | null;
  broadcast: string | null;
  onSpectate(id: string): void;
  onReset(id: string): void;
}) {
  if (!props.rows.length)
    return (
      <p className="p-6 text-center text-muted" data-testid="no-sessions">
        No one here yet. Learners appear as soon as they open a lesson or the playground.
      </p>
    );
  return (
    <table className="w-full border-collapse text-sm" data-testid="sessions">
      <thead>
        <tr className="border-b border-line text-left text-xs uppercase tracking-wide text-faint">
          <th className="px-3 py-2 font-medium">Learner</th>
          <th className="px-3 py-2 font-medium">Lesson · step</th>
          <th className="px-3 py-2 font-medium">Stuck</th>
          <th className="px-3 py-2 font-medium">Sandbox health</th>
          <th className="px-3 py-2" />
        </tr>
      </thead>
      <tbody>
        {props.rows.map((r) => {
          const s = r.stats;
          const stuck = r.stuckSec ?? 0;
          return (
            <tr
              key={r.sessionId}
              data-testid="session-row"
              data-session={r.sessionId}
              data-name={r.name}
              className={`border-b border-line/60 align-top ${props.selected === r.sessionId ? 'bg-accent-soft/60' : 'hover:bg-raised/50'}`}
            >
              <td className="px-3 py-2">
                <p className="font-medium text-fg">
                  {r.name}
                  {r.instructor && <span className="ml-1.5 rounded bg-accent-soft px-1 text-[0.6875rem] text-accent">you</span>}
                  {props.broadcast === r.sessionId && (
                    <span className="ml-1.5 rounded bg-bad/15 px-1 text-[0.6875rem] text-bad">on air</span>
                  )}
                </p>
                <p className="font-mono text-[0.6875rem] text-faint">
                  {r.sessionId.slice(0, 8)} · {r.state}
                  {r.attached ? '' : ' · away'} · idle {duration(r.idleSec)} · {r.lessonsDone} done
                </p>
              </td>
              <td className="px-3 py-2" data-testid="row-lesson">
                {r.lesson ? (
                  <>
                    <p className="text-fg">{r.lesson.title}</p>
                    <p className="text-xs text-muted">
                      step {r.lesson.step + 1}/{r.lesson.steps}: {r.lesson.stepTitle}
                    </p>
                    {r.check && (
                      <p className={`mt-0.5 text-xs ${r.check.ok ? 'text-ok' : 'text-faint'}`}>
                        {r.check.ok ? '✓ ' : ''}
                        {r.check.message}
                      </p>
                    )}
                  </>
                ) : (
                  <span className="text-faint">playground</span>
                )}
              </td>
              <td
                className={`px-3 py-2 font-mono text-xs ${stuck > 300 ? 'font-semibold text-bad' : stuck > 120 ? 'text-warn' : 'text-muted'}`}
                data-testid="row-stuck"
              >
                {r.stuckSec === null ? '–' : r.stuckSec === 0 ? 'passed' : duration(stuck)}
              </td>
              <td className="space-y-1 px-3 py-2">
                {s ? (
                  <>
                    <Gauge
                      value={s.memory.current}
                      max={s.memory.limit}
                      label={`${mib(s.memory.current)}/${mib(s.memory.limit)} MiB${s.memory.oomKills ? ` · ${s.memory.oomKills} OOM` : ''}`}
                      warn={s.memory.oomKills > 0}
                    />
                    <Gauge
                      value={s.cpu.cpuPercent ?? 0}
                      max={s.cpu.quotaFraction * 100}
                      label={`cpu ${s.cpu.cpuPercent ?? 0}% of ${Math.round(s.cpu.quotaFraction * 100)}%`}
                    />
                    <Gauge value={s.pids.current} max={s.pids.max} label={`${s.pids.current}/${s.pids.max} tasks`} />
                  </>
                ) : (
                  <span className="text-xs text-faint">no sandbox running</span>
                )}
              </td>
              <td className="space-x-1 whitespace-nowrap px-3 py-2 text-right">
                <button
                  type="button"
                  data-testid="spectate"
                  onClick={() => props.onSpectate(r.sessionId)}
                  className="h-7 rounded-md border border-line px-2 text-xs text-muted hover:bg-raised hover:text-fg"
                >
                  Watch
                </button>
                <button
                  type="button"
                  data-testid="reset"
                  onClick={() => props.onReset(r.sessionId)}
                  className="h-7 rounded-md border border-line px-2 text-xs text-muted hover:bg-raised hover:text-fg"
                >
                  Reset
                </button>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
