// HTTP endpoints of lessons, progress and the classroom; instructor routes answer 401 (no/wrong token) or 403 (a learner's token).
import {
  API_CLASSROOM_PATH,
  API_LESSONS_PATH,
  API_PROGRESS_PATH,
  B64URL32_RE,
  LEARNER_HEADER,
  classActionRequest,
  type LessonListResponse,
  type LessonResponse,
  type ProgressResponse,
} from '../protocol/lessons.ts';
import { WS_PATH, type CreateSessionResponse } from '../protocol/messages.ts';
import { RESUME_HEADER } from '../protocol/classes.ts';
import { learnerKey } from '../lessons/progress.ts';
import {
  SECURITY_HEADERS,
  clientAddress,
  originAllowed,
  readBodyText,
  sendJson,
  type RouteRequest,
  type RouteResponse,
} from '../sessions/routes.ts';
import type { Course } from './course.ts';
import { servePackFile } from './pack-files.ts';
import { ClassApi, sendRefusal } from './class-api.ts';
import { sessionRefusal } from './classes.ts';
import { DB_RETRY_AFTER_SEC, DB_UNAVAILABLE, DbError } from '../db/sql.ts';

const classApis = new WeakMap<Course, ClassApi>();
function classApi(course: Course): ClassApi {
  let a = classApis.get(course);
  if (!a) {
    a = new ClassApi({
      classes: course.classes,
      store: () => course.classStore,
      manager: course.deps.manager,
      send: sendJson,
      readJson,
      securityHeaders: SECURITY_HEADERS,
    });
    classApis.set(course, a);
  }
  return a;
}

const MAX_BODY = 4096;

async function readJson(r: RouteRequest): Promise<{ ok: true; value: unknown } | { ok: false; status: 400 | 413 }> {
  const text = await readBodyText(r, MAX_BODY);
  if (text === null) return { ok: false, status: 413 };
  try {
    return { ok: true, value: text.trim() ? JSON.parse(text) : {} };
  } catch {
    return { ok: false, status: 400 };
  }
}

/**
 * Handles the request if the path is one of ours; returns false otherwise (the caller answers 404). A database that
 * does not answer (down, unreachable, out of connections) is a 503 with Retry-After, logged; boxes keep running.
 */
export async function courseApi(course: Course, r: RouteRequest, res: RouteResponse, path: string): Promise<boolean> {
  try {
    return await courseRoutes(course, r, res, path);
  } catch (err) {
    if (!(err instanceof DbError)) throw err;
    course.deps.log(`${r.method} ${path}: database failed: ${err.message}`);
    if (res.headersSent) throw err; // half an answer: the web layer cuts the connection
    sendJson(res, 503, DB_UNAVAILABLE, { 'Retry-After': String(DB_RETRY_AFTER_SEC) });
    return true;
  }
}

