// A lesson page: the steps on the left (checks turn them green), the learner's terminal and x-ray on the right.
'use client';
import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import type { Terminal } from '@xterm/xterm';
import type { LessonResponse, LessonSummary, ProgressResponse } from '../../server/protocol/lessons';
import { Header } from '../playground/Header';
import { NoticeBar, Overlay } from '../playground/Overlay';
import { SessionBar } from '../playground/SessionBar';
import { useSize, useTheme } from '../playground/prefs';
import { ClassOver, ResetNotice } from '../classroom/ClassNotices';
import { useClassActions } from '../classroom/useClassActions';
import { BoxlabClient } from '../terminal/BoxlabClient';
import { INITIAL_VIEW, type ClientView } from '../terminal/client-types';
import { TerminalView, type TermHandle } from '../terminal/TerminalView';
import { XrayPanel } from '../xray/XrayPanel';
import { Blocks } from './Blocks';
import { FollowPanel } from './FollowPanel';
import { learnerId, learnerName } from './learner';
import { fetchLesson, fetchLessons, fetchProgress } from './lesson-api';
import { lessonDeps } from './lesson-deps';
import { StepCard } from './StepCard';
import { useLessonChannel } from './useLessonChannel';

const noSubscribe = () => () => {};
const initialView = () => INITIAL_VIEW;

