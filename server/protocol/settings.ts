// Every setting of Boxlab defined once: env var, flags, grammar, default, one-line doc, the commands that read it; no node imports.
// `boxlab serve --help`, `boxlab run --help`, the README's table (scripts/settings-doc.ts) and the loaders of
// server/web/config.ts and server/cli/args.ts are all driven by SETTINGS. Adding a setting is one entry here
// (then the field in ServerConfig or RunArgs, and `node --import tsx scripts/settings-doc.ts --write` for the README).
import {
  GiB,
  KiB,
  LimitError,
  MIN_CPU_FRACTION,
  MiB,
  PIDS_RANGE,
  TiB,
  type Range,
  formatBytes,
  parseBytes,
  parseCount,
  parseCpuFraction,
  parseDurationSec,
} from './size.ts';

/** Who reads a setting: the web server, `boxlab run`, or only the test and bench harnesses. */
export type Scope = 'serve' | 'run' | 'test';

/** What a parser may need from the edge that calls it (protocol code cannot ask the machine itself). */
export interface ParseContext {
  /** CPUs of this machine: a cpu limit above them is refused where the box will run. */
  cpus?: number;
}

export interface Setting<T = unknown> {
  /** Environment variable. `boxlab serve` reads every env var of its settings; `boxlab run` only the flagless ones. */
  env?: string;
  /** Long flags without "--"; the first is the one help names first (others are aliases). */
  flags?: readonly string[];
  short?: string;
  scope: readonly Scope[];
  /** Placeholder of the flag's value in help (SIZE, N, …); none: a switch that takes no value. */
  arg?: string;
  /** From the raw text to the typed value; throws LimitError with the problem ('is not a size like …'). */
  parse?: (raw: string, ctx: ParseContext) => T;
  /** Typed default; undefined: none, or computed where node is at hand (shown says which). */
  default?: T;
  /** The default as people read it in help and the README ('' for none). */
  shown: string;
  /** One line for help and the README. */
  doc: string;
  /** Flags given more than once add up (the env var holds a list). */
  repeatable?: boolean;
}

const def = <T>(s: Setting<T>): Setting<T> => s;

const bytes = (range: Range) => (v: string) => parseBytes(v, range);
const count = (min: number, max: number) => (v: string) => parseCount(v, { min, max });
const text = (v: string) => v;
const list = (sep: string | RegExp) => (v: string) =>
  v
    .split(sep)
    .map((s) => s.trim())
    .filter(Boolean);
const ratio = (v: string): number => {
  if (v === 'off') return 0;
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || n < 0.1 || n > 100) throw new LimitError('must be a ratio from 0.1 to 100 (like 1 or 1.5), or off');
  return n;
};
const tlsMode = (v: string): 'off' | 'self-signed' => {
  if (v === 'off' || v === 'self-signed') return v;
  throw new LimitError('must be off or self-signed (or give --tls-cert and --tls-key)');
};
const onOff = (v: string): boolean => {
  if (v === 'on' || v === 'true' || v === '1') return true;
  if (v === 'off' || v === 'false' || v === '0') return false;
  throw new LimitError('must be on or off');
};

/** What an instructor token may be: it travels in a subprotocol name, so no characters beyond these. */
export const INSTRUCTOR_TOKEN_RE = /^[A-Za-z0-9_-]{16,}$/;

/** Ranges of a box's limits: the parsers refuse values outside them, the engine checks the numbers it is given against them. */
export const LIMIT_RANGES = {
  memoryBytes: { min: MiB, max: TiB },
  cpuFraction: { min: MIN_CPU_FRACTION, max: 1024 },
  pids: PIDS_RANGE,
  diskBytes: { min: MiB, max: 64 * GiB },
  shmBytes: { min: MiB, max: 64 * GiB },
} as const;

/** A lesson's (or a pack's) box settings, typed: its front matter parsed once by LIMIT_SETTINGS' grammar. */
export interface BoxSettings {
  /** A server image by name (a pack's manifest may ask for one, e.g. debian). */
  image?: string;
  memoryBytes?: number;
  cpuFraction?: number;
  pids?: number;
  /** Lab mode (docs/lab-mode.md); dropped when the server's BOXLAB_LAB is off. */
  lab?: boolean;
}

