// Boxes versus the host and each other: own netns with only lo, no host sockets, kill -9 -1 stays inside, teardown kills all.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { RUN_DIR } from '../engine/state.ts';
import {
  answers,
  buildProbeImage,
  procsInUidRange,
  runInBox,
  SKIP,
  sleep,
  startBox,
  type LiveBox,
  type ProbeImage,
} from './testing/harness.ts';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('isolation between boxes and the host', { skip: SKIP }, () => {
  let img: ProbeImage;
  before(async () => {
    img = await buildProbeImage();
  });
  after(() => img?.cleanup());

  test('own network namespace: only lo; host abstract unix and localhost TCP sockets out of reach', async (t) => {
    const name = `boxlab-sec-${randomBytes(4).toString('hex')}`;
    let accepted = 0;
    const unixSrv = net.createServer((s) => (accepted++, s.destroy()));
    const tcpSrv = net.createServer((s) => (accepted++, s.destroy()));
    await new Promise<void>((r) => unixSrv.listen(`\0${name}`, r));
    await new Promise<void>((r) => tcpSrv.listen(0, '127.0.0.1', r));
    const port = (tcpSrv.address() as net.AddressInfo).port;
    try {
      // Control: the host itself reaches both listeners.
      for (const opts of [{ path: `\0${name}` }, { port, host: '127.0.0.1' }]) {
        await new Promise<void>((res, rej) => net.connect(opts as net.NetConnectOpts, () => res()).on('error', rej));
      }
      const hostLinks = fs.readdirSync('/sys/class/net').sort();
      const run = await runInBox({
        baseDir: img.image,
        script: `ls /sys/class/net; ip -o link | cut -d: -f2; /probe unix ${name}; echo x | nc -w 1 127.0.0.1 ${port}; echo "nc=$?"`,
      });
      const links = run.lines.filter((l) => /^\s*\w+\s*$/.test(l)).map((l) => l.trim());
      assert.deepEqual([...new Set(links)], ['lo'], 'sysfs and ip link show only lo');
      assert.ok(hostLinks.length > 1, `the host has more than lo (${hostLinks.join(',')}), so the probe could fail`);
      assert.equal(answers(run.lines, 'unix').get(name), 'err ECONNREFUSED', 'host abstract socket not reachable');
      assert.match(run.out, /^nc=1$/m, 'host 127.0.0.1 is not the box 127.0.0.1');
      assert.equal(accepted, 2, 'only the two host-side control connections arrived');
      t.diagnostic(`host links: ${hostLinks.join(',')}; box: lo only; abstract unix ECONNREFUSED; tcp 127.0.0.1:${port} refused`);
    } finally {
      unixSrv.close();
      tcpSrv.close();
    }
  });

  test('kill -9 -1 in one box touches neither a second box nor the host', async (t) => {
    const canary = spawn('sleep', ['60'], { stdio: 'ignore' });
    let b: LiveBox | undefined;
    try {
      b = await startBox({ baseDir: img.image, shell: '/bin/sh', args: ['-c', 'sleep 1000 & sleep 1000 & echo ready; wait'] });
      await b.waitFor(/ready/);
      await sleep(100);
      const bProcs = procsInUidRange(b.uidBase).sort();
      assert.ok(bProcs.length >= 3, `box B runs sh + 2 sleeps (${bProcs.length})`);
      // Box A signals everything it can, then aims at B's and the host's pids by number.
      const a = await runInBox({
        baseDir: img.image,
        script: `sleep 1000 & p=$!; kill -9 -1; wait $p; echo "own $?"; kill -9 ${b.box.pids.init} ${canary.pid} 2>&1`,
      });
      assert.match(a.out, /^own 137$/m, "control: kill -9 -1 did kill the box's own process");
      for (const pid of [b.box.pids.init, canary.pid]) {
        assert.match(a.out, new RegExp(`can't kill pid ${pid}: No such process`), `host pid ${pid} does not exist in box A`);
      }
      assert.deepEqual(procsInUidRange(b.uidBase).sort(), bProcs, 'every process of box B survived');
      assert.ok(alive(canary.pid!), 'the host canary survived');
      t.diagnostic(`box B kept ${bProcs.length} processes; host canary ${canary.pid} alive; A: ${a.out.replace(/\n/g, ' | ')}`);
    } finally {
      canary.kill('SIGKILL');
      await b?.close();
    }
  });

  test('distinct uid ranges: even a box that escaped its root (pivot_root disabled) cannot enter another box', async (t) => {
    const b = await startBox({
      baseDir: img.image,
      shell: '/bin/sh',
      args: ['-c', 'echo b-secret > /root/b; echo ready; read x'],
      keepStdin: true,
    });
    try {
      await b.waitFor(/ready/);
      const bRoot = `${RUN_DIR}/sandboxes/${b.id}/merged/root`;
      const bDir = `${RUN_DIR}/sandboxes/${b.id}`;
      // Control: the host sees B's file there, so the path is right and only permissions can stop A.
      assert.equal(fs.readFileSync(`${bRoot}/b`, 'utf8'), 'b-secret\n');
      const a = await runInBox({
        baseDir: img.image,
        disable: ['pivot_root'],
        script: `/probe escape ${img.marker} ${bRoot} ${bDir} ${RUN_DIR}/sandboxes /root`,
      });
      const got = answers(a.lines, 'escape');
      assert.equal(got.get('marker'), 'found', 'A did get out to the host root');
      assert.equal(got.get(`list:${bDir}`), 'EACCES', "B's dir is 0710 with B's gid: A's uid is a stranger");
      assert.equal(got.get(`list:${bRoot}`), 'EACCES');
      assert.equal(got.get(`list:${RUN_DIR}/sandboxes`), 'EACCES', 'the list of boxes is not readable (0711)');
      assert.equal(got.get('list:/root'), 'EACCES', "the host root's home");
      t.diagnostic(`escaped box A: ${[...got].map(([k, v]) => `${k}=${v}`).join('; ')}`);
    } finally {
      await b.close();
    }
  });

  test('teardown kills every process even while the box keeps forking', async (t) => {
    const live = await startBox({ baseDir: img.image, pids: 64, shell: '/probe', args: ['forkloop'] });
    await live.waitFor(/forkloop started/);
    await sleep(500);
    const before = procsInUidRange(live.uidBase).length;
    assert.ok(before > 30, `the box is full of processes (${before})`);
    const t0 = performance.now();
    await live.close(); // throws if any process, mount or cgroup is left
    t.diagnostic(`${before} processes forking at teardown; destroy took ${(performance.now() - t0).toFixed(0)} ms; none left`);
  });
});
