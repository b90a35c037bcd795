// Test helper: recorded /proc, layer and cgroup trees (v1 and v2) in a temp dir, with hostile entries planted in them.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const ID = 'bx-0123456789ab';
export const HOST_NS = {
  pid: 4026531836,
  mnt: 4026531832,
  uts: 4026531838,
  ipc: 4026531839,
  net: 4026531833,
  user: 4026531837,
  cgroup: 4026531835,
  time: 4026531834,
};
export const BOX_NS = {
  pid: 4026532181,
  mnt: 4026532178,
  uts: 4026532179,
  ipc: 4026532180,
  net: 4026532183,
  user: 4026532177,
  cgroup: 4026532182,
  time: 4026531834,
};
export const PIDS = { server: 100, namespacedParent: 200, init: 201 };
/** A secret outside the box: no sample may ever contain it. */
export const SECRET = 'TOPSECRET-host-file';

const put = (p: string, text: string) => {
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
};

function status(name: string, state: string, pid: number, ppid: number, nspid: number[], threads = 1): string {
  // Recorded from a real box (Linux 6.18), trimmed to the lines around the ones the sampler reads.
  return [
    `Name:\t${name}`,
    'Umask:\t0022',
    `State:\t${state}`,
    `Tgid:\t${pid}`,
    'Ngid:\t0',
    `Pid:\t${pid}`,
    `PPid:\t${ppid}`,
    'TracerPid:\t0',
    'Uid:\t1105068032\t1105068032\t1105068032\t1105068032',
    'Gid:\t1105068032\t1105068032\t1105068032\t1105068032',
    `NStgid:\t${nspid.join('\t')}`,
    `NSpid:\t${nspid.join('\t')}`,
    `NSpgid:\t${nspid.join('\t')}`,
    `Threads:\t${threads}`,
    '',
  ].join('\n');
}

export const BOX_MOUNTINFO = [
  `70 43 0:40 / / rw,nosuid,nodev,relatime - overlay boxlab rw,lowerdir=/run/boxlab/sandboxes/${ID}/lower,upperdir=/run/boxlab/sandboxes/${ID}/rw/upper`,
  '71 70 0:44 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw',
  '73 70 0:46 / /dev rw,nosuid,noexec,relatime - tmpfs tmpfs rw,size=64k,nr_inodes=64,mode=755',
  '80 73 0:47 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,gid=1105068037,mode=620,ptmxmode=666',
  // A mount point the learner named with a space, a newline and an escape sequence (mountinfo escapes them in octal).
  '90 70 0:52 / /mnt/a\\040b\\012c\x1b[2J rw,relatime shared:5 master:1 - tmpfs tmpfs rw',
  '',
].join('\n');

export interface Fixture {
  root: string;
  proc: string;
  layers: { lower: string; upper: string; merged: string };
  cleanup(): void;
}

