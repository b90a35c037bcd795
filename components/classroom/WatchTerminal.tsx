// A read-only terminal fed by a watch socket: sized exactly like the watched one (no fit), keyboard input disabled.
'use client';
import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import type { Terminal } from '@xterm/xterm';
import { DARK, LIGHT } from '../terminal/xterm-theme';
import { useTheme } from '../playground/prefs';
import { WatchClient, type WatchView } from './WatchClient';

declare global {
  interface Window {
    /** For the e2e suite: read-only terminals by their testid. */
    __boxlabWatch?: Record<string, Terminal>;
  }
}

const FONT = 'ui-monospace, "SFMono-Regular", "Cascadia Mono", "JetBrains Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace';
const none = () => () => {};
const CLOSED: WatchView = { status: 'connecting', sessionId: null, name: '', kind: null, state: '', stages: [], stats: null, closed: null };

export function WatchTerminal(props: {
  protocols: string[];
  query?: string;
  testId: string;
  fontSize?: number;
  onClient?: (c: WatchClient | null) => void;
}) {
  const host = useRef<HTMLDivElement>(null);
  const [theme] = useTheme();
  const [client, setClient] = useState<WatchClient | null>(null);
  const termRef = useRef<Terminal | null>(null);
  const view = useSyncExternalStore(client?.subscribe ?? none, client?.getView ?? (() => CLOSED), () => CLOSED);
  const key = `${props.protocols.join(',')}|${props.query ?? ''}`;
  const onClient = useRef(props.onClient);
  onClient.current = props.onClient;

  useEffect(() => {
    let disposed = false;
    let c: WatchClient | null = null;
    let t: Terminal | null = null;
    void (async () => {
      const { Terminal } = await import('@xterm/xterm');
      if (disposed || !host.current) return;
      t = new Terminal({
        fontFamily: FONT,
        fontSize: props.fontSize ?? 13,
        disableStdin: true,
        cursorBlink: false,
        scrollback: 2000,
        allowProposedApi: true,
      });
      t.open(host.current);
      termRef.current = t;
      const term = t;
      (window.__boxlabWatch ??= {})[props.testId] = term;
      c = new WatchClient(
        { write: (d) => term.write(d), reset: () => term.reset(), resize: (rows, cols) => term.resize(cols, rows) },
        props.protocols,
        props.query ?? '',
      );
      setClient(c);
      onClient.current?.(c);
    })();
    return () => {
      disposed = true;
      c?.dispose();
      onClient.current?.(null);
      if (window.__boxlabWatch) delete window.__boxlabWatch[props.testId];
      t?.dispose();
      termRef.current = null;
    };
    // The socket is keyed by who watches what; re-render for other reasons must not reconnect.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  useEffect(() => {
    if (termRef.current) termRef.current.options.theme = theme === 'light' ? LIGHT : DARK;
  }, [theme, client]);

  return (
    <div className="flex h-full min-h-0 flex-col">
      <div
        className="flex h-8 shrink-0 items-center gap-2 border-b border-line px-3 text-xs text-muted"
        data-testid={`${props.testId}-status`}
      >
        <span className={`size-2 rounded-full ${view.status === 'live' ? 'bg-ok' : view.status === 'connecting' ? 'bg-warn' : 'bg-bad'}`} />
        <span>
          {view.status === 'live'
            ? `${view.kind === 'broadcast' ? 'Following' : 'Watching'} ${view.name} · read-only · ${view.state}`
            : view.status === 'connecting'
              ? 'Connecting…'
              : `Closed${view.closed?.reason ? `: ${view.closed.reason}` : ''}`}
        </span>
      </div>
      <div className="min-h-0 flex-1 overflow-auto bg-term p-2">
        <div ref={host} data-testid={props.testId} />
      </div>
    </div>
  );
}
