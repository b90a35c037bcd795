// Types of BoxlabClient: the view the UI renders, the terminal sink, and the injectable browser dependencies.
import { CLOSE, type ExitInfo, type Limits, type SandboxStats, type StageEvent } from './protocol';
import type { KeyValueStore } from './session-store';

export type Phase =
  | 'idle' // no session yet: the Start button
  | 'creating' // POST /api/session in flight, or the sandbox is being built
  | 'connecting' // socket opening for a stored session
  | 'running'
  | 'exited'
  | 'reconnecting'
  | 'full' // server at capacity: retry at retryAt
  | 'replaced' // another tab took the session (close 4001)
  | 'ended' // session gone (expired, idle, server restarted)
  | 'error';

export interface ClientView {
  phase: Phase;
  sessionId: string | null;
  limits: Limits | null;
  cgroupVersion: 1 | 2 | null;
  stages: readonly StageEvent[];
  stats: SandboxStats | null;
  exit: ExitInfo | null;
  /** Epoch ms of the next automatic attempt (full, reconnecting). */
  retryAt: number | null;
  attempt: number;
  /** One-line explanation for ended / error / full. */
  message: string | null;
  /** Phase full: which limit refused the box (server_full, client_full, class_full, learner_has_box, join_rate,
   * closing, or host_memory: the host cannot back another box's memory). */
  refusal: string | null;
  latencyMs: number | null;
  resumed: boolean;
}

/** What the client needs of xterm: write with a parsed-callback, and a clear that stays in write order. */
export interface TerminalSink {
  write(data: Uint8Array | string, parsed?: () => void): void;
  reset(): void;
}

export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export interface HttpResponse {
  status: number;
  ok: boolean;
  headers: { get(name: string): string | null };
  json(): Promise<unknown>;
}

export interface ClientDeps {
  origin: string;
  fetch(url: string, init?: { method?: string; headers?: Record<string, string>; body?: string }): Promise<HttpResponse>;
  createWebSocket(url: string, protocols: string[]): WebSocketLike;
  storage: KeyValueStore | null;
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
  random(): number;
  /**
   * Batches view notifications (the browser: once per animation frame). Absent: listeners hear every change at once.
   * A session start brings ~25 control messages in a burst; with React re-rendering the page on each (3-4 ms apiece
   * in Chromium here) the prompt's bytes queued behind them waited ~90 ms (docs/performance.md, Terminal).
   */
  scheduleRender?(fn: () => void): void;
  /**
   * May Start ask the socket's upgrade for the session (NEW_SESSION) instead of POST /api/session first? Saves the POST's
   * round trip before the socket (docs/performance.md, click to prompt). Not for a class member, whose box comes from
   * the class (POST /api/join); a refused upgrade falls back to the POST, which explains the refusal.
   */
  createOverSocket?(): boolean;
}

export const INITIAL_VIEW: ClientView = {
  phase: 'idle',
  sessionId: null,
  limits: null,
  cgroupVersion: null,
  stages: [],
  stats: null,
  exit: null,
  retryAt: null,
  attempt: 0,
  message: null,
  refusal: null,
  latencyMs: null,
  resumed: false,
};

/** Why the box is gone, in the words the page shows (ended phase, with a Start button). */
export const GONE = {
  restarted: 'The server restarted; your box is gone.',
  shutdown: 'The server shut down; your box is gone. Start a new one when it is back.',
  away: 'Your box is gone: the server ended the session while this page was disconnected.',
  unknown: 'Your box is gone: the server no longer knows this session.',
} as const;

export const ENDED_BY_CODE: Record<number, string> = {
  [CLOSE.normal]: 'The session was closed by the server.',
  [CLOSE.gone]: 'This session no longer exists on the server.',
  [CLOSE.idle]: 'The session ended after being idle for too long.',
};
