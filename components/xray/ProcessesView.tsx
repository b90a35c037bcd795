// View 3, processes: the tree inside the box, each with its pid inside and on the host (NSpid); PID 1 marked, zombies visible.
'use client';
import { TRY_COMMANDS } from './claims';
import { Empty, SampleNote, TextTable, ViewHeader } from './ui';
import { STATE_WORDS, procTree, type TreeRow } from './proc-tree';
import type { XrayState } from './xray-state';

const W = 400;
const ROW = 30;
const IND = 20;

function Node({ row, y }: { row: TreeRow; y: number }) {
  const { p, depth } = row;
  const x = 12 + depth * IND;
  const cy = y + ROW / 2;
  const zombie = p.state === 'Z';
  const init = p.pid === 1;
  const outside = p.pid === null;
  const who = p.uidIn === 0 ? 'root' : p.uidIn === null ? `uid ${p.uid}` : `uid ${p.uidIn}`;
  return (
    <g
      data-testid={`proc-${p.hostPid}`}
      data-pid={p.pid ?? ''}
      data-host-pid={p.hostPid}
      data-name={p.name}
      data-state={p.state}
      className="bx-row-in"
    >
      <title>{`${p.name} (${STATE_WORDS[p.state] ?? p.state}): pid ${p.pid ?? 'outside the box'} inside, ${p.hostPid} on the host; ${who} inside, uid ${p.uid} on the host; ${p.threads} thread(s)${p.nspid ? `\nNSpid below the host: ${p.nspid.join(' → ')}` : ''}${p.nsOwn ? `\nown namespaces: ${p.nsOwn.map((n) => `${n.kind}:[${n.ino}]`).join(' ')}` : ''}\n${p.cmd}`}</title>
      {row.guides.map((g, i) =>
        g && i > 0 ? (
          <line key={i} x1={12 + (i - 1) * IND} x2={12 + (i - 1) * IND} y1={y} y2={y + ROW} className="stroke-faint" strokeWidth={1.2} />
        ) : null,
      )}
      {depth > 0 && (
        <path
          d={`M ${x - IND} ${y} V ${row.last ? cy : y + ROW} M ${x - IND} ${cy} H ${x - 9}`}
          className="stroke-faint"
          strokeWidth={1.2}
          fill="none"
        />
      )}
      <circle
        cx={x}
        cy={cy}
        r={init ? 9.5 : 8}
        strokeWidth={1.8}
        strokeDasharray={zombie ? '2.5 2' : undefined}
        className={
          zombie
            ? 'fill-panel stroke-bad'
            : outside
              ? 'fill-panel stroke-role-parent'
              : init
                ? 'fill-role-child stroke-role-child'
                : 'fill-raised stroke-role-child'
        }
      />
      <text
        x={x}
        y={cy + 3.5}
        textAnchor="middle"
        fontSize={init ? 10 : 9}
        fontWeight={700}
        className={zombie ? 'fill-bad' : init ? 'fill-panel' : 'fill-fg'}
      >
        {zombie ? 'Z' : init ? '1' : ''}
      </text>
      <text x={x + 15} y={cy + 4} fontSize={12} className="font-mono">
        <tspan fontWeight={700} className={outside ? 'fill-muted' : 'fill-fg'}>
          {p.pid ?? '—'}
        </tspan>
        <tspan dx={8} className={zombie ? 'fill-bad' : 'fill-fg'}>
          {p.name}
        </tspan>
        <tspan dx={6} fontSize={10.5} className={outside ? 'fill-role-parent' : 'fill-muted'}>
          {outside
            ? 'namespaced parent'
            : zombie
              ? '<defunct>'
              : p.cmd.length > 34 - depth * 2
                ? `${p.cmd.slice(0, 33 - depth * 2)}…`
                : p.cmd}
        </tspan>
      </text>
      <text x={W - 4} y={cy + 4} textAnchor="end" fontSize={10.5} className="fill-muted font-mono">
        {p.nspid ? `${p.nspid.join('→')} · ` : ''}host {p.hostPid}
      </text>
    </g>
  );
}

