// competitors.ts: bubblewrap and runc doing the same job as a box (same image, same namespaces, /bin/true), timed to exit.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Host uid/gid range of runc's user namespace: above the engine's slots (2^30 + 4096*65536), so never shared. */
export const RUNC_ID_BASE = 3 * 2 ** 30;
/** Parent cgroup (in every v1 hierarchy runc joins) of the benchmark's runc containers. */
export const RUNC_CGROUP_PARENT = 'boxlab-bench-runc';

export interface Timed {
  ms: number;
  code: number | null;
  stderr: string;
}

/** Spawns argv and resolves when it exited: the time is from just before spawn() to the 'exit' event. */
export function timeExit(argv: string[], env?: NodeJS.ProcessEnv): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    if (cmd === undefined) return reject(new Error('timeExit: empty argv'));
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, code, stderr }));
  });
}

export function toolVersion(cmd: string): string | null {
  const r = spawnSync(cmd, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? (r.stdout.split('\n')[0] ?? '').trim() : null;
}

/** bwrap 0.9 added --overlay-src/--tmp-overlay; older ones can only bind the image. */
export function bwrapHasOverlay(): boolean {
  const r = spawnSync('bwrap', ['--help'], { encoding: 'utf8' });
  return /--overlay-src/.test(`${r.stdout}${r.stderr}`);
}

/**
 * bwrap with new user (uid 0 inside), pid, mount, uts, ipc, net and cgroup namespaces (--unshare-all), the image
 * read-only as /, a fresh /proc and a minimal /dev, then /bin/true. No cgroup limits: bwrap has none.
 */
export function bwrapArgv(image: string, mode: 'ro-bind' | 'tmp-overlay'): string[] {
  const root = mode === 'ro-bind' ? ['--ro-bind', image, '/'] : ['--overlay-src', image, '--tmp-overlay', '/'];
  return [
    'bwrap',
    '--unshare-all',
    '--uid',
    '0',
    '--gid',
    '0',
    ...root,
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--hostname',
    'x',
    '/bin/true',
  ];
}

export interface RuncLimits {
  memoryBytes: number;
  cpuQuotaUs: number;
  cpuPeriodUs: number;
  pids: number;
}

/** An OCI config close to a box: userns (65536 ids), pid/net/ipc/uts/mount/cgroup ns, /proc, /dev, devpts, shm, limits. */
export function runcConfig(image: string, lim: RuncLimits): object {
  const mapping = [{ containerID: 0, hostID: RUNC_ID_BASE, size: 65536 }];
  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ['/bin/true'],
      env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
      cwd: '/',
      capabilities: {
        bounding: ['CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        effective: ['CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        permitted: ['CAP_KILL', 'CAP_NET_BIND_SERVICE'],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: image, readonly: true },
    hostname: 'x',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
      },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=16m'] },
    ],
    linux: {
      uidMappings: mapping,
      gidMappings: mapping,
      namespaces: ['pid', 'network', 'ipc', 'uts', 'mount', 'user', 'cgroup'].map((type) => ({ type })),
      cgroupsPath: `/${RUNC_CGROUP_PARENT}/c`,
      resources: {
        devices: [{ allow: false, access: 'rwm' }],
        memory: { limit: lim.memoryBytes, swap: lim.memoryBytes },
        cpu: { quota: lim.cpuQuotaUs, period: lim.cpuPeriodUs },
        pids: { limit: lim.pids },
      },
      maskedPaths: [
        '/proc/acpi',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/sched_debug',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/** A runc bundle and state root in a temp dir; run() starts one container of it; cleanup() leaves nothing. */
export class RuncHarness {
  readonly dir: string;
  readonly stateRoot: string;
  private seq = 0;

  constructor(image: string, lim: RuncLimits) {
    this.dir = mkdtempSync(join(tmpdir(), 'boxlab-bench-runc-'));
    this.stateRoot = join(this.dir, 'state');
    writeFileSync(join(this.dir, 'config.json'), JSON.stringify(runcConfig(image, lim), null, 1));
  }

  /** `runc run` (foreground, no terminal): create, start, wait for /bin/true, then delete, all before it exits. */
  run(prefix: string[] = []): Promise<Timed> {
    const id = `bench-${process.pid}-${this.seq++}`;
    return timeExit([...prefix, 'runc', '--root', this.stateRoot, 'run', '--bundle', this.dir, id]);
  }

  cleanup(): void {
    if (existsSync(this.stateRoot)) {
      for (const id of readdirSync(this.stateRoot)) spawnSync('runc', ['--root', this.stateRoot, 'delete', '-f', id]);
    }
    rmSync(this.dir, { recursive: true, force: true });
    removeRuncCgroups();
  }
}

/** rmdir of <hierarchy>/boxlab-bench-runc[/c] in every v1 hierarchy (runc removes only the leaf). */
export function removeRuncCgroups(base = '/sys/fs/cgroup'): string[] {
  const removed: string[] = [];
  let hierarchies: string[] = [];
  try {
    hierarchies = readdirSync(base);
  } catch {
    return removed;
  }
  for (const h of hierarchies) {
    for (const d of [join(base, h, RUNC_CGROUP_PARENT, 'c'), join(base, h, RUNC_CGROUP_PARENT)]) {
      // A v1 cgroup just emptied can be EBUSY for a moment (its css goes offline asynchronously): retry ~1 s.
      for (let attempt = 0; existsSync(d); attempt++) {
        try {
          rmdirSync(d);
          removed.push(d);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EBUSY' || attempt >= 100) throw err;
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        }
      }
    }
  }
  return removed;
}