/** Limits of a box; the same grammar for flags, env, lesson front matter (server/lessons/loader.ts) and HTTP. */
export const LIMIT_SETTINGS = {
  memoryBytes: def({
    env: 'BOXLAB_MEMORY',
    flags: ['memory'],
    scope: ['serve', 'run'],
    arg: 'SIZE',
    parse: bytes(LIMIT_RANGES.memoryBytes),
    default: 256 * MiB,
    shown: '256M',
    doc: 'memory limit of each box (cgroup memory.max, no swap): 256M, 1G, 64MiB',
  }),
  cpuFraction: def({
    env: 'BOXLAB_CPU',
    flags: ['cpu-limit', 'cpu'],
    scope: ['serve', 'run'],
    arg: 'FRAC',
    parse: (v, c) => parseCpuFraction(v, c.cpus),
    default: 0.5,
    shown: '0.5',
    doc: 'CPU limit as a fraction of one core (0.01 up to the CPUs of the machine)',
  }),
  pids: def({
    env: 'BOXLAB_PIDS',
    flags: ['pids'],
    scope: ['serve', 'run'],
    arg: 'N',
    parse: (v) => parseCount(v, PIDS_RANGE),
    default: 128,
    shown: '128',
    doc: `most tasks in a box (${PIDS_RANGE.min}..${PIDS_RANGE.max})`,
  }),
  diskBytes: def({
    env: 'BOXLAB_DISK',
    flags: ['disk'],
    scope: ['serve', 'run'],
    arg: 'SIZE',
    parse: bytes(LIMIT_RANGES.diskBytes),
    default: 64 * MiB,
    shown: '64M',
    doc: 'size cap of the writable layer (a tmpfs; one inode per 4K)',
  }),
  shmBytes: def({
    env: 'BOXLAB_SHM',
    flags: ['shm'],
    scope: ['serve', 'run'],
    arg: 'SIZE',
    parse: bytes(LIMIT_RANGES.shmBytes),
    default: 16 * MiB,
    shown: '16M',
    doc: "size cap of the box's /dev/shm",
  }),
} as const;

