// The "Stages" panel: every stage event of the sandbox as it arrives (role, pids, duration, ok/error); the x-ray grows from it.
'use client';
import { memo, useEffect, useRef, useState } from 'react';
import type { StageEvent } from '../../server/protocol/box';
import { PendingRow, RoleBadge, StageRow } from './StageRow';
import { CREATION_STAGES, STAGE_ROLE, formatMs } from './stage-info';

export { RoleBadge };

// Memoised: the page re-renders on every stats tick and pong; the list only changes when a stage arrives.
export const StageList = memo(function StageList(props: { stages: readonly StageEvent[]; pending: boolean }) {
  const { stages } = props;
  const list = useRef<HTMLOListElement>(null);
  const stick = useRef(true);
  const [open, setOpen] = useState<number | null>(null);
  useEffect(() => {
    if (stages.length === 0) setOpen(null);
    // Scrolled after the next frame, whose own layout has placed the new rows: read here, scrollHeight forced a style
    // and layout of the whole page inside the render that a Start brings (5-15 ms in a Chromium trace, ahead of the
    // prompt's frame; docs/performance.md, click to prompt).
    let timer = 0;
    const raf = requestAnimationFrame(() => {
      timer = window.setTimeout(() => {
        const el = list.current;
        if (el && stick.current) el.scrollTop = el.scrollHeight;
      }, 0);
    });
    return () => {
      cancelAnimationFrame(raf);
      clearTimeout(timer);
    };
  }, [stages.length]);

  const seen = new Set(stages.map((s) => s.stage));
  const failed = stages.some((s) => !s.ok);
  // Before and while a sandbox is built, the stages still to come are drawn faint, in order.
  const upcoming = props.pending && !failed ? CREATION_STAGES.filter((s) => !seen.has(s)) : [];
  const max = Math.max(0.001, ...stages.map((s) => s.durationMs));
  const t0 = stages[0]?.t ?? 0;
  const running = stages.find((s) => s.stage === 'running');

  return (
    <section aria-labelledby="stages-title" className="flex h-full min-h-0 flex-col">
      <header className="border-b border-line px-4 pb-3 pt-3.5">
        <div className="flex items-baseline justify-between gap-3">
          <h2 id="stages-title" className="text-[0.9375rem] font-semibold tracking-tight">
            Stages
          </h2>
          <p className="font-mono text-xs tabular-nums text-muted" data-testid="stage-summary" aria-live="polite">
            {stages.length ? `${stages.length} events` : ''}
            {running ? ` · ready in ${formatMs(running.t + running.durationMs - t0)}` : ''}
            {failed ? ' · failed' : ''}
          </p>
        </div>
        <p className="mt-0.5 text-xs text-muted">How the kernel builds your sandbox, step by step.</p>
        <div className="mt-2.5 flex flex-wrap gap-1.5">
          <RoleBadge role="outer" />
          <RoleBadge role="namespaced_parent" />
          <RoleBadge role="inner_child" />
        </div>
      </header>
      <ol
        ref={list}
        data-testid="stage-list"
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
        className="scroll-thin min-h-0 flex-1 overflow-y-auto py-1.5"
      >
        {stages.map((s, i) => (
          <StageRow
            key={`${i}-${s.stage}`}
            index={i + 1}
            event={s}
            max={max}
            t0={t0}
            open={open === i}
            onToggle={() => setOpen(open === i ? null : i)}
          />
        ))}
        {upcoming.map((s, i) => (
          <PendingRow key={s} stage={s} role={STAGE_ROLE[s]} index={stages.length + i + 1} />
        ))}
      </ol>
    </section>
  );
});
