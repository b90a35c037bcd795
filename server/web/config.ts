// Web server configuration from environment variables and command-line flags (flags win) through the one schema
// (server/protocol/settings.ts), validated with clear errors; also the one flag parser `boxlab run` uses.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { SessionLimits } from '../protocol/messages.ts';
import {
  INSTRUCTOR_TOKEN_RE,
  SETTINGS,
  fromEnv,
  settingsOf,
  type ParseContext,
  type Setting,
  type SettingKey,
} from '../protocol/settings.ts';
import { describeLimitError, formatBytes, parseDurationSec } from '../protocol/size.ts';
import type { Rate } from '../sessions/budget.ts';
import type { ConnectionLimits } from './gate.ts';
import { ProxyTrust } from './client-address.ts';
import { parseHost } from './hosts.ts';

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
  /** Box limits, parsed once from their text here at the edge (server/protocol/size.ts); numbers from here on. */
  memoryBytes: number;
  /** Fraction of one core. */
  cpuFraction: number;
  pids: number;
  diskBytes: number;
  shmBytes: number;
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
   * Boxes made ahead with the default settings so a Start gets one at once (0 = off). Each counts against
   * max-sessions and host-memory admission like a session's box, is handed to exactly one session and replaced
   * (server/sessions/pool.ts).
   */
  warmPool: number;
  /** Seconds without output after which a session's screen mirror is kept only serialized (0 = never; mirror.ts). */
  mirrorHibernateSec: number;
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
  /** This server's name in a cluster (docs/cluster.md); undefined: derived from the host name (server/web/node.ts). */
  nodeId?: string;
  /** postgres://… : progress and classes in PostgreSQL (docs/cluster.md); undefined: the SQLite file in BOXLAB_HOME. */
  databaseUrl?: string;
  /** HAProxy agent-check port on the listen address (0 = off). */
  agentPort: number;
  /**
   * Proxies (addresses, CIDRs) trusted to name the client in X-Forwarded-For (server/web/client-address.ts); empty:
   * the header is ignored and every limit counts the connection's peer.
   */
  trustedProxies: string[];
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

/** BOXLAB_HOME: what outlives a restart (images, progress database, instructor token, self-signed certificate). */
export function boxlabHome(env: Record<string, string | undefined> = process.env): string {
  return fromEnv('home', env);
}

/** Seconds from "90", "90s", "30m", "2h" (the grammar of server/protocol/size.ts). */
export function parseDuration(v: string, what = 'duration'): number {
  try {
    return parseDurationSec(v);
  } catch (err) {
    throw new ConfigError(describeLimitError(what, v, err));
  }
}

/** Checks past the grammar that need this layer (URL, host parsing). */
const REFINE: Partial<Record<SettingKey, (v: never, what: string) => void>> = {
  allowedHosts: (out: string[], what) => {
    for (const h of out) if (!parseHost(h)) throw new ConfigError(`${what}: "${h}" is not a host name, address or name:port`);
  },
  instructorToken: (v: string, what) => {
    if (!INSTRUCTOR_TOKEN_RE.test(v)) throw new ConfigError(`${what}: must be at least 16 characters of A-Z a-z 0-9 _ - (got ${v.length})`);
  },
  trustedProxies: (out: string[], what) => {
    try {
      new ProxyTrust(out);
    } catch (err) {
      throw new ConfigError(`${what}: ${(err as Error).message}`);
    }
  },
  allowedOrigins: (out: string[], what) => {
    for (const o of out) {
      let u: URL;
      try {
        u = new URL(o);
      } catch {
        throw new ConfigError(`${what}: "${o}" is not an origin like https://example.org`);
      }
      if (u.origin !== o) throw new ConfigError(`${what}: "${o}" is not an origin (expected "${u.origin}")`);
    }
  },
};

/** One setting's text to its value, or a ConfigError naming `what` (the env var or the flag) and the accepted form. */
export function parseSetting(key: SettingKey, raw: string, what: string, ctx: ParseContext = { cpus: availableParallelism() }): unknown {
  const s: Setting = SETTINGS[key];
  let v: unknown;
  try {
    v = s.parse ? s.parse(raw, ctx) : raw;
  } catch (err) {
    throw new ConfigError(describeLimitError(what, raw, err));
  }
  REFINE[key]?.(v as never, what);
  return v;
}

export interface ParsedFlags {
  values: Partial<Record<SettingKey, unknown>>;
  positionals: string[];
  help: boolean;
}

/**
 * The one flag parser (node:util parseArgs, strict) for `boxlab serve` and `boxlab run`, driven by SETTINGS:
 * `--flag value` and `--flag=value`, switches, repeatable flags adding up, aliases (--cpu and --cpu-limit). Each
 * value goes through its setting's grammar, an error names the flag as it was typed. parseArgs' own errors (unknown
 * option, missing value) are thrown as they are.
 */
