// Lessons and classroom part of wire protocol v1: lesson content types, new WebSocket messages (zod) and HTTP shapes; no node imports.
import { z } from 'zod';

export const API_LESSONS_PATH = '/api/lessons';
export const API_PROGRESS_PATH = '/api/progress';
export const API_CLASSROOM_PATH = '/api/classroom';
export const WATCH_PATH = '/ws/watch';
/** Learner id travels in this header on progress requests (a long-lived random token kept in localStorage). */
export const LEARNER_HEADER = 'x-boxlab-learner';
/** Instructors open a watch socket with this subprotocol prefix + their token (browsers cannot set headers there). */
export const INSTRUCTOR_PROTOCOL_PREFIX = 'boxlab.instructor.';
// What an instructor token may be is in settings.ts (INSTRUCTOR_TOKEN_RE, with BOXLAB_INSTRUCTOR_TOKEN): the settings
// parser must not load this file's zod schemas (83 ms of `boxlab run`'s start on a quiet machine).

export const SLUG_RE = /^[a-z0-9][a-z0-9-]{0,63}$/;
export const slugSchema = z.string().regex(SLUG_RE, 'slug must be lowercase letters, digits and dashes');
/** 32 random bytes (or a SHA-256) in base64url, no padding: session tokens, learner ids and the keys stored for them. */
export const B64URL32_RE = /^[A-Za-z0-9_-]{43}$/;
const learnerToken = z.string().regex(B64URL32_RE, 'learner id must be 32 bytes of base64url');
export const learnerNameSchema = z.string().trim().max(64);

// ---- lesson content (built by server/lessons from mdast, rendered by components/lessons with React elements) ----
export type Inline =
  | { t: 'text'; v: string }
  | { t: 'code'; v: string }
  | { t: 'strong' | 'em' | 'del'; c: Inline[] }
  /** Only http(s)://, /path or #anchor. */
  | { t: 'link'; c: Inline[]; href: string }
  /** A link to another lesson (`lesson:<slug>` in the file). */
  | { t: 'lesson'; c: Inline[]; slug: string }
  /** An image of the lesson's pack, served by GET /api/lessons/<slug>/files/<path>. */
  | { t: 'img'; src: string; alt: string }
  | { t: 'br' };
export type Block =
  | { t: 'p'; c: Inline[] }
  | { t: 'h'; level: 2 | 3 | 4; c: Inline[] }
  | { t: 'ul' | 'ol'; start?: number; items: Block[][] }
  | { t: 'code'; v: string; lang?: string }
  /** Commands the learner clicks to type (and run) them in the terminal, one per line. */
  | { t: 'cmd'; v: string[] }
  | { t: 'quote'; blocks: Block[] }
  | { t: 'table'; align: ('left' | 'center' | 'right' | null)[]; head: Inline[][]; rows: Inline[][][] }
  | { t: 'hr' }
  /** Shown only on hosts of this cgroup version (1: v1 or hybrid, 2: pure v2). */
  | { t: 'only'; cgroup: 1 | 2; blocks: Block[] };

/** The pack a lesson comes from: the built-in course (id "boxlab") or a folder given with --lessons. */
export interface PackInfo {
  id: string;
  title: string;
  order: number;
  builtin: boolean;
}

/** A lesson's box settings as the browser shows them ("memory 64M"): the display text of the typed BoxSettings
 * (protocol/settings.ts), made by server/lessons/settings.ts boxSettingsText. */
export interface SandboxSettings {
  /** A server image by name (a pack's manifest may ask for one, e.g. debian). */
  image?: string;
  memory?: string;
  cpuLimit?: string;
  pids?: number;
  /** Lab mode (docs/lab-mode.md): nested namespaces, mount and pivot_root in the box. Dropped when the server's
   * BOXLAB_LAB is off. */
  lab?: boolean;
}

export interface LessonStep {
  index: number;
  title: string;
  body: Block[];
  /** Progressive hints: the learner reveals them one at a time. */
  hints: Block[][];
  /** Commands that solve the step (revealed on request, clickable). */
  solution: string[];
  /** One line saying what the server checks. */
  check: { type: string; summary: string };
}

export interface LessonSummary {
  slug: string;
  pack: PackInfo;
  title: string;
  summary: string;
  order: number;
  prerequisites: string[];
  /** What the host must offer (front matter `needs`): on a host without it the lesson is shown but not provable. */
  needs?: 'cgroup-v2'[];
  sandbox: SandboxSettings;
  stepTitles: string[];
}

export interface Lesson extends LessonSummary {
  intro: Block[];
  steps: LessonStep[];
  outro: Block[];
}