export const SETTINGS = {
  port: def({
    env: 'PORT',
    flags: ['port'],
    scope: ['serve'],
    arg: 'N',
    parse: count(0, 65535),
    default: 3000,
    shown: '3000',
    doc: 'TCP port to listen on (0: any free one)',
  }),
  host: def({
    env: 'HOST',
    flags: ['host'],
    scope: ['serve'],
    arg: 'ADDR',
    parse: text,
    default: '127.0.0.1',
    shown: '127.0.0.1',
    doc: 'address to listen on (0.0.0.0 or :: for every interface)',
  }),
  ...LIMIT_SETTINGS,
  lifetimeSec: def({
    env: 'BOXLAB_LIFETIME',
    flags: ['lifetime'],
    scope: ['serve'],
    arg: 'DURATION',
    parse: parseDurationSec,
    default: 2 * 3600,
    shown: '2h',
    doc: 'a session ends this long after it began (90s, 30m, 2h; at most 7 days)',
  }),
  idleSec: def({
    env: 'BOXLAB_IDLE',
    flags: ['idle'],
    scope: ['serve'],
    arg: 'DURATION',
    parse: parseDurationSec,
    default: 30 * 60,
    shown: '30m',
    doc: 'a session without input ends after this',
  }),
  graceSec: def({
    env: 'BOXLAB_GRACE',
    flags: ['grace'],
    scope: ['serve'],
    arg: 'DURATION',
    parse: parseDurationSec,
    default: 60,
    shown: '60s',
    doc: 'a box without any client is kept this long for a reload to resume it',
  }),
  maxSessions: def({
    env: 'BOXLAB_MAX_SESSIONS',
    flags: ['max-sessions'],
    scope: ['serve'],
    arg: 'N',
    parse: count(1, 100_000),
    default: 200,
    shown: '200',
    doc: 'boxes at once on this server; more get 503 with Retry-After',
  }),
  maxPerClient: def({
    env: 'BOXLAB_MAX_PER_CLIENT',
    flags: ['max-per-client'],
    scope: ['serve'],
    arg: 'N',
    parse: count(1, 100_000),
    default: 3,
    shown: '3',
    doc: 'boxes at once per client address (never more than max-sessions)',
  }),
  imagePath: def<string>({
    env: 'BOXLAB_IMAGE',
    flags: ['base-dir', 'image'],
    scope: ['serve', 'run'],
    arg: 'DIR',
    parse: text,
    shown: 'the busybox image',
    doc: 'image used as the read-only lower layer (the default one is built if missing)',
  }),
  shell: def({
    env: 'BOXLAB_SHELL',
    flags: ['shell'],
    scope: ['serve', 'run'],
    arg: 'PATH',
    parse: text,
    default: '/bin/sh',
    shown: '/bin/sh',
    doc: 'shell or binary to run inside the box',
  }),
  shellArgs: def({
    env: 'BOXLAB_SHELL_ARGS',
    flags: ['shell-args'],
    scope: ['serve'],
    arg: 'ARGS',
    parse: list(' '),
    default: ['-l'] as string[],
    shown: '-l',
    doc: 'arguments of the shell, separated by spaces',
  }),
  workdir: def({
    flags: ['workdir'],
    scope: ['run'],
    arg: 'DIR',
    parse: text,
    default: '/root',
    shown: '/root',
    doc: 'working directory inside the box',
  }),
  hostname: def({
    flags: ['hostname'],
    scope: ['run'],
    arg: 'NAME',
    parse: text,
    default: 'boxlab',
    shown: 'boxlab',
    doc: 'hostname inside the box (a web session gets box- and its id)',
  }),
  runLab: def({
    flags: ['lab'],
    scope: ['run'],
    default: false,
    shown: '',
    doc: 'lab mode: unshare, mount, pivot_root and veth inside the box (docs/lab-mode.md)',
  }),
  env: def({
    flags: ['env'],
    short: 'e',
    scope: ['run'],
    arg: 'K=V',
    parse: text,
    repeatable: true,
    shown: '',
    doc: 'extra environment variable of the box (repeatable)',
  }),
  trace: def({
    flags: ['trace'],
    scope: ['run'],
    default: false,
    shown: '',
    doc: 'print each stage event as a JSON line on stderr',
  }),
  allowedOrigins: def({
    env: 'BOXLAB_ALLOWED_ORIGINS',
    flags: ['allowed-origins'],
    scope: ['serve'],
    arg: 'LIST',
    parse: list(','),
    default: [] as string[],
    shown: '',
    doc: "origins allowed to open sessions besides the Host's own (https://a.example,…)",
  }),
  allowedHosts: def({
    env: 'BOXLAB_ALLOWED_HOSTS',
    flags: ['allowed-hosts'],
    scope: ['serve'],
    arg: 'LIST',
    parse: list(','),
    default: [] as string[],
    shown: '',
    doc: 'host names served besides localhost and the bound addresses (name or name:port; others get 421)',
  }),
  staticDir: def<string>({
    env: 'BOXLAB_STATIC_DIR',
    flags: ['static-dir'],
    scope: ['serve'],
    arg: 'DIR',
    parse: text,
    shown: 'out/ of the checkout',
    doc: 'the built front end served as static files',
  }),
  lab: def({
    env: 'BOXLAB_LAB',
    flags: ['lab'],
    scope: ['serve'],
    arg: 'on|off',
    parse: onOff,
    default: true,
    shown: 'on',
    doc: 'lab mode for the lessons that ask for it; off drops it server-wide (docs/lab-mode.md)',
  }),
  lessonDirs: def({
    env: 'BOXLAB_LESSONS',
    flags: ['lessons'],
    scope: ['serve'],
    arg: 'DIR',
    parse: list(':'),
    repeatable: true,
    default: [] as string[],
    shown: '',
    doc: 'lesson pack folders served beside the course (env: dir1:dir2; flag repeatable)',
  }),
  inputQueueBytes: def({
    env: 'BOXLAB_INPUT_QUEUE',
    flags: ['input-queue'],
    scope: ['serve'],
    arg: 'SIZE',
    parse: bytes({ min: 128 * KiB, max: 64 * MiB }),
    default: MiB,
    shown: '1M',
    doc: 'keystroke bytes that may wait per session for a box that does not read (128K..64M)',
  }),
  warmPool: def({
    // One by default: with the page's and the handover's work cut, the pool is what brings click-to-prompt near 100 ms
    // (a box made after the click adds its 60-140 ms); it holds one idle box, within max-sessions and host-memory
    // admission like any box, and never costs a person a refusal (docs/performance.md, click to prompt).
    env: 'BOXLAB_WARM_POOL',
    flags: ['warm-pool'],
    scope: ['serve'],
    arg: 'N',
    parse: count(0, 16),
    default: 1,
    shown: '1',
    doc: 'boxes made ahead with the default settings, each handed to one session and replaced; counted like any box (0 = off)',
  }),
  mirrorHibernateSec: def({
    env: 'BOXLAB_MIRROR_HIBERNATE',
    flags: ['mirror-hibernate'],
    scope: ['serve'],
    arg: 'SECONDS',
    parse: count(0, 86_400),
    default: 10,
    shown: '10',
    doc: "an idle session's screen mirror is kept only serialized after this many seconds without output (0 = never)",
  }),
  // 1: the default 200 × 256M (50 GiB) is never promised on a host that cannot back it (a 24 GiB host stops near 90).
  memoryOvercommit: def({
    env: 'BOXLAB_MEMORY_OVERCOMMIT',
    flags: ['memory-overcommit'],
    scope: ['serve'],
    arg: 'RATIO',
    parse: ratio,
    default: 1,
    shown: '1',
    doc: 'refuse new boxes once their memory limits pass this × what the host can back (0.1..100, or off)',
  }),
  // A cluster (docs/cluster.md): the name HAProxy's cookie and the health answer carry, and the agent-check port.
  nodeId: def<string>({
    env: 'BOXLAB_NODE_ID',
    flags: ['node-id'],
    scope: ['serve'],
    arg: 'ID',
    parse: (v) => {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(v)) throw new LimitError('must be 1-63 of A-Z a-z 0-9 . _ - (a letter or digit first)');
      return v;
    },
    shown: 'the host name',
    doc: "this server's name in a cluster: /api/health says it, HAProxy's cookie and server line use it",
  }),
  agentPort: def({
    env: 'BOXLAB_AGENT_PORT',
    flags: ['agent-port'],
    scope: ['serve'],
    arg: 'N',
    parse: count(0, 65535),
    default: 0,
    shown: '0',
    doc: "TCP port of HAProxy's agent-check (ready, drain, or weight 0% while full) on the listen address (0 = off)",
  }),
  trustedProxies: def({
    env: 'BOXLAB_TRUSTED_PROXIES',
    flags: ['trusted-proxies'],
    scope: ['serve'],
    arg: 'LIST',
    parse: list(','),
    default: [] as string[],
    shown: '',
    doc: 'balancers (addresses or CIDRs) whose X-Forwarded-For names the client for per-address limits; none trusted by default',
  }),
  tls: def<'off' | 'self-signed' | 'files'>({
    env: 'BOXLAB_TLS',
    flags: ['tls'],
    scope: ['serve'],
    arg: 'MODE',
    parse: tlsMode,
    default: 'off',
    shown: 'off',
    doc: 'HTTPS: off, or self-signed (made with openssl, kept in BOXLAB_HOME/tls); files with --tls-cert and --tls-key',
  }),
  tlsCert: def<string>({
    env: 'BOXLAB_TLS_CERT',
    flags: ['tls-cert'],
    scope: ['serve'],
    arg: 'FILE',
    parse: text,
    shown: '',
    doc: 'PEM certificate chain of your own (with --tls-key)',
  }),
  tlsKey: def<string>({
    env: 'BOXLAB_TLS_KEY',
    flags: ['tls-key'],
    scope: ['serve'],
    arg: 'FILE',
    parse: text,
    shown: '',
    doc: 'PEM private key of --tls-cert',
  }),
  instructorToken: def<string>({
    env: 'BOXLAB_INSTRUCTOR_TOKEN',
    flags: ['instructor-token'],
    scope: ['serve'],
    arg: 'TOKEN',
    parse: (v) => v.trim(),
    shown: 'kept in BOXLAB_HOME',
    doc: "the instructor's token of /classroom (16+ characters of A-Za-z0-9_-; else made on first start)",
  }),
  skipWebBuild: def({
    env: 'BOXLAB_SKIP_WEB_BUILD',
    scope: ['serve'],
    parse: text,
    shown: '',
    doc: '1: serve out/ as it is, without rebuilding a stale front end',
  }),
  // Env only, never a flag: a password on the command line is readable by every user (ps).
  databaseUrl: def<string>({
    env: 'BOXLAB_DATABASE_URL',
    scope: ['serve'],
    parse: (v) => {
      if (!/^postgres(ql)?:\/\/./.test(v))
        throw new LimitError('must be a postgres:// URL like postgres://boxlab:PASSWORD@db.example/boxlab');
      return v;
    },
    shown: 'SQLite in BOXLAB_HOME',
    doc: 'PostgreSQL for progress, classes and rosters, shared by the nodes of a cluster (docs/cluster.md)',
  }),
  home: def({
    env: 'BOXLAB_HOME',
    scope: ['serve', 'run'],
    parse: text,
    default: '/var/lib/boxlab',
    shown: '/var/lib/boxlab',
    doc: 'what outlives a restart: images, progress database, instructor token, self-signed certificate',
  }),
  runDir: def({
    env: 'BOXLAB_RUN',
    scope: ['serve', 'run'],
    parse: text,
    default: '/run/boxlab',
    shown: '/run/boxlab',
    doc: 'live state of the boxes, swept after a crash',
  }),
  timing: def({
    env: 'BOXLAB_TIMING',
    scope: ['run'],
    parse: text,
    shown: '',
    doc: "1: print where the process's time went as one JSON line on stderr",
  }),
  loopProbe: def({
    env: 'BOXLAB_LOOP_PROBE',
    scope: ['test'],
    parse: text,
    shown: '',
    doc: "file the loop-probe preload writes the server's event-loop delays to",
  }),
  testTimeFactor: def({
    env: 'BOXLAB_TEST_TIME_FACTOR',
    scope: ['test'],
    parse: text,
    shown: '1',
    doc: 'slow hosts (the v2 guest) scale test timeouts by this',
  }),
  securityMode: def({
    env: 'BOXLAB_SECURITY_MODE',
    scope: ['test'],
    parse: text,
    shown: '',
    doc: 'lab: the security suite runs every box in lab mode',
  }),
  lessonSlugs: def({
    env: 'BOXLAB_LESSON_SLUGS',
    scope: ['test'],
    parse: text,
    shown: '',
    doc: 'slug,slug: the lesson proofs run only these',
  }),
  pasteP99Ms: def({
    env: 'BOXLAB_PASTE_P99_MS',
    scope: ['test'],
    parse: text,
    shown: '250',
    doc: "bound of the paste test's p99 latency",
  }),
  // biome-ignore lint/suspicious/noExplicitAny: each entry has its own value type; the table only checks their shape
} as const satisfies Record<string, Setting<any>>;

