// Test support only: a temp-dir cgroupfs that behaves like the kernel where the tests need it.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SyscallError } from '../../../../native-bindings/errors.ts';
import { nodeIO, type CgroupIO } from '../io.ts';

/** What a hierarchy mounted at `mount` (a path under the fake root) carries. */
export interface FakeMount {
  mount: string;
  /** v1 controllers (e.g. ['cpu','cpuacct']) or 'v2'. */
  kind: string[] | 'v2';
}

export interface FakeOptions {
  /** v1: create memory.memsw.* files (swap accounting on). v2: create memory.swap.*. Default true. */
  swap?: boolean;
  /** v2: cgroup.kill present (Linux >= 5.14). Default true. */
  cgroupKill?: boolean;
  /** v1: oom_kill_disable a new memory cgroup inherits. */
  oomKillDisable?: 0 | 1;
}

const V2_ALL = 'cpuset cpu io memory hugetlb pids rdma misc';

export class FakeKernel {
  readonly io: CgroupIO;
  /** Every successful write: path relative to the fake root, and the value. */
  readonly writes: Array<{ path: string; data: string }> = [];
  /** Pids SIGKILLed (in order). */
  readonly killed: number[] = [];
  /** Pids killed while frozen: they die on THAWED, like the kernel's refrigerator. */
  private pendingDeath = new Set<number>();
  /** Every chown: path relative to the fake root and the owner (the fake keeps files root's). */
  readonly chowned: Array<{ path: string; uid: number; gid: number }> = [];
  /** Paths (relative) whose rmdir fails with EBUSY this many more times. */
  readonly busy = new Map<string, number>();

  constructor(
    readonly root: string,
    readonly mounts: FakeMount[],
    readonly opts: FakeOptions = {},
  ) {
    this.io = {
      read: (p) => this.read(p),
      exists: (p) => nodeIO.exists(p),
      listDirs: (p) => nodeIO.listDirs(p),
      write: (p, d) => this.write(p, d),
      mkdir: (p) => this.mkdir(p),
      rmdir: (p) => this.rmdir(p),
      kill: (pid, sig) => this.kill(pid, sig),
      chown: async (p, uid, gid) => {
        await fsp.lstat(p); // ENOENT like lchown(2)
        this.chowned.push({ path: this.rel(p), uid, gid });
      },
    };
  }

