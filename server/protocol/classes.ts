// Classes part of wire protocol v1: join codes, display names, the class and join HTTP shapes, and typed refusals; no node imports.
import { z } from 'zod';
import { SLUG_RE } from './lessons.ts';
import { refusalReason, type RefusalReason } from './messages.ts';

export const API_JOIN_PATH = '/api/join';
export const API_CLASSES_PATH = '/api/classroom/classes';
/** A class member's progress (GET /api/progress) is asked for with their resume code in this header. */
export const RESUME_HEADER = 'x-boxlab-resume';
/**
 * Answers that name an open class of this server carry its code here: a balancer learns which node holds the class
 * (HAProxy `stick store-response`, docs/cluster.md) and sends the class's joins there.
 */
export const CLASS_HEADER = 'x-boxlab-class';

/**
 * Join codes: read aloud and typed by a room, so no 0/O, 1/I/L look-alikes (Crockford's base32 idea, 31 symbols).
 * 31^6 ≈ 8.9e8 codes; with the join rate limit per address (class-api.ts) guessing one takes months.
 */
export const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
export const CODE_LENGTH = 6;
/** Resume codes identify one learner across browsers: 10 symbols (≈ 50 bits), shown as XXXXX-XXXXX. */
export const RESUME_LENGTH = 10;

/** Upper-cases and drops spaces and dashes people type ("abc 234" → "ABC234"); null when not a code. */
export function normalizeCode(raw: string, length = CODE_LENGTH): string | null {
  const c = raw.toUpperCase().replace(/[\s-]/g, '');
  if (c.length !== length) return null;
  for (const ch of c) if (!CODE_ALPHABET.includes(ch)) return null;
  return c;
}
export const formatResume = (c: string): string => `${c.slice(0, 5)}-${c.slice(5)}`;

export const NAME_MAX = 40;
/**
 * A display name as the instructor will read it: NFC, whitespace runs collapsed, no control or format characters
 * (C0/C1 controls, bidi overrides and zero-width characters, Unicode categories Cc/Cf: they reorder or hide text on
 * the dashboard, CVE-2021-42574 "Trojan Source"), 1..40 characters. Returns the clean name or why it is refused.
 */
export function cleanName(raw: string, max = NAME_MAX): { ok: true; name: string } | { ok: false; message: string } {
  if (/[\p{Cc}\p{Cf}\p{Co}\p{Cs}\u2028\u2029]/u.test(raw.replace(/[ \t]/g, ' '))) {
    return { ok: false, message: 'a name cannot contain control or invisible characters' };
  }
  const name = raw.normalize('NFC').replace(/\s+/gu, ' ').trim();
  if (!name) return { ok: false, message: 'enter a name' };
  if ([...name].length > max) return { ok: false, message: `a name has at most ${max} characters` };
  return { ok: true, name };
}

/** Box limits of a class, as typed by the instructor ("128M", "0.5", 64). */
export const classLimitsInput = z.strictObject({
  memory: z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?[KMGkmg]?$/, 'memory is a size like 128M or 1G')
    .optional(),
  cpus: z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/, 'cpus is a fraction of a core like 0.5')
    .optional(),
  pids: z.number().int().min(8).max(1_000_000).optional(),
});
export type ClassLimitsInput = z.infer<typeof classLimitsInput>;

export const createClassRequest = z.strictObject({
  name: z.string().trim().min(1, 'a class needs a name').max(80),
  lessons: z.array(z.string().regex(SLUG_RE, 'a lesson id is lowercase letters, digits and dashes')).max(64).default([]),
  limits: classLimitsInput.default({}),
  cap: z.number().int().min(1).max(1000).default(30),
});
export type CreateClassRequest = z.input<typeof createClassRequest>;
export const classCapRequest = z.strictObject({ cap: z.number().int().min(1).max(1000) });

/** Join by code and name, resume by code + name + resume code, or by the resume code alone. */
export const joinRequest = z
  .strictObject({
    code: z.string().max(32).optional(),
    name: z.string().max(200).optional(),
    resume: z.string().max(32).optional(),
  })
  .refine(
    (b) => b.resume !== undefined || (b.code !== undefined && b.name !== undefined),
    'give the class code and your name, or your resume code',
  );
export type JoinRequest = z.infer<typeof joinRequest>;

/** The limits a class's boxes get (after parsing; memory in the project's size grammar, cpus as a fraction). */
export interface ClassLimits {
  memory: string;
  cpuLimit: string;
  pids: number;
}

export interface ClassSummary {
  id: string;
  code: string;
  name: string;
  lessons: string[];
  limits: ClassLimits;
  cap: number;
  createdAt: number;
  endedAt: number | null;
  members: number;
  online: number;
}

export interface RosterStep {
  slug: string;
  step: number;
  openedAt: number | null;
  passedAt: number | null;
}
export interface RosterEntry {
  memberId: string;
  name: string;
  joinedAt: number;
  seenAt: number;
  /** Live session of this learner (null: no box right now). */
  sessionId: string | null;
  steps: RosterStep[];
}
export interface ClassDetail extends ClassSummary {
  /** The join link (from the request's Host) and its QR code as an SVG document. */
  link: string;
  qrSvg: string;
  roster: RosterEntry[];
}
export interface ClassListResponse {
  active: ClassSummary[];
  archived: ClassSummary[];
}

export interface JoinInfoResponse {
  code: string;
  name: string;
  open: boolean;
}

export { refusalReason, type RefusalReason };
export const refusalResponse = z.object({
  error: z.literal('full'),
  reason: refusalReason,
  message: z.string(),
  retryAfterSec: z.number().int().positive(),
  /** The limit that was hit (sessions, per address, class cap), when there is one. */
  limit: z.number().int().optional(),
});
export type RefusalResponse = z.infer<typeof refusalResponse>;

export interface JoinResponse {
  classId: string;
  className: string;
  code: string;
  memberId: string;
  name: string;
  /** Shown once at join: with it (alone, or with the class code and name) a learner gets their progress back elsewhere. */
  resume: string;
  resumed: boolean;
  lessons: string[];
  session: { sessionId: string; token: string; wsPath: string; limits: unknown; bootId?: string };
}
