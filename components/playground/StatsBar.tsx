// The line under the terminal: live memory, cpu and pids of the sandbox, latency, renderer, and the keyboard hints.
'use client';
import { useEffect, useRef, useState } from 'react';
import type { ClientView } from '../terminal/client-types';
import { cpuPercent, formatBytes } from './format';

/** `notice` ("Copied to the clipboard") is shown here, in the bar, never over the terminal's text. */
export function StatsBar(props: { view: ClientView; renderer: string | null; notice?: string | null }) {
  const { stats, latencyMs } = props.view;
  const prev = useRef<{ usec: number; at: number } | null>(null);
  const [cpu, setCpu] = useState<number | null>(null);
  useEffect(() => {
    if (!stats) {
      prev.current = null;
      setCpu(null);
      return;
    }
    const cur = { usec: stats.cpu.usageUsec, at: Date.now() };
    setCpu(cpuPercent(prev.current, cur));
    prev.current = cur;
  }, [stats]);

  const mem = stats?.memory;
  const memShare = mem && mem.limit > 0 ? Math.min(1, mem.current / mem.limit) : 0;
  return (
    <div
      className="flex min-h-9 flex-wrap items-center gap-x-5 gap-y-1 border-t border-line px-3 py-1.5 text-xs text-muted"
      data-testid="stats"
    >
      {stats ? (
        <>
          <span className="flex items-center gap-2" title="memory used / limit (cgroup)">
            <span className="text-faint">mem</span>
            <span className="h-1.5 w-20 overflow-hidden rounded-full bg-line">
              <span
                className={`block h-full rounded-full ${memShare > 0.85 ? 'bg-bad' : memShare > 0.6 ? 'bg-warn' : 'bg-accent'}`}
                style={{ width: `${Math.max(2, memShare * 100)}%` }}
              />
            </span>
            <span className="font-mono tabular-nums text-fg">
              {formatBytes(mem!.current)} / {formatBytes(mem!.limit)}
            </span>
            {mem!.oomKills > 0 && (
              <span className="text-bad">
                {mem!.oomKills} OOM kill{mem!.oomKills > 1 ? 's' : ''}
              </span>
            )}
          </span>
          <Stat
            name="cpu"
            value={cpu === null ? '—' : `${cpu.toFixed(0)}%`}
            title={`of one core; limit ${stats.cpu.quotaFraction} core, throttled ${stats.cpu.nrThrottled}×`}
          />
          <Stat
            name="pids"
            value={`${stats.pids.current} / ${stats.pids.max}`}
            title={`tasks in the box / pids limit (cgroup v${stats.cgroupVersion})`}
          />
        </>
      ) : (
        <span className="text-faint">
          {props.view.phase === 'reconnecting' ? 'No live stats while reconnecting.' : 'No live stats yet.'}
        </span>
      )}
      <span className="ml-auto flex items-center gap-4">
        {props.notice && (
          <span role="status" className="rounded bg-fg px-2 py-0.5 font-medium text-bg" data-testid="notice">
            {props.notice}
          </span>
        )}
        {latencyMs !== null && <Stat name="rtt" value={`${latencyMs} ms`} title="WebSocket round trip" />}
        {props.renderer && <Stat name="render" value={props.renderer} title="xterm.js renderer" />}
        <span className="hidden gap-2 text-faint 2xl:flex">
          <Kbd>Ctrl+Shift+C</Kbd>
          <Kbd>Ctrl+Shift+V</Kbd>
          <Kbd>Ctrl+Shift+F</Kbd>
        </span>
      </span>
    </div>
  );
}

function Stat(props: { name: string; value: string; title?: string }) {
  return (
    <span className="flex items-center gap-1.5" title={props.title}>
      <span className="text-faint">{props.name}</span>
      <span className="font-mono tabular-nums text-fg">{props.value}</span>
    </span>
  );
}

function Kbd({ children }: { children: React.ReactNode }) {
  return <kbd className="rounded border border-line bg-raised px-1 font-mono text-[0.625rem] text-muted">{children}</kbd>;
}
