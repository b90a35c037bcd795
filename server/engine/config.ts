// config.ts: the seed's SandboxConfig with defaults (from the one settings schema), checked before anything is made.
import { availableParallelism } from 'node:os';
import { LIMIT_RANGES, defaultOf } from '../protocol/settings.ts';
import { formatBytes } from '../protocol/size.ts';
import type { CgroupLimits } from './cgroups/index.ts';
import { SyscallError } from '../../native-bindings/errors.ts';
import { SandboxError, type SandboxConfig } from './types.ts';

export interface ResolvedLimits {
  cgroup: CgroupLimits;
  diskBytes: number;
  shmBytes: number;
  /** nr_inodes of the upper tmpfs and of /dev/shm (inodeCap). */
  diskInodes: number;
  shmInodes: number;
}

/** One inode per 4 KiB of the size cap, at least 1024: a tmpfs without nr_inodes takes files until the memory
 * cgroup kills the box (each empty file costs kernel memory, not disk), with it a flood ends in ENOSPC. Filling the
 * inodes costs about as much memory as filling the bytes (measured in docs/security.md), so a disk cap that fits
 * in the memory limit fits for inodes too. */
export const BYTES_PER_INODE = 4096;
export const MIN_INODES = 1024;
export function inodeCap(sizeBytes: number): number {
  return Math.max(MIN_INODES, Math.floor(sizeBytes / BYTES_PER_INODE));
}

/** The defaults of server/protocol/settings.ts, where they are written once. */
export const DEFAULTS = {
  memoryBytes: defaultOf('memoryBytes'),
  cpuFraction: defaultOf('cpuFraction'),
  pids: defaultOf('pids'),
  shell: defaultOf('shell'),
  workdir: defaultOf('workdir'),
  hostname: defaultOf('hostname'),
  diskBytes: defaultOf('diskBytes'),
  shmBytes: defaultOf('shmBytes'),
} as const;

/**
 * The one environment a box starts with (`boxlab run` and every web session): the shell's PATH, HOME, the
 * terminal, the hostname, a prompt and a UTF-8 locale. `extra` adds or overrides (the web's COLORTERM, `run -e`).
 */
export function defaultEnv(hostname: string, term = 'xterm-256color', extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/root',
    TERM: term,
    HOSTNAME: hostname,
    PS1: '\\u@\\h:\\w\\$ ',
    LANG: 'C.UTF-8',
    ...extra,
  };
}

export function withDefaults(given: Partial<SandboxConfig> & { baseDir: string }): SandboxConfig {
  // An explicit `undefined` (an unset CLI flag) means "default", not "override with undefined".
  const c = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as typeof given;
  const hostname = c.hostname ?? DEFAULTS.hostname;
  return {
    memoryBytes: DEFAULTS.memoryBytes,
    cpuFraction: DEFAULTS.cpuFraction,
    pids: DEFAULTS.pids,
    shell: DEFAULTS.shell,
    workdir: DEFAULTS.workdir,
    diskBytes: DEFAULTS.diskBytes,
    shmBytes: DEFAULTS.shmBytes,
    stdio: 'pty',
    ...c,
    hostname,
    env: c.env ?? defaultEnv(hostname),
  };
}

const bad = (message: string) => new SandboxError('prepare_state', new SyscallError('config', 22), message);

/** A limit must be a number in its setting's range: the text was parsed at the edge, this catches a caller's NaN. */
function inRange(what: string, n: number, range: { min: number; max: number }, show: (n: number) => string = String): number {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < range.min || n > range.max) {
    throw bad(`${what} must be a number from ${show(range.min)} to ${show(range.max)}: ${n}`);
  }
  return n;
}

/** Validates every field: a bad value is a clear one-line error, never a half-made sandbox. */
export function resolveLimits(c: SandboxConfig): ResolvedLimits {
  if (!c.baseDir.startsWith('/')) throw bad(`--base-dir must be an absolute path: ${c.baseDir}`);
  if (!c.shell.startsWith('/')) throw bad(`--shell must be an absolute path inside the image: ${c.shell}`);
  if (!c.workdir.startsWith('/')) throw bad(`--workdir must be an absolute path: ${c.workdir}`);
  // RFC 1123 host name label; sethostname(2) caps it at 64 bytes anyway.
  if (!/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(c.hostname)) throw bad(`invalid hostname: ${JSON.stringify(c.hostname)}`);
  const pids = LIMIT_RANGES.pids;
  if (!Number.isInteger(c.pids) || c.pids < pids.min || c.pids > pids.max)
    throw bad(`--pids must be an integer from ${pids.min} to ${pids.max}: ${c.pids}`);
  const all = [c.shell, c.workdir, c.hostname, ...(c.args ?? []), ...Object.entries(c.env).flat()];
  if (all.some((s) => s.includes('\0'))) throw bad('arguments and environment may not contain NUL bytes');
  if ((c.args?.length ?? 0) > 200 || Object.keys(c.env).length > 200) throw bad('at most 200 arguments and 200 environment variables');
  const rows = c.rows ?? 24;
  const cols = c.cols ?? 80;
  if (!(rows >= 1 && rows <= 1000 && cols >= 1 && cols <= 1000)) throw bad(`terminal size out of range: ${rows}x${cols}`);
  const diskBytes = inRange('disk limit', c.diskBytes, LIMIT_RANGES.diskBytes, formatBytes);
  const shmBytes = inRange('shm limit', c.shmBytes, LIMIT_RANGES.shmBytes, formatBytes);
  const cpus = Math.min(LIMIT_RANGES.cpuFraction.max, availableParallelism());
  return {
    cgroup: {
      memoryBytes: inRange('--memory', c.memoryBytes, LIMIT_RANGES.memoryBytes, formatBytes),
      cpuFraction: inRange('--cpu-limit', c.cpuFraction, { min: LIMIT_RANGES.cpuFraction.min, max: cpus }),
      pids: c.pids,
    },
    diskBytes,
    shmBytes,
    diskInodes: inodeCap(diskBytes),
    shmInodes: inodeCap(shmBytes),
  };
}
