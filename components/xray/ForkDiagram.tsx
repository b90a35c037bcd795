// SVG of the double fork: three process cards, their lifelines, one row per stage with fork arrows, pids and durations.
'use client';
import type { ProcessRole } from '../../server/protocol/box';
import { STAGE_LESSON, type ForkModel, type ForkProc } from './fork-model';
import { ROLE_HELP, ROLE_LABEL, formatMs } from './stage-info';
import { lessonHref } from './ui';

const W = 400;
const HEAD = 84;
const ROW = 34;
const DIVIDER = 24;
const LANE: Record<ProcessRole, number> = { outer: 16, namespaced_parent: 38, inner_child: 60 };
const TEXT_X = 80;
const CARD_X: Record<ProcessRole, number> = { outer: 2, namespaced_parent: 135, inner_child: 268 };
const ROLES: ProcessRole[] = ['outer', 'namespaced_parent', 'inner_child'];
const STROKE: Record<ProcessRole, string> = {
  outer: 'stroke-role-outer',
  namespaced_parent: 'stroke-role-parent',
  inner_child: 'stroke-role-child',
};
const FILL: Record<ProcessRole, string> = {
  outer: 'fill-role-outer',
  namespaced_parent: 'fill-role-parent',
  inner_child: 'fill-role-child',
};

export function forkHeight(model: ForkModel, shown: number): number {
  return HEAD + shown * ROW + (shown > model.teardownAt ? DIVIDER : 0) + 6;
}

function Card({ p, alive, exited }: { p: ForkProc; alive: boolean; exited: boolean }) {
  const x = CARD_X[p.role];
  const cx = x + 64;
  return (
    <g data-testid={`fork-proc-${p.role}`} data-alive={alive} opacity={alive || exited ? 1 : 0.45}>
      <title>{ROLE_HELP[p.role]}</title>
      <rect
        x={x + 0.5}
        y={0.5}
        width={129}
        height={54}
        rx={8}
        className={`${STROKE[p.role]} fill-panel`}
        strokeWidth={1.5}
        strokeDasharray={alive ? undefined : '4 3'}
      />
      <rect x={x + 0.5} y={0.5} width={129} height={54} rx={8} className={FILL[p.role]} opacity={0.1} />
      <text
        x={x + 9}
        y={17}
        className={`${FILL[p.role]} font-sans`}
        fontSize={p.role === 'namespaced_parent' ? 10.5 : 11.5}
        fontWeight={600}
      >
        {ROLE_LABEL[p.role]}
      </text>
      <text x={x + 9} y={33} className="fill-fg font-mono" fontSize={11}>
        {alive || exited ? `host pid ${p.hostPid ?? '—'}` : 'not forked yet'}
      </text>
      <text x={x + 9} y={47} className="fill-muted font-mono" fontSize={10.5}>
        {p.role === 'inner_child' ? (alive || exited ? `box pid ${p.boxPid ?? '—'}` : 'will be PID 1') : 'outside the box'}
      </text>
      <path
        d={`M ${cx} 55 C ${cx} 72, ${LANE[p.role]} 64, ${LANE[p.role]} ${HEAD}`}
        className={STROKE[p.role]}
        fill="none"
        strokeWidth={1.2}
        strokeDasharray={alive ? undefined : '3 3'}
        opacity={0.7}
      />
    </g>
  );
}

