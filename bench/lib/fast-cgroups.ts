// fast-cgroups.ts: bench-only prototypes of two proposed engine changes, injected through EngineDeps.cgroups:
// synchronous cgroupfs I/O with the layout read once, and a pool of ready cgroups. Not used by the server.
import fs from 'node:fs';
import { createCgroups, type CgroupIO, type CgroupLimits, type CgroupSet } from '../../server/engine/cgroups/index.ts';
import type { EngineDeps } from '../../server/engine/deps.ts';

const WRITE_FLAGS = fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW | fs.constants.O_TRUNC;
const READ_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW;

/**
 * cgroupfs is kernfs: every call is an in-memory kernel operation of microseconds that never waits for a disk, so
 * the libuv thread-pool round trip of fs/promises (two per open+write+close) costs far more than the call.
 * Same semantics as the engine's nodeIO (O_NOFOLLOW, one write per value), done synchronously.
 */
export const syncIO: CgroupIO = {
  async read(p) {
    const fd = fs.openSync(p, READ_FLAGS);
    try {
      return fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  },
  async write(p, data) {
    const fd = fs.openSync(p, WRITE_FLAGS);
    try {
      const buf = Buffer.from(data);
      if (fs.writeSync(fd, buf, 0, buf.length) !== buf.length) throw Object.assign(new Error(`short write to ${p}`), { code: 'EIO' });
    } catch (e) {
      if (e && typeof e === 'object' && !('path' in e)) Object.assign(e, { path: p });
      throw e;
    } finally {
      fs.closeSync(fd);
    }
  },
  async exists(p) {
    try {
      fs.lstatSync(p);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  },
  async mkdir(p) {
    fs.mkdirSync(p, { mode: 0o755 });
  },
  async rmdir(p) {
    fs.rmdirSync(p);
  },
  async listDirs(p) {
    try {
      return fs.readdirSync(p, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  },
  kill(pid, signal) {
    try {
      process.kill(pid, signal);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  },
};

/** /proc/self/mountinfo and /proc/self/cgroup read once: the engine re-reads and re-parses them on every create. */
export function cachedLayoutOptions() {
  return {
    io: syncIO,
    mountinfo: fs.readFileSync('/proc/self/mountinfo', 'utf8'),
    selfCgroup: fs.readFileSync('/proc/self/cgroup', 'utf8'),
  };
}

export function syncCgroupDeps(base: EngineDeps): EngineDeps {
  const opts = cachedLayoutOptions();
  return { ...base, cgroups: (id, limits) => createCgroups(id, limits, opts) };
}

const sameLimits = (a: CgroupLimits, b: CgroupLimits) =>
  a.memoryBytes === b.memoryBytes && a.cpuFraction === b.cpuFraction && a.pids === b.pids;

/**
 * Pre-made cgroups with the default limits: a create takes one (cgroup_create drops to a shift()), and a
 * replacement is made off the critical path. Each cgroup keeps its pool name; teardown removes it as usual.
 */
export class CgroupPool {
  private ready: CgroupSet[] = [];
  private seq = 0;
  private refilling: Promise<void> | null = null;
  private readonly opts = cachedLayoutOptions();
  constructor(private readonly limits: CgroupLimits, private readonly size = 2) {}

  fill(): Promise<void> {
    this.refilling ??= (async () => {
      while (this.ready.length < this.size) {
        this.ready.push(await createCgroups(`bxpool-${process.pid}-${this.seq++}`, this.limits, this.opts));
      }
    })().finally(() => (this.refilling = null));
    return this.refilling;
  }

  deps(base: EngineDeps): EngineDeps {
    return {
      ...base,
      cgroups: async (id, limits) => {
        const set = sameLimits(limits, this.limits) ? this.ready.shift() : undefined;
        return set ?? createCgroups(id, limits, this.opts);
      },
    };
  }

  /** Removes the cgroups still waiting in the pool. */
  async drain(): Promise<void> {
    await this.refilling;
    for (const set of this.ready.splice(0)) await set.remove();
  }
}
