// The session status pill: creating / running / exited with status / reconnecting / full with a retry countdown.
'use client';
import { useEffect, useState } from 'react';
import type { ClientView } from '../terminal/client-types';

/** Current time, re-rendered every `ms` while `active` (for countdowns). */
export function useNow(active: boolean, ms = 250): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const id = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(id);
  }, [active, ms]);
  return now;
}

export function secondsLeft(retryAt: number | null, now: number): number {
  return retryAt === null ? 0 : Math.max(0, Math.ceil((retryAt - now) / 1000));
}

type Tone = 'idle' | 'busy' | 'ok' | 'warn' | 'bad';

const TONE: Record<Tone, string> = {
  idle: 'bg-raised text-muted ring-line',
  busy: 'bg-warn/10 text-warn ring-warn/30',
  ok: 'bg-ok/10 text-ok ring-ok/30',
  warn: 'bg-warn/10 text-warn ring-warn/30',
  bad: 'bg-bad/10 text-bad ring-bad/30',
};

export function describe(view: ClientView, now: number): { tone: Tone; label: string } {
  const left = secondsLeft(view.retryAt, now);
  switch (view.phase) {
    case 'idle':
      return { tone: 'idle', label: 'no session' };
    case 'creating':
      return { tone: 'busy', label: 'creating' };
    case 'connecting':
      return { tone: 'busy', label: 'connecting' };
    case 'running':
      return { tone: 'ok', label: 'running' };
    case 'exited': {
      const e = view.exit;
      const label = !e ? 'exited' : e.signal ? `exited · signal ${e.signal}` : `exited · status ${e.status}`;
      return { tone: e && e.status !== 0 ? 'bad' : 'idle', label };
    }
    case 'reconnecting':
      return { tone: 'warn', label: left ? `reconnecting in ${left}s` : 'reconnecting' };
    case 'full':
      return { tone: 'bad', label: left ? `full · retry in ${left}s` : 'full' };
    case 'replaced':
      return { tone: 'idle', label: 'open in another tab' };
    case 'ended':
      return { tone: 'idle', label: 'ended' };
    case 'error':
      return { tone: 'bad', label: 'error' };
  }
}

export function StatusPill({ view }: { view: ClientView }) {
  const now = useNow(view.retryAt !== null);
  const { tone, label } = describe(view, now);
  const pulse = tone === 'busy' || view.phase === 'reconnecting';
  return (
    <span
      role="status"
      data-testid="status"
      data-phase={view.phase}
      className={`inline-flex h-6 items-center gap-1.5 whitespace-nowrap rounded-full px-2.5 text-xs font-medium ring-1 ring-inset ${TONE[tone]}`}
    >
      <span className="relative flex size-2">
        {pulse && <span className="absolute inline-flex size-full animate-ping rounded-full bg-current opacity-60" />}
        <span className="relative inline-flex size-2 rounded-full bg-current" />
      </span>
      <span className="tabular-nums">{label}</span>
    </span>
  );
}
