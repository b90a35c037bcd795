// config.ts: the seed's SandboxConfig with defaults, validated into kernel-ready numbers before anything is made.
import { parseCpuFraction, parseMemory, type CgroupLimits } from './cgroups/index.ts';
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

export const DEFAULTS = {
  memory: '256M',
  cpuLimit: '0.5',
  pids: 128,
  shell: '/bin/sh',
  workdir: '/root',
  hostname: 'boxlab',
  diskLimit: '64M',
  shmLimit: '16M',
} as const;

export function defaultEnv(hostname: string, term = 'xterm-256color'): Record<string, string> {
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/root',
    TERM: term,
    HOSTNAME: hostname,
    PS1: '\\u@\\h:\\w\\$ ',
    LANG: 'C.UTF-8',
  };
}

export function withDefaults(given: Partial<SandboxConfig> & { baseDir: string }): SandboxConfig {
  // An explicit `undefined` (an unset CLI flag) means "default", not "override with undefined".
  const c = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as typeof given;
  const hostname = c.hostname ?? DEFAULTS.hostname;
  return {
    memory: DEFAULTS.memory, cpuLimit: DEFAULTS.cpuLimit, pids: DEFAULTS.pids, shell: DEFAULTS.shell,
    workdir: DEFAULTS.workdir, diskLimit: DEFAULTS.diskLimit, shmLimit: DEFAULTS.shmLimit, stdio: 'pty',
    ...c,
    hostname,
    env: c.env ?? defaultEnv(hostname),
  };
}

const bad = (message: string) => new SandboxError('prepare_state', new SyscallError('config', 22), message);

function parse<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw bad(`${what}: ${(err as Error).message}`);
  }
}

/** Validates every field: a bad value is a clear one-line error, never a half-made sandbox. */
export function resolveLimits(c: SandboxConfig): ResolvedLimits {
  if (!c.baseDir.startsWith('/')) throw bad(`--base-dir must be an absolute path: ${c.baseDir}`);
  if (!c.shell.startsWith('/')) throw bad(`--shell must be an absolute path inside the image: ${c.shell}`);
  if (!c.workdir.startsWith('/')) throw bad(`--workdir must be an absolute path: ${c.workdir}`);
  // RFC 1123 host name label; sethostname(2) caps it at 64 bytes anyway.
  if (!/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(c.hostname)) throw bad(`invalid hostname: ${JSON.stringify(c.hostname)}`);
  if (!Number.isInteger(c.pids) || c.pids < 8 || c.pids > 65536) throw bad(`--pids must be an integer from 8 to 65536: ${c.pids}`);
  const all = [c.shell, c.workdir, c.hostname, ...(c.args ?? []), ...Object.entries(c.env).flat()];
  if (all.some((s) => s.includes('\0'))) throw bad('arguments and environment may not contain NUL bytes');
  if ((c.args?.length ?? 0) > 200 || Object.keys(c.env).length > 200) throw bad('at most 200 arguments and 200 environment variables');
  const rows = c.rows ?? 24;
  const cols = c.cols ?? 80;
  if (!(rows >= 1 && rows <= 1000 && cols >= 1 && cols <= 1000)) throw bad(`terminal size out of range: ${rows}x${cols}`);
  const diskBytes = parse('disk limit', () => parseMemory(c.diskLimit));
  const shmBytes = parse('shm limit', () => parseMemory(c.shmLimit));
  return {
    cgroup: {
      memoryBytes: parse('--memory', () => parseMemory(c.memory)),
      cpuFraction: parse('--cpu-limit', () => parseCpuFraction(c.cpuLimit)),
      pids: c.pids,
    },
    diskBytes,
    shmBytes,
    diskInodes: inodeCap(diskBytes),
    shmInodes: inodeCap(shmBytes),
  };
}
