// Who the box's root is: uid maps and ranges, capabilities, no_new_privs, seccomp mode, rlimits, setuid binaries.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Defense } from '../engine/index.ts';
import { BOX_CAPS, CAPS, capMask } from '../engine/security/policy.ts';
import { UID_BASE, UID_RANGE } from '../engine/state.ts';
import { LAB_CAPS } from '../engine/security/lab-policy.ts';
import {
  answers,
  buildProbeImage,
  runInBox,
  SKIP,
  SUITE_LAB,
  startBox,
  type BoxRun,
  type LiveBox,
  type ProbeImage,
} from './testing/harness.ts';

const SCRIPT = [
  "grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status",
  'cat /proc/self/limits',
  'stat -c "mode %a owner %u" /probe-suid',
  '/probe whoami /etc/probe-secret',
  '/probe suid /probe-suid /etc/probe-secret',
].join('; ');

const status = (r: BoxRun, key: string) => new RegExp(`^${key}:\\s+(\\S+)`, 'm').exec(r.out)?.[1];
/** [soft, hard] of a /proc/self/limits row. */
const limit = (r: BoxRun, row: string) => {
  const m = new RegExp(`^${row}\\s+(\\S+)\\s+(\\S+)`, 'm').exec(r.out);
  return m ? [m[1], m[2]] : undefined;
};
const hex = (n: bigint) => n.toString(16).padStart(16, '0');

