// HTTP of classes: the public join (rate-limited per address) and the instructor's class routes (create, roster, QR, CSV, end).
import QRCode from 'qrcode';
import {
  API_CLASSES_PATH,
  API_JOIN_PATH,
  CLASS_HEADER,
  joinRequest,
  normalizeCode,
  type ClassDetail,
  type JoinInfoResponse,
  type JoinResponse,
} from '../protocol/classes.ts';
import { WS_PATH } from '../protocol/messages.ts';
import { addressKey, BudgetBook, TokenBucket, type Rate } from '../sessions/budget.ts';
import { clientAddress } from '../sessions/routes.ts';
import type { ClassRow } from './class-store.ts';
import { refusal, type Classes, type Refusal } from './classes.ts';

/**
 * Join attempts per address (IPv6: per /64). A room behind one NAT joins at once (30 learners, a few retries each:
 * the burst); then one attempt per 2 s. A wrong code costs WRONG_COST attempts: guessing one of 31^6 codes at that
 * pace takes years.
 */
export const JOIN_RATE: Rate = { perSec: 0.5, burst: 90 };
const WRONG_COST = 5;

class JoinBudget {
  readonly bucket = new TokenBucket(JOIN_RATE);
  get recovered(): boolean {
    return this.bucket.level >= JOIN_RATE.burst;
  }
}

/**
 * What the class routes read of a request and do to a response: node's IncomingMessage/ServerResponse fit, and so do
 * plain route shapes (this file needs no node:http; the transport stays in the web layer).
 */
export interface ClassRequest {
  readonly method?: string;
  readonly headers: { readonly host?: string; readonly [name: string]: string | string[] | undefined };
  readonly socket: { readonly remoteAddress?: string };
}
export interface ClassResponse {
  writeHead(status: number, headers?: Record<string, string>): unknown;
  end(body?: string): unknown;
}
type IncomingMessage = ClassRequest;
type ServerResponse = ClassResponse;

export interface ClassApiDeps {
  classes: Classes;
  store: () => { getClass(id: string): Promise<ClassRow | undefined>; openClassByCode(code: string): Promise<ClassRow | undefined> };
  manager: { limits: unknown; bootId: string };
  // Method syntax: the server's own send/readJson take node's objects, which these shapes are views of.
  send(res: ServerResponse, status: number, body: unknown, extra?: Record<string, string>): void;
  readJson(r: IncomingMessage): Promise<{ ok: true; value: unknown } | { ok: false; status: 400 | 413 }>;
  /** Headers every answer carries (web/static.ts SECURITY_HEADERS), for the CSV, which is not JSON. */
  securityHeaders: Record<string, string>;
}

export function sendRefusal(send: ClassApiDeps['send'], res: ServerResponse, r: Refusal): void {
  const { ok: _ok, status, ...body } = r;
  send(res, status, body, r.retryAfterSec ? { 'Retry-After': String(r.retryAfterSec) } : {});
}

export class ClassApi {
  private readonly budgets = new BudgetBook(() => new JoinBudget());
  constructor(private readonly deps: ClassApiDeps) {}

  /** Charges one attempt to the address; a refusal when it is over budget. */
  private charge(r: IncomingMessage, cost = 1): Refusal | null {
    const b = this.budgets.peek(addressKey(clientAddress(r))).budget.bucket;
    const wait = b.waitFor(cost);
    if (wait > 0) return refusal('join_rate', Math.ceil(wait / 1000));
    b.take(cost);
    return null;
  }

  /** The public routes: GET /api/join/<code> (the class's name) and POST /api/join. False: not ours. */
  async publicRoute(r: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
    if (path.startsWith(`${API_JOIN_PATH}/`)) await this.joinInfo(r, res, path);
    else if (path === API_JOIN_PATH) await this.join(r, res);
    else return false;
    return true;
  }

  private async joinInfo(r: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const { send } = this.deps;
    if (r.method !== 'GET') {
      send(res, 405, { error: 'method_not_allowed' }, { Allow: 'GET' });
      return;
    }
    const limited = this.charge(r);
    if (limited) {
      sendRefusal(send, res, limited);
      return;
    }
    let code: string | null = null;
    try {
      code = normalizeCode(decodeURIComponent(path.slice(API_JOIN_PATH.length + 1)));
    } catch {
      /* a malformed %-escape is no code */
    }
    const cls = code ? await this.deps.store().openClassByCode(code) : undefined;
    if (!cls) {
      this.charge(r, WRONG_COST - 1);
      send(res, 404, { error: 'not_found', message: 'No open class has this code. Check it with your instructor.' });
      return;
    }
    const body: JoinInfoResponse = { code: cls.code, name: cls.name, open: true };
    send(res, 200, body, { [CLASS_HEADER]: cls.code });
  }

