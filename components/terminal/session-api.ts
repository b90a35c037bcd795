// The two HTTP calls of the client: POST /api/session (created / full / refused) and GET /api/health.
import type { ClientDeps, HttpResponse } from './client-types';
import type { StoredSession } from './session-store';

export type CreateOutcome =
  | { kind: 'created'; session: StoredSession }
  | { kind: 'full'; retryAfterSec: number }
  | { kind: 'error'; message: string };

export async function requestSession(deps: ClientDeps): Promise<CreateOutcome> {
  let res: HttpResponse;
  try {
    res = await deps.fetch(`${deps.origin}/api/session`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}',
    });
  } catch {
    return { kind: 'error', message: 'Cannot reach the Boxlab server.' };
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (res.status === 503) {
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
