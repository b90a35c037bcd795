// What covers the terminal when there is no live shell (Start, building, full, ended, errors); the bar for exit and reconnect.
'use client';
import { useEffect, useRef, useState } from 'react';
import type { ClientView } from '../terminal/client-types';
import { secondsLeft, useNow } from './StatusPill';

export interface OverlayActions {
  start(): void;
  newSession(): void;
  restart(): void;
  takeOver(): void;
  retryNow(): void;
  retryAfterError(): void;
}

const REFUSAL_TITLES: Record<string, string> = {
  server_full: 'Every sandbox is in use',
  client_full: 'Too many sandboxes from this network',
  class_full: 'This class is full',
  learner_has_box: 'Your sandbox is open elsewhere',
  join_rate: 'Too many attempts',
  closing: 'The server is restarting',
  host_memory: 'This server is out of memory for new boxes',
};

/**
 * The "Building" cover (a spinner) shows only when a Start takes longer than this: with a warm box the prompt comes
 * first. Shown at once, its animation asked Chromium for a frame every 16 ms, and the frame that paints the prompt
 * waited behind them (docs/performance.md, click to prompt).
 */
const BUILDING_COVER_AFTER_MS = 250;

/** True once `on` has held for `ms`. */
function useAfter(on: boolean, ms: number): boolean {
  const [after, setAfter] = useState(false);
  useEffect(() => {
    if (!on) return setAfter(false);
    const id = setTimeout(() => setAfter(true), ms);
    return () => clearTimeout(id);
  }, [on, ms]);
  return after;
}

/** classOver: the instructor ended the class (its message): the ended box says so rather than "Session ended". */
export function Overlay({
  view,
  actions,
  mounted,
  classOver,
}: {
  view: ClientView;
  actions: OverlayActions;
  mounted: boolean;
  classOver?: string | null;
}) {
  const now = useNow(view.retryAt !== null);
  const left = secondsLeft(view.retryAt, now);
  // autoFocus finds the button still disabled at hydration: focus it once it can be used.
  const start = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (mounted && view.phase === 'idle') start.current?.focus();
  }, [mounted, view.phase]);
  const building = view.phase === 'creating' || view.phase === 'connecting';
  const slow = useAfter(building, BUILDING_COVER_AFTER_MS);
  switch (view.phase) {
    case 'idle':
      return (
        <Cover>
          <div className={`transition-opacity duration-200 ${mounted ? 'opacity-100' : 'opacity-0'}`}>
            <p className="font-mono text-xs uppercase tracking-[0.2em] text-accent">real kernel · real namespaces</p>
            <h1 className="mt-3 text-3xl font-semibold tracking-tight text-fg sm:text-4xl">A Linux box, one click away.</h1>
            <p className="mx-auto mt-3 max-w-md text-[0.9375rem] leading-relaxed text-muted">
              Start a session and get a root shell in a fresh sandbox built from user namespaces, cgroups and overlayfs. Watch every step of
              its construction on the right.
            </p>
            <button
              type="button"
              autoFocus
              onClick={actions.start}
              // Until the page is hydrated and its client exists a click would do nothing: the button says so by
              // being disabled (a click on the prerendered page was lost: e2e/class-playground failed 2 runs in 3).
              disabled={!mounted}
              ref={start}
              data-testid="start"
              className="mt-7 inline-flex h-12 items-center gap-2.5 rounded-xl bg-accent px-7 text-base font-semibold text-accent-fg shadow-lg shadow-accent/20 transition hover:brightness-110 active:translate-y-px"
            >
              <svg viewBox="0 0 16 16" className="size-4" aria-hidden="true" fill="currentColor">
                <path d="M4.5 2.8v10.4a.6.6 0 0 0 .9.5l8.3-5.2a.6.6 0 0 0 0-1L5.4 2.3a.6.6 0 0 0-.9.5z" />
              </svg>
              Start a sandbox
            </button>
            <ul className="mx-auto mt-9 grid max-w-2xl gap-3 text-left sm:grid-cols-3">
              <Feature title="Root, only inside">A user namespace maps root in the box to an unprivileged uid on the host.</Feature>
              <Feature title="Hard limits">cgroups cap memory, CPU time and the number of processes.</Feature>
              <Feature title="Disposable disk">An overlay on a size-capped tmpfs. Reset wipes it in a blink.</Feature>
            </ul>
          </div>
        </Cover>
      );
    case 'creating':
    case 'connecting':
      return slow && (view.phase === 'connecting' || view.stages.length === 0) ? (
        <Cover dim>
          <Spinner />
          <p className="mt-4 text-sm text-muted">
            {view.phase === 'connecting' ? 'Reattaching to your session…' : 'Building your sandbox…'}
          </p>
        </Cover>
      ) : null;
    case 'full':
      // Each limit has its own words (the server's message says which limit and its number).
      return (
        <Cover>
          <div data-testid="refusal" data-reason={view.refusal ?? 'server_full'}>
            <Title>{REFUSAL_TITLES[view.refusal ?? 'server_full'] ?? REFUSAL_TITLES.server_full}</Title>
            {view.message && view.refusal && view.refusal !== 'server_full' && <Text>{view.message}</Text>}
            <Text>{left ? `Boxlab will try again in ${left} s.` : 'Try again in a moment.'}</Text>
          </div>
          <Primary onClick={actions.retryNow}>Retry now</Primary>
        </Cover>
      );
    case 'ended':
      return (
        <Cover>
          <Title>{classOver ? 'Class over' : 'Session ended'}</Title>
          <Text>{classOver ?? view.message}</Text>
          <Primary onClick={actions.newSession}>Start a new session</Primary>
        </Cover>
      );
    case 'error':
      return (
        <Cover>
          <Title>Something went wrong</Title>
          <Text>{view.message ?? 'The sandbox could not be created.'}</Text>
          <Primary onClick={actions.retryAfterError}>Try again</Primary>
        </Cover>
      );
    case 'replaced':
      return (
        <Cover>
          <Title>Open in another tab</Title>
          <Text>{view.message}</Text>
          <Primary onClick={actions.takeOver}>Use it here</Primary>
        </Cover>
      );
    case 'exited':
    case 'reconnecting':
    case 'running':
      return null;
  }
}

