// View 4, cgroups: memory, cpu and pids gauges against their limits, each with a 30 s sparkline; OOM kills flash (v1 and v2).
'use client';
import type { ReactNode } from 'react';
import type { SandboxStats } from '../../server/protocol/box';
import { formatBytes } from '../playground/format';
import { Empty, LessonLink, SampleNote, TextTable, ViewHeader, type LessonSlug } from './ui';
import { HISTORY, type StatPoint, type XrayState } from './xray-state';

const W = 400;

const FILES: Record<1 | 2, Record<'memory' | 'cpu' | 'pids', string>> = {
  1: {
    memory: 'memory.usage_in_bytes · memory.limit_in_bytes · memory.oom_control',
    cpu: 'cpuacct.usage · cpu.cfs_quota_us / cfs_period_us · cpu.stat',
    pids: 'pids.current · pids.max',
  },
  2: { memory: 'memory.current · memory.max · memory.events', cpu: 'cpu.stat · cpu.max', pids: 'pids.current · pids.max' },
};

function tone(share: number): string {
  return share > 0.9 ? 'fill-bad' : share > 0.7 ? 'fill-warn' : 'fill-accent';
}

/** A bar against the limit, then the sparkline of the last 30 s with the limit as a dashed line. */
function Gauge(props: {
  share: number;
  values: Array<number | null>;
  max: number;
  label: string;
  limitLabel: string;
  flashKey?: number | null;
  testId: string;
}) {
  const share = Math.max(0, Math.min(1, props.share));
  const H = 92;
  const TOP = 30; // the limit line
  const BOTTOM = 78; // zero
  const pts = props.values
    .map((v, i) =>
      v === null
        ? null
        : `${((W * i) / (HISTORY - 1)).toFixed(1)},${(BOTTOM - (Math.min(v, props.max) / props.max) * (BOTTOM - TOP)).toFixed(1)}`,
    )
    .filter(Boolean);
  return (
    <svg
      viewBox={`0 0 ${W} ${H}`}
      width="100%"
      role="img"
      aria-label={props.label}
      className="block"
      data-testid={props.testId}
      data-share={share.toFixed(3)}
    >
      <rect x={0} y={0} width={W} height={14} rx={7} className="fill-line" opacity={0.7} />
      <rect x={0} y={0} width={Math.max(6, share * W)} height={14} rx={7} className={tone(share)} />
      {props.flashKey != null && (
        <rect key={props.flashKey} x={0} y={0} width={W} height={H} rx={8} className="fill-bad" opacity={0}>
          <animate attributeName="opacity" values="0;0.4;0;0.4;0;0.4;0" dur="2.4s" begin="0s" fill="freeze" />
        </rect>
      )}
      <rect x={0} y={TOP} width={W} height={BOTTOM - TOP} className="fill-raised" opacity={0.6} />
      <line x1={0} x2={W} y1={TOP} y2={TOP} className="stroke-faint" strokeDasharray="3 4" strokeWidth={1} />
      <text x={W - 2} y={TOP - 3} textAnchor="end" fontSize={9.5} className="fill-muted">
        {props.limitLabel}
      </text>
      {pts.length > 1 && (
        <>
          <polygon points={`${pts[0]!.split(',')[0]},${BOTTOM} ${pts.join(' ')} ${W},${BOTTOM}`} className="fill-accent" opacity={0.12} />
          <polyline points={pts.join(' ')} fill="none" className="stroke-accent" strokeWidth={2} strokeLinejoin="round" />
        </>
      )}
      <line x1={0} x2={W} y1={BOTTOM} y2={BOTTOM} className="stroke-line" />
      <text x={0} y={H - 2} fontSize={9.5} className="fill-faint">
        30 s ago
      </text>
      <text x={W} y={H - 2} textAnchor="end" fontSize={9.5} className="fill-faint">
        now
      </text>
    </svg>
  );
}

