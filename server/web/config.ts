// Web server configuration from environment variables and command-line flags (flags win), validated with clear errors.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SessionLimits } from '../protocol/messages.ts';
import type { Rate } from '../sessions/budget.ts';
import type { ConnectionLimits } from './gate.ts';
import { parseHost } from './hosts.ts';
import { INSTRUCTOR_TOKEN_RE } from '../protocol/lessons.ts';

/**
 * What one client may cost the others (docs/protocol.md, "Budgets"). Per session is the main tool; per address is
 * generous because a classroom behind one NAT is one address (30 learners, each a WebSocket plus up to 6 HTTP
 * connections of its browser: ~210 connections, ~210 attempts when all reload at once).
 */
export interface FairnessLimits {
  /**
   * Frames a session's client sends (kept across reconnects). People type ~10 keys/s, xterm reports mouse moves at
   * up to ~100/s; an ack of a full 32 KiB costs a tenth of a message (socket.ts ACK_COST): 2000 acks/s, 64 MB/s of output.
   */
  session: { messages: Rate; bytes: Rate };
  /** All sockets of one address together (IPv6: one /64). */
  address: { messages: Rate; bytes: Rate };
  /** Socket attaches per session (each costs a screen snapshot): over budget delayed up to attachMaxDelayMs, then 429. */
  attach: Rate;
  attachMaxDelayMs: number;
  /** Slowed without a break this long, or in debt deeper than maxDebtMs: closed with 1008. */
  closeAfterMs: number;
  maxDebtMs: number;
  connections: ConnectionLimits;
  /** Request headers (also of an upgrade) must arrive within this; a silent connection is closed after it. */
  headersTimeoutMs: number;
  /** A whole request, body included. */
  requestTimeoutMs: number;
  /** After the upgrade request: a refused handshake's socket is cut this long after its answer if the peer stays. */
  handshakeMs: number;
  /** How often Node checks the two timeouts above. */
  timeoutCheckMs: number;
}

export const FAIRNESS: FairnessLimits = {
  session: { messages: { perSec: 200, burst: 600 }, bytes: { perSec: 1024 * 1024, burst: 2 * 1024 * 1024 } },
  address: { messages: { perSec: 2000, burst: 6000 }, bytes: { perSec: 10 * 1024 * 1024, burst: 20 * 1024 * 1024 } },
  // A snapshot of 1000 lines of scrollback blocks the event loop for 10-55 ms on a busy machine (measured, 2 vCPUs).
  attach: { perSec: 0.5, burst: 5 },
  attachMaxDelayMs: 2000,
  closeAfterMs: 10_000,
  maxDebtMs: 2000,
  // A burst is served in one go (measured: ~0.5 ms of the event loop per request on a busy machine), so it stays
  // small; a room reloading at once (~210 attempts) waits up to ~1.1 s, a flood beyond 2 s of debt gets 429.
  connections: { attempts: { perSec: 100, burst: 100 }, maxDelayMs: 2000, maxOpenPerAddress: 400 },
  headersTimeoutMs: 5000,
  requestTimeoutMs: 10_000,
  handshakeMs: 5000,
  timeoutCheckMs: 1000,
};

export interface ServerConfig {
  port: number;
  host: string;
  memory: string;
  cpuLimit: string;
  pids: number;
  disk: string;
  shm: string;
  lifetimeSec: number;
  idleSec: number;
  graceSec: number;
  maxSessions: number;
  maxPerClient: number;
  /** Image directory; undefined means server/rootfs defaultImagePath(). */
  imagePath?: string;
  shell: string;
  shellArgs: string[];
  /** Extra origins allowed to open the WebSocket besides the Host's own. */
  allowedOrigins: string[];
  /** Host names served besides localhost, 127.0.0.1, [::1] and the bound addresses (`name` or `name:port`). */
  allowedHosts: string[];
  staticDir: string;
  /** Lab mode for the lessons that ask for it (docs/lab-mode.md); BOXLAB_LAB=off turns it off server-wide. */
  lab: boolean;
  /** Lesson pack folders served beside the built-in course (`--lessons DIR`, repeatable; BOXLAB_LESSONS=dir1:dir2). */
  lessonDirs: string[];
  /** Keystroke bytes that may wait per session for a box that does not read its terminal; more is refused. */
  inputQueueBytes: number;
  /**
   * Admission by host memory (server/sessions/admission.ts): new boxes are refused once the memory limits of all boxes
   * would pass this many times what the host can back (MemAvailable + memory boxes use now). 1 = never promise
   * more than the host has; 0 (`off`) turns the check off.
   */
  memoryOvercommit: number;
  /** HTTPS (server/web/tls.ts): off, self-signed (made with openssl, kept in BOXLAB_HOME/tls), or files (set by --tls-cert/--tls-key). */
  tls: 'off' | 'self-signed' | 'files';
  /** PEM certificate chain and private key files; giving both means tls 'files'. */
  tlsCert?: string;
  tlsKey?: string;
  /** The instructor's token; undefined: the one kept in BOXLAB_HOME/instructor-token (made on first start). */
  instructorToken?: string;
  /** Budgets and timeouts (FAIRNESS); not from env or flags. */
  fairness: FairnessLimits;
}

