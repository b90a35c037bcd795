// The lesson list: the built-in course then each lesson pack, every lesson in order, what this learner has done (kept on the server), and the name shown to an instructor.
'use client';
import { useEffect, useState } from 'react';
import { SLUG_RE, type LessonListResponse, type LessonSummary, type ProgressResponse } from '../../server/protocol/lessons';
import { Header } from '../playground/Header';
import { learnerId, learnerName, setLearnerName } from './learner';
import { fetchLessons, fetchProgress } from './lesson-api';

export function LessonList() {
  const [list, setList] = useState<LessonListResponse | null>(null);
  const [progress, setProgress] = useState<ProgressResponse['progress']>({});
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState('');

  useEffect(() => {
    // The x-ray's "Lesson →" links are /lessons#<slug>: open that lesson (also when only the fragment changes).
    const follow = () => {
      const wanted = window.location.hash.slice(1);
      if (!SLUG_RE.test(wanted)) return false;
      window.location.replace(`/lessons/${wanted}`);
      return true;
    };
    window.addEventListener('hashchange', follow);
    const stop = () => window.removeEventListener('hashchange', follow);
    if (follow()) return stop;
    setName(learnerName());
    fetchLessons().then(setList, (e: Error) => setError(e.message));
    fetchProgress(learnerId()).then(
      (p) => setProgress(p.progress),
      () => {},
    );
    return stop;
  }, []);

  const lessons = list?.lessons ?? [];
  // The server sends the built-in course first, then each pack in its order: one section per pack.
  const groups: { pack: LessonSummary['pack']; lessons: LessonSummary[] }[] = [];
  for (const l of lessons) {
    const g = groups.find((x) => x.pack.id === l.pack.id);
    if (g) g.lessons.push(l);
    else groups.push({ pack: l.pack, lessons: [l] });
  }
  const doneCount = lessons.filter((l) => progress[l.slug]?.done).length;
  return (
    <div className="flex min-h-dvh flex-col">
      <Header current="lessons" />
      <main className="mx-auto w-full max-w-4xl flex-1 space-y-6 p-6">
        <div className="flex flex-wrap items-end gap-4">
          <div className="min-w-0 flex-1">
            <p className="font-mono text-xs uppercase tracking-[0.2em] text-accent">lessons</p>
            <h1 className="mt-2 text-3xl font-semibold tracking-tight">From first contact to the double fork</h1>
            <p className="mt-2 text-muted">
              Each lesson runs in your own sandbox; the server checks your work in the kernel.{' '}
              {list && (
                <span data-testid="done-count">
                  {doneCount} of {lessons.length} done.
                </span>
              )}{' '}
              {list && <span>This host runs cgroup {list.cgroupVersion === 2 ? 'v2' : 'v1 (hybrid)'}.</span>}
            </p>
          </div>
          <label className="flex flex-col gap-1 text-sm text-muted">
            Your name (shown to your instructor)
            <input
              data-testid="learner-name"
              value={name}
              maxLength={64}
              placeholder="optional"
              onChange={(e) => {
                setName(e.target.value);
                setLearnerName(e.target.value);
              }}
              className="h-9 w-64 rounded-md border border-line bg-panel px-3 text-fg outline-none focus:border-accent"
            />
          </label>
        </div>
        {error && <p className="text-bad">{error}</p>}
        {groups.map((group) => (
          <section key={group.pack.id} className="space-y-3" data-testid={`pack-${group.pack.id}`}>
            {!group.pack.builtin && (
              <h2 className="pt-2 text-lg font-semibold text-fg">
                {group.pack.title} <span className="font-mono text-xs font-normal text-faint">lesson pack</span>
              </h2>
            )}
            <ol className="grid gap-3 sm:grid-cols-2" data-testid={group.pack.builtin ? 'lesson-list' : `lesson-list-${group.pack.id}`}>
              {group.lessons.map((l) => {
                const p = progress[l.slug];
                const n = p?.steps.length ?? 0;
                return (
                  <li key={l.slug} data-testid={`lesson-${l.slug}`} data-done={p?.done ? 'true' : 'false'}>
                    <a
                      href={`/lessons/${l.slug}`}
                      className={`flex h-full flex-col gap-2 rounded-xl border bg-panel p-4 shadow-sm hover:border-accent/60 ${p?.done ? 'border-ok/60' : 'border-line'}`}
                    >
                      <span className="flex items-center gap-2">
                        <span
                          className={`grid size-7 shrink-0 place-items-center rounded-full text-sm font-semibold ${p?.done ? 'bg-ok text-bg' : 'bg-raised text-muted'}`}
                        >
                          {p?.done ? '✓' : l.order}
                        </span>
                        <span className="font-semibold text-fg">{l.title}</span>
                      </span>
                      <span className="text-sm leading-relaxed text-muted">{l.summary}</span>
                      <span className="mt-auto flex flex-wrap items-center gap-2 text-xs text-faint">
                        <span data-testid="lesson-steps">{p?.done ? 'done' : `${n} of ${l.stepTitles.length} steps`}</span>
                        <span className="h-1.5 flex-1 overflow-hidden rounded bg-raised">
                          <span className="block h-full bg-ok" style={{ width: `${(n / l.stepTitles.length) * 100}%` }} />
                        </span>
                        {Object.entries(l.sandbox).map(([k, v]) => (
                          <span key={k} className="rounded bg-accent-soft px-1 text-accent">
                            {k === 'cpuLimit' ? 'cpu' : k} {String(v)}
                          </span>
                        ))}
                      </span>
                    </a>
                  </li>
                );
              })}
            </ol>
          </section>
        ))}
      </main>
    </div>
  );
}
