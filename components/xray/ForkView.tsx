// View 1, the double fork: the tree of outer parent, namespaced parent and inner child growing with each stage, with a slow replay.
'use client';
import { useEffect, useMemo, useState } from 'react';
import type { StageEvent } from '../../server/protocol/box';
import { ForkDiagram } from './ForkDiagram';
import { LearnerFork } from './LearnerFork';
import type { XrayState } from './xray-state';
import { forkModel } from './fork-model';
import { ROLE_LABEL, formatMs } from './stage-info';
import { Empty, TextTable, ViewHeader } from './ui';

const STEP_MS = 1100;

export function ForkView(props: { stages: readonly StageEvent[]; creating: boolean; xray?: XrayState }) {
  const model = useMemo(() => forkModel(props.stages, props.creating), [props.stages, props.creating]);
  const arrived = model.rows.filter((r) => !r.pending).length;
  // Replay: null = live (everything that arrived, plus what is still to come, faint).
  const [cursor, setCursor] = useState<number | null>(null);
  const [playing, setPlaying] = useState(false);
  useEffect(() => {
    if (!playing || cursor === null) return;
    if (cursor >= arrived - 1) {
      setPlaying(false);
      return;
    }
    const id = setTimeout(() => setCursor(cursor + 1), STEP_MS);
    return () => clearTimeout(id);
  }, [playing, cursor, arrived]);
  useEffect(() => {
    if (arrived === 0) {
      setCursor(null);
      setPlaying(false);
    }
  }, [arrived]);

  const shown = cursor === null ? model.rows.length : cursor + 1;
  const cur = cursor === null ? null : model.rows[cursor];
  const btn = 'h-7 rounded-md border border-line px-2 text-xs font-medium hover:bg-raised disabled:opacity-40';
  return (
    <section aria-labelledby="fork-title" className="flex min-h-0 flex-col">
      <ViewHeader
        id="fork-title"
        title="Double fork"
        lesson="double-fork"
        aside={model.readyMs !== null ? <span className="font-mono text-xs text-muted">ready in {formatMs(model.readyMs)}</span> : null}
      >
        The server forks a <b className="text-role-parent">namespaced parent</b>, which unshares the namespaces and forks the{' '}
        <b className="text-role-child">inner child</b>: PID 1 of your box.
      </ViewHeader>
      {arrived === 0 ? (
        <Empty>Start a sandbox to watch the three processes appear.</Empty>
      ) : (
        <>
          <div className="flex flex-wrap items-center gap-1.5 px-4 pt-2.5" role="group" aria-label="Replay the creation">
            <button
              type="button"
              className={btn}
              data-testid="fork-replay"
              onClick={() => {
                if (playing) return setPlaying(false);
                setCursor(cursor === null || cursor >= arrived - 1 ? 0 : cursor);
                setPlaying(true);
              }}
            >
              {playing ? '❚❚ Pause' : cursor === null ? '▶ Replay slowly' : '▶ Play'}
            </button>
            <button
              type="button"
              className={btn}
              aria-label="Previous stage"
              disabled={cursor === null || cursor === 0}
              onClick={() => (setPlaying(false), setCursor(Math.max(0, (cursor ?? 0) - 1)))}
            >
              ◀
            </button>
            <button
              type="button"
              className={btn}
              aria-label="Next stage"
              disabled={cursor !== null && cursor >= arrived - 1}
              onClick={() => (setPlaying(false), setCursor(cursor === null ? 0 : cursor + 1))}
            >
              ▶
            </button>
            {cursor !== null && (
              <>
                <input
                  type="range"
                  min={0}
                  max={arrived - 1}
                  value={cursor}
                  aria-label="Stage"
                  onChange={(e) => (setPlaying(false), setCursor(Number(e.target.value)))}
                  className="h-1 min-w-16 flex-1 accent-[var(--bx-accent)]"
                />
                <button type="button" className={btn} onClick={() => (setPlaying(false), setCursor(null))}>
                  Live
                </button>
              </>
            )}
          </div>
          {cur && (
            <p
              aria-live="polite"
              className="mx-4 mt-2 rounded-lg bg-accent/10 px-3 py-2 text-xs leading-relaxed [overflow-wrap:anywhere]"
              data-testid="fork-caption"
            >
              <span className="font-mono text-faint">
                {cursor! + 1}/{arrived}
              </span>{' '}
              <b className="font-mono">{cur.stage}</b> by the {ROLE_LABEL[cur.role]}: {cur.help}
              {cur.detail ? ` (${cur.detail})` : ''}. {cur.durationMs !== null ? `Took ${formatMs(cur.durationMs)}` : ''}
              {cur.hostPid !== null ? `, host pid ${cur.hostPid}` : ''}
              {cur.boxPid !== null ? `, box pid ${cur.boxPid}` : ''}.
            </p>
          )}
          <div className="px-2 pt-2">
            <ForkDiagram model={model} shown={shown} cursor={cursor} titleId="fork-title" />
          </div>
          {props.xray && <LearnerFork state={props.xray} />}
          <TextTable
            summary="Stages as a table"
            testId="fork-table"
            head={['#', 'stage', 'process', 'host pid', 'box pid', 'took', 'what happened']}
            rows={model.rows
              .filter((r) => !r.pending)
              .map((r, i) => [
                i + 1,
                r.stage,
                ROLE_LABEL[r.role],
                r.hostPid ?? '—',
                r.boxPid ?? '—',
                r.durationMs === null ? '' : formatMs(r.durationMs),
                `${r.error ?? r.help}${
                  r.namespaces
                    ? ` ${Object.entries(r.namespaces)
                        .map(([k, v]) => `${k}:[${v}]`)
                        .join(' ')}`
                    : ''
                }`,
              ])}
          />
        </>
      )}
    </section>
  );
}