/**
 * The exit and reconnect notices: a bar in the page's flow between the terminal and the stats, so the terminal
 * shrinks to make room (xterm keeps the cursor's lines in view) and the notice never covers the shell's last lines.
 */
export function NoticeBar({ view, actions }: { view: ClientView; actions: OverlayActions }) {
  const now = useNow(view.retryAt !== null);
  const left = secondsLeft(view.retryAt, now);
  switch (view.phase) {
    case 'exited': {
      const e = view.exit;
      return (
        <Bar tone={e && e.status !== 0 ? 'bad' : 'muted'}>
          <span>
            The shell exited{e ? (e.signal ? ` (killed by signal ${e.signal})` : ` with status ${e.status}`) : ''}. Its sandbox has been
            torn down.
          </span>
          <Primary small onClick={actions.restart}>
            Start again
          </Primary>
        </Bar>
      );
    }
    case 'reconnecting':
      return (
        <Bar tone="warn">
          <span>
            Connection lost. Reconnecting{left ? ` in ${left} s` : '…'} (attempt {view.attempt}).
          </span>
          <Primary small onClick={actions.retryNow}>
            Retry now
          </Primary>
        </Bar>
      );
    default:
      return null;
  }
}

function Feature({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <li className="rounded-lg border border-line bg-panel/60 px-3.5 py-3">
      <p className="text-sm font-medium text-fg">{title}</p>
      <p className="mt-1 text-xs leading-relaxed text-muted">{children}</p>
    </li>
  );
}

function Cover({ children, dim }: { children: React.ReactNode; dim?: boolean }) {
  return (
    <div
      className={`absolute inset-0 z-10 grid place-items-center p-6 text-center ${dim ? 'bg-term/70 backdrop-blur-[2px]' : 'bg-term/95'}`}
      data-testid="overlay"
    >
      <div>{children}</div>
    </div>
  );
}

function Bar({ children, tone }: { children: React.ReactNode; tone: 'bad' | 'warn' | 'muted' }) {
  const edge = tone === 'bad' ? 'border-bad/50' : tone === 'warn' ? 'border-warn/50' : 'border-line';
  return (
    <div
      role="status"
      data-testid="banner"
      className={`flex shrink-0 flex-wrap items-center justify-center gap-x-3 gap-y-1.5 border-t-2 bg-raised px-3 py-2 text-sm text-fg ${edge}`}
    >
      {children}
    </div>
  );
}

const Title = ({ children }: { children: React.ReactNode }) => (
  <h2 className="text-2xl font-semibold tracking-tight text-fg">{children}</h2>
);
const Text = ({ children, testId }: { children: React.ReactNode; testId?: string }) => (
  <p data-testid={testId} className="mx-auto mt-2 max-w-md text-sm text-muted">
    {children}
  </p>
);

function Primary(props: { onClick: () => void; children: React.ReactNode; small?: boolean }) {
  return (
    <button
      type="button"
      autoFocus={!props.small}
      onClick={props.onClick}
      className={`inline-flex items-center rounded-lg bg-accent font-semibold text-accent-fg hover:brightness-110 ${props.small ? 'h-8 px-3 text-sm' : 'mt-5 h-10 px-5 text-sm'}`}
    >
      {props.children}
    </button>
  );
}

function Spinner() {
  return (
    <svg viewBox="0 0 24 24" className="mx-auto size-7 animate-spin text-accent" aria-hidden="true">
      <circle cx="12" cy="12" r="9.5" fill="none" stroke="currentColor" strokeOpacity=".2" strokeWidth="2.5" />
      <path d="M21.5 12A9.5 9.5 0 0 0 12 2.5" fill="none" stroke="currentColor" strokeWidth="2.5" strokeLinecap="round" />
    </svg>
  );
}