export function ProcessesView({ state, running }: { state: XrayState; running: boolean }) {
  const rows = procTree(state.procs);
  const boxRows = rows.map((r, i) => [r, i] as const).filter(([r]) => r.p.pid !== null);
  const zombies = rows.filter((r) => r.p.state === 'Z').length;
  const first = boxRows[0]?.[1] ?? 0;
  const height = rows.length * ROW + 24;
  return (
    <section aria-labelledby="procs-title" className="flex min-h-0 flex-col">
      <ViewHeader
        id="procs-title"
        title="Processes"
        lesson="pid-namespace"
        aside={
          <span className="text-xs text-muted" data-testid="procs-count">
            {boxRows.length} in the box{zombies ? ` · ${zombies} zombie${zombies > 1 ? 's' : ''}` : ''}
          </span>
        }
      >
        Each process has two pids: its own inside the box and the host’s (the <code className="font-mono">NSpid</code> line of
        /proc/PID/status). Try <code className="font-mono">{TRY_COMMANDS.processes[0]}</code>.
      </ViewHeader>
      {!rows.length ? (
        <Empty>{running ? 'Reading /proc…' : 'Start a sandbox to see its processes.'}</Empty>
      ) : (
        <>
          <div
            className="flex flex-wrap items-center gap-x-4 gap-y-1 whitespace-nowrap px-4 pt-2.5 text-[0.6875rem] text-muted"
            aria-hidden="true"
          >
            <span className="flex items-center gap-1.5">
              <span className="inline-block size-3 rounded-full bg-role-child" />
              PID 1
            </span>
            <span className="flex items-center gap-1.5">
              <span className="inline-block size-3 rounded-full border-2 border-dashed border-bad" />
              zombie
            </span>
            <span className="flex items-center gap-1.5">
              <span className="inline-block size-3 rounded-full border-2 border-role-parent" />
              outside the box
            </span>
            <span className="ml-auto font-mono">box pid · name · host pid</span>
          </div>
          <div className="px-3 pt-2">
            <svg
              viewBox={`0 0 ${W} ${height}`}
              width="100%"
              role="img"
              aria-labelledby="procs-title"
              aria-describedby="procs-desc"
              className="block"
            >
              <desc id="procs-desc">
                {rows
                  .map(
                    (r) =>
                      `${r.p.name}: pid ${r.p.pid ?? 'outside'} in the box, ${r.p.hostPid} on the host${r.p.state === 'Z' ? ', zombie' : ''}`,
                  )
                  .join('; ')}
              </desc>
              {boxRows.length > 0 && (
                <g>
                  <rect
                    x={1}
                    y={first * ROW + 1}
                    width={W - 2}
                    height={(rows.length - first) * ROW + 20}
                    rx={10}
                    className="fill-role-child stroke-role-child"
                    fillOpacity={0.05}
                    strokeOpacity={0.5}
                    strokeDasharray="5 4"
                  />
                  <text x={W - 10} y={rows.length * ROW + 16} textAnchor="end" fontSize={9.5} className="fill-role-child">
                    the box’s PID namespace
                  </text>
                </g>
              )}
              {rows.map((r, i) => (
                <Node key={r.p.hostPid} row={r} y={i * ROW + 2} />
              ))}
            </svg>
          </div>
          {state.procsTruncated && <p className="px-4 pt-1 text-xs text-warn">Only the first 256 processes are shown.</p>}
          <TextTable
            summary="Processes as a table"
            head={['box pid', 'host pid', 'parent (box)', 'state', 'user (box/host)', 'command']}
            rows={rows.map((r) => [
              r.p.pid ?? '—',
              r.p.hostPid,
              r.p.ppid ?? '—',
              STATE_WORDS[r.p.state] ?? r.p.state,
              `${r.p.uidIn ?? '—'}/${r.p.uid}`,
              r.p.cmd || `[${r.p.name}]`,
            ])}
          />
          <SampleNote costMs={state.costMs} at={state.at} />
        </>
      )}
    </section>
  );
}
