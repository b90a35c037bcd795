// Instructor sign-in: one token (BOXLAB_INSTRUCTOR_TOKEN, else kept in BOXLAB_HOME/instructor-token), compared through
// hashes in constant time; failed attempts are rate-limited (login-limit.ts).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, fchmodSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { INSTRUCTOR_PROTOCOL_PREFIX } from '../protocol/lessons.ts';
import { INSTRUCTOR_TOKEN_RE } from '../protocol/settings.ts';
import { clientAddress, type RouteRequest } from '../sessions/routes.ts';
import { LoginLimiter } from './login-limit.ts';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** 'limited': a token was presented while its address (or everyone) is over the failure budget; it was not compared. */
export type AuthResult = 'ok' | 'missing' | 'bad' | 'limited';

/** A bad token (from the config or the kept file): one line for the operator, exit 2. */
export class TokenError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * The token kept in <home>/instructor-token (mode 0600), made on first use: the dashboard URL survives restarts.
 * A file that holds something else is an error naming the file, never silently replaced.
 */
export function loadInstructorToken(home: string): string {
  const file = join(home, 'instructor-token');
  let text: string | null = null;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new TokenError(`${file}: cannot read it (${(err as NodeJS.ErrnoException).code})`);
  }
  if (text !== null) {
    const t = text.trim();
    if (!INSTRUCTOR_TOKEN_RE.test(t))
      throw new TokenError(`${file}: not an instructor token (16+ characters of A-Z a-z 0-9 _ -); delete it to make a new one`);
    return t;
  }
  const t = randomBytes(24).toString('base64url');
  try {
    mkdirSync(home, { recursive: true });
    // O_EXCL: two servers starting at once do not overwrite each other's token; the loser reads the winner's.
    const fd = openSync(file, 'wx', 0o600);
    try {
      fchmodSync(fd, 0o600);
      writeSync(fd, `${t}\n`);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadInstructorToken(home);
    throw new TokenError(
      `${file}: cannot keep the instructor token there (${(err as NodeJS.ErrnoException).code}); set BOXLAB_HOME or BOXLAB_INSTRUCTOR_TOKEN`,
    );
  }
  return t;
}

export class InstructorAuth {
  readonly token: string;
  private readonly hash: Buffer;

  constructor(
    token?: string,
    readonly logins: LoginLimiter = new LoginLimiter(),
  ) {
    const t = token?.trim() || randomBytes(24).toString('base64url');
    if (!INSTRUCTOR_TOKEN_RE.test(t)) throw new TokenError('BOXLAB_INSTRUCTOR_TOKEN must be at least 16 characters of A-Z a-z 0-9 _ -');
    this.token = t;
    this.hash = digest(t);
  }

  /** Equal-length digests: a wrong guess never tells how much of the token matched. */
  matches(candidate: string | undefined | null): boolean {
    return !!candidate && timingSafeEqual(digest(candidate), this.hash);
  }

  /** A presented token: limited before comparing, a wrong one counted against its address. */
  private attempt(candidate: string | null, addr: string | undefined): AuthResult {
    if (this.logins.retryAfterSec(addr) > 0) return 'limited';
    if (candidate !== null && this.matches(candidate)) return 'ok';
    this.logins.failed(addr);
    return 'bad';
  }

  /** "Authorization: Bearer <token>" of an HTTP request: 'ok', or 'missing' (401) / 'bad' (401) / 'limited' (429). */
  fromRequest(req: Pick<RouteRequest, 'headers' | 'socket'>): AuthResult {
    const h = req.headers.authorization;
    if (!h) return 'missing';
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    return this.attempt(m?.[1] ?? null, clientAddress(req));
  }

  /** The instructor's token among the offered WebSocket subprotocols, if any was offered. */
  fromProtocols(offered: string[], addr?: string): AuthResult {
    const tokens = offered.filter((p) => p.startsWith(INSTRUCTOR_PROTOCOL_PREFIX));
    if (!tokens.length) return 'missing';
    const only = tokens.length === 1 ? tokens[0] : undefined;
    return this.attempt(only === undefined ? null : only.slice(INSTRUCTOR_PROTOCOL_PREFIX.length), addr);
  }
}
