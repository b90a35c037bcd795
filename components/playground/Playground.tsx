// The playground page: header, the terminal pane with its session and stats bars, and the Stages panel beside it.
'use client';
import { useCallback, useDeferredValue, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import type { Terminal } from '@xterm/xterm';
import { ClassOver, ResetNotice } from '../classroom/ClassNotices';
import { useClassActions } from '../classroom/useClassActions';
import { FollowPanel } from '../lessons/FollowPanel';
import { BoxlabClient } from '../terminal/BoxlabClient';
import { playgroundDeps } from '../terminal/browser-deps';
import { INITIAL_VIEW, type ClientView } from '../terminal/client-types';
import { TerminalView, type Renderer, type TermHandle } from '../terminal/TerminalView';
import { XrayPanel } from '../xray/XrayPanel';
import { Header } from './Header';
import { NoticeBar, Overlay } from './Overlay';
import { SessionBar } from './SessionBar';
import { StatsBar } from './StatsBar';
import { useSize, useTheme } from './prefs';

declare global {
  interface Window {
    /** For the e2e suite: the live terminal and client. */
    __boxlab?: { term: Terminal; client: BoxlabClient; renderer: Renderer };
  }
}

const noSubscribe = () => () => {};
const initialView = () => INITIAL_VIEW;

export function Playground() {
  const [theme] = useTheme();
  const [size] = useSize();
  const [client, setClient] = useState<BoxlabClient | null>(null);
  const [renderer, setRenderer] = useState<Renderer | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  // The x-ray's wide mode (projector): the terminal and the x-ray share the width equally.
  const [wideXray, setWideXray] = useState(false);
  const term = useRef<Terminal | null>(null);
  // xterm's callbacks outlive renders; they reach the client through a ref, never a stale closure.
  const clientRef = useRef<BoxlabClient | null>(null);
  const view: ClientView = useSyncExternalStore(client?.subscribe ?? noSubscribe, client?.getView ?? initialView, initialView);
  // The x-ray follows in a render of its own, after the terminal's: a Start brings ~25 stage rows, whose render, style
  // and layout otherwise land in the frame that paints the prompt (docs/performance.md, click to prompt).
  const xrayView = useDeferredValue(view);

  const onReady = useCallback((h: TermHandle) => {
    const c = new BoxlabClient(h.sink, playgroundDeps());
    term.current = h.term;
    clientRef.current = c;
    c.resize(h.term.rows, h.term.cols);
    window.__boxlab = { term: h.term, client: c, renderer: h.renderer };
    setRenderer(h.renderer);
    setClient(c);
    // Focus as the running state arrives, not a frame later with the render: views are told once per frame, and a
    // key typed right after the prompt must reach the shell (the effect below covers the rest).
    const offControl = c.onControl((m) => {
      if ((m.type === 'state' || m.type === 'hello') && m.state === 'running') h.term.focus();
    });
    c.resume();
    const online = () => c.retryNow();
    window.addEventListener('online', online);
    return () => {
      offControl();
      window.removeEventListener('online', online);
      c.dispose();
      clientRef.current = null;
      term.current = null;
      delete window.__boxlab;
    };
  }, []);

  // Stable, so the memoised terminal is not re-rendered with every view change (xterm's callbacks read the ref).
  const onData = useCallback((d: string | Uint8Array) => void clientRef.current?.input(d), []);
  const onResize = useCallback((rows: number, cols: number) => clientRef.current?.resize(rows, cols), []);

  // A learner of a class follows its actions here too: broadcast banner, move to a lesson, reset notice, class over.
  const cls = useClassActions(client, null);

  // The shell gets the keyboard as soon as it runs (after Start, Reset, Start again, or a reload).
  const phase = view.phase;
  useEffect(() => {
    if (phase === 'running') term.current?.focus();
  }, [phase]);

  useEffect(() => {
    if (!notice) return;
    const id = setTimeout(() => setNotice(null), 2500);
    return () => clearTimeout(id);
  }, [notice]);

  const actions = {
    start: () => client?.start(),
    newSession: () => client?.newSession(),
    restart: () => client?.restart(),
    takeOver: () => client?.takeOver(),
    retryNow: () => client?.retryNow(),
    // A failed build keeps its session (restart boots again); a failed POST has no socket, so ask anew.
    retryAfterError: () => {
      if (!client?.restart()) client?.newSession();
    },
  };

  return (
    // Below lg the x-ray stacks under the terminal and the page scrolls: the terminal keeps room for 24 rows (35rem with
    // its bars at 18 px cells; e2e/small-screens.e2e.ts checks 390x844 and 900x700) instead of sharing the viewport.
    <div className="flex min-h-dvh flex-col lg:h-dvh lg:min-h-[32rem]">
      <Header />
      <main
        className={`grid flex-1 grid-cols-1 grid-rows-[minmax(35rem,1fr)_26rem] gap-3 p-3 lg:min-h-0 lg:grid-rows-1 ${wideXray ? 'lg:grid-cols-[minmax(0,1fr)_minmax(0,1fr)]' : 'lg:grid-cols-[minmax(0,1fr)_minmax(21rem,27rem)]'}`}
      >
        <section
          aria-label="Terminal"
          className="relative flex min-h-0 min-w-0 flex-col overflow-hidden rounded-xl border border-line bg-panel shadow-sm focus-within:border-accent/50"
        >
          <FollowPanel name={cls.broadcast} />
          <ResetNotice text={cls.notice} onDismiss={cls.dismiss} />
          <SessionBar view={view} onReset={() => client?.reset()} onKeep={() => term.current?.focus()} />
          <div className="relative min-h-0 flex-1">
            <TerminalView
              theme={theme}
              large={size === 'large'}
              onReady={onReady}
              onData={onData}
              onResize={onResize}
              onNotice={setNotice}
            />
            <Overlay view={view} actions={actions} mounted={client !== null} classOver={cls.ended} />
          </div>
          <NoticeBar view={view} actions={actions} />
          <StatsBar view={view} renderer={renderer} notice={notice} />
        </section>
        <aside className="min-h-0 overflow-hidden rounded-xl border border-line bg-panel shadow-sm">
          <XrayPanel view={xrayView} client={client} wide={wideXray} onWide={setWideXray} />
        </aside>
      </main>
      <ClassOver text={cls.ended} />
    </div>
  );
}
