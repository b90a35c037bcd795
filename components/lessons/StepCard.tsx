// One lesson step: status, text with click-to-type commands, what the server checks and its live answer, hints, the solution.
'use client';
import { useState } from 'react';
import type { LessonStep } from '../../server/protocol/lessons';
import { Blocks, CommandButton } from './Blocks';

export interface CheckInfo {
  ok: boolean;
  message: string;
}

interface Props {
  step: LessonStep;
  passed: boolean;
  current: boolean;
  check: CheckInfo | null;
  cgroup: 1 | 2 | null;
  ready: boolean;
  last: boolean;
  onRun(cmd: string): void;
  onSelect(): void;
  onNext(): void;
}

export function StepCard(p: Props) {
  const [hints, setHints] = useState(0);
  const [solution, setSolution] = useState(false);
  const state = p.passed ? 'passed' : p.current ? 'current' : 'todo';
  return (
    <li
      data-testid={`step-${p.step.index}`}
      data-state={state}
      aria-current={p.current ? 'step' : undefined}
      className={`rounded-xl border ${p.current ? 'border-accent/50 bg-panel shadow-sm' : 'border-line bg-panel/60'} ${p.passed ? 'border-l-4 border-l-ok' : ''}`}
    >
      <button type="button" onClick={p.onSelect} className="flex w-full items-center gap-3 px-4 py-3 text-left" aria-expanded={p.current}>
        <span
          className={`grid size-7 shrink-0 place-items-center rounded-full text-sm font-semibold ${p.passed ? 'bg-ok text-bg' : p.current ? 'bg-accent text-accent-fg' : 'bg-raised text-muted'}`}
        >
          {p.passed ? '✓' : p.step.index + 1}
        </span>
        <span className="min-w-0 flex-1 font-medium text-fg">{p.step.title}</span>
        {p.passed && <span className="text-xs font-semibold uppercase tracking-wide text-ok">done</span>}
      </button>
      {p.current && (
        <div className="space-y-3 px-4 pb-4 text-[0.9375rem] text-muted">
          <Blocks blocks={p.step.body} cgroup={p.cgroup} onRun={p.onRun} ready={p.ready} />
          <div
            data-testid="check"
            data-ok={p.passed || p.check?.ok ? 'true' : 'false'}
            className={`rounded-md border px-3 py-2 text-sm ${p.passed ? 'border-ok/50 bg-ok/10' : 'border-line bg-raised/60'}`}
          >
            <p className="text-xs text-faint">The server checks: {p.step.check.summary}</p>
            <p className={`mt-1 font-medium ${p.passed ? 'text-ok' : 'text-fg'}`} data-testid="check-message" aria-live="polite">
              {p.passed ? `✓ ${p.check?.ok ? p.check.message : 'Passed.'}` : p.check ? `✗ ${p.check.message}` : 'Waiting for the sandbox…'}
            </p>
          </div>
          <div className="flex flex-wrap gap-2">
            {p.step.hints.length > 0 && hints < p.step.hints.length && (
              <button
                type="button"
                data-testid="hint"
                onClick={() => setHints(hints + 1)}
                className="h-8 rounded-md border border-line px-3 text-sm text-muted hover:bg-raised hover:text-fg"
              >
                {hints === 0 ? 'Show a hint' : 'Another hint'} ({hints + 1}/{p.step.hints.length})
              </button>
            )}
            {!solution && (
              <button
                type="button"
                data-testid="show-solution"
                onClick={() => setSolution(true)}
                className="h-8 rounded-md border border-line px-3 text-sm text-muted hover:bg-raised hover:text-fg"
              >
                Show the solution
              </button>
            )}
            {p.passed && !p.last && (
              <button
                type="button"
                data-testid="next"
                onClick={p.onNext}
                className="ml-auto h-8 rounded-md bg-accent px-4 text-sm font-semibold text-accent-fg hover:brightness-110"
              >
                Next step →
              </button>
            )}
          </div>
          {p.step.hints.slice(0, hints).map((h, i) => (
            <div key={i} data-testid="hint-text" className="space-y-2 rounded-md border border-warn/40 bg-warn/5 px-3 py-2 text-sm">
              <Blocks blocks={h} cgroup={p.cgroup} onRun={p.onRun} ready={p.ready} />
            </div>
          ))}
          {solution && (
            <div className="space-y-1.5" data-testid="solution">
              <p className="text-xs font-semibold uppercase tracking-wide text-faint">Solution</p>
              {p.step.solution.map((c, i) => (
                <CommandButton key={i} cmd={c} onRun={p.onRun} disabled={!p.ready} />
              ))}
            </div>
          )}
        </div>
      )}
    </li>
  );
}