  static async create(mounts: FakeMount[], opts: FakeOptions = {}): Promise<FakeKernel> {
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'boxlab-cg-'));
    const k = new FakeKernel(root, mounts, opts);
    for (const m of mounts) {
      await fsp.mkdir(k.abs(m.mount), { recursive: true });
      await k.populate(k.abs(m.mount), m, true);
    }
    return k;
  }

  abs(rel: string): string {
    return path.join(this.root, rel);
  }
  rel(p: string): string {
    return '/' + path.relative(this.root, p);
  }
  async cleanup(): Promise<void> {
    await fsp.rm(this.root, { recursive: true, force: true });
  }

  private mountOf(p: string): FakeMount {
    const r = this.rel(p);
    const m = this.mounts.filter((x) => r === x.mount || r.startsWith(x.mount + '/')).sort((a, b) => b.mount.length - a.mount.length)[0];
    if (!m) throw SyscallError.of({ syscall: 'mkdir', code: 'EPERM', path: p, message: `EPERM: not a cgroupfs: ${p}` });
    return m;
  }

  /** Files the kernel shows in a new cgroup of this hierarchy. */
  private async populate(dir: string, m: FakeMount, isRoot: boolean): Promise<void> {
    const f: Record<string, string> = { 'cgroup.procs': '' };
    const swap = this.opts.swap ?? true;
    if (m.kind === 'v2') {
      const parent = path.dirname(dir);
      f['cgroup.controllers'] = isRoot ? V2_ALL + '\n' : await fsp.readFile(path.join(parent, 'cgroup.subtree_control'), 'utf8');
      // (read() serves the live value; the file content only decides which interface files appear)
      f['cgroup.subtree_control'] = '';
      f['cgroup.freeze'] = '0';
      if (!isRoot) Object.assign(f, { 'cgroup.threads': '', 'cgroup.max.descendants': 'max\n', 'cgroup.max.depth': 'max\n' });
      if (this.opts.cgroupKill ?? true) f['cgroup.kill'] = '';
      f['cpu.stat'] = 'usage_usec 0\nuser_usec 0\nsystem_usec 0\n';
      const ctrls = f['cgroup.controllers'].trim().split(/\s+/);
      if (!isRoot && ctrls.includes('memory')) {
        Object.assign(f, { 'memory.max': 'max\n', 'memory.current': '0\n', 'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n' });
        if (swap) Object.assign(f, { 'memory.swap.max': 'max\n', 'memory.swap.current': '0\n' });
      }
      if (!isRoot && ctrls.includes('cpu')) {
        f['cpu.max'] = 'max 100000\n';
        f['cpu.stat'] += 'nr_periods 0\nnr_throttled 0\nthrottled_usec 0\n';
      }
      if (!isRoot && ctrls.includes('pids')) Object.assign(f, { 'pids.max': 'max\n', 'pids.current': '0\n' });
    } else {
      f.tasks = '';
      for (const c of m.kind) {
        if (c === 'memory') {
          Object.assign(f, {
            'memory.limit_in_bytes': '9223372036854771712\n',
            'memory.usage_in_bytes': '0\n',
            'memory.oom_control': `oom_kill_disable ${this.opts.oomKillDisable ?? 0}\nunder_oom 0\noom_kill 0\n`,
          });
          if (swap) Object.assign(f, { 'memory.memsw.limit_in_bytes': '9223372036854771712\n', 'memory.memsw.usage_in_bytes': '0\n' });
        }
        if (c === 'cpu')
          Object.assign(f, {
            'cpu.cfs_period_us': '100000\n',
            'cpu.cfs_quota_us': '-1\n',
            'cpu.stat': 'nr_periods 0\nnr_throttled 0\nthrottled_time 0\n',
          });
        if (c === 'cpuacct') f['cpuacct.usage'] = '0\n';
        if (c === 'pids' && !isRoot) Object.assign(f, { 'pids.max': 'max\n', 'pids.current': '0\n' });
        if (c === 'freezer' && !isRoot) f['freezer.state'] = 'THAWED\n';
      }
    }
    for (const [name, content] of Object.entries(f)) {
      await fsp.writeFile(path.join(dir, name), content, { flag: 'wx' }).catch((e) => {
        if (e.code !== 'EEXIST') throw e;
      });
    }
  }

  /** Makes a cgroup directory by hand (for tests that set up pre-existing state). */
  async mkcg(rel: string): Promise<string> {
    const p = this.abs(rel);
    const m = this.mountOf(p);
    // Missing ancestors become cgroups too, top first (a child's files depend on its parent's subtree_control).
    const parts = path.relative(this.abs(m.mount), p).split(path.sep).filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const d = path.join(this.abs(m.mount), ...parts.slice(0, i));
      await fsp.mkdir(d, { recursive: true });
      await this.populate(d, m, false);
    }
    return p;
  }

  async mkdir(p: string): Promise<void> {
    const m = this.mountOf(p);
    await fsp.mkdir(p);
    await this.populate(p, m, false);
  }

  async rmdir(p: string): Promise<void> {
    const err = (code: keyof typeof os.constants.errno) =>
      SyscallError.of({ syscall: 'rmdir', code, path: p, message: `${code}: rmdir ${p}` });
    if (!fs.existsSync(p)) throw err('ENOENT');
    const left = this.busy.get(this.rel(p)) ?? 0;
    if (left > 0) {
      this.busy.set(this.rel(p), left - 1);
      throw err('EBUSY');
    }
    if ((await nodeIO.listDirs(p)).length) throw err('EBUSY');
    if ((await fsp.readFile(path.join(p, 'cgroup.procs'), 'utf8')).trim()) throw err('EBUSY');
    await fsp.rm(p, { recursive: true });
  }

  /** All cgroup.procs files of the fake tree. */
  private async procsFiles(dir = this.root): Promise<string[]> {
    const out: string[] = [];
    for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) out.push(...(await this.procsFiles(p)));
      else if (e.name === 'cgroup.procs') out.push(p);
    }
    return out;
  }

  private async removePid(pid: number, onlyMount?: FakeMount): Promise<void> {
    for (const f of await this.procsFiles()) {
      if (onlyMount && this.mountOf(f) !== onlyMount) continue;
      const pids = (await fsp.readFile(f, 'utf8')).split('\n').filter((l) => l && l !== String(pid));
      await fsp.writeFile(f, pids.map((l) => l + '\n').join(''));
    }
  }

  /** cgroup.controllers of a v2 child is live: whatever the parent enables in subtree_control. */
  async read(p: string): Promise<string> {
    await this.pending;
    const m = this.mountOf(p);
    const dir = path.dirname(p);
    if (m.kind === 'v2' && path.basename(p) === 'cgroup.controllers' && this.rel(dir) !== m.mount) {
      await nodeIO.read(p); // ENOENT when the cgroup is gone
      return nodeIO.read(path.join(path.dirname(dir), 'cgroup.subtree_control'));
    }
    return nodeIO.read(p);
  }

  async write(p: string, data: string): Promise<void> {
    await this.pending;
    const name = path.basename(p);
    const dir = path.dirname(p);
    const m = this.mountOf(p);
    if (name === 'cgroup.procs') {
      await nodeIO.write(p, (await fsp.readFile(p, 'utf8')) + data + '\n'); // O_NOFOLLOW like the real one
      const pid = Number(data);
      const content = await fsp.readFile(p, 'utf8');
      await this.removePid(pid, m); // a process is in exactly one cgroup per hierarchy
      await fsp.writeFile(p, content);
    } else if (name === 'cgroup.subtree_control') {
      const avail = (await this.read(path.join(dir, 'cgroup.controllers'))).trim().split(/\s+/);
      const have = new Set((await fsp.readFile(p, 'utf8')).trim().split(/\s+/).filter(Boolean));
      const isRoot = this.rel(dir) === m.mount;
      for (const tok of data.trim().split(/\s+/)) {
        const c = tok.slice(1);
        if (!avail.includes(c)) throw SyscallError.of({ syscall: 'write', code: 'ENOENT', path: p, message: 'ENOENT' });
        if (!isRoot && (await fsp.readFile(path.join(dir, 'cgroup.procs'), 'utf8')).trim()) {
          throw SyscallError.of({ syscall: 'write', code: 'EBUSY', path: p, message: 'EBUSY' });
        }
        if (tok[0] === '+') have.add(c);
        else have.delete(c);
      }
      await nodeIO.write(p, [...have].join(' ') + '\n');
    } else if (name === 'cgroup.kill') {
      await nodeIO.write(p, data);
      // The whole subtree, like the kernel (cgroup_kill walks every descendant css_set).
      for (const f of await this.procsFiles(dir)) {
        for (const pid of (await fsp.readFile(f, 'utf8')).split('\n').filter(Boolean)) {
          this.killed.push(Number(pid));
          await this.removePid(Number(pid));
        }
      }
    } else if (name === 'freezer.state') {
      await nodeIO.write(p, data + '\n');
      if (data === 'THAWED') {
        for (const pid of this.pendingDeath) await this.removePid(pid);
        this.pendingDeath.clear();
      }
    } else {
      await nodeIO.write(p, data + '\n');
    }
    this.writes.push({ path: this.rel(p), data });
  }

  private async isFrozen(pid: number): Promise<boolean> {
    for (const f of await this.procsFiles()) {
      const st = path.join(path.dirname(f), 'freezer.state');
      if (!fs.existsSync(st)) continue;
      const pids = (await fsp.readFile(f, 'utf8')).split('\n');
      if (pids.includes(String(pid)) && (await fsp.readFile(st, 'utf8')).trim() === 'FROZEN') return true;
    }
    return false;
  }

  kill(pid: number, _sig: NodeJS.Signals): void {
    this.killed.push(pid);
    // Synchronous like kill(2): record now, apply the death (or defer it while frozen) in the background.
    this.pending = this.pending.then(async () => {
      if (await this.isFrozen(pid)) this.pendingDeath.add(pid);
      else await this.removePid(pid);
    });
  }
  pending: Promise<void> = Promise.resolve();

  /** Puts a pid in a cgroup directly (a process living there before the test). */
  async place(rel: string, pid: number): Promise<void> {
    await this.removePid(pid, this.mountOf(this.abs(rel)));
    await fsp.appendFile(path.join(this.abs(rel), 'cgroup.procs'), `${pid}\n`);
  }

  /** The cgroup (relative path) holding `pid` in the hierarchy mounted at `mount`, or null. */
  async whereIs(pid: number, mount: string): Promise<string | null> {
    for (const f of await this.procsFiles(this.abs(mount))) {
      if ((await fsp.readFile(f, 'utf8')).split('\n').includes(String(pid))) return this.rel(path.dirname(f));
    }
    return null;
  }

  /** Every cgroup directory under `mount` (relative paths, sorted): what a test compares before and after. */
  async tree(mount: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (d: string) => {
      for (const e of await fsp.readdir(d, { withFileTypes: true })) {
        if (!e.isDirectory()) continue;
        out.push(this.rel(path.join(d, e.name)));
        await walk(path.join(d, e.name));
      }
    };
    await walk(this.abs(mount));
    return out.sort();
  }

  async readRel(rel: string): Promise<string> {
    return (await fsp.readFile(this.abs(rel), 'utf8')).trim();
  }
  async setRel(rel: string, content: string): Promise<void> {
    await fsp.writeFile(this.abs(rel), content);
  }
}
