// Keeps the session id + token in sessionStorage so a reload of the tab reattaches to the same shell.
import type { Limits } from './protocol';

export interface StoredSession {
  sessionId: string;
  token: string;
  wsPath: string;
  limits: Limits;
  /** The server process that made the session (absent from older servers): tells a restart from an expiry. */
  bootId?: string;
}

export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const KEY = 'boxlab.session.v1';

/** sessionStorage (per tab, survives reload, not shared with other tabs) rather than localStorage:
 *  two tabs must not fight over one session, since a new socket replaces the old one (close 4001). */
export class SessionStore {
  constructor(private readonly kv: KeyValueStore | null) {}

  load(): StoredSession | null {
    try {
      const raw = this.kv?.getItem(KEY);
      if (!raw) return null;
      const v = JSON.parse(raw) as Partial<StoredSession>;
      if (typeof v.sessionId !== 'string' || typeof v.token !== 'string' || typeof v.wsPath !== 'string') return null;
      return v as StoredSession;
    } catch {
      return null;
    }
  }

  save(s: StoredSession): void {
    try {
      this.kv?.setItem(KEY, JSON.stringify(s));
    } catch {
      // Storage full or disabled (private mode): the session still works, only reload-resume is lost.
    }
  }

  clear(): void {
    try {
      this.kv?.removeItem(KEY);
    } catch {
      /* see save() */
    }
  }
}

/** Exponential backoff with jitter (so many tabs do not reconnect in lockstep after a server restart). */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(8000, 250 * 2 ** Math.max(0, attempt));
  return Math.round(base * (0.75 + random() * 0.5));
}