/** Input flow defaults live with the input flow (sessions layer, below web). */
export { INPUT_FLOW } from '../sessions/input-flow.ts';

/** A bad setting: `boxlab serve` prints its one line and exits 2 (server/cli/main.ts). */
export class ConfigError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** name → [env var, flag, parser]. */
type Parser = (v: string, what: string) => unknown;
const SIZE_RE = /^\d+(\.\d+)?[KMGkmg]?$/;
const size: Parser = (v, what) => {
  if (!SIZE_RE.test(v)) throw new ConfigError(`${what}: "${v}" is not a size like 256M or 1G`);
  return v.toUpperCase();
};
const intIn = (min: number, max: number): Parser => (v, what) => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) throw new ConfigError(`${what}: "${v}" must be an integer in ${min}..${max}`);
  return n;
};
const cpu: Parser = (v, what) => {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || !(n > 0) || n > 64) throw new ConfigError(`${what}: "${v}" must be a fraction of a core like 0.5`);
  return v;
};
const str: Parser = (v) => v;
const bytesIn = (min: number, max: number): Parser => (v, what) => {
  const m = /^(\d+)([KMkm]?)$/.exec(v);
  const n = m ? Number(m[1]) * ({ '': 1, K: 1024, M: 1024 * 1024 } as const)[m[2]!.toUpperCase() as '' | 'K' | 'M'] : NaN;
  if (!(n >= min && n <= max)) throw new ConfigError(`${what}: "${v}" must be a size from ${min / 1024}K to ${max / 1024 / 1024}M`);
  return n;
};
const hosts: Parser = (v, what) => {
  const out = list(v, what) as string[];
  for (const h of out) if (!parseHost(h)) throw new ConfigError(`${what}: "${h}" is not a host name, address or name:port`);
  return out;
};
const list: Parser = (v) => v.split(',').map((s) => s.trim()).filter(Boolean);
const words: Parser = (v) => v.split(' ').filter(Boolean);
const origins: Parser = (v, what) => {
  const out = list(v, what) as string[];
  for (const o of out) {
    let u: URL;
    try {
      u = new URL(o);
    } catch {
      throw new ConfigError(`${what}: "${o}" is not an origin like https://example.org`);
    }
    if (u.origin !== o) throw new ConfigError(`${what}: "${o}" is not an origin (expected "${u.origin}")`);
  }
  return out;
};

/** BOXLAB_HOME: what outlives a restart (images, progress database, instructor token, self-signed certificate). */
export function boxlabHome(env: Record<string, string | undefined> = process.env): string {
  return env.BOXLAB_HOME || '/var/lib/boxlab';
}

/** Seconds from "90", "90s", "30m", "2h". */
export function parseDuration(v: string, what = 'duration'): number {
  const m = /^(\d+)([smh]?)$/.exec(v.trim());
  if (!m) throw new ConfigError(`${what}: "${v}" is not a duration like 90s, 30m or 2h`);
  const n = Number(m[1]) * ({ '': 1, s: 1, m: 60, h: 3600 } as const)[m[2] as '' | 's' | 'm' | 'h'];
  if (n < 1 || n > 7 * 86400) throw new ConfigError(`${what}: "${v}" must be between 1 s and 7 days`);
  return n;
}
const duration: Parser = (v, what) => parseDuration(v, what);
const ratio: Parser = (v, what) => {
  if (v === 'off') return 0;
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || n < 0.1 || n > 100) throw new ConfigError(`${what}: "${v}" must be a ratio from 0.1 to 100 (like 1 or 1.5), or off`);
  return n;
};
const onOff: Parser = (v, what) => {
  if (v === 'on' || v === 'true' || v === '1') return true;
  if (v === 'off' || v === 'false' || v === '0') return false;
  throw new ConfigError(`${what}: "${v}" must be on or off`);
};