export function makeFixture(): Fixture {
  const root = mkdtempSync(join(tmpdir(), 'xray-fixture-'));
  const proc = join(root, 'proc');
  const secretDir = join(root, 'host-secret');
  put(join(secretDir, SECRET), SECRET);
  for (const [k, v] of Object.entries(HOST_NS)) {
    mkdirSync(join(proc, 'self/ns'), { recursive: true });
    symlinkSync(`${k}:[${v}]`, join(proc, 'self/ns', k));
  }
  put(
    join(proc, 'self/mountinfo'),
    '1 0 8:1 / / rw - ext4 /dev/sda1 rw\n2 1 0:5 / /proc rw - proc proc rw\n3 1 0:6 / /sys rw - sysfs sysfs rw\n',
  );
  const proc1 = (pid: number, st: string, cmd: string, children: Record<number, number[]> = {}) => {
    put(join(proc, `${pid}/status`), st);
    put(join(proc, `${pid}/cmdline`), cmd);
    const tasks = Object.keys(children).length ? children : { [pid]: [] };
    for (const [tid, kids] of Object.entries(tasks)) put(join(proc, `${pid}/task/${tid}/children`), kids.map((k) => `${k} `).join(''));
  };
  const { namespacedParent: np, init } = PIDS;
  proc1(np, status('node', 'S (sleeping)', np, PIDS.server, [np]), 'node\0server.ts\0');
  // PID 1 has two threads; the second forked 207.
  proc1(init, status('sh', 'S (sleeping)', init, np, [init, 1], 2), '/bin/sh\0', { [init]: [202, 204, 205, 206], 210: [207] });
  put(join(proc, `${init}/cgroup`), `8:pids:/boxlab/${ID}\n4:memory:/process_api/x/boxlab/${ID}\n0::/\n`);
  put(join(proc, `${init}/uid_map`), '         0 1105068032      65536\n');
  put(join(proc, `${init}/mountinfo`), BOX_MOUNTINFO);
  mkdirSync(join(proc, `${init}/ns`), { recursive: true });
  for (const [k, v] of Object.entries(BOX_NS)) symlinkSync(`${k}:[${v}]`, join(proc, `${init}/ns`, k));
  proc1(202, status('sleep', 'S (sleeping)', 202, init, [202, 2]), 'sleep\x00100\x00', { 202: [203] });
  proc1(203, status('sleep', 'Z (zombie)', 203, 202, [203, 3]), '');
  // 204 was in a children list, died, and its pid went to a host process: its PPid gives it away.
  proc1(204, status('sshd', 'S (sleeping)', 204, 1, [204]), '/usr/sbin/sshd\0-D\0');
  // 205's cmdline is a planted symlink to a host file; a name with an escape sequence and a newline.
  proc1(205, status('ev\\x1b[31mil\\n', 'R (running)', 205, init, [205, 5]), '');
  rmSync(join(proc, '205/cmdline'));
  symlinkSync(join(secretDir, SECRET), join(proc, '205/cmdline'));
  // 206 is not a directory but a symlink to one outside /proc: never followed.
  mkdirSync(join(secretDir, 'fakeproc'), { recursive: true });
  put(join(secretDir, 'fakeproc/status'), status(SECRET, 'S', 206, init, [206, 6]));
  symlinkSync(join(secretDir, 'fakeproc'), join(proc, '206'));
  proc1(207, status('worker', 'S (sleeping)', 207, init, [207, 7]), 'worker\0');

  const layers = { lower: join(root, 'lower'), upper: join(root, 'upper'), merged: join(root, 'merged') };
  for (const f of ['etc/passwd', 'etc/group', 'etc/hostname', 'bin/sh', 'opq/a', 'opq/b']) put(join(layers.lower, f), 'image\n');
  mkdirSync(join(layers.lower, 'tmp'), { recursive: true });
  put(join(layers.upper, 'etc/passwd'), 'image\nlearner\n');
  put(join(layers.upper, 'tmp/x'), 'hi\n');
  put(join(layers.upper, 'tmp/new/deep.txt'), 'x');
  put(join(layers.upper, Buffer.from('tmp/bad\nname\x1b[2J').toString()), '');
  symlinkSync(secretDir, join(layers.upper, 'tmp/evil'));
  // A top-level link to the host's secret dir: listed as a symlink with its target, its contents never read.
  symlinkSync(secretDir, join(layers.upper, 'etc2'));
  put(join(layers.upper, 'opq/c'), 'c');
  // The merged view as overlayfs would show it: /opq is opaque (rm -rf /opq; mkdir /opq; touch /opq/c).
  for (const f of ['etc/passwd', 'etc/group', 'etc/hostname', 'bin/sh', 'tmp/x', 'opq/c']) put(join(layers.merged, f), '');
  return { root, proc, layers, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** A recorded cgroup tree (v1 hybrid or pure v2) under `root`, laid out where the engine's cgroup code looks. */
export function makeCgroupTree(
  root: string,
  version: 1 | 2,
): { mountinfo: string; selfCgroup: string; fsRoot: string; dirs: Record<string, string> } {
  const fixtures = new URL('../../engine/cgroups/testing/fixtures/', import.meta.url);
  const read = (n: string) => readFileSync(new URL(n, fixtures), 'utf8');
  const fsRoot = join(root, `cg-v${version}`);
  if (version === 1) {
    const dirs = {
      memory: join(fsRoot, 'sys/fs/cgroup/memory/process_api/e2b0110824a7f4401049d848c041fe93/boxlab', ID),
      cpu: join(fsRoot, 'sys/fs/cgroup/cpu/boxlab', ID),
      cpuacct: join(fsRoot, 'sys/fs/cgroup/cpuacct/boxlab', ID),
      pids: join(fsRoot, 'sys/fs/cgroup/pids/boxlab', ID),
    };
    put(join(fsRoot, 'sys/fs/cgroup/unified/cgroup.controllers'), '');
    put(join(dirs.memory, 'memory.usage_in_bytes'), '815104\n');
    put(join(dirs.memory, 'memory.limit_in_bytes'), '268435456\n');
    put(join(dirs.memory, 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n');
    put(join(dirs.cpuacct, 'cpuacct.usage'), '6087000\n');
    put(join(dirs.cpu, 'cpu.stat'), 'nr_periods 12\nnr_throttled 0\nthrottled_time 0\n');
    put(join(dirs.cpu, 'cpu.cfs_quota_us'), '50000\n');
    put(join(dirs.cpu, 'cpu.cfs_period_us'), '100000\n');
    put(join(dirs.pids, 'pids.current'), '3\n');
    put(join(dirs.pids, 'pids.max'), '128\n');
    return { mountinfo: read('host-v1-mountinfo.txt'), selfCgroup: read('host-v1-cgroup.txt'), fsRoot, dirs };
  }
  const dir = join(fsRoot, 'sys/fs/cgroup/boxlab', ID); // v2 without systemd: the documented subtree;
  put(join(fsRoot, 'sys/fs/cgroup/cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma misc\n');
  put(join(dir, 'memory.current'), '1204224\n');
  put(join(dir, 'memory.max'), 'max\n');
  put(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n');
  put(join(dir, 'memory.swap.current'), '0\n');
  put(join(dir, 'cpu.stat'), 'usage_usec 9120\nuser_usec 5000\nsystem_usec 4120\nnr_periods 3\nnr_throttled 1\nthrottled_usec 2100\n');
  put(join(dir, 'cpu.max'), '50000 100000\n');
  put(join(dir, 'pids.current'), '2\n');
  put(join(dir, 'pids.max'), '128\n');
  return { mountinfo: read('v2-mountinfo.txt'), selfCgroup: read('v2-cgroup.txt'), fsRoot, dirs: { memory: dir, cpu: dir, pids: dir } };
}
