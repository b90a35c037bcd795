// BoxlabClient dependencies for a lesson page: the browser's, with the learner's chosen name sent when a session is created.
import { browserDeps } from '../terminal/browser-deps';
import type { ClientDeps } from '../terminal/client-types';

export function lessonDeps(name: () => string): ClientDeps {
  const deps = browserDeps();
  return {
    ...deps,
    fetch: (url, init) => {
      // The name shows on the instructor's dashboard; POST /api/session takes {name}.
      if (init?.method === 'POST' && url.endsWith('/api/session')) {
        const n = name().trim();
        return deps.fetch(url, { ...init, body: JSON.stringify(n ? { name: n.slice(0, 64) } : {}) });
      }
      return deps.fetch(url, init);
    },
  };
}

/** The session token of this tab (kept by BoxlabClient in sessionStorage), for following a broadcast. */
export function tabSessionToken(): string | null {
  try {
    const raw = window.sessionStorage.getItem('boxlab.session.v1');
    const token = raw ? (JSON.parse(raw) as { token?: unknown }).token : null;
    return typeof token === 'string' ? token : null;
  } catch {
    return null;
  }
}