const tlsMode: Parser = (v, what) => {
  if (v === 'off' || v === 'self-signed') return v;
  throw new ConfigError(`${what}: "${v}" must be off or self-signed (or give --tls-cert and --tls-key)`);
};
const token: Parser = (v, what) => {
  if (!INSTRUCTOR_TOKEN_RE.test(v.trim())) throw new ConfigError(`${what}: must be at least 16 characters of A-Z a-z 0-9 _ - (got ${v.trim().length})`);
  return v.trim();
};

const FIELDS: Record<Exclude<keyof ServerConfig, 'fairness'>, [string, string, Parser]> = {
  port: ['PORT', 'port', intIn(0, 65535)],
  host: ['HOST', 'host', str],
  memory: ['BOXLAB_MEMORY', 'memory', size],
  cpuLimit: ['BOXLAB_CPU', 'cpu', cpu],
  pids: ['BOXLAB_PIDS', 'pids', intIn(8, 1_000_000)],
  disk: ['BOXLAB_DISK', 'disk', size],
  shm: ['BOXLAB_SHM', 'shm', size],
  lifetimeSec: ['BOXLAB_LIFETIME', 'lifetime', duration],
  idleSec: ['BOXLAB_IDLE', 'idle', duration],
  graceSec: ['BOXLAB_GRACE', 'grace', duration],
  maxSessions: ['BOXLAB_MAX_SESSIONS', 'max-sessions', intIn(1, 100_000)],
  maxPerClient: ['BOXLAB_MAX_PER_CLIENT', 'max-per-client', intIn(1, 100_000)],
  imagePath: ['BOXLAB_IMAGE', 'image', str],
  shell: ['BOXLAB_SHELL', 'shell', str],
  shellArgs: ['BOXLAB_SHELL_ARGS', 'shell-args', words],
  allowedOrigins: ['BOXLAB_ALLOWED_ORIGINS', 'allowed-origins', origins],
  allowedHosts: ['BOXLAB_ALLOWED_HOSTS', 'allowed-hosts', hosts],
  staticDir: ['BOXLAB_STATIC_DIR', 'static-dir', str],
  lab: ['BOXLAB_LAB', 'lab', onOff],
  lessonDirs: ['BOXLAB_LESSONS', 'lessons', (v) => v.split(':').filter(Boolean)],
  inputQueueBytes: ['BOXLAB_INPUT_QUEUE', 'input-queue', bytesIn(128 * 1024, 64 * 1024 * 1024)],
  memoryOvercommit: ['BOXLAB_MEMORY_OVERCOMMIT', 'memory-overcommit', ratio],
  tls: ['BOXLAB_TLS', 'tls', tlsMode],
  tlsCert: ['BOXLAB_TLS_CERT', 'tls-cert', str],
  tlsKey: ['BOXLAB_TLS_KEY', 'tls-key', str],
  instructorToken: ['BOXLAB_INSTRUCTOR_TOKEN', 'instructor-token', token],
};
/** Flags given more than once add up instead of replacing. */
const REPEATABLE = new Set<string>(['lessonDirs']);

/** Every server setting as `--flag` and env var, for `boxlab serve --help` (the same table loadConfig() reads). */
export const CONFIG_OPTIONS: ReadonlyArray<{ key: keyof ServerConfig; env: string; flag: string }> = Object.entries(FIELDS).map(
  ([key, [env, flag]]) => ({ key: key as keyof ServerConfig, env, flag }),
);