function Card(props: { title: string; lesson: LessonSlug; value: ReactNode; files: string; children: ReactNode; extra?: ReactNode }) {
  return (
    <div className="border-b border-line px-4 py-3">
      <div className="flex items-baseline justify-between gap-2">
        <h3 className="text-sm font-semibold">{props.title}</h3>
        <LessonLink slug={props.lesson} />
      </div>
      <p className="mb-2 font-mono text-sm tabular-nums">{props.value}</p>
      {props.children}
      {props.extra}
      <p className="mt-1 font-mono text-[0.6875rem] text-faint">{props.files}</p>
    </div>
  );
}

const limitText = (n: number, f: (n: number) => string) => (n < 0 ? 'no limit' : f(n));

export function CgroupsView({ state, running, fallback }: { state: XrayState; running: boolean; fallback: SandboxStats | null }) {
  const s = state.stats ?? fallback;
  if (!s) {
    return (
      <section aria-labelledby="cg-title">
        <ViewHeader id="cg-title" title="cgroups" lesson="cgroup-memory" />
        <Empty>{running ? 'Reading the box’s cgroup…' : 'Start a sandbox to see its limits at work.'}</Empty>
      </section>
    );
  }
  const h: readonly StatPoint[] = state.history;
  const pad = <T,>(xs: T[]): Array<T | null> => [...Array(Math.max(0, HISTORY - xs.length)).fill(null), ...xs];
  const memMax = s.memory.limit > 0 ? s.memory.limit : Math.max(1, ...h.map((p) => p.memory));
  const quota = s.cpu.quotaFraction > 0 ? s.cpu.quotaFraction : 1;
  const lastCpu = [...h].reverse().find((p) => p.cpu !== null)?.cpu ?? null;
  const lastThr = [...h].reverse().find((p) => p.throttled !== null)?.throttled ?? null;
  const pidsMax = s.pids.max > 0 ? s.pids.max : Math.max(1, ...h.map((p) => p.pids));
  const files = FILES[s.cgroupVersion];
  return (
    <section aria-labelledby="cg-title" className="flex min-h-0 flex-col">
      <ViewHeader
        id="cg-title"
        title="cgroups"
        lesson="cgroup-memory"
        aside={
          <span className="rounded-full bg-raised px-2 py-0.5 font-mono text-[0.6875rem] text-muted" data-testid="cg-version">
            cgroup v{s.cgroupVersion}
          </span>
        }
      >
        The kernel counts what the box uses and stops it at the limit: the OOM killer for memory, throttling for cpu, a failing fork for
        pids.
      </ViewHeader>
      <Card
        title="memory"
        lesson="cgroup-memory"
        files={files.memory}
        value={
          <>
            {formatBytes(s.memory.current)} <span className="text-muted">of {limitText(s.memory.limit, formatBytes)}</span>
          </>
        }
        extra={
          <p
            className={`mt-1 text-xs ${s.memory.oomKills ? 'font-semibold text-bad' : 'text-muted'}`}
            data-testid="cg-oom"
            data-oom={s.memory.oomKills}
            aria-live="polite"
          >
            {s.memory.oomKills
              ? `${s.memory.oomKills} OOM kill${s.memory.oomKills > 1 ? 's' : ''}: the kernel killed a process to stay under the limit`
              : 'no OOM kill yet · try dd if=/dev/zero of=/dev/null bs=300M count=1'}
          </p>
        }
      >
        <Gauge
          testId="cg-memory"
          share={s.memory.limit > 0 ? s.memory.current / s.memory.limit : 0}
          values={pad(h.map((p) => p.memory))}
          max={memMax}
          limitLabel={s.memory.limit > 0 ? `limit ${formatBytes(s.memory.limit)}` : 'peak'}
          label={`memory ${formatBytes(s.memory.current)} of ${limitText(s.memory.limit, formatBytes)}, ${s.memory.oomKills} OOM kills`}
          flashKey={state.oomAt}
        />
      </Card>
      <Card
        title="cpu"
        lesson="cgroup-cpu"
        files={files.cpu}
        value={
          <>
            {lastCpu === null ? '…' : lastCpu.toFixed(2)}{' '}
            <span className="text-muted">of {s.cpu.quotaFraction > 0 ? `${s.cpu.quotaFraction.toFixed(2)} core` : 'no quota'}</span>
          </>
        }
        extra={
          <p className="mt-1 text-xs text-muted" data-testid="cg-throttled">
            throttled {s.cpu.nrThrottled} time{s.cpu.nrThrottled === 1 ? '' : 's'}, {(s.cpu.throttledUsec / 1e6).toFixed(2)} s in all
            {lastThr ? ` · now ${(lastThr * 100).toFixed(0)}% of the time` : ''} · try{' '}
            <code className="font-mono">while :; do :; done</code>
          </p>
        }
      >
        <Gauge
          testId="cg-cpu"
          share={(lastCpu ?? 0) / quota}
          values={pad(h.map((p) => p.cpu))}
          max={quota}
          limitLabel={s.cpu.quotaFraction > 0 ? `quota ${quota} core` : '1 core'}
          label={`cpu ${lastCpu?.toFixed(2) ?? 'unknown'} of ${quota} core, throttled ${s.cpu.nrThrottled} times`}
        />
      </Card>
      <Card
        title="pids"
        lesson="cgroup-pids"
        files={files.pids}
        value={
          <>
            {s.pids.current} <span className="text-muted">of {limitText(s.pids.max, String)} tasks</span>
          </>
        }
      >
        <Gauge
          testId="cg-pids"
          share={s.pids.max > 0 ? s.pids.current / s.pids.max : 0}
          values={pad(h.map((p) => p.pids))}
          max={pidsMax}
          limitLabel={s.pids.max > 0 ? `max ${s.pids.max}` : 'peak'}
          label={`pids ${s.pids.current} of ${s.pids.max}`}
        />
      </Card>
      <TextTable
        summary="cgroup numbers as a table"
        head={['controller', 'current', 'limit', 'events']}
        rows={[
          ['memory', formatBytes(s.memory.current), limitText(s.memory.limit, formatBytes), `${s.memory.oomKills} OOM kills`],
          [
            'cpu',
            lastCpu === null ? '…' : `${lastCpu.toFixed(2)} core`,
            s.cpu.quotaFraction > 0 ? `${s.cpu.quotaFraction} core` : 'none',
            `throttled ${s.cpu.nrThrottled}×, ${(s.cpu.throttledUsec / 1e6).toFixed(2)} s`,
          ],
          ['pids', s.pids.current, limitText(s.pids.max, String), ''],
        ]}
      />
      {state.cgroups.length > 0 && <YourCgroups cgroups={state.cgroups} boxLimit={s.memory.limit} />}
      <SampleNote costMs={state.costMs} at={state.at} />
    </section>
  );
}