/** `shown` rows are drawn (the replay hides the rest); `cursor` highlights one. */
export function ForkDiagram(props: { model: ForkModel; shown: number; cursor: number | null; titleId: string }) {
  const { model, shown, cursor } = props;
  const rows = model.rows.slice(0, shown);
  const top = (i: number) => HEAD + i * ROW + (i >= model.teardownAt ? DIVIDER : 0);
  const isAlive = (p: ForkProc, i: number) => p.born !== null && i >= p.born && (p.died === null || i <= p.died) && !rows[p.born]?.pending;
  const last = shown - 1;
  const height = forkHeight(model, shown);
  const desc = ROLES.map(
    (r) =>
      `${ROLE_LABEL[r]}: host pid ${model.procs[r].hostPid ?? 'not yet'}${r === 'inner_child' ? `, box pid ${model.procs[r].boxPid ?? 'not yet'}` : ''}`,
  ).join('; ');
  return (
    <svg
      viewBox={`0 0 ${W} ${height}`}
      width="100%"
      role="img"
      aria-labelledby={props.titleId}
      aria-describedby="fork-desc"
      className="block select-none"
    >
      <desc id="fork-desc">{`${desc}. ${rows.filter((r) => !r.pending).length} stages so far.`}</desc>
      {/* The box: everything the inner child does happens inside the new namespaces. */}
      {model.procs.inner_child.born !== null && model.procs.inner_child.born < shown && (
        <rect
          x={LANE.inner_child - 10}
          y={top(model.procs.inner_child.born) + 4}
          width={20}
          rx={10}
          height={top(Math.min(model.procs.inner_child.died ?? last, last)) + ROW - 8 - top(model.procs.inner_child.born)}
          className="fill-role-child"
          opacity={0.1}
        >
          <title>inside the box’s namespaces</title>
        </rect>
      )}
      {rows.map((r, i) => {
        const y = top(i);
        const cy = y + 13;
        const lesson = STAGE_LESSON[r.stage];
        const name = (
          <text x={TEXT_X} y={cy + 4} className={`font-mono ${r.pending ? 'fill-faint' : r.ok ? 'fill-fg' : 'fill-bad'}`} fontSize={12}>
            {r.stage}
          </text>
        );
        const forkTo: ProcessRole | null = r.stage === 'fork1' ? 'namespaced_parent' : r.stage === 'fork2' ? 'inner_child' : null;
        return (
          <g
            key={`${i}-${r.stage}`}
            data-fork-row={r.stage}
            data-pending={r.pending}
            className={r.pending ? '' : 'bx-row-in'}
            opacity={r.pending ? 0.5 : 1}
          >
            {i === cursor && <rect x={0} y={y} width={W} height={ROW} rx={6} className="fill-accent" opacity={0.14} />}
            {ROLES.map((role) => {
              const p = model.procs[role];
              const alive = isAlive(p, i);
              const y1 = p.born === i ? cy : y;
              const y2 = p.died === i ? cy : y + ROW + (i + 1 === model.teardownAt ? DIVIDER : 0);
              return alive ? (
                <line
                  key={role}
                  x1={LANE[role]}
                  x2={LANE[role]}
                  y1={y1}
                  y2={y2}
                  className={STROKE[role]}
                  strokeWidth={2.5}
                  strokeLinecap="round"
                />
              ) : p.born === null || i < p.born ? (
                <line
                  key={role}
                  x1={LANE[role]}
                  x2={LANE[role]}
                  y1={y}
                  y2={y + ROW}
                  className="stroke-line"
                  strokeWidth={1}
                  strokeDasharray="2 4"
                />
              ) : null;
            })}
            {forkTo && (
              <g className={STROKE[r.role]} strokeWidth={1.6} fill="none">
                <line x1={LANE[r.role]} y1={cy} x2={LANE[forkTo] - 7} y2={cy} />
                <path d={`M ${LANE[forkTo] - 11} ${cy - 4} L ${LANE[forkTo] - 6} ${cy} L ${LANE[forkTo] - 11} ${cy + 4}`} />
                <circle cx={LANE[forkTo]} cy={cy} r={4.5} className={`${STROKE[forkTo]} fill-panel`} strokeWidth={2} />
              </g>
            )}
            <circle
              cx={LANE[r.role]}
              cy={cy}
              r={5}
              strokeWidth={2}
              className={r.pending ? `${STROKE[r.role]} fill-panel` : r.ok ? `${FILL[r.role]} ${STROKE[r.role]}` : 'fill-bad stroke-bad'}
            />
            {lesson ? <a href={lessonHref(lesson)}>{name}</a> : name}
            <text x={W - 64} y={cy + 4} textAnchor="end" className="fill-muted font-mono" fontSize={10.5}>
              <title>pid on the host / pid inside the box</title>
              {r.pending ? '' : `${r.hostPid ?? '—'}/${r.boxPid ?? '—'}`}
            </text>
            <text x={W - 4} y={cy + 4} textAnchor="end" className="fill-fg font-mono" fontSize={10.5}>
              {r.durationMs === null ? '' : formatMs(r.durationMs)}
            </text>
            <text x={TEXT_X} y={y + 28} className={r.error ? 'fill-bad' : 'fill-muted'} fontSize={10.5}>
              {r.error ?? r.help}
            </text>
          </g>
        );
      })}
      {shown > model.teardownAt && (
        <g>
          <line
            x1={4}
            x2={W - 4}
            y1={top(model.teardownAt) - DIVIDER / 2}
            y2={top(model.teardownAt) - DIVIDER / 2}
            className="stroke-line"
            strokeDasharray="4 4"
          />
          <text x={W / 2} y={top(model.teardownAt) - DIVIDER / 2 - 4} textAnchor="middle" className="fill-muted" fontSize={10.5}>
            on exit, cleanup in the seed’s order
          </text>
        </g>
      )}
      {ROLES.map((role) => {
        const p = model.procs[role];
        const born = p.born !== null && p.born < shown && !model.rows[p.born]?.pending;
        const exited = p.died !== null && p.died < shown && !model.rows[p.died]?.pending;
        return <Card key={role} p={p} alive={born && !exited} exited={exited} />;
      })}
    </svg>
  );
}
