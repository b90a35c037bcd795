// Join a class: code (from the link or typed) and a display name, or a resume code; then the resume code, once, and on to the lesson.
'use client';
import { useEffect, useState } from 'react';
import { API_JOIN_PATH, NAME_MAX, cleanName, normalizeCode, type JoinResponse } from '../../server/protocol/classes';
import { Logo } from '../playground/Header';
import { setLearnerName } from '../lessons/learner';
import { loadMembership, saveMembership, type Membership } from './membership';

type Joined = JoinResponse & { sessionId: string; token: string; wsPath: string; limits: unknown; bootId?: string };

/** Where a member goes: the class's first lesson, else the playground. */
const landing = (lessons: string[]) => (lessons[0] ? `/lessons/${encodeURIComponent(lessons[0])}` : '/');

export function JoinPage() {
  const [code, setCode] = useState('');
  const [name, setName] = useState('');
  const [resume, setResume] = useState('');
  const [withResume, setWithResume] = useState(false);
  const [className, setClassName] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [joined, setJoined] = useState<Joined | null>(null);
  const [member, setMember] = useState<Membership | null>(null);

  useEffect(() => {
    const c = new URLSearchParams(window.location.search).get('code') ?? '';
    setCode(c.toUpperCase());
    setMember(loadMembership());
  }, []);

  // The class's name as soon as the code is whole: the learner sees they are joining the right one.
  useEffect(() => {
    const c = normalizeCode(code);
    setClassName(null);
    if (!c) return;
    let live = true;
    fetch(`${API_JOIN_PATH}/${c}`, { cache: 'no-store' })
      .then((r) => (r.ok ? r.json() : null))
      .then(
        (b: { name?: string } | null) => live && setClassName(b?.name ?? null),
        () => {},
      );
    return () => {
      live = false;
    };
  }, [code]);

  const submit = async () => {
    setError(null);
    const body: Record<string, string> = {};
    if (withResume) {
      if (!normalizeCode(resume, 10)) return setError('A resume code has 10 letters and digits, like ABCDE-23456.');
      body.resume = resume;
      if (normalizeCode(code) && name.trim()) Object.assign(body, { code, name });
    } else {
      if (!normalizeCode(code)) return setError('A class code has 6 letters and digits.');
      const n = cleanName(name);
      if (!n.ok) return setError(`Name: ${n.message}.`);
      Object.assign(body, { code, name: n.name });
    }
    setBusy(true);
    try {
      const r = await fetch(API_JOIN_PATH, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      const b = (await r.json().catch(() => ({}))) as Joined & { message?: string; retryAfterSec?: number };
      if (!r.ok) {
        setError(`${b.message ?? `The server refused (HTTP ${r.status}).`}${b.retryAfterSec ? ` Try again in ${b.retryAfterSec} s.` : ''}`);
        return;
      }
      const prev = loadMembership();
      const m: Membership = {
        classId: b.classId,
        className: b.className,
        code: b.code,
        memberId: b.memberId,
        name: b.name,
        resume: b.resume || (prev?.memberId === b.memberId ? prev.resume : (normalizeCode(resume, 10) ?? '')),
      };
      saveMembership(m);
      setLearnerName(b.name);
      // This tab's session (as BoxlabClient keeps it): the lesson page attaches to the box made at join.
      window.sessionStorage.setItem(
        'boxlab.session.v1',
        JSON.stringify({ sessionId: b.sessionId, token: b.token, wsPath: b.wsPath, limits: b.limits, bootId: b.bootId }),
      );
      if (b.resumed) window.location.assign(landing(b.lessons));
      else setJoined(b);
    } catch {
      setError('Cannot reach the Boxlab server.');
    } finally {
      setBusy(false);
    }
  };

  if (joined) {
    return (
      <Card>
        <h1 className="text-xl font-semibold" data-testid="joined">
          Welcome, {joined.name}
        </h1>
        <p className="text-sm text-muted">
          You are in <strong className="text-fg">{joined.className}</strong>. Your resume code brings your progress back in another browser:
        </p>
        <p
          className="select-all rounded-lg border border-line bg-bg py-3 text-center font-mono text-3xl tracking-widest"
          data-testid="resume-code"
        >
          {joined.resume}
        </p>
        <p className="text-xs text-faint">Write it down: it is shown only now.</p>
        <a
          href={landing(joined.lessons)}
          data-testid="start-lesson"
          className="flex h-10 items-center justify-center rounded-lg bg-accent font-semibold text-accent-fg hover:brightness-110"
        >
          Start
        </a>
      </Card>
    );
  }

  return (
    <Card>
      <form
        className="space-y-4"
        data-testid="join-form"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <div className="flex items-center gap-2">
          <Logo className="size-7 text-accent" />
          <h1 className="text-xl font-semibold">Join a class</h1>
        </div>
        {member && (
          <p className="rounded-lg border border-line bg-bg p-3 text-sm">
            You are <strong>{member.name}</strong> in {member.className}.{' '}
            <button
              type="button"
              className="text-accent underline"
              onClick={() => {
                setWithResume(true);
                setResume(member.resume);
                setCode(member.code);
                setName(member.name);
              }}
            >
              Continue
            </button>
          </p>
        )}
        <label className="block text-sm">
          Class code
          <input
            value={code}
            onChange={(e) => setCode(e.target.value.toUpperCase())}
            data-testid="join-code"
            autoComplete="off"
            autoCapitalize="characters"
            spellCheck={false}
            maxLength={12}
            placeholder="ABC234"
            className="mt-1 h-12 w-full rounded-md border border-line bg-bg px-3 font-mono text-2xl tracking-widest text-fg outline-none focus:border-accent"
          />
        </label>
        {className && (
          <p className="text-sm text-ok" data-testid="join-class-name">
            {className}
          </p>
        )}
        <label className="block text-sm">
          Your name
          <input
            value={name}
            onChange={(e) => setName(e.target.value)}
            data-testid="join-name"
            maxLength={NAME_MAX}
            autoComplete="nickname"
            className="mt-1 h-10 w-full rounded-md border border-line bg-bg px-3 text-fg outline-none focus:border-accent"
          />
        </label>
        {withResume ? (
          <label className="block text-sm">
            Resume code
            <input
              value={resume}
              onChange={(e) => setResume(e.target.value.toUpperCase())}
              data-testid="join-resume"
              autoComplete="off"
              maxLength={16}
              placeholder="ABCDE-23456"
              className="mt-1 h-10 w-full rounded-md border border-line bg-bg px-3 font-mono text-fg outline-none focus:border-accent"
            />
            <span className="text-xs text-faint">Alone, or with the class code and your name.</span>
          </label>
        ) : (
          <button type="button" className="text-sm text-muted underline" onClick={() => setWithResume(true)}>
            I was here before (resume code)
          </button>
        )}
        {error && (
          <p className="text-sm text-bad" role="alert" data-testid="join-error">
            {error}
          </p>
        )}
        <button
          type="submit"
          disabled={busy}
          data-testid="join-submit"
          className="h-10 w-full rounded-lg bg-accent font-semibold text-accent-fg hover:brightness-110 disabled:opacity-50"
        >
          Join
        </button>
      </form>
    </Card>
  );
}

function Card({ children }: { children: React.ReactNode }) {
  return (
    <div className="grid min-h-dvh place-items-center p-6">
      <div className="w-full max-w-sm space-y-4 rounded-2xl border border-line bg-panel p-6 shadow-sm">{children}</div>
    </div>
  );
}
