// The real browser implementations of BoxlabClient's dependencies (kept apart so the client is testable in node).
import type { ClientDeps, WebSocketLike } from './BoxlabClient';
import { loadMembership, saveMembership } from '../classroom/membership';

/**
 * The playground's: Start asks the socket for the session (no POST before it), unless this tab is a class member's,
 * whose box comes from the class (POST /api/join). Pages that shape the POST (a lesson's name, the instructor's
 * token) keep browserDeps() and its POST.
 */
export function playgroundDeps(): ClientDeps {
  return { ...browserDeps(), createOverSocket: () => !loadMembership() };
}

/** The real browser dependencies. */
export function browserDeps(): ClientDeps {
  return {
    origin: window.location.origin,
    fetch: (url, init) => {
      // A class member's new box comes from the class (its limits, counted per learner, not per address): the
      // resume code the join page kept stands in for POST /api/session, whose answer has the same fields.
      const member = init?.method === 'POST' && url.endsWith('/api/session') ? loadMembership() : null;
      if (member) {
        return window
          .fetch(url.replace(/\/api\/session$/, '/api/join'), { ...init, body: JSON.stringify({ resume: member.resume }) })
          .then((r) => {
            // The class has ended (or forgot this learner): its words are shown once, the next box is a playground one.
            if (r.status === 404) saveMembership(null);
            return r;
          });
      }
      return window.fetch(url, init);
    },
    createWebSocket: (url, protocols) => new WebSocket(url, protocols) as unknown as WebSocketLike,
    storage: (() => {
      try {
        return window.sessionStorage;
      } catch {
        return null;
      }
    })(),
    now: () => Date.now(),
    setTimeout: (fn, ms) => window.setTimeout(fn, ms),
    clearTimeout: (id) => window.clearTimeout(id as number),
    random: Math.random,
    // Once per frame, in a task of its own right after it (inside the frame it would add to the frame's own
    // render and layout, one long task); the plain timer covers hidden tabs, where animation frames stop.
    scheduleRender: (fn) => {
      let done = false;
      const run = () => {
        if (done) return;
        done = true;
        fn();
      };
      window.requestAnimationFrame(() => window.setTimeout(run, 0));
      window.setTimeout(run, 100);
    },
  };
}
