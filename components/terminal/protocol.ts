// Browser-side adapter over the shared wire protocol (server/protocol/messages.ts): names the client code uses.
import {
  CLOSE as WIRE_CLOSE,
  FLOW,
  LIMITS,
  NEW_SESSION_PROTOCOL,
  PROTOCOL_VERSION,
  TOKEN_PROTOCOL_PREFIX as TOKEN_PREFIX,
  WS_PATH,
  parseServerMessage as parseWire,
  type ClientMessage,
  type CreateSessionResponse,
  type ServerMessage,
  type SessionLimits,
  type SessionState,
} from '../../server/protocol/messages';
import type { ExitInfo, SandboxStats, StageEvent } from '../../server/protocol/box';

export type { ClientMessage, ExitInfo, SandboxStats, ServerMessage, SessionState, StageEvent };
export type Limits = SessionLimits;
export type SessionCreated = CreateSessionResponse;

export const SUBPROTOCOL = PROTOCOL_VERSION;
/** Offered instead of a token: the socket's upgrade makes the session (a `created` message before hello). */
export const NEW_SESSION = NEW_SESSION_PROTOCOL;
export const DEFAULT_WS_PATH = WS_PATH;
export const TOKEN_PROTOCOL_PREFIX = TOKEN_PREFIX;
/** Ack every this many bytes parsed by xterm; the server pauses the pty at FLOW.highWater unacked. */
export const ACK_EVERY = FLOW.ackEvery;
/** Keystroke/paste frames are split to stay under the server's input frame limit. */
export const MAX_INPUT_FRAME = LIMITS.maxInputFrame;

export const CLOSE = {
  normal: WIRE_CLOSE.NORMAL,
  replaced: WIRE_CLOSE.REPLACED,
  badMessages: WIRE_CLOSE.BAD_MESSAGES,
  gone: WIRE_CLOSE.SESSION_GONE,
  idle: WIRE_CLOSE.TIMEOUT,
  shutdown: WIRE_CLOSE.SHUTDOWN,
} as const;

/** Validated with the shared zod schemas; anything malformed is dropped rather than half-handled. */
export function parseServerMessage(text: string): ServerMessage | null {
  const r = parseWire(text);
  return r.ok ? r.msg : null;
}
