// The session API of the web layer: GET /api/health and POST /api/session (create a session), as a route.
import {
  API_HEALTH_PATH,
  API_SESSION_PATH,
  WS_PATH,
  createSessionRequest,
  type CreateSessionResponse,
  type FullResponse,
  type HealthResponse,
  type RefusedResponse,
} from '../protocol/messages.ts';
import type { CreateResult, SessionManager } from '../sessions/manager.ts';
import type { ClusterNode } from './node.ts';
import { clientAddress, originAllowed, readBodyText, sendJson, type RouteHandler, type RouteRequest } from '../sessions/routes.ts';

const MAX_BODY = 4096;

/** JSON answers (sessions/routes.ts), under the name this file has always used. */
export const json = sendJson;
const readBody = (req: RouteRequest) => readBodyText(req, MAX_BODY);

/** A refusal for a full server or client: its status and body (the root hands in the course's wording of it). */
export type RefuseFull = (r: Extract<CreateResult, { reason: 'full' | 'client_full' | 'closing' }>) => {
  status: number;
  body: FullResponse;
};

/**
 * Health and session creation; other paths are left to the next route. With a node (a cluster, docs/cluster.md) the
 * health answer carries its id and state, and its status is what a balancer's http-check reads: 200 ready, 503
 * draining or full (same body: the server is up, it just takes no new visitors).
 */
export function sessionApi(
  manager: SessionManager,
  allowedOrigins: readonly string[],
  refuseFull: RefuseFull,
  node?: Pick<ClusterNode, 'id' | 'state' | 'healthStatus'>,
): RouteHandler {
  return async (req, res, path) => {
    if (path === API_HEALTH_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
      const body: HealthResponse = {
        ok: true,
        sessions: manager.size,
        capacity: manager.capacity,
        cgroupVersion: manager.cgroupVersion,
        bootId: manager.bootId,
        ...(node ? { node: node.id, state: node.state() } : {}),
      };
      return (json(res, node?.healthStatus() ?? 200, body), true);
    }
    if (path !== API_SESSION_PATH) return false;
    if (req.method !== 'POST') return (json(res, 405, { error: 'method_not_allowed' }, { Allow: 'POST' }), true);
    // A cross-site page must not be able to spend this visitor's session quota.
    if (req.headers.origin && !originAllowed(req.headers.origin, req.headers.host, allowedOrigins)) {
      return (json(res, 403, { error: 'origin_not_allowed' }), true);
    }
    const text = await readBody(req);
    if (text === null) return (json(res, 413, { error: 'body_too_large' }), true);
    let name: string | undefined;
    if (text.trim()) {
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        return (json(res, 400, { error: 'bad_request', message: 'body is not JSON' }), true);
      }
      const r = createSessionRequest.safeParse(raw);
      if (!r.success) return (json(res, 400, { error: 'bad_request', message: r.error.issues[0]?.message ?? 'invalid body' }), true);
      name = r.data.name;
    }
    await manager.refreshCharged(); // admission compares with the memory boxes use now
    const created = manager.create(clientAddress(req) ?? 'unknown', name);
    if (!created.ok) {
      if (created.reason === 'host_memory') {
        const body: RefusedResponse = {
          error: 'host_memory',
          retryAfterSec: created.retryAfterSec,
          message: created.message,
          retry: created.retry,
        };
        return (json(res, 503, body, { 'Retry-After': String(created.retryAfterSec) }), true);
      }
      // Which limit was hit, in words, and when to try again (server/protocol/classes.ts refusalResponse).
      const { status, body } = refuseFull(created);
      return (json(res, status, body, { 'Retry-After': String(body.retryAfterSec) }), true);
    }
    const body: CreateSessionResponse = {
      sessionId: created.session.id,
      token: created.token,
      limits: manager.limits,
      wsPath: WS_PATH,
      bootId: manager.bootId,
    };
    return (json(res, 201, body), true);
  };
}