export function parseFlags(scope: 'serve' | 'run', argv: string[], ctx: ParseContext = { cpus: availableParallelism() }): ParsedFlags {
  const byFlag = new Map<string, SettingKey>();
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const [key, s] of settingsOf(scope)) {
    for (const [i, f] of (s.flags ?? []).entries()) {
      byFlag.set(f, key);
      options[f] = { type: s.arg ? 'string' : 'boolean', multiple: true, ...(i === 0 && s.short ? { short: s.short } : {}) };
    }
  }
  options.help = { type: 'boolean', short: 'h' };
  const { tokens } = parseArgs({ args: argv, options, strict: true, allowPositionals: scope === 'run', tokens: true });
  const out: ParsedFlags = { values: {}, positionals: [], help: false };
  for (const t of tokens) {
    if (t.kind === 'positional') out.positionals.push(t.value);
    if (t.kind !== 'option') continue;
    if (t.name === 'help') {
      out.help = true;
      continue;
    }
    const key = byFlag.get(t.name)!;
    const s: Setting = SETTINGS[key];
    const v = s.arg ? parseSetting(key, t.value ?? '', t.rawName, ctx) : true;
    // A repeated flag of a list (--lessons a --lessons b) adds up; any other repeated flag: the last one wins.
    if (s.repeatable) out.values[key] = [...((out.values[key] as unknown[] | undefined) ?? []), ...(Array.isArray(v) ? v : [v])];
    else out.values[key] = v;
  }
  return out;
}

/** ServerConfig's fields: every setting of `boxlab serve` that has a flag (the flagless ones are read where used). */
const SERVE_FIELDS = settingsOf('serve').filter(([, s]) => s.flags);

/** Every field from its setting's default (server/protocol/settings.ts); lists are copied, never shared. */
export function defaultConfig(): ServerConfig {
  const cfg: Record<string, unknown> = {};
  for (const [key, s] of SERVE_FIELDS) cfg[key] = Array.isArray(s.default) ? [...s.default] : s.default;
  // Where this checkout's front end is built: known here, not in protocol.
  cfg.staticDir = fileURLToPath(new URL('../../out', import.meta.url));
  cfg.fairness = FAIRNESS;
  return cfg as unknown as ServerConfig;
}

/** Defaults, then env, then flags (`--port 8080` or `--port=8080`). Unknown flags are an error. */
export function loadConfig(env: Record<string, string | undefined> = process.env, argv: string[] = []): ServerConfig {
  const cfg = defaultConfig() as unknown as Record<string, unknown>;
  const ctx: ParseContext = { cpus: availableParallelism() };
  for (const [key, s] of SERVE_FIELDS) {
    const v = s.env ? env[s.env] : undefined;
    if (v !== undefined && v !== '') cfg[key] = parseSetting(key, v, s.env!, ctx);
  }
  let flags: ParsedFlags;
  try {
    flags = parseFlags('serve', argv, ctx);
  } catch (err) {
    const e = err as Error & { code?: string };
    const name = /'(-[^' ]+)/.exec(e.message)?.[1];
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new ConfigError(`unknown option "${name}"`);
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && / argument missing/.test(e.message))
      throw new ConfigError(`${name} needs a value`);
    if (e.code?.startsWith('ERR_PARSE_ARGS')) throw new ConfigError(e.message);
    throw err;
  }
  Object.assign(cfg, flags.values);
  // Env only (no flag: a password in argv is public); read here once, with the others.
  const dbEnv = SETTINGS.databaseUrl.env!;
  if (env[dbEnv]) {
    try {
      cfg.databaseUrl = parseSetting('databaseUrl', env[dbEnv], dbEnv, ctx);
    } catch (err) {
      // The usual error quotes the value: this one may hold a password.
      const why = (err as Error).message.replace(/^.*" /, '');
      throw new ConfigError(`${dbEnv}: ${why} (the value is not shown: it may hold a password)`);
    }
  }
  const out = cfg as unknown as ServerConfig;
  if (out.maxPerClient > out.maxSessions) out.maxPerClient = out.maxSessions;
  if (!out.tlsCert !== !out.tlsKey)
    throw new ConfigError(`--tls-cert and --tls-key go together (got only ${out.tlsCert ? '--tls-cert' : '--tls-key'})`);
  if (out.tlsCert && out.tls === 'self-signed') throw new ConfigError('--tls self-signed and --tls-cert/--tls-key exclude each other');
  if (out.tlsCert) out.tls = 'files';
  return out;
}

/** The limits as the browser shows them (protocol SessionLimits: display text, "256M"), from the typed config. */
export function sessionLimits(cfg: ServerConfig): SessionLimits {
  return {
    memory: formatBytes(cfg.memoryBytes),
    cpuLimit: String(cfg.cpuFraction),
    pids: cfg.pids,
    disk: formatBytes(cfg.diskBytes),
    lifetimeSec: cfg.lifetimeSec,
    idleSec: cfg.idleSec,
  };
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
