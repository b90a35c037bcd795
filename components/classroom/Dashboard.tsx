// The instructor's classroom: sign in with the token, see every session live, watch one, broadcast, and act on the class.
'use client';
import { useCallback, useEffect, useState } from 'react';
import type { DashboardResponse, LessonSummary } from '../../server/protocol/lessons';
import { Logo } from '../playground/Header';
import { fetchLessons } from '../lessons/lesson-api';
import { checkToken, classAction, getDashboard, saveToken, takeToken } from './classroom-api';
import { ClassesPanel } from './ClassesPanel';
import { InstructorConsole } from './InstructorConsole';
import { SessionTable } from './SessionTable';
import { SpectatePanel } from './SpectatePanel';

export function Dashboard() {
  const [token, setToken] = useState<string | null>(null);
  const [checked, setChecked] = useState(false);
  const [input, setInput] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [dash, setDash] = useState<DashboardResponse | null>(null);
  const [lessons, setLessons] = useState<LessonSummary[]>([]);
  const [goto, setGoto] = useState('');
  const [watching, setWatching] = useState<string | null>(null);
  const [tab, setTab] = useState<'watch' | 'console'>('console');
  const [notice, setNotice] = useState<string | null>(null);

  const signIn = useCallback(async (t: string) => {
    const r = await checkToken(t);
    if (r === 'ok') {
      saveToken(t);
      setToken(t);
      setError(null);
    } else {
      saveToken(null);
      setError(r === 'bad' ? 'That is not the instructor token (the server prints it at start).' : 'Cannot reach the server.');
    }
    setChecked(true);
  }, []);

  useEffect(() => {
    const t = takeToken();
    if (t) void signIn(t);
    else setChecked(true);
    fetchLessons().then(
      (l) => setLessons(l.lessons),
      () => {},
    );
  }, [signIn]);

  useEffect(() => {
    if (!token) return;
    let live = true;
    const poll = async () => {
      try {
        const d = await getDashboard(token);
        if (live) setDash(d);
      } catch (e) {
        if (live && (e as Error).message === 'signed out') setToken(null);
      }
    };
    void poll();
    const id = setInterval(poll, 1500);
    return () => {
      live = false;
      clearInterval(id);
    };
  }, [token]);

  useEffect(() => {
    if (!notice) return;
    const id = setTimeout(() => setNotice(null), 3000);
    return () => clearTimeout(id);
  }, [notice]);

  const act = async (a: Parameters<typeof classAction>[1], what: string) => {
    if (!token) return;
    const r = await classAction(token, a);
    setNotice(r.ok ? `${what}: ${r.affected ?? 0} session(s)` : `${what} failed: ${r.message ?? 'error'}`);
    if (token) setDash(await getDashboard(token).catch(() => dash));
  };

  if (!token) {
    return (
      <div className="grid min-h-dvh place-items-center p-6">
        <form
          className="w-full max-w-sm space-y-4 rounded-2xl border border-line bg-panel p-6 shadow-sm"
          data-testid="sign-in"
          onSubmit={(e) => {
            e.preventDefault();
            void signIn(input.trim());
          }}
        >
          <div className="flex items-center gap-2">
            <Logo className="size-7 text-accent" />
            <h1 className="text-xl font-semibold">Classroom</h1>
          </div>
          <p className="text-sm text-muted">For instructors. Paste the token the server printed at start (or open the link it printed).</p>
          <input
            type="password"
            autoComplete="off"
            data-testid="token"
            value={input}
            onChange={(e) => setInput(e.target.value)}
            placeholder="instructor token"
            className="h-10 w-full rounded-md border border-line bg-bg px-3 text-fg outline-none focus:border-accent"
          />
          {checked && error && (
            <p className="text-sm text-bad" role="alert">
              {error}
            </p>
          )}
          <button type="submit" className="h-10 w-full rounded-lg bg-accent font-semibold text-accent-fg hover:brightness-110">
            Sign in
          </button>
        </form>
      </div>
    );
  }

  const learners = dash?.sessions.filter((s) => !s.instructor) ?? [];
  const stuck = learners.filter((s) => (s.stuckSec ?? 0) > 300).length;
  return (
    <div className="flex h-dvh min-h-[36rem] flex-col">
      <header className="flex h-14 shrink-0 flex-wrap items-center gap-3 border-b border-line bg-panel px-4">
        <a href="/" className="flex items-center gap-2 text-fg">
          <Logo className="size-7 text-accent" />
          <span className="font-semibold">Classroom</span>
        </a>
        <span className="text-sm text-muted" data-testid="summary">
          {learners.length} learner(s){stuck ? ` · ${stuck} stuck > 5 min` : ''}
          {dash?.broadcast ? ' · broadcasting' : ''}
        </span>
        <div className="ml-auto flex flex-wrap items-center gap-2 text-sm">
          <select
            value={goto}
            onChange={(e) => setGoto(e.target.value)}
            data-testid="goto-lesson"
            className="h-8 rounded-md border border-line bg-bg px-2 text-fg"
          >
            <option value="">Move everyone to…</option>
            {/* One group per pack: the built-in course, then each lesson pack served with --lessons. */}
            {[...new Set(lessons.map((l) => l.pack.id))].map((id) => {
              const group = lessons.filter((l) => l.pack.id === id);
              return (
                <optgroup key={id} label={group[0]?.pack.title}>
                  {group.map((l) => (
                    <option key={l.slug} value={l.slug}>
                      {l.order}. {l.title}
                    </option>
                  ))}
                </optgroup>
              );
            })}
          </select>
          <button
            type="button"
            disabled={!goto}
            data-testid="goto"
            onClick={() => act({ action: 'goto', slug: goto }, 'Moved')}
            className="h-8 rounded-md border border-line px-3 text-muted hover:bg-raised hover:text-fg disabled:opacity-50"
          >
            Go
          </button>
          <button
            type="button"
            data-testid="reset-all"
            onClick={() => confirm('Give every learner a fresh sandbox?') && act({ action: 'reset_all' }, 'Reset')}
            className="h-8 rounded-md border border-line px-3 text-muted hover:bg-raised hover:text-fg"
          >
            Reset everyone
          </button>
          <button
            type="button"
            data-testid="end-class"
            onClick={() => confirm('End the class? Every sandbox is torn down.') && act({ action: 'end' }, 'Ended')}
            className="h-8 rounded-md bg-bad px-3 font-semibold text-white hover:brightness-110"
          >
            End class
          </button>
          <button
            type="button"
            onClick={() => {
              saveToken(null);
              setToken(null);
            }}
            className="h-8 rounded-md px-2 text-faint hover:text-fg"
          >
            Sign out
          </button>
        </div>
      </header>
      {notice && (
        <div role="status" className="fixed right-4 top-16 z-40 rounded-lg bg-fg px-3 py-1.5 text-sm text-bg shadow-lg">
          {notice}
        </div>
      )}
      <main className="grid min-h-0 flex-1 grid-cols-1 gap-3 p-3 xl:grid-cols-[minmax(0,1fr)_minmax(30rem,44rem)]">
        <section className="scroll-thin min-h-0 overflow-auto rounded-xl border border-line bg-panel">
          <ClassesPanel token={token} lessons={lessons} notify={setNotice} />
          <SessionTable
            rows={dash?.sessions ?? []}
            selected={watching}
            broadcast={dash?.broadcast ?? null}
            onSpectate={(id) => {
              setWatching(id);
              setTab('watch');
            }}
            onReset={(id) => act({ action: 'reset', sessionId: id }, 'Reset')}
          />
          {dash && Object.keys(dash.checkCost).length > 0 && (
            <p className="border-t border-line px-3 py-2 font-mono text-[0.6875rem] text-faint" data-testid="check-cost">
              check cost (mean/p95 ms):{' '}
              {Object.entries(dash.checkCost)
                .map(([k, v]) => `${k} ${v.meanMs}/${v.p95Ms}`)
                .join(' · ')}
            </p>
          )}
        </section>
        <section className="flex min-h-0 flex-col gap-2">
          <div role="tablist" className="flex gap-1">
            <button
              type="button"
              role="tab"
              aria-selected={tab === 'console'}
              onClick={() => setTab('console')}
              className={`h-8 rounded-md px-3 text-sm ${tab === 'console' ? 'bg-raised text-fg' : 'text-muted'}`}
            >
              My terminal
            </button>
            <button
              type="button"
              role="tab"
              aria-selected={tab === 'watch'}
              disabled={!watching}
              onClick={() => setTab('watch')}
              className={`h-8 rounded-md px-3 text-sm disabled:opacity-40 ${tab === 'watch' ? 'bg-raised text-fg' : 'text-muted'}`}
            >
              Watching
            </button>
          </div>
          {/* Both stay mounted: switching tabs keeps the instructor's shell and the watch socket alive. */}
          <div className={`min-h-0 flex-1 ${tab === 'console' ? '' : 'hidden'}`}>
            <InstructorConsole
              token={token}
              broadcasting={!!dash?.broadcast}
              onBroadcast={(id) => act({ action: 'broadcast', sessionId: id }, id ? 'Broadcasting to' : 'Broadcast stopped for')}
            />
          </div>
          {watching && (
            <div className={`min-h-0 flex-1 ${tab === 'watch' ? '' : 'hidden'}`}>
              <SpectatePanel
                token={token}
                sessionId={watching}
                onClose={() => {
                  setWatching(null);
                  setTab('console');
                }}
              />
            </div>
          )}
        </section>
      </main>
    </div>
  );
}