  private async join(r: IncomingMessage, res: ServerResponse): Promise<void> {
    const { send } = this.deps;
    if (r.method !== 'POST') {
      send(res, 405, { error: 'method_not_allowed' }, { Allow: 'POST' });
      return;
    }
    const limited = this.charge(r);
    if (limited) {
      sendRefusal(send, res, limited);
      return;
    }
    const body = await this.deps.readJson(r);
    if (!body.ok) {
      send(res, body.status, { error: body.status === 413 ? 'body_too_large' : 'bad_request' });
      return;
    }
    const p = joinRequest.safeParse(body.value);
    if (!p.success) {
      send(res, 400, { error: 'bad_request', message: p.error.issues[0]?.message ?? 'invalid join' });
      return;
    }
    const j = await this.deps.classes.join(p.data, clientAddress(r) ?? 'unknown');
    if (!j.ok) {
      if (j.status === 404) this.charge(r, WRONG_COST - 1);
      sendRefusal(send, res, j);
      return;
    }
    const limits = { ...(this.deps.manager.limits as object), ...j.cls.limits };
    const out: JoinResponse & { wsPath: string; sessionId: string; token: string; limits: unknown; bootId: string } = {
      classId: j.cls.id,
      className: j.cls.name,
      code: j.cls.code,
      memberId: j.member.id,
      name: j.member.name,
      resume: j.resume ?? '',
      resumed: j.resume === null,
      lessons: j.cls.lessons,
      session: { sessionId: j.session.id, token: j.token, wsPath: WS_PATH, limits, bootId: this.deps.manager.bootId },
      // The same fields at the top: the page's session client reads a join like POST /api/session.
      sessionId: j.session.id,
      token: j.token,
      wsPath: WS_PATH,
      limits,
      bootId: this.deps.manager.bootId,
    };
    send(res, 201, out, { [CLASS_HEADER]: j.cls.code });
  }

  /** Instructor routes under /api/classroom/classes (the caller has checked the token). */
  async instructorRoute(r: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
    if (path !== API_CLASSES_PATH && !path.startsWith(`${API_CLASSES_PATH}/`)) return false;
    await this.classRoute(r, res, path);
    return true;
  }

  private async classRoute(r: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const { send } = this.deps;
    const get = r.method === 'GET' || r.method === 'HEAD';
    if (path === API_CLASSES_PATH) {
      if (get) {
        send(res, 200, await this.deps.classes.list());
        return;
      }
      if (r.method !== 'POST') {
        send(res, 405, { error: 'method_not_allowed' }, { Allow: 'GET, POST' });
        return;
      }
      const body = await this.deps.readJson(r);
      if (!body.ok) {
        send(res, body.status, { error: body.status === 413 ? 'body_too_large' : 'bad_request' });
        return;
      }
      const c = await this.deps.classes.create(body.value);
      if (!c.ok) {
        sendRefusal(send, res, c);
        return;
      }
      send(res, 201, await this.detail(r, c.cls), { [CLASS_HEADER]: c.cls.code });
      return;
    }
    const m = /^\/([0-9a-f]{16})(\/end|\/cap|\/export\.csv)?$/.exec(path.slice(API_CLASSES_PATH.length));
    const cls = m?.[1] ? await this.deps.store().getClass(m[1]) : undefined;
    if (!m || !cls) {
      send(res, 404, { error: 'not_found', message: 'no such class' });
      return;
    }
    if (!m[2]) {
      if (!get) {
        send(res, 405, { error: 'method_not_allowed' }, { Allow: 'GET' });
        return;
      }
      send(res, 200, await this.detail(r, cls));
      return;
    }
    if (m[2] === '/cap') {
      if (r.method !== 'POST') {
        send(res, 405, { error: 'method_not_allowed' }, { Allow: 'POST' });
        return;
      }
      const body = await this.deps.readJson(r);
      if (!body.ok) {
        send(res, body.status, { error: body.status === 413 ? 'body_too_large' : 'bad_request' });
        return;
      }
      const out = await this.deps.classes.setCap(cls.id, body.value);
      if (out.ok) send(res, 200, out);
      else sendRefusal(send, res, out);
      return;
    }
    if (m[2] === '/end') {
      if (r.method !== 'POST') {
        send(res, 405, { error: 'method_not_allowed' }, { Allow: 'POST' });
        return;
      }
      const out = await this.deps.classes.end(cls.id);
      out.ok ? send(res, 200, out) : sendRefusal(send, res, out);
      return;
    }
    if (!get) {
      send(res, 405, { error: 'method_not_allowed' }, { Allow: 'GET' });
      return;
    }
    const csv = await this.deps.classes.csv(cls);
    const file = `${cls.name.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 40) || 'class'}-${cls.code}.csv`;
    res.writeHead(200, {
      ...this.deps.securityHeaders,
      'Content-Type': 'text/csv; charset=utf-8',
      'Cache-Control': 'no-store',
      'Content-Disposition': `attachment; filename="${file}"`,
      'Content-Length': String(Buffer.byteLength(csv)),
    });
    res.end(r.method === 'HEAD' ? undefined : csv);
  }

  private async detail(r: IncomingMessage, cls: ClassRow): Promise<ClassDetail> {
    const link = joinLink(r, cls.code);
    const qrSvg = await QRCode.toString(link, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
    return { ...(await this.deps.classes.summary(cls)), link, qrSvg, roster: await this.deps.classes.roster(cls) };
  }
}

/** The join link as learners reach this server: the Host the instructor used (checked by web/hosts.ts), over TLS if this is. */
export function joinLink(r: IncomingMessage, code: string): string {
  // A TLS socket (node's TLSSocket) says so; the page's scheme follows it.
  const tls = (r.socket as { encrypted?: boolean }).encrypted === true;
  return `${tls ? 'https' : 'http'}://${r.headers.host ?? 'localhost'}/join?code=${code}`;
}
