// Lab mode on cgroup v2, in a real box: the learner mounts its cgroup view, makes child cgroups under the box's limits,
// cannot touch the box's own limits, is capped in how many cgroups it makes, and the teardown leaves nothing.
// On a v1 or hybrid host there is no delegation (the test says so and skips); the v2 guest runs it (npm run test:v2).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { describe, test } from 'node:test';
import { defaultImagePath, ensureImage } from '../rootfs/index.ts';
import { SKIP, startBox } from '../security-tests/testing/harness.ts';
import { MAX_DESCENDANTS } from './cgroups/delegate-box.ts';
import { MiB } from '../protocol/size.ts';

describe('lab mode: a cgroup subtree delegated to the box (cgroup v2)', { skip: SKIP }, () => {
  test("mount, mkdir, memory.max below the box; the box limit stays root's; the subtree is capped and removed", async (t) => {
    const base = await ensureImage(defaultImagePath(), () => {});
    const live = await startBox({
      baseDir: base,
      lab: true,
      memoryBytes: 128 * MiB,
      stdio: 'pty',
      shell: '/bin/sh',
      args: ['-l'],
      rows: 40,
      cols: 150,
    });
    let boxDir = '';
    try {
      const st = await live.box.stats();
      if (st.cgroupVersion !== 2) {
        t.skip(`cgroup v${st.cgroupVersion} host: v1 has no delegation to a user namespace (cgroups(7)); run on a v2 host`);
        return;
      }
      const running = live.box.events.find((e) => e.stage === 'running')?.detail ?? '';
      assert.match(running, /cgroup subtree delegated/, running);
      const initCg = fs.readFileSync(`/proc/${live.box.pids.init}/cgroup`, 'utf8').trim();
      assert.match(initCg, /^0::\/.*\/init$/, 'PID 1 lives in the init/ leaf');
      boxDir = `/sys/fs/cgroup${initCg.slice(3, -'/init'.length)}`;
      const boxMax = fs.readFileSync(`${boxDir}/memory.max`, 'utf8').trim();
      assert.equal(boxMax, String(128 * 2 ** 20), 'the box limit read back from the kernel');

      await live.waitFor(/# /, 30_000);
      live.box.write('mount -t cgroup2 none /sys/fs/cgroup && cat /proc/self/cgroup && echo mounted=$?\n');
      await live.waitFor(/mounted=0/, 30_000);
      assert.match(live.out, /^0::\/init$/m, 'inside, the path is relative to the box cgroup namespace');
      live.box.write('echo 1G > /sys/fs/cgroup/memory.max; echo boxmax=$?\n');
      await live.waitFor(/boxmax=\d+/, 30_000);
      assert.match(live.out, /boxmax=[1-9]/, "writing the box's own memory.max is refused");
      assert.equal(fs.readFileSync(`${boxDir}/memory.max`, 'utf8').trim(), boxMax, 'and the limit is unchanged');

      live.box.write('mkdir /sys/fs/cgroup/mine && echo 8M > /sys/fs/cgroup/mine/memory.max && echo mine=$?\n');
      await live.waitFor(/mine=0/, 30_000);
      const sub = await live.box.cgroupSubtree();
      assert.deepEqual(sub.map((c) => c.path).sort(), ['init', 'mine']);
      assert.equal(sub.find((c) => c.path === 'mine')?.memoryMax, 8 * 2 ** 20);

      // A child may ask for more than the box has: the kernel keeps the box's limit above it in force.
      live.box.write('echo 1G > /sys/fs/cgroup/mine/memory.max; echo bigger=$?\n');
      await live.waitFor(/bigger=\d+/, 30_000);
      t.diagnostic(`child asking for 1G: exit ${/bigger=(\d+)/.exec(live.out)?.[1]} (allowed: the box's 128M still caps it)`);

      live.box.write('i=0; while mkdir /sys/fs/cgroup/d$i 2>/dev/null; do i=$((i+1)); done; echo made=$i\n');
      const made = Number((await live.waitFor(/made=(\d+)/, 60_000))[1]);
      const total = (await live.box.cgroupSubtree()).length;
      assert.equal(total, MAX_DESCENDANTS, `cgroup.max.descendants caps the subtree (${made} made by the loop)`);
      t.diagnostic(`subtree capped at ${total} cgroups (the loop made ${made} before mkdir was refused)`);
    } finally {
      await live.close();
    }
    if (boxDir) assert.equal(fs.existsSync(boxDir), false, `${boxDir} removed with its children`);
  });

  // Where the kernel counts a fork refused at pids.max moved in Linux 6.12 (pids.events became hierarchical, at the
  // cgroup whose limit was hit): before, in the forking task's (here init/). The lesson check reads both
  // (server/lessons/kernel-reads.ts pidsMaxEvents); this proves one of them sees it on the running kernel.
  test("a bomb in init/ stopped at the box pids.max is counted in the box or in init/ (the kernel's choice)", async (t) => {
    const base = await ensureImage(defaultImagePath(), () => {});
    const live = await startBox({
      baseDir: base,
      lab: true,
      pids: 24,
      memoryBytes: 128 * MiB,
      stdio: 'pty',
      shell: '/bin/sh',
      args: ['-l'],
    });
    let boxDir = '';
    try {
      const st = await live.box.stats();
      if (st.cgroupVersion !== 2) {
        t.skip(`cgroup v${st.cgroupVersion} host: no delegation (cgroups(7))`);
        return;
      }
      const initCg = fs.readFileSync(`/proc/${live.box.pids.init}/cgroup`, 'utf8').trim();
      boxDir = `/sys/fs/cgroup${initCg.slice(3, -'/init'.length)}`;
      // The bomb runs only under a limit read back from the kernel.
      assert.equal(fs.readFileSync(`${boxDir}/pids.max`, 'utf8').trim(), '24', 'the box pids.max read back');
      await live.waitFor(/# /, 30_000);
      // An interactive ash abandons the line at the first fork it cannot make: the echo (a builtin) goes on its own line.
      live.box.write('i=0; while [ $i -lt 40 ]; do sleep 60 & i=$((i+1)); done\n');
      live.box.write('echo bombed=$((40+2))\n');
      await live.waitFor(/bombed=42/, 60_000);
      const own = (await live.box.stats()).pids.refused ?? 0;
      const sub = await live.box.cgroupSubtree();
      const below = sub.reduce((n, c) => n + c.pidsRefused, 0);
      t.diagnostic(
        `kernel ${os.release()}: forks refused counted at the box ${own}, in its subtree ${below} (${sub.map((c) => `${c.path} ${c.pidsRefused}`).join(', ')})`,
      );
      assert.ok(Math.max(own, below) > 0, `a refused fork is counted somewhere: box ${own}, subtree ${below}`);
    } finally {
      await live.close();
    }
    if (boxDir) assert.equal(fs.existsSync(boxDir), false, `${boxDir} removed with its children`);
  });
});
