// Boxlab wire protocol v1: constants, zod schemas and parsers shared by the server and the browser (no node imports).
import { z } from 'zod';
import { STAGES } from './box.ts';
import { xrayMsg, xraySubscribeMsg } from './xray.ts';
import { B64URL32_RE, LESSON_CLIENT_TYPES, LESSON_SERVER_TYPES, lessonClientMessages, lessonServerMessages } from './lessons.ts';

export const PROTOCOL_VERSION = 'boxlab.v1';
/** The token travels as a second subprotocol because browsers cannot set headers on a WebSocket. */
export const TOKEN_PROTOCOL_PREFIX = 'boxlab.token.';
export const WS_PATH = '/ws';
/**
 * Offered instead of a token, this subprotocol asks the upgrade itself for a new session (the admission of POST
 * /api/session), answered by a `created` message before hello: a Start without the POST's round trip before the
 * socket (docs/performance.md, click to prompt). A refused upgrade (503, 429, 403) says no more; the client asks the
 * POST then, whose answer explains the refusal.
 */
export const NEW_SESSION_PROTOCOL = 'boxlab.new';
export const API_SESSION_PATH = '/api/session';
export const API_HEALTH_PATH = '/api/health';

export const CLOSE = {
  NORMAL: 1000,
  /** RFC 6455 policy violation: over budget (docs/protocol.md, "Budgets"), or not reading its output. */
  POLICY: 1008,
  TOO_BIG: 1009,
  REPLACED: 4001,
  BAD_MESSAGES: 4400,
  SESSION_GONE: 4404,
  TIMEOUT: 4408,
  SHUTDOWN: 4503,
} as const;
export type CloseCode = (typeof CLOSE)[keyof typeof CLOSE];

export const LIMITS = {
  /** ws maxPayload: anything bigger is closed with 1009 by the ws library itself. */
  maxPayload: 64 * 1024,
  /** Largest keystroke frame; a paste bigger than this must be split by the client. */
  maxInputFrame: 16 * 1024,
  maxBadMessages: 10,
  minRows: 1,
  maxRows: 500,
  minCols: 1,
  maxCols: 1000,
  statsIntervalMs: 1000,
} as const;

/** Watermarks measured in /work/shared/notes/terminal.md: 256K/64K/32K kept Ctrl-C under 10 ms at ~37 MB/s. */
export const FLOW = {
  highWater: 256 * 1024,
  lowWater: 64 * 1024,
  ackEvery: 32 * 1024,
  /** Paused with no ack for this long: assume acks were lost and resume (vscode issue 335982). */
  resyncMs: 5000,
} as const;

export const tokenSchema = z.string().regex(B64URL32_RE, 'token must be 32 bytes of base64url');

// ---- client → server (text frames) ----
const int = () => z.number().int();
export const resizeMsg = z.strictObject({
  type: z.literal('resize'),
  rows: int().min(LIMITS.minRows).max(LIMITS.maxRows),
  cols: int().min(LIMITS.minCols).max(LIMITS.maxCols),
});
export const ackMsg = z.strictObject({ type: z.literal('ack'), bytes: int().positive().max(Number.MAX_SAFE_INTEGER) });
export const resetMsg = z.strictObject({ type: z.literal('reset') });
export const restartMsg = z.strictObject({ type: z.literal('restart') });
export const pingMsg = z.strictObject({ type: z.literal('ping'), t: z.number().finite() });
export const clientMessage = z.discriminatedUnion('type', [
  resizeMsg,
  ackMsg,
  resetMsg,
  restartMsg,
  pingMsg,
  xraySubscribeMsg,
  ...lessonClientMessages,
]);
export type ClientMessage = z.infer<typeof clientMessage>;

// ---- server → client (text frames) ----
export const sessionState = z.enum(['creating', 'running', 'exited', 'full', 'error']);
export type SessionState = z.infer<typeof sessionState>;

export const sessionLimits = z.object({
  memory: z.string(),
  cpuLimit: z.string(),
  pids: int(),
  disk: z.string(),
  lifetimeSec: int(),
  idleSec: int(),
});
export type SessionLimits = z.infer<typeof sessionLimits>;