describe('identity of root inside the box', { skip: SKIP }, () => {
  let img: ProbeImage;
  const runs = new Map<string, BoxRun>();
  const CONFIGS: Record<string, Defense[]> = {
    secure: [],
    'no caps': ['caps'],
    'no no_new_privs': ['no_new_privs'],
    'no seccomp': ['seccomp'],
    'no rlimits': ['rlimits'],
  };

  before(async () => {
    img = await buildProbeImage();
    for (const [name, disable] of Object.entries(CONFIGS)) {
      runs.set(name, await runInBox({ baseDir: img.image, script: SCRIPT, disable }));
    }
  });
  after(() => img?.cleanup());

  test('uid_map: root inside is an unprivileged host uid of a range of its own; setgroups denied', async (t) => {
    const boxes: LiveBox[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        boxes.push(
          await startBox({
            baseDir: img.image,
            keepStdin: true,
            shell: '/bin/sh',
            args: ['-c', 'cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; echo ready; read x'],
          }),
        );
      }
      const seen: number[] = [];
      for (const b of boxes) {
        await b.waitFor(/ready/);
        const maps = [...b.out.matchAll(/^\s*0\s+(\d+)\s+(\d+)\s*$/gm)].map((m) => [Number(m[1]), Number(m[2])]);
        assert.deepEqual(
          maps,
          [
            [b.uidBase, UID_RANGE],
            [b.uidBase, UID_RANGE],
          ],
          'uid_map and gid_map: 0 -> base, 65536 ids',
        );
        assert.match(b.out, /^deny$/m, '/proc/self/setgroups');
        assert.ok(b.uidBase >= UID_BASE && (b.uidBase - UID_BASE) % UID_RANGE === 0, `base ${b.uidBase} is a slot above 2^30`);
        // The kernel's view from the host: PID 1 (root inside) runs as the base uid, with no host groups.
        const st = fs.readFileSync(`/proc/${b.box.pids.init}/status`, 'utf8');
        assert.match(st, new RegExp(`^Uid:\\s+${b.uidBase}\\s+${b.uidBase}\\s+${b.uidBase}\\s+${b.uidBase}$`, 'm'));
        assert.match(st, new RegExp(`^Gid:\\s+${b.uidBase}\\s`, 'm'));
        assert.match(st, /^Groups:\s*$/m, 'no supplementary groups');
        assert.equal(fs.readFileSync(`/proc/${b.box.pids.init}/setgroups`, 'utf8').trim(), 'deny');
        // The merged root is mounted nosuid,nodev on the host: setuid bits and device nodes of the image mean nothing.
        const root = fs
          .readFileSync('/proc/self/mountinfo', 'utf8')
          .split('\n')
          .find((l) => l.includes(`${b.id}/merged `));
        assert.match(root?.split(' ')[5] ?? '', /(^|,)nosuid(,|$)/, `overlay of ${b.id} is nosuid`);
        assert.match(root?.split(' ')[5] ?? '', /(^|,)nodev(,|$)/, `overlay of ${b.id} is nodev`);
        // The namespaced parent (outside the box's pid ns, same uid) is non-dumpable: its /proc files belong to host
        // root, so nothing running as the box's uid can ptrace it or open its fds (CVE-2016-9962).
        const parent = b.box.pids.namespacedParent;
        assert.match(fs.readFileSync(`/proc/${parent}/status`, 'utf8'), new RegExp(`^Uid:\\s+${b.uidBase}\\s`, 'm'));
        assert.equal(fs.statSync(`/proc/${parent}/status`).uid, 0, 'namespaced parent is not dumpable');
        assert.equal(fs.statSync(`/proc/${b.box.pids.init}/status`).uid, b.uidBase, 'control: a dumpable task shows its own uid');
        seen.push(b.uidBase);
      }
      const [a = NaN, c = NaN] = seen;
      assert.ok(Math.abs(a - c) >= UID_RANGE, `two live boxes have disjoint ranges (${a}, ${c})`);
      t.diagnostic(`box A root = host uid ${a}, box B root = host uid ${c}; each maps ${UID_RANGE} ids`);
    } finally {
      for (const b of boxes) await b.close();
    }
  });

  test('CapEff/CapPrm/CapBnd are the short list; all 41 with caps disabled', (t) => {
    // A lab-mode box keeps two more, in its own user namespace only (lab-policy.ts).
    const want = hex(capMask(SUITE_LAB ? LAB_CAPS : BOX_CAPS));
    const sec = runs.get('secure')!;
    for (const k of ['CapEff', 'CapPrm', 'CapBnd']) assert.equal(status(sec, k), want, k);
    assert.equal(status(sec, 'CapAmb'), hex(0n));
    const open = runs.get('no caps')!;
    const eff = BigInt(`0x${status(open, 'CapEff')}`);
    assert.notEqual(status(open, 'CapEff'), want);
    assert.ok(eff & (1n << BigInt(CAPS.SYS_ADMIN)), 'CAP_SYS_ADMIN (in the box user ns) without the cap drop');
    t.diagnostic(`CapEff secure=${status(sec, 'CapEff')} (${BOX_CAPS.join(',')}); caps disabled=${status(open, 'CapEff')}`);
  });

  test('NoNewPrivs is 1; 0 with no_new_privs disabled', (t) => {
    assert.equal(status(runs.get('secure')!, 'NoNewPrivs'), '1');
    assert.equal(status(runs.get('no no_new_privs')!, 'NoNewPrivs'), '0');
    t.diagnostic('NoNewPrivs secure=1, disabled=0');
  });

  test('Seccomp is 2 (filter) with one filter; 0 with seccomp disabled', (t) => {
    const sec = runs.get('secure')!;
    assert.equal(status(sec, 'Seccomp'), '2');
    assert.equal(status(sec, 'Seccomp_filters'), '1');
    assert.equal(status(runs.get('no seccomp')!, 'Seccomp'), '0');
    t.diagnostic('Seccomp secure=2 (1 filter), disabled=0');
  });

  test('rlimits: core 0, nofile 1024, fsize = disk cap, hard limits too; the host values with rlimits disabled', (t) => {
    const sec = runs.get('secure')!;
    const open = runs.get('no rlimits')!;
    assert.deepEqual(limit(sec, 'Max core file size'), ['0', '0']);
    assert.deepEqual(limit(sec, 'Max open files'), ['1024', '1024']);
    assert.deepEqual(limit(sec, 'Max file size'), [String(64 << 20), String(64 << 20)]);
    assert.notDeepEqual(limit(open, 'Max core file size'), ['0', '0'], 'core hard limit would be raisable');
    assert.notDeepEqual(limit(open, 'Max open files'), ['1024', '1024']);
    assert.notDeepEqual(limit(open, 'Max file size'), [String(64 << 20), String(64 << 20)]);
    t.diagnostic(
      `disabled: core=${limit(open, 'Max core file size')} nofile=${limit(open, 'Max open files')} fsize=${limit(open, 'Max file size')}`,
    );
  });

  test('a setuid-root binary gives uid 1000 nothing (nosuid mount + no_new_privs)', (t) => {
    for (const [name, r] of runs) {
      assert.match(r.out, /^mode 4755 owner 0$/m, `${name}: the image really holds a setuid-root binary`);
      const who = answers(r.lines, 'whoami');
      // Control: root inside can read it, so a gained euid 0 would show as read=ok.
      assert.equal(who.get('ruid=0'), 'euid=0 read=ok', `${name}: root reads /etc/probe-secret`);
      assert.equal(who.get('ruid=1000'), 'euid=1000 read=EACCES', `${name}: setuid exec stays uid 1000`);
    }
    t.diagnostic('secure: euid stays 1000, read EACCES; no_new_privs disabled: the same, because the overlay is also mounted nosuid');
  });
});