export function defaultConfig(): ServerConfig {
  return {
    port: 3000,
    host: '127.0.0.1',
    memory: '256M',
    cpuLimit: '0.5',
    pids: 128,
    disk: '64M',
    shm: '16M',
    lifetimeSec: 2 * 3600,
    idleSec: 30 * 60,
    graceSec: 60,
    maxSessions: 200,
    maxPerClient: 3,
    imagePath: undefined,
    shell: '/bin/sh',
    shellArgs: ['-l'],
    allowedOrigins: [],
    allowedHosts: [],
    staticDir: fileURLToPath(new URL('../../out', import.meta.url)),
    lab: true,
    lessonDirs: [],
    inputQueueBytes: 1024 * 1024,
    // 1: the default 200 × 256M (50 GiB) is never promised on a host that cannot back it (a 24 GiB host stops near 90).
    memoryOvercommit: 1,
    tls: 'off',
    tlsCert: undefined,
    tlsKey: undefined,
    instructorToken: undefined,
    fairness: FAIRNESS,
  };
}

/** Defaults, then env, then flags (`--port 8080` or `--port=8080`). Unknown flags are an error. */
export function loadConfig(env: Record<string, string | undefined> = process.env, argv: string[] = []): ServerConfig {
  const cfg = defaultConfig() as unknown as Record<string, unknown>;
  const byFlag = new Map(Object.entries(FIELDS).map(([k, [, flag]]) => [flag, k]));
  for (const [key, [envName, , parse]] of Object.entries(FIELDS)) {
    const v = env[envName];
    if (v !== undefined && v !== '') cfg[key] = parse(v, envName);
  }
  const flagged: Record<string, unknown[]> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    const key = m && byFlag.get(m[1]!);
    if (!m || !key) throw new ConfigError(`unknown option "${a}"`);
    let v = m[2];
    if (v === undefined) {
      v = argv[++i];
      if (v === undefined) throw new ConfigError(`--${m[1]} needs a value`);
    }
    const parsed = FIELDS[key as keyof typeof FIELDS][2](v, `--${m[1]}`);
    if (REPEATABLE.has(key)) (flagged[key] ??= []).push(...(parsed as unknown[]));
    else cfg[key] = parsed;
  }
  for (const [k, v] of Object.entries(flagged)) cfg[k] = v;
  const out = cfg as unknown as ServerConfig;
  if (out.maxPerClient > out.maxSessions) out.maxPerClient = out.maxSessions;
  if (!out.tlsCert !== !out.tlsKey) throw new ConfigError(`--tls-cert and --tls-key go together (got only ${out.tlsCert ? '--tls-cert' : '--tls-key'})`);
  if (out.tlsCert && out.tls === 'self-signed') throw new ConfigError('--tls self-signed and --tls-cert/--tls-key exclude each other');
  if (out.tlsCert) out.tls = 'files';
  return out;
}

export function sessionLimits(cfg: ServerConfig): SessionLimits {
  return { memory: cfg.memory, cpuLimit: cfg.cpuLimit, pids: cfg.pids, disk: cfg.disk, lifetimeSec: cfg.lifetimeSec, idleSec: cfg.idleSec };
}

/** The image to boot: the configured one, else the rootfs module's default (imported lazily: it pulls in the builders). */
export async function resolveImagePath(cfg: ServerConfig): Promise<string> {
  if (cfg.imagePath) return cfg.imagePath;
  const mod = (await import(new URL('../rootfs/index.ts', import.meta.url).href)) as { defaultImagePath(): string };
  return mod.defaultImagePath();
}

/** Resolves the image and builds the default busybox one if it is missing (first run); a missing custom image is an error. */
export async function ensureServerImage(cfg: ServerConfig, log: (line: string) => void): Promise<string> {
  const path = await resolveImagePath(cfg);
  const mod = (await import(new URL('../rootfs/index.ts', import.meta.url).href)) as {
    ensureImage(path: string, onProgress: (msg: string, fraction?: number) => void): Promise<string>;
  };
  return mod.ensureImage(path, (msg, fraction) => log(`image: ${msg}${fraction === undefined ? '' : ` (${Math.round(fraction * 100)}%)`}`));
}

/** v2 only when the unified hierarchy is mounted at the top with the memory controller; hybrid hosts answer 1. */
export function detectCgroupVersion(root = '/sys/fs/cgroup'): 1 | 2 {
  return existsSync(`${root}/cgroup.controllers`) && !existsSync(`${root}/memory`) ? 2 : 1;
}