export function LessonRunner({ slug }: { slug: string }) {
  const [theme] = useTheme();
  const [size] = useSize();
  const [data, setData] = useState<LessonResponse | null>(null);
  const [next, setNext] = useState<LessonSummary | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [passed, setPassed] = useState<ReadonlySet<number>>(new Set());
  const [current, setCurrent] = useState<number | null>(null);
  const [client, setClient] = useState<BoxlabClient | null>(null);
  const clientRef = useRef<BoxlabClient | null>(null);
  const term = useRef<Terminal | null>(null);
  const terminalRef = useRef<HTMLElement>(null);
  const view: ClientView = useSyncExternalStore(client?.subscribe ?? noSubscribe, client?.getView ?? initialView, initialView);

  useEffect(() => {
    let live = true;
    Promise.all([
      fetchLesson(slug),
      fetchProgress(learnerId()).catch((): ProgressResponse => ({ progress: {} })),
      fetchLessons().catch(() => null),
    ])
      .then(([l, p, list]) => {
        if (!live) return;
        const done = new Set<number>(p.progress[slug]?.steps ?? []);
        setData(l);
        setPassed(done);
        // Continue where the learner left off: the first step not passed yet.
        const first = l.lesson.steps.findIndex((s) => !done.has(s.index));
        setCurrent(first < 0 ? l.lesson.steps.length - 1 : first);
        const later = list?.lessons.filter((x) => x.order > l.lesson.order).sort((a, b) => a.order - b.order)[0];
        setNext(later ?? null);
        document.title = `${l.lesson.title} · Boxlab lessons`;
      })
      .catch((e: Error) => live && setError(e.message));
    return () => {
      live = false;
    };
  }, [slug]);

  // The step being worked on stays in view as the learner moves through the lesson.
  useEffect(() => {
    if (current !== null) document.querySelector(`[data-testid=step-${current}]`)?.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }, [current]);

  const onPassed = useCallback((step: number) => setPassed((s) => (s.has(step) ? s : new Set([...s, step]))), []);
  const cls = useLessonChannel(client, slug, current, onPassed);
  const klass = useClassActions(client, slug);

  const onReady = useCallback((h: TermHandle) => {
    const c = new BoxlabClient(h.sink, lessonDeps(learnerName));
    term.current = h.term;
    clientRef.current = c;
    c.resize(h.term.rows, h.term.cols);
    window.__boxlab = { term: h.term, client: c, renderer: h.renderer };
    setClient(c);
    c.start(); // a lesson needs its sandbox at once: resume this tab's session, or make one
    const online = () => c.retryNow();
    window.addEventListener('online', online);
    return () => {
      window.removeEventListener('online', online);
      c.dispose();
      clientRef.current = null;
      term.current = null;
      delete window.__boxlab;
    };
  }, []);

  const ready = view.phase === 'running';
  // The shell gets the keyboard as soon as it runs (after a reload, a reset, or a rebuild for the lesson's limits).
  useEffect(() => {
    if (ready) term.current?.focus();
  }, [ready]);
  const run = (cmd: string) => {
    if (!clientRef.current?.input(`${cmd}\r`)) return;
    term.current?.focus();
    // On a small screen the terminal is below the steps: bring it into view to show what the command did.
    terminalRef.current?.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  };
  const actions = {
    start: () => client?.start(),
    newSession: () => client?.newSession(),
    restart: () => client?.restart(),
    takeOver: () => client?.takeOver(),
    retryNow: () => client?.retryNow(),
    retryAfterError: () => {
      if (!client?.restart()) client?.newSession();
    },
  };
  const lesson = data?.lesson;
  const cgroup = view.cgroupVersion ?? data?.cgroupVersion ?? null;
  const complete = !!lesson && lesson.steps.every((s) => passed.has(s.index));
  const settings = lesson ? Object.entries(lesson.sandbox) : [];

  return (
    // Below lg the page scrolls: the steps (at most 60% of the window, scrolling inside), then a terminal with room
    // for 24 rows, then the x-ray (as on the playground; e2e/small-screens.e2e.ts).
    <div className="flex min-h-dvh flex-col lg:h-dvh lg:min-h-[32rem]">
      <Header current="lessons" />
      <main className="grid flex-1 grid-cols-1 gap-3 p-3 lg:min-h-0 lg:grid-cols-[minmax(22rem,32rem)_minmax(0,1fr)]">
        <section aria-label="Lesson" className="scroll-thin max-h-[60dvh] min-h-0 overflow-y-auto pr-1 lg:max-h-none" data-testid="lesson">
          {error && (
            <p className="rounded-xl border border-bad/50 p-4 text-bad">
              {error}{' '}
              <a className="underline" href="/lessons">
                All lessons
              </a>
            </p>
          )}
          {lesson && (
            <div className="space-y-4">
              <div className="space-y-2">
                <a href="/lessons" className="text-sm text-muted hover:text-fg">
                  ← All lessons
                </a>
                <p className="font-mono text-xs uppercase tracking-[0.2em] text-accent">Lesson {lesson.order}</p>
                <h1 className="text-2xl font-semibold tracking-tight text-fg">{lesson.title}</h1>
                <p className="flex flex-wrap gap-1.5 text-xs">
                  <span data-testid="host-cgroup" className="rounded bg-raised px-1.5 py-0.5 text-muted">
                    {cgroup === 2 ? 'this host: cgroup v2' : cgroup === 1 ? 'this host: cgroup v1 (hybrid)' : 'host: …'}
                  </span>
                  {settings.map(([k, v]) => (
                    <span
                      key={k}
                      className="rounded bg-accent-soft px-1.5 py-0.5 text-accent"
                      title="This lesson's sandbox is rebuilt with this limit"
                    >
                      {k === 'cpuLimit' ? 'cpu' : k} {String(v)}
                    </span>
                  ))}
                </p>
              </div>
              <div className="space-y-3 text-[0.9375rem] text-muted">
                <Blocks blocks={lesson.intro} cgroup={cgroup} onRun={run} ready={ready} />
              </div>
              <ol className="space-y-2.5" data-testid="steps">
                {lesson.steps.map((s) => (
                  <StepCard
                    key={s.index}
                    step={s}
                    passed={passed.has(s.index)}
                    current={s.index === current}
                    check={cls.checks[s.index] ?? null}
                    cgroup={cgroup}
                    ready={ready}
                    last={s.index === lesson.steps.length - 1}
                    onRun={run}
                    onSelect={() => setCurrent(s.index)}
                    onNext={() => setCurrent(Math.min(s.index + 1, lesson.steps.length - 1))}
                  />
                ))}
              </ol>
              {complete && (
                <div data-testid="lesson-complete" className="rounded-xl border border-ok/50 bg-ok/10 p-4">
                  <p className="font-semibold text-ok">✓ Lesson complete</p>
                  {next ? (
                    <a
                      href={`/lessons/${next.slug}`}
                      data-testid="next-lesson"
                      className="mt-2 inline-flex h-9 items-center rounded-md bg-accent px-4 text-sm font-semibold text-accent-fg hover:brightness-110"
                    >
                      Next: {next.title} →
                    </a>
                  ) : (
                    <a href="/lessons" className="mt-2 inline-block text-sm text-accent underline">
                      Back to all lessons
                    </a>
                  )}
                </div>
              )}
              {lesson.outro.length > 0 && (
                <div className="space-y-3 text-[0.9375rem] text-muted">
                  <Blocks blocks={lesson.outro} cgroup={cgroup} onRun={run} ready={ready} />
                </div>
              )}
            </div>
          )}
        </section>
        <div className="relative flex min-h-0 flex-col gap-3">
          <FollowPanel name={klass.broadcast} />
          <ResetNotice text={klass.notice} onDismiss={klass.dismiss} />
          <section
            ref={terminalRef}
            aria-label="Terminal"
            className="flex min-h-[35rem] min-w-0 flex-[3] flex-col lg:min-h-[18rem] overflow-hidden rounded-xl border border-line bg-panel shadow-sm focus-within:border-accent/50"
          >
            <SessionBar view={withActualLimits(view)} onReset={() => client?.reset()} onKeep={() => term.current?.focus()} />
            <div className="relative min-h-0 flex-1">
              <TerminalView
                theme={theme}
                large={size === 'large'}
                onReady={onReady}
                onData={(d) => clientRef.current?.input(d)}
                onResize={(r, c) => clientRef.current?.resize(r, c)}
                onNotice={() => {}}
              />
              <Overlay view={view} actions={actions} mounted={client !== null} classOver={klass.ended} />
            </div>
            <NoticeBar view={view} actions={actions} />
          </section>
          <aside className="h-[26rem] shrink-0 overflow-hidden rounded-xl lg:h-auto lg:min-h-[12rem] lg:flex-[2] border border-line bg-panel shadow-sm">
            <XrayPanel view={view} client={client} wide={false} onWide={() => {}} />
          </aside>
        </div>
      </main>
      <ClassOver text={klass.ended} />
    </div>
  );
}

/** The limits chips show what the box's cgroup really holds (a lesson may have lowered them), once stats arrive. */
function withActualLimits(view: ClientView): ClientView {
  const st = view.stats;
  if (!st || !view.limits) return view;
  return {
    ...view,
    limits: {
      ...view.limits,
      memory: `${Math.round(st.memory.limit / 1048576)}M`,
      cpuLimit: String(st.cpu.quotaFraction),
      pids: st.pids.max,
    },
  };
}
