// The two HTTP calls of the client: POST /api/session (created / full / refused) and GET /api/health.
import { refusedResponse } from '../../server/protocol/messages';
import type { ClientDeps, HttpResponse } from './client-types';
import type { StoredSession } from './session-store';

export type CreateOutcome =
  | { kind: 'created'; session: StoredSession }
  /** reason: which limit was hit (server_full, client_full, class_full, learner_has_box, join_rate, closing, or
   * host_memory: the server cannot back another box); message: in the server's words (absent from older servers). */
  | { kind: 'full'; retryAfterSec: number; reason?: string; message?: string }
  | { kind: 'error'; message: string };

export async function requestSession(deps: ClientDeps): Promise<CreateOutcome> {
  let res: HttpResponse;
  try {
    res = await deps.fetch(`${deps.origin}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
  } catch {
    return { kind: 'error', message: 'Cannot reach the Boxlab server.' };
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (res.status === 503) {
    const refused = refusedResponse.safeParse(body);
    if (refused.success && refused.data.error === 'host_memory') {
      const { message, retry, retryAfterSec } = refused.data;
      // The page counts down to the retry itself: the limit and figures without the static retry sentence.
      const what = retry && message.endsWith(retry) ? message.slice(0, -retry.length).trim() : message;
      return { kind: 'full', reason: 'host_memory', retryAfterSec, message: what };
    }
  }
  // 503: server, address or class at its limit; 409: this learner's box is open elsewhere; 429: joining too fast.
  if (res.status === 503 || (body.error === 'full' && (res.status === 409 || res.status === 429))) {
    const sec = Number(body.retryAfterSec ?? res.headers.get('retry-after') ?? 10) || 10;
    const reason = typeof body.reason === 'string' ? body.reason : undefined;
    const message = typeof body.message === 'string' ? body.message : undefined;
    return { kind: 'full', retryAfterSec: sec, ...(reason ? { reason } : {}), ...(message ? { message } : {}) };
  }
  if (!res.ok) {
    // A class's refusal carries words of its own ("This class has ended."); older answers only an error code.
    if (typeof body.message === 'string' && body.message) return { kind: 'error', message: body.message };
    const why = typeof body.error === 'string' ? body.error : `HTTP ${res.status}`;
    return { kind: 'error', message: `The server refused a new session: ${why}.` };
  }
  const { sessionId, token, wsPath, limits, bootId } = body as unknown as StoredSession;
  return {
    kind: 'created',
    session: { sessionId, token, wsPath: wsPath || '/ws', limits, ...(typeof bootId === 'string' ? { bootId } : {}) },
  };
}

/**
 * Tells "the upgrade was refused" (server answers) from "the server is down" after a socket failed to open:
 * null when down, else the server's bootId (undefined from a server that does not send one).
 */
export async function serverHealth(deps: ClientDeps): Promise<{ bootId?: string } | null> {
  try {
    const res = await deps.fetch(`${deps.origin}/api/health`);
    if (!res.ok && res.status !== 503) return null;
    const body = (await res.json().catch(() => ({}))) as { bootId?: unknown; state?: unknown };
    // A full or draining node answers 503 with its state (docs/cluster.md): up, only taking no new visitors.
    if (!res.ok && typeof body.state !== 'string') return null;
    return typeof body.bootId === 'string' ? { bootId: body.bootId } : {};
  } catch {
    return null;
  }
}
