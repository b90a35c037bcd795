// captions.root.test.ts: every claim of the x-ray's captions (components/xray/claims.ts), checked against the kernel
// in a real box built with the web server's own sandbox config: what it says the box sees or refuses, the box does.
import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { test } from 'node:test';
import { NS_CLAIMS, TRY_COMMANDS, UTS_RENAME_CAP, type NsKind } from '../../components/xray/claims.ts';
import { runInBox } from '../security-tests/testing/harness.ts';
import { defaultImagePath, ensureImage } from '../rootfs/index.ts';
import { defaultConfig } from '../web/config.ts';
import { sandboxConfigFor } from '../root/compose.ts';
import type { Session } from '../sessions/session.ts';

const skip = process.getuid?.() !== 0 ? 'needs root: a real box' : false;
const KINDS = Object.keys(NS_CLAIMS) as NsKind[];

/** `key=value` lines of the script's output. */
const values = (lines: string[]) =>
  new Map(
    lines
      .map((l) => /^([\w.[\]]+)=(.*)$/.exec(l))
      .filter((m) => m !== null)
      .map((m) => [m[1], m[2]]),
  );
/** Lines between `begin NAME` and `end NAME`. */
const block = (lines: string[], name: string) => lines.slice(lines.indexOf(`begin ${name}`) + 1, lines.indexOf(`end ${name}`));

test('the x-ray captions say only what the box lets you see and do', { skip }, async (t) => {
  const image = await ensureImage(defaultImagePath(), () => {});
  const session = { id: `captions${Date.now().toString(16)}`, rows: 24, cols: 80 } as unknown as Session;
  const config = { ...sandboxConfigFor(defaultConfig(), image, session), stdio: 'pipe' as const };
  // The host has a listening TCP socket while the box looks (so "host sockets invisible" could fail).
  const listener = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => listener.once('listening', r));
  const section = (name: string, cmd: string) => `echo "begin ${name}"; ${cmd}; echo "end ${name}"`;
  const script = [
    'echo "pid=$$"',
    'echo "procs=$(ls /proc | grep -c "^[0-9][0-9]*$")"',
    ...KINDS.map((k) => `echo "ns.${k}=$(readlink /proc/self/ns/${k})"`),
    'echo "hostname=$(hostname)"',
    'echo "capeff=$(grep CapEff /proc/self/status | cut -f2)"',
    'hostname renamed-by-captions-test 2>/dev/null; echo "rename=$?"; echo "after=$(hostname)"',
    section('mounts', "cut -d' ' -f5 /proc/self/mountinfo"),
    'echo "uid=$(id -u)"; echo "uidmap=$(head -1 /proc/self/uid_map)"',
    section('links', 'ls /sys/class/net'),
    'echo "routes=$(tail -n +2 /proc/net/route | wc -l)"; echo "tcp=$(tail -n +2 /proc/net/tcp | wc -l)"',
    section('cgroup', 'cat /proc/self/cgroup'),
    ...TRY_COMMANDS.layers.map((c, i) => `${c}; echo "try.layers.${i}=$?"`),
    ...TRY_COMMANDS.processes.map((c, i) => `${c} echo "try.processes.${i}=$?"; kill $! 2>/dev/null`),
  ].join('\n');
  const hostName = os.hostname();
  let run: Awaited<ReturnType<typeof runInBox>>;
  try {
    run = await runInBox({ ...config, script });
  } finally {
    listener.close();
  }
  const lines = run.lines.map((l) => l.trim());
  const v = values(lines);
  const why = run.out.slice(-3000);

  // Isolated or shared, as each caption's row says: a namespace is named by its inode (namespaces(7)).
  for (const k of KINDS) {
    const box = /\[(\d+)\]/.exec(v.get(`ns.${k}`) ?? '')?.[1];
    const host = /\[(\d+)\]/.exec(readlinkSync(`/proc/self/ns/${k}`))?.[1];
    assert.ok(box && host, `${k}: inodes read (box ${box}, host ${host})\n${why}`);
    assert.equal(box !== host, NS_CLAIMS[k].isolated, `${k}: "${NS_CLAIMS[k].words}" but box ${box}, host ${host}`);
  }
  // pid: "counts from 1, blind to host processes".
  assert.equal(v.get('pid'), '1');
  const hostProcs = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
  assert.ok(Number(v.get('procs')) < 10 && hostProcs > 10, `box sees ${v.get('procs')} pids, host ${hostProcs}`);
  // mnt: "/, /proc and /dev mounts are its own".
  const mounts = block(lines, 'mounts');
  for (const m of ['/', '/proc', '/dev']) assert.ok(mounts.includes(m), `${m} mounted in the box: ${mounts.join(' ')}`);
  // uts: "set by Boxlab at start, unseen by the host; renaming needs CAP_SYS_ADMIN".
  assert.equal(v.get('hostname'), config.hostname);
  assert.notEqual(config.hostname, hostName);
  const hasCap = (BigInt(`0x${v.get('capeff') ?? '0'}`) >> BigInt(UTS_RENAME_CAP.bit)) & 1n;
  if (hasCap) {
    assert.equal(v.get('rename'), '0', `with ${UTS_RENAME_CAP.name} sethostname works`);
    assert.equal(v.get('after'), 'renamed-by-captions-test');
  } else {
    assert.equal(v.get('rename'), '1', `without ${UTS_RENAME_CAP.name} sethostname fails (EPERM)`);
    assert.equal(v.get('after'), config.hostname);
  }
  assert.equal(os.hostname(), hostName, 'the host keeps its name');
  t.diagnostic(
    `uts: box ${config.hostname}, host ${hostName}; ${UTS_RENAME_CAP.name} ${hasCap ? 'kept: rename worked' : 'dropped: rename refused'}`,
  );
  // user: "root inside is an unprivileged uid on the host".
  assert.equal(v.get('uid'), '0');
  const [inside, outside = NaN] = (v.get('uidmap') ?? '').trim().split(/\s+/).map(Number);
  assert.ok(inside === 0 && outside > 0, `uid_map ${v.get('uidmap')}`);
  // net: "only a loopback, no route out; host sockets invisible".
  assert.deepEqual(block(lines, 'links'), ['lo']);
  assert.equal(v.get('routes'), '0', 'no route');
  assert.equal(v.get('tcp'), '0', 'no TCP socket of the host in the box');
  // cgroup: "sees its own cgroup as the root" (every hierarchy, v1 or v2).
  const cg = block(lines, 'cgroup');
  assert.ok(cg.length > 0 && cg.every((l) => l.endsWith(':/')), cg.join(' | '));
  // What the captions invite you to try works.
  for (const [view, cmds] of Object.entries(TRY_COMMANDS)) {
    cmds.forEach((c, i) => assert.equal(v.get(`try.${view}.${i}`), '0', `"${c}" works in a fresh box\n${why}`));
  }
});
