// Instructor sign-in: one token (BOXLAB_INSTRUCTOR_TOKEN or random at start), compared through hashes in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RouteRequest } from '../sessions/routes.ts';
import { INSTRUCTOR_PROTOCOL_PREFIX } from '../protocol/lessons.ts';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export class InstructorAuth {
  readonly token: string;
  private readonly hash: Buffer;

  constructor(token?: string) {
    const t = token?.trim() || randomBytes(24).toString('base64url');
    if (t.length < 16 || !/^[A-Za-z0-9_-]+$/.test(t)) {
      throw new Error('BOXLAB_INSTRUCTOR_TOKEN must be at least 16 characters of A-Z a-z 0-9 _ -');
    }
    this.token = t;
    this.hash = digest(t);
  }

  /** Equal-length digests: a wrong guess never tells how much of the token matched. */
  matches(candidate: string | undefined | null): boolean {
    return !!candidate && timingSafeEqual(digest(candidate), this.hash);
  }

  /** "Authorization: Bearer <token>" of an HTTP request: 'ok', or 'missing' (401) / 'bad' (401). */
  fromRequest(req: Pick<RouteRequest, 'headers'>): 'ok' | 'missing' | 'bad' {
    const h = req.headers.authorization;
    if (!h) return 'missing';
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    return m && this.matches(m[1]) ? 'ok' : 'bad';
  }

  /** The instructor's token among the offered WebSocket subprotocols, if any was offered. */
  fromProtocols(offered: string[]): 'ok' | 'missing' | 'bad' {
    const tokens = offered.filter((p) => p.startsWith(INSTRUCTOR_PROTOCOL_PREFIX));
    if (!tokens.length) return 'missing';
    return tokens.length === 1 && this.matches(tokens[0]!.slice(INSTRUCTOR_PROTOCOL_PREFIX.length)) ? 'ok' : 'bad';
  }
}
