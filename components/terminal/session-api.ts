// The two HTTP calls of the client: POST /api/session (created / full / refused) and GET /api/health.
import { refusedResponse } from '../../server/protocol/messages';
import type { ClientDeps } from './client-types';
import type { StoredSession } from './session-store';

export type CreateOutcome =
  | { kind: 'created'; session: StoredSession }
  /** reason host_memory: the server cannot back another box (its message says which limit and when to retry). */
  | { kind: 'full'; retryAfterSec: number; reason?: 'full' | 'host_memory'; message?: string }
  | { kind: 'error'; message: string };

export async function requestSession(deps: ClientDeps): Promise<CreateOutcome> {
  let res;
  try {
    res = await deps.fetch(`${deps.origin}/api/session`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}',
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
    const sec = Number(body.retryAfterSec ?? res.headers.get('retry-after') ?? 10) || 10;
    return { kind: 'full', retryAfterSec: sec };
  }
  if (!res.ok) {
    const why = typeof body.error === 'string' ? body.error : `HTTP ${res.status}`;
    return { kind: 'error', message: `The server refused a new session: ${why}.` };
  }
  const { sessionId, token, wsPath, limits, bootId } = body as unknown as StoredSession;
  return { kind: 'created', session: { sessionId, token, wsPath: wsPath || '/ws', limits, ...(typeof bootId === 'string' ? { bootId } : {}) } };
}

/**
 * Tells "the upgrade was refused" (server answers) from "the server is down" after a socket failed to open:
 * null when down, else the server's bootId (undefined from a server that does not send one).
 */
export async function serverHealth(deps: ClientDeps): Promise<{ bootId?: string } | null> {
  try {
    const res = await deps.fetch(`${deps.origin}/api/health`);
    if (!res.ok) return null;
    const body = (await res.json().catch(() => ({}))) as { bootId?: unknown };
    return typeof body.bootId === 'string' ? { bootId: body.bootId } : {};
  } catch {
    return null;
  }
}