export type SettingKey = keyof typeof SETTINGS;
export type SettingValue<K extends SettingKey> = (typeof SETTINGS)[K] extends Setting<infer T> ? T : never;

/** A setting's typed default; only for settings that have one (a missing one is a bug in SETTINGS, thrown at start). */
export function defaultOf<K extends SettingKey>(key: K): NonNullable<SettingValue<K>> {
  const v = (SETTINGS[key] as Setting).default;
  if (v === undefined) throw new Error(`setting ${key} has no default`);
  return v as NonNullable<SettingValue<K>>;
}

/** A flagless text setting from the environment (an empty value counts as unset), else its default: for the
 * modules that read one where it is used (BOXLAB_HOME, BOXLAB_RUN). */
export function fromEnv(key: 'home' | 'runDir', env: Record<string, string | undefined>): string {
  return env[SETTINGS[key].env!] || defaultOf(key);
}

/** The settings a command reads, in table order. */
export function settingsOf(scope: Scope): [SettingKey, Setting][] {
  return (Object.entries(SETTINGS) as [SettingKey, Setting][]).filter(([, s]) => s.scope.includes(scope));
}

/** `--memory, -e SIZE` as help shows a setting's flags. */
export function flagText(s: Setting): string {
  const names = [...(s.short ? [`-${s.short}`] : []), ...(s.flags ?? []).map((f) => `--${f}`)].join(', ');
  return s.arg ? `${names} ${s.arg}` : names;
}

