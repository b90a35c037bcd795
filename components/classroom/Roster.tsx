// A class's roster: each learner by name, online or not, and every step of the class's lessons with when it was opened and passed.
'use client';
import type { ClassDetail } from '../../server/protocol/classes';
import type { LessonSummary } from '../../server/protocol/lessons';

const time = (t: number | null) => (t === null ? '' : new Date(t).toLocaleTimeString());

export function Roster({ detail, lessons }: { detail: ClassDetail; lessons: LessonSummary[] }) {
  if (!detail.roster.length) return <p className="text-sm text-muted" data-testid="roster-empty">No one has joined yet.</p>;
  const cols = detail.lessons.flatMap((slug) => {
    const l = lessons.find((x) => x.slug === slug);
    return (l?.stepTitles ?? []).map((title, step) => ({ slug, step, title, lesson: l?.title ?? slug }));
  });
  return (
    <table className="w-full text-sm" data-testid="roster">
      <thead>
        <tr className="text-left text-xs text-muted">
          <th className="py-1 pr-3 font-normal">Learner</th>
          <th className="py-1 pr-3 font-normal">Done</th>
          <th className="py-1 font-normal">Steps</th>
        </tr>
      </thead>
      <tbody>
        {detail.roster.map((m) => {
          const passed = m.steps.filter((s) => s.passedAt !== null && detail.lessons.includes(s.slug)).length;
          return (
            <tr key={m.memberId} className="border-t border-line" data-testid="roster-row">
              <td className="py-1 pr-3">
                <span className={`mr-1.5 inline-block size-2 rounded-full ${m.sessionId ? 'bg-ok' : 'bg-line'}`} title={m.sessionId ? 'has a box now' : 'no box right now'} />
                <span data-testid="roster-name">{m.name}</span>
              </td>
              <td className="py-1 pr-3 tabular-nums">{passed}/{cols.length}</td>
              <td className="py-1">
                <div className="flex flex-wrap gap-0.5">
                  {cols.map((c) => {
                    const s = m.steps.find((x) => x.slug === c.slug && x.step === c.step);
                    const state = s?.passedAt ? 'bg-ok' : s?.openedAt ? 'bg-warn' : 'bg-line';
                    const tip = `${c.lesson} · ${c.step + 1}. ${c.title}${s?.openedAt ? ` · opened ${time(s.openedAt)}` : ''}${s?.passedAt ? ` · passed ${time(s.passedAt)}` : ''}`;
                    return <span key={`${c.slug}#${c.step}`} title={tip} data-testid="roster-step" data-state={s?.passedAt ? 'passed' : s?.openedAt ? 'opened' : 'none'} className={`inline-block h-3 w-3 rounded-sm ${state}`} />;
                  })}
                </div>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
