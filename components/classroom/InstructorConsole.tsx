// The instructor's own terminal (a sandbox like any learner's), and the switch that broadcasts it to learners who follow.
'use client';
import { useCallback, useRef, useState, useSyncExternalStore } from 'react';
import type { Terminal } from '@xterm/xterm';
import { SessionBar } from '../playground/SessionBar';
import { NoticeBar, Overlay } from '../playground/Overlay';
import { useSize, useTheme } from '../playground/prefs';
import { BoxlabClient } from '../terminal/BoxlabClient';
import { INITIAL_VIEW, type ClientView } from '../terminal/client-types';
import { TerminalView, type TermHandle } from '../terminal/TerminalView';
import { XrayPanel } from '../xray/XrayPanel';
import { instructorDeps } from './instructor-deps';

const noSubscribe = () => () => {};
const initialView = () => INITIAL_VIEW;

export function InstructorConsole(props: { token: string; broadcasting: boolean; onBroadcast(sessionId: string | null): void }) {
  const [theme] = useTheme();
  const [size] = useSize();
  const [client, setClient] = useState<BoxlabClient | null>(null);
  const ref = useRef<BoxlabClient | null>(null);
  const term = useRef<Terminal | null>(null);
  const view: ClientView = useSyncExternalStore(client?.subscribe ?? noSubscribe, client?.getView ?? initialView, initialView);
  const token = props.token;

  const onReady = useCallback(
    (h: TermHandle) => {
      const c = new BoxlabClient(h.sink, instructorDeps(token));
      ref.current = c;
      term.current = h.term;
      c.resize(h.term.rows, h.term.cols);
      window.__boxlab = { term: h.term, client: c, renderer: h.renderer };
      setClient(c);
      c.start();
      return () => {
        c.dispose();
        ref.current = null;
        delete window.__boxlab;
      };
    },
    [token],
  );

  const actions = {
    start: () => client?.start(),
    newSession: () => client?.newSession(),
    restart: () => client?.restart(),
    takeOver: () => client?.takeOver(),
    retryNow: () => client?.retryNow(),
    retryAfterError: () => {
      if (!client?.restart()) client?.newSession();
    },
  };
  return (
    <div className="flex h-full min-h-0 flex-col gap-3" data-testid="console">
      <div className="flex items-center gap-2">
        <h2 className="text-sm font-semibold text-fg">My terminal</h2>
        <button
          type="button"
          data-testid="broadcast"
          aria-pressed={props.broadcasting}
          disabled={!view.sessionId}
          onClick={() => props.onBroadcast(props.broadcasting ? null : view.sessionId)}
          className={`ml-auto h-8 rounded-md px-3 text-sm font-semibold ${props.broadcasting ? 'bg-bad text-white' : 'bg-accent text-accent-fg'} disabled:opacity-50 hover:brightness-110`}
        >
          {props.broadcasting ? 'Stop broadcasting' : 'Broadcast to the class'}
        </button>
      </div>
      <section className="flex min-h-0 flex-[3] flex-col overflow-hidden rounded-xl border border-line bg-panel">
        <SessionBar view={view} onReset={() => client?.reset()} onKeep={() => term.current?.focus()} />
        <div className="relative min-h-0 flex-1">
          <TerminalView
            theme={theme}
            large={size === 'large'}
            onReady={onReady}
            onData={(d) => ref.current?.input(d)}
            onResize={(r, c) => ref.current?.resize(r, c)}
            onNotice={() => {}}
          />
          <Overlay view={view} actions={actions} mounted={client !== null} />
        </div>
        <NoticeBar view={view} actions={actions} />
      </section>
      {/* The views open here are the ones learners following the broadcast see. */}
      <aside className="min-h-[12rem] flex-[2] overflow-hidden rounded-xl border border-line bg-panel">
        <XrayPanel view={view} client={client} wide={false} onWide={() => {}} />
      </aside>
    </div>
  );
}
