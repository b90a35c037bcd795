// The bar above the terminal: status pill, session id, the session's limits, and the Reset button (which asks first).
'use client';
import { useEffect, useRef, useState } from 'react';
import type { ClientView } from '../terminal/client-types';
import { StatusPill } from './StatusPill';
import { formatDuration, formatLimit } from './format';

/** `onKeep`: where the keyboard goes after "Keep" (the terminal, so the learner types on); default the Reset button. */
export function SessionBar(props: { view: ClientView; onReset: () => void; onKeep?: () => void }) {
  const { view } = props;
  const l = view.limits;
  const canReset = view.phase === 'running' || view.phase === 'exited';
  // Reset destroys a live box and every file in it, with no undo: while the shell runs it asks first, in this bar
  // (nothing covers the terminal). After an exit the box is already gone, so Reset acts at once.
  const [asking, setAsking] = useState(false);
  const live = view.phase === 'running';
  const resetButton = useRef<HTMLButtonElement>(null);
  const refocus = useRef(false);
  useEffect(() => {
    if (!live) setAsking(false);
  }, [live]);
  useEffect(() => {
    // Keep (or Escape) hands the keyboard back (to the terminal when the page says so) rather than to nowhere.
    if (!asking && refocus.current) (props.onKeep ?? (() => resetButton.current?.focus()))();
    refocus.current = false;
  }, [asking]);
  const keep = () => {
    refocus.current = true;
    setAsking(false);
  };
  if (asking) return <ConfirmReset onCancel={keep} onReset={() => (setAsking(false), props.onReset())} />;
  return (
    <div className="flex h-11 shrink-0 items-center gap-3 border-b border-line px-3">
      <span className="shrink-0">
        <StatusPill view={view} />
      </span>
      {view.sessionId && (
        <span className="hidden font-mono text-xs text-faint xl:inline" title={`session ${view.sessionId}`}>
          {view.sessionId.slice(0, 8)}
        </span>
      )}
      {l && (
        // One clipped row: chips that do not fit wrap out of sight instead of pushing Reset down.
        <dl
          className="flex h-6 min-w-0 flex-1 flex-wrap items-center gap-1.5 overflow-hidden text-xs"
          aria-label="Limits of this sandbox"
          data-testid="limits"
        >
          <Chip name="memory" value={formatLimit(l.memory)} />
          <Chip name="cpu" value={`${l.cpuLimit} core`} />
          <Chip name="pids" value={String(l.pids)} />
          <Chip name="disk" value={formatLimit(l.disk)} />
          {l.lifetimeSec > 0 && <Chip name="lifetime" value={formatDuration(l.lifetimeSec)} />}
        </dl>
      )}
      <button
        type="button"
        ref={resetButton}
        onClick={() => (live ? setAsking(true) : props.onReset())}
        disabled={!canReset}
        data-testid="reset"
        title="Throw this sandbox away and get a fresh one"
        className="ml-auto flex h-7 shrink-0 items-center gap-1.5 rounded-md border border-line px-2.5 text-xs font-medium text-muted hover:border-bad/50 hover:text-bad disabled:pointer-events-none disabled:opacity-40"
      >
        <svg
          viewBox="0 0 16 16"
          className="size-3.5"
          aria-hidden="true"
          fill="none"
          stroke="currentColor"
          strokeWidth="1.6"
          strokeLinecap="round"
        >
          <path d="M2.5 8a5.5 5.5 0 1 0 1.6-3.9M2.5 2.5v2.6h2.6" />
        </svg>
        Reset
      </button>
    </div>
  );
}

function ConfirmReset(props: { onCancel: () => void; onReset: () => void }) {
  const keep = useRef<HTMLButtonElement>(null);
  useEffect(() => keep.current?.focus(), []);
  return (
    <div
      role="group"
      aria-labelledby="reset-question"
      data-testid="reset-confirm"
      onKeyDown={(e) => e.key === 'Escape' && (e.preventDefault(), props.onCancel())}
      className="flex h-11 shrink-0 items-center gap-2 border-b border-bad/40 bg-bad/10 px-3"
    >
      <span
        id="reset-question"
        className="line-clamp-2 min-w-0 flex-1 text-xs leading-tight text-fg"
        title="Reset destroys this box and every file in it, and starts a fresh one. There is no undo."
      >
        <b className="font-semibold">Reset?</b> This box and its files are destroyed.
      </span>
      <button
        ref={keep}
        type="button"
        onClick={props.onCancel}
        data-testid="reset-cancel"
        className="h-7 shrink-0 rounded-md border border-line px-2.5 text-xs font-medium text-fg hover:bg-raised"
      >
        Keep
      </button>
      <button
        type="button"
        onClick={props.onReset}
        data-testid="reset-confirm-yes"
        className="h-7 shrink-0 rounded-md bg-bad px-2.5 text-xs font-semibold text-bg hover:brightness-110"
      >
        Reset box
      </button>
    </div>
  );
}

function Chip(props: { name: string; value: string; className?: string }) {
  return (
    <div className={`flex items-center overflow-hidden rounded-md ring-1 ring-inset ring-line ${props.className ?? ''}`}>
      <dt className="bg-raised px-1.5 py-0.5 text-faint">{props.name}</dt>
      <dd className="px-1.5 py-0.5 font-mono text-fg">{props.value}</dd>
    </div>
  );
}
