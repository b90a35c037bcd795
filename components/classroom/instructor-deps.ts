// BoxlabClient dependencies for the instructor's own terminal: sessions made through the classroom API, stored apart.
import { browserDeps } from '../terminal/browser-deps';
import type { ClientDeps } from '../terminal/client-types';

export function instructorDeps(token: string): ClientDeps {
  const deps = browserDeps();
  const prefix = 'instructor.';
  const s = deps.storage;
  return {
    ...deps,
    // Kept apart from a learner session this tab may also hold.
    storage: s && {
      getItem: (k) => s.getItem(prefix + k),
      setItem: (k, v) => s.setItem(prefix + k, v),
      removeItem: (k) => s.removeItem(prefix + k),
    },
    fetch: (url, init) => {
      if (init?.method === 'POST' && url.endsWith('/api/session')) {
        return deps.fetch(url.replace(/\/api\/session$/, '/api/classroom/session'), {
          ...init,
          headers: { ...init.headers, Authorization: `Bearer ${token}` },
        });
      }
      return deps.fetch(url, init);
    },
  };
}