export interface LessonListResponse {
  cgroupVersion: 1 | 2;
  lessons: LessonSummary[];
}
export interface LessonResponse {
  cgroupVersion: 1 | 2;
  lesson: Lesson;
}
export interface LessonProgress {
  steps: number[];
  done: boolean;
  updatedAt: number;
}
export interface ProgressResponse {
  progress: Record<string, LessonProgress>;
}

// ---- client → server (text frames on the session socket) ----
/** Where the learner is; (re)sent after every hello. slug null: not in a lesson. Starts the checks of that step. */
export const lessonMsg = z.strictObject({
  type: z.literal('lesson'),
  slug: slugSchema.nullable(),
  step: z.number().int().min(0).max(63),
  learner: learnerToken.optional(),
  name: learnerNameSchema.optional(),
});
export type LessonMsg = z.infer<typeof lessonMsg>;
export const lessonClientMessages = [lessonMsg] as const;
export const LESSON_CLIENT_TYPES = ['lesson'] as const;

// ---- server → client ----
/** A check result: sent when it changes, and once when a step starts. passed: recorded in the learner's progress. */
export const checkMsg = z.object({
  type: z.literal('check'),
  slug: z.string(),
  step: z.number().int(),
  ok: z.boolean(),
  passed: z.boolean(),
  message: z.string(),
  lessonDone: z.boolean(),
  /** How long the check took on the server. */
  ms: z.number(),
});
/** The instructor started (active) or stopped broadcasting; learners may follow it on the watch socket. */
export const broadcastMsg = z.object({ type: z.literal('broadcast'), active: z.boolean(), name: z.string().optional() });
/** The instructor moves everyone to a lesson. */
export const gotoMsg = z.object({ type: z.literal('goto'), slug: slugSchema });
/** The instructor ended the class: the sandbox is torn down right after this message. */
export const classEndedMsg = z.object({ type: z.literal('class_ended'), message: z.string() });
/** The instructor reset this learner's box (alone or with everyone): sent just before the box is rebuilt. */
export const classResetMsg = z.object({ type: z.literal('class_reset'), message: z.string() });
/** First frame of a watch socket (spectate / follow): whose terminal this is, read-only. */
export const watchMsg = z.object({
  type: z.literal('watch'),
  sessionId: z.string(),
  name: z.string(),
  kind: z.enum(['spectate', 'broadcast']),
  state: z.string(),
});
/** The watched terminal's size changed (the viewer resizes its read-only terminal to match). */
export const viewportMsg = z.object({ type: z.literal('viewport'), rows: z.number().int(), cols: z.number().int() });
export const lessonServerMessages = [checkMsg, broadcastMsg, gotoMsg, classEndedMsg, classResetMsg, watchMsg, viewportMsg] as const;
export const LESSON_SERVER_TYPES = ['check', 'broadcast', 'goto', 'class_ended', 'class_reset', 'watch', 'viewport'] as const;
export type CheckMsg = z.infer<typeof checkMsg>;
export type WatchMsg = z.infer<typeof watchMsg>;

// ---- classroom HTTP (instructor: Authorization: Bearer <token>) ----
export const classActionRequest = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('reset'), sessionId: z.string().max(64) }),
  z.strictObject({ action: z.literal('reset_all') }),
  z.strictObject({ action: z.literal('goto'), slug: slugSchema }),
  z.strictObject({ action: z.literal('end') }),
  z.strictObject({ action: z.literal('broadcast'), sessionId: z.string().max(64).nullable() }),
]);
export type ClassAction = z.infer<typeof classActionRequest>;

export interface DashboardStats {
  memory: { current: number; limit: number; oomKills: number };
  cpu: { usageUsec: number; quotaFraction: number; nrThrottled: number; cpuPercent: number | null };
  pids: { current: number; max: number };
}

export interface DashboardSession {
  sessionId: string;
  name: string;
  instructor: boolean;
  state: string;
  attached: boolean;
  lesson: { slug: string; title: string; step: number; steps: number; stepTitle: string } | null;
  /** Seconds on the current step without passing it (null when not in a lesson, 0 once passed). */
  stuckSec: number | null;
  check: { ok: boolean; message: string } | null;
  stats: DashboardStats | null;
  idleSec: number;
  ageSec: number;
  lessonsDone: number;
}

export interface DashboardResponse {
  cgroupVersion: 1 | 2;
  broadcast: string | null;
  sessions: DashboardSession[];
  /** Per check type: runs, mean and p95 duration in ms (what checks cost the server). */
  checkCost: Record<string, { runs: number; meanMs: number; p95Ms: number }>;
}