async function courseRoutes(course: Course, r: RouteRequest, res: RouteResponse, path: string): Promise<boolean> {
  const get = r.method === 'GET' || r.method === 'HEAD';
  const cgroupVersion = course.deps.cgroupVersion;
  if (path === API_LESSONS_PATH) {
    if (!get) return (methodNotAllowed(res, 'GET'), true);
    const body: LessonListResponse = {
      cgroupVersion,
      lessons: course.lessons.map(({ lesson: { intro, steps, outro, ...summary } }) => summary),
    };
    return (sendJson(res, 200, body), true);
  }
  const file = /^\/api\/lessons\/([a-z0-9][a-z0-9-]{0,63})\/files\/(.+)$/.exec(path);
  if (file) {
    if (!get) return (methodNotAllowed(res, 'GET'), true);
    return (servePackFile(res, course.packs.dirOf(file[1]!), file[2]!, r.method === 'HEAD'), true);
  }
  if (path.startsWith(`${API_LESSONS_PATH}/`)) {
    if (!get) return (methodNotAllowed(res, 'GET'), true);
    const l = course.lesson(path.slice(API_LESSONS_PATH.length + 1));
    if (!l) return (sendJson(res, 404, { error: 'not_found', message: 'no such lesson' }), true);
    const body: LessonResponse = { cgroupVersion, lesson: l.lesson };
    return (sendJson(res, 200, body), true);
  }
  if (path === API_PROGRESS_PATH) {
    if (!get) return (methodNotAllowed(res, 'GET'), true);
    const token = String(r.headers[LEARNER_HEADER] ?? '');
    // A class member's progress follows them from browser to browser: their resume code names it.
    const resume = r.headers[RESUME_HEADER];
    const member = typeof resume === 'string' ? await course.classes.keyOfResume(resume) : undefined;
    if (!member && !B64URL32_RE.test(token))
      return (sendJson(res, 400, { error: 'bad_request', message: `${LEARNER_HEADER} must be the learner id` }), true);
    const counts = Object.fromEntries(course.lessons.map((l) => [l.lesson.slug, l.specs.length]));
    const body: ProgressResponse = { progress: await course.store.progress(member ?? learnerKey(token), counts) };
    return (sendJson(res, 200, body), true);
  }
  if (path !== API_CLASSROOM_PATH && !path.startsWith(`${API_CLASSROOM_PATH}/`)) {
    if (!path.startsWith('/api/join')) return false;
    // A cross-site page must not spend this visitor's join budget or make members in their name.
    if (r.headers.origin && !originAllowed(r.headers.origin, r.headers.host, course.deps.allowedOrigins)) {
      return (sendJson(res, 403, { error: 'origin_not_allowed' }), true);
    }
    return classApi(course).publicRoute(r, res, path);
  }
  if (r.headers.origin && !originAllowed(r.headers.origin, r.headers.host, course.deps.allowedOrigins)) {
    return (sendJson(res, 403, { error: 'origin_not_allowed' }), true);
  }
  const auth = course.auth.fromRequest(r);
  if (auth === 'limited') {
    const retryAfterSec = Math.max(1, course.auth.logins.retryAfterSec(clientAddress(r)));
    return (
      sendJson(
        res,
        429,
        { error: 'too_many_attempts', message: `too many wrong instructor tokens: try again in ${retryAfterSec} s`, retryAfterSec },
        { 'Retry-After': String(retryAfterSec) },
      ),
      true
    );
  }
  if (auth !== 'ok') {
    const bearer = /^Bearer\s+(\S+)$/i.exec(r.headers.authorization ?? '')?.[1];
    if (bearer && course.deps.manager.findByToken(bearer)) {
      return (sendJson(res, 403, { error: 'forbidden', message: 'a learner session cannot open the classroom' }), true);
    }
    return (
      sendJson(
        res,
        401,
        { error: 'unauthorized', message: 'instructor token required' },
        { 'WWW-Authenticate': 'Bearer realm="boxlab classroom"' },
      ),
      true
    );
  }
  const sub = path.slice(API_CLASSROOM_PATH.length);
  if (sub === '' || sub === '/') {
    if (!get) return (methodNotAllowed(res, 'GET'), true);
    return (sendJson(res, 200, await course.dashboard.build(course.broadcastId, cgroupVersion)), true);
  }
  if (sub === '/auth') return (sendJson(res, 200, { ok: true }), true);
  if (await classApi(course).instructorRoute(r, res, path)) return true;
  if (sub === '/session') {
    if (r.method !== 'POST') return (methodNotAllowed(res, 'POST'), true);
    await course.deps.manager.refreshCharged(); // admission by host memory compares with what boxes use now
    const created = course.createInstructorSession(clientAddress(r) ?? 'unknown');
    if (!created.ok) {
      if (created.reason === 'host_memory') {
        const body = { error: 'host_memory', message: created.message, retry: created.retry, retryAfterSec: created.retryAfterSec };
        return (sendJson(res, 503, body, { 'Retry-After': String(created.retryAfterSec) }), true);
      }
      return (sendRefusal(sendJson, res, sessionRefusal(created, course.deps.manager, course.deps.maxPerClient ?? 3)), true);
    }
    const body: CreateSessionResponse = {
      sessionId: created.session.id,
      token: created.token,
      limits: course.deps.manager.limits,
      wsPath: WS_PATH,
      bootId: course.deps.manager.bootId,
    };
    return (sendJson(res, 201, body), true);
  }
  if (sub === '/action') {
    if (r.method !== 'POST') return (methodNotAllowed(res, 'POST'), true);
    const body = await readJson(r);
    if (!body.ok) return (sendJson(res, body.status, { error: body.status === 413 ? 'body_too_large' : 'bad_request' }), true);
    const a = classActionRequest.safeParse(body.value);
    if (!a.success) return (sendJson(res, 400, { error: 'bad_request', message: a.error.issues[0]?.message ?? 'invalid action' }), true);
    const out = await course.act(a.data);
    return (out.ok ? sendJson(res, 200, out) : sendJson(res, out.status, { error: 'bad_request', message: out.message }), true);
  }
  return (sendJson(res, 404, { error: 'not_found' }), true);
}

function methodNotAllowed(res: RouteResponse, allow: string): void {
  sendJson(res, 405, { error: 'method_not_allowed' }, { Allow: allow });
}