const nsKind = z.enum(['pid', 'mnt', 'uts', 'ipc', 'net', 'user', 'cgroup', 'time']);
export const stageName = z.enum(STAGES);
export const sandboxErrorInfo = z.object({
  stage: stageName,
  syscall: z.string(),
  errno: int(),
  code: z.string(),
  path: z.string().optional(),
  message: z.string(),
});
export const stageEvent = z.object({
  type: z.literal('stage'),
  stage: stageName,
  role: z.enum(['outer', 'namespaced_parent', 'inner_child']),
  hostPid: int().nullable(),
  boxPid: int().nullable(),
  t: z.number(),
  durationMs: z.number(),
  ok: z.boolean(),
  namespaces: z.partialRecord(nsKind, z.number()).optional(),
  detail: z.string().optional(),
  error: sandboxErrorInfo.optional(),
});
export const sandboxStats = z.object({
  memory: z.object({ current: z.number(), limit: z.number(), oomKills: z.number(), swapCurrent: z.number().optional() }),
  cpu: z.object({ usageUsec: z.number(), quotaFraction: z.number(), nrThrottled: z.number(), throttledUsec: z.number() }),
  pids: z.object({ current: z.number(), max: z.number() }),
  cgroupVersion: z.union([z.literal(1), z.literal(2)]),
});

export const helloMsg = z.object({
  type: z.literal('hello'),
  sessionId: z.string(),
  state: sessionState,
  limits: sessionLimits,
  resumed: z.boolean(),
  cgroupVersion: z.union([z.literal(1), z.literal(2)]),
});
export const stateMsg = z.object({ type: z.literal('state'), state: sessionState });
export const stageMsg = z.object({ type: z.literal('stage'), event: stageEvent });
/** Stage events that happened before this client watched (a warm-pool box's), in one message: a browser handles each
 * WebSocket message as a task of its own, and ~25 of them held the prompt back (docs/performance.md, click to prompt). */
export const stagesMsg = z.object({ type: z.literal('stages'), events: z.array(stageEvent).max(256) });
export const snapshotMsg = z.object({ type: z.literal('snapshot'), data: z.string(), rows: int(), cols: int() });
export const exitMsg = z.object({
  type: z.literal('exit'),
  code: int().nullable(),
  signal: int().nullable(),
  status: int(),
});
export const statsMsg = z.object({ type: z.literal('stats'), stats: sandboxStats });
export const errorCode = z.enum(['bad_message', 'bad_state', 'create_failed', 'expired', 'internal', 'input_refused', 'input_resumed']);
export type ErrorCode = z.infer<typeof errorCode>;
export const errorMsg = z.object({ type: z.literal('error'), code: z.string(), message: z.string() });
export const pongMsg = z.object({ type: z.literal('pong'), t: z.number() });
export const createSessionResponse = z.object({
  sessionId: z.string(),
  token: tokenSchema,
  limits: sessionLimits,
  wsPath: z.literal(WS_PATH),
  /** The server process that made it (SessionManager.bootId); see healthResponse. */
  bootId: z.string().max(64).optional(),
});
export type CreateSessionResponse = z.infer<typeof createSessionResponse>;
/** First message of a socket opened with NEW_SESSION_PROTOCOL: the session it created (POST /api/session's answer). */
export const createdMsg = createSessionResponse.extend({ type: z.literal('created') });
export const serverMessage = z.discriminatedUnion('type', [
  helloMsg,
  stateMsg,
  stageMsg,
  stagesMsg,
  createdMsg,
  snapshotMsg,
  exitMsg,
  statsMsg,
  errorMsg,
  pongMsg,
  xrayMsg,
  ...lessonServerMessages,
]);
export type ServerMessage = z.infer<typeof serverMessage>;

