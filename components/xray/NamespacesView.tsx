// View 2, namespaces: per kind, the host's inode next to the box's; isolated or shared at a glance, and what each one isolates.
'use client';
import type { XrayNs } from '../../server/protocol/xray';
import { NS_CLAIMS } from './claims';
import { Empty, LessonLink, SampleNote, TextTable, ViewHeader } from './ui';
import type { XrayState } from './xray-state';
import { NestedNamespaces } from './NestedNamespaces';

/** The captions come from claims.ts, which a root test checks against the kernel. */
export const NS_INFO = NS_CLAIMS;

const W = 400;
const ROW = 66;

function Row({ r, y }: { r: XrayNs; y: number }) {
  const isolated = r.box !== null && r.host !== null && r.box !== r.host;
  const known = r.box !== null;
  const info = NS_INFO[r.kind];
  const chip = (x: number, label: string, ino: number | null, cls: string) => (
    <g>
      <rect x={x} y={y + 22} width={158} height={22} rx={6} className={cls} strokeWidth={1.2} />
      <text x={x + 8} y={y + 37} fontSize={10.5} className="fill-muted">
        {label}
      </text>
      <text x={x + 150} y={y + 37} fontSize={12} textAnchor="end" className="fill-fg font-mono">
        {ino ?? '—'}
      </text>
    </g>
  );
  return (
    <g data-testid={`ns-row-${r.kind}`} data-host={r.host ?? ''} data-box={r.box ?? ''} data-isolated={isolated} className="bx-row-in">
      <text x={4} y={y + 14} fontSize={13} fontWeight={600} className="fill-fg">
        {info.title}
        <tspan className="fill-faint font-mono" fontSize={10.5} dx={6}>
          /proc/…/ns/{r.kind}
        </tspan>
      </text>
      <rect
        x={W - 94}
        y={y + 2}
        width={90}
        height={17}
        rx={8.5}
        className={isolated ? 'fill-ok' : known ? 'fill-warn' : 'fill-line'}
        opacity={0.18}
      />
      <text
        x={W - 49}
        y={y + 14}
        fontSize={10.5}
        fontWeight={600}
        textAnchor="middle"
        className={isolated ? 'fill-ok' : known ? 'fill-warn' : 'fill-muted'}
      >
        {isolated ? 'isolated' : known ? 'shared' : 'unknown'}
      </text>
      {chip(4, 'host', r.host, 'fill-raised stroke-role-outer')}
      {chip(W - 162, 'box', r.box, isolated ? 'fill-raised stroke-role-child' : 'fill-raised stroke-warn')}
      {isolated ? (
        <g>
          <title>different inodes: a namespace of its own</title>
          <text x={200} y={y + 39} textAnchor="middle" fontSize={18} fontWeight={700} className="fill-ok">
            ≠
          </text>
        </g>
      ) : known ? (
        <g>
          <title>same inode: the box shares the host’s namespace</title>
          <line x1={162} y1={y + 33} x2={W - 162} y2={y + 33} className="stroke-warn" strokeWidth={5} strokeLinecap="round" />
          <rect x={188} y={y + 25} width={24} height={16} rx={4} className="fill-panel" />
          <text x={200} y={y + 38} textAnchor="middle" fontSize={16} fontWeight={700} className="fill-warn">
            =
          </text>
        </g>
      ) : null}
      <text x={4} y={y + 59} fontSize={10.5} className="fill-muted">
        {info.words}
      </text>
    </g>
  );
}

export function NamespacesView({ state, running }: { state: XrayState; running: boolean }) {
  const rows = state.ns ?? [];
  const isolated = rows.filter((r) => r.box !== null && r.box !== r.host).length;
  return (
    <section aria-labelledby="ns-title" className="flex min-h-0 flex-col">
      <ViewHeader
        id="ns-title"
        title="Namespaces"
        lesson="xray-tour"
        aside={
          rows.length ? (
            <span className="text-xs text-muted">
              {isolated}/{rows.length} isolated
            </span>
          ) : null
        }
      >
        A namespace is named by an inode: <code className="font-mono">readlink /proc/PID/ns/pid</code> →{' '}
        <code className="font-mono">pid:[4026531836]</code>. Different inode, different world.
      </ViewHeader>
      {!rows.length ? (
        <Empty>{running ? 'Reading /proc/…/ns…' : 'Start a sandbox to compare its namespaces with the host’s.'}</Empty>
      ) : (
        <>
          <div className="px-3 pt-3">
            <svg
              viewBox={`0 0 ${W} ${rows.length * ROW}`}
              width="100%"
              role="img"
              aria-labelledby="ns-title"
              aria-describedby="ns-desc"
              className="block"
            >
              <desc id="ns-desc">
                {rows
                  .map(
                    (r) =>
                      `${r.kind}: host ${r.host}, box ${r.box ?? 'unknown'}, ${r.box !== null && r.box !== r.host ? 'isolated' : 'shared'}`,
                  )
                  .join('; ')}
              </desc>
              {rows.map((r, i) => (
                <Row key={r.kind} r={r} y={i * ROW} />
              ))}
            </svg>
          </div>
          <p className="flex flex-wrap gap-x-1 px-4 pt-1 text-xs text-muted">
            Lessons:
            {rows.map((r) => {
              const lesson = NS_INFO[r.kind].lesson;
              return lesson ? (
                <LessonLink key={r.kind} slug={lesson}>
                  {NS_INFO[r.kind].title}
                </LessonLink>
              ) : null;
            })}
          </p>
          <TextTable
            summary="Namespaces as a table"
            head={['kind', 'host inode', 'box inode', '', 'isolates']}
            rows={rows.map((r) => [
              r.kind,
              r.host ?? '—',
              r.box ?? '—',
              r.box !== null && r.box !== r.host ? 'isolated' : 'shared',
              NS_INFO[r.kind].words,
            ])}
          />
          <NestedNamespaces state={state} />
          <SampleNote costMs={state.costMs} at={state.at} />
        </>
      )}
    </section>
  );
}