/** Lab mode on cgroup v2: the box's delegated subtree as the learner sees it under /sys/fs/cgroup, live. */
function YourCgroups({ cgroups, boxLimit }: { cgroups: XrayState['cgroups']; boxLimit: number }) {
  return (
    <div className="border-b border-line px-4 py-3" data-testid="cg-subtree">
      <h3 className="text-sm font-semibold">your cgroups</h3>
      <p className="mb-2 text-xs text-muted">
        Delegated to your box: each limit below is capped by the box&apos;s{boxLimit > 0 ? ` (${formatBytes(boxLimit)})` : ''}; init/ holds
        the processes the server started.
      </p>
      <table className="w-full border-collapse text-left font-mono text-xs tabular-nums">
        <thead>
          <tr className="text-faint">
            {['/sys/fs/cgroup/…', 'memory.max', 'current', 'OOM kills', 'procs'].map((h) => (
              <th key={h} scope="col" className="border-b border-line py-1 pr-3 font-medium">
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {cgroups.map((c) => (
            <tr key={c.path} data-testid="cg-sub-row" data-path={c.path}>
              <td className="py-0.5 pr-3">{c.path}</td>
              <td className="py-0.5 pr-3">{c.memoryMax === null ? 'max' : formatBytes(c.memoryMax)}</td>
              <td className="py-0.5 pr-3">{c.memoryCurrent === null ? '–' : formatBytes(c.memoryCurrent)}</td>
              <td className={`py-0.5 pr-3 ${c.oomKills ? 'font-semibold text-bad' : ''}`}>{c.oomKills}</td>
              <td className="py-0.5 pr-3">{c.procs}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