// ---- HTTP ----
/** Why a new box was refused: each has its own words on the page (components/playground/Overlay.tsx). */
export const refusalReason = z.enum([
  /** Every sandbox of the server is in use (BOXLAB_MAX_SESSIONS). */
  'server_full',
  /** This address already has BOXLAB_MAX_PER_CLIENT playground boxes (class members are not counted here). */
  'client_full',
  /** The class has as many learners as its cap. */
  'class_full',
  /** This learner's box is open in another browser or tab. */
  'learner_has_box',
  /** Too many join attempts from this address. */
  'join_rate',
  /** The server is shutting down. */
  'closing',
]);
export type RefusalReason = z.infer<typeof refusalReason>;
export const createSessionRequest = z.strictObject({ name: z.string().max(64).optional() });
/** A refused new box: reason says which limit (server, address, class, learner), message says it in words. */
export const fullResponse = z.object({
  error: z.literal('full'),
  retryAfterSec: int().positive(),
  reason: refusalReason.optional(),
  message: z.string().optional(),
  limit: int().optional(),
});
export type FullResponse = z.infer<typeof fullResponse>;
/** The host cannot back another box's memory limit (admission by host memory): message names the limit and the retry. */
export const hostMemoryResponse = z.object({
  error: z.literal('host_memory'),
  /** What limit was hit, with the figures, then `retry`. */
  message: z.string().max(1000),
  /** The retry hint alone (the end of message): a page with a live countdown shows that instead. */
  retry: z.string().max(200).optional(),
  retryAfterSec: int().positive(),
});
/** Every 503 of POST /api/session. */
export const refusedResponse = z.discriminatedUnion('error', [fullResponse, hostMemoryResponse]);
export type RefusedResponse = z.infer<typeof refusedResponse>;
export const healthResponse = z.object({
  ok: z.boolean(),
  sessions: int(),
  capacity: int(),
  cgroupVersion: z.union([z.literal(1), z.literal(2)]),
  /** Random per server process: differs from a session's bootId after a restart (the session and its box are gone). */
  bootId: z.string().max(64).optional(),
  /** This server's node id in a cluster (BOXLAB_NODE_ID; docs/cluster.md). */
  node: z.string().max(64).optional(),
  /** ready: 200; draining (no new sessions, live ones run out) or full: 503, with this same body. */
  state: z.enum(['ready', 'draining', 'full']).optional(),
});
export type HealthResponse = z.infer<typeof healthResponse>;

export type ParseResult<T> = { ok: true; msg: T } | { ok: false; error: string };

function describe(err: z.ZodError): string {
  const issue = err.issues[0];
  if (!issue) return 'invalid message';
  const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
  return `${where}${issue.message}`;
}

const CLIENT_TYPES = new Set(['resize', 'ack', 'reset', 'restart', 'ping', 'xray', ...LESSON_CLIENT_TYPES]);
const SERVER_TYPES = new Set([
  'hello',
  'state',
  'stage',
  'stages',
  'created',
  'snapshot',
  'exit',
  'stats',
  'error',
  'pong',
  'xray',
  ...LESSON_SERVER_TYPES,
]);

function parseWith<T>(schema: z.ZodType<T>, types: Set<string>, text: string): ParseResult<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: 'not valid JSON' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, error: 'expected a JSON object' };
  const type = (raw as { type?: unknown }).type;
  if (typeof type !== 'string') return { ok: false, error: 'missing "type"' };
  if (!types.has(type)) return { ok: false, error: `unknown message type "${type.slice(0, 32)}"` };
  const r = schema.safeParse(raw);
  return r.success ? { ok: true, msg: r.data } : { ok: false, error: `${type}: ${describe(r.error)}` };
}

/** Validates one client text frame. Never throws. */
export function parseClientMessage(text: string): ParseResult<ClientMessage> {
  return parseWith(clientMessage, CLIENT_TYPES, text);
}

/** Validates one server text frame (used by the browser client). Never throws. */
export function parseServerMessage(text: string): ParseResult<ServerMessage> {
  return parseWith(serverMessage, SERVER_TYPES, text);
}

/** Subprotocol list a client offers: the version plus the token. */
export function clientProtocols(token: string): string[] {
  return [PROTOCOL_VERSION, TOKEN_PROTOCOL_PREFIX + token];
}