/** Help lines of a command: flags (with the env var for serve), then the settings only the environment sets. */
export function helpRows(scope: 'serve' | 'run'): string[] {
  const rows = settingsOf(scope).filter(([, s]) => s.flags);
  const w = Math.max(...rows.map(([, s]) => flagText(s).length)) + 2;
  const out = rows.map(([, s]) => {
    const env = scope === 'serve' && s.env ? `${s.env}: ` : '';
    return `  ${flagText(s).padEnd(w)} ${env}${s.doc}${s.shown ? ` (default ${s.shown})` : ''}`;
  });
  out.push(`  ${'-h, --help'.padEnd(w)} this help`);
  const envOnly = settingsOf(scope).filter(([, s]) => !s.flags && s.env);
  if (envOnly.length)
    out.push('', 'environment:', ...envOnly.map(([, s]) => `  ${s.env!.padEnd(w)} ${s.doc}${s.shown ? ` (default ${s.shown})` : ''}`));
  return out;
}

const SCOPE_TEXT: Record<string, string> = { 'serve,run': 'both', serve: 'serve', run: 'run', test: 'tests' };

/** The README's settings table (between its settings markers), one row per setting. */
export function settingsTable(): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const rows = (Object.values(SETTINGS) as Setting[]).map(
    (s) =>
      `| ${s.env ? `\`${s.env}\`` : ''} | ${(s.flags ?? []).map((f) => `\`--${f}\``).join(' ')} | ${SCOPE_TEXT[s.scope.join(',')]} | ${cell(s.shown)} | ${cell(s.doc)} |`,
  );
  return ['| Env | Flag | Used by | Default | What |', '|---|---|---|---|---|', ...rows].join('\n');
}

export { formatBytes };
