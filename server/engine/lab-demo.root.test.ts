// The classic instructor demo typed into a real pty: `unshare --pid --fork --mount-proc sh` then `ps`, in a lab box
// (works) and in a plain box (refused), with the nested shell's NSpid read from the host.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import { defaultImagePath, ensureImage } from '../rootfs/index.ts';
import { SKIP, startBox } from '../security-tests/testing/harness.ts';
import { sampleProcs } from '../xray/procs.ts';
import { nsOwnerIno } from '../../native-bindings/index.ts';
import { closeFd, openDir } from '../boxfs/index.ts';
import { sampleNestedMounts } from '../xray/nested-mounts.ts';

/** Host pids of every process below `pid` (children files), depth first. */
const descendants = (pid: number): number[] => {
  const kids = fs
    .readdirSync(`/proc/${pid}/task`)
    .flatMap((t) => {
      try {
        return fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      } catch {
        return [];
      } // the task ended between readdir and read
    })
    .map(Number);
  return kids.flatMap((k) => [k, ...(fs.existsSync(`/proc/${k}`) ? descendants(k) : [])]);
};

/** True once a process below the box's init is PID 1 of a third pid namespace level (the nested `sh`) and has exec'd. */
const nestedShell = (init: number): boolean =>
  descendants(init).some((p) => {
    try {
      const status = fs.readFileSync(`/proc/${p}/status`, 'utf8');
      const levels = /^NSpid:\s+(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/) ?? [];
      return levels.length === 3 && levels[2] === '1' && /^Name:\s+sh$/m.test(status);
    } catch {
      return false;
    }
  });

const waitUntil = async (ok: () => boolean, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

const demo = async (lab: boolean) => {
  const base = await ensureImage(defaultImagePath(), () => {});
  const live = await startBox({ baseDir: base, lab, stdio: 'pty', shell: '/bin/sh', args: ['-l'], rows: 40, cols: 120 });
  try {
    await live.waitFor(/# /, 30_000);
    live.box.write('unshare --pid --fork --mount-proc sh\n');
    // Type the next line only once the outer shell has handed the terminal on: the nested shell exists (lab box) or
    // unshare's refusal is printed (plain box). A fixed sleep raced under emulation: busybox ash reads ahead while it
    // still edits its own line, and a line typed that early went to the outer shell (CI on the v2 guest).
    await waitUntil(() => (lab ? nestedShell(live.box.pids.init) : /Operation not permitted/.test(live.out)));
    if (!lab) await live.waitFor(/not permitted[\s\S]*# /, 30_000);
    live.box.write('ps; echo "me=$$ done"\n');
    await live.waitFor(/me=\d+ done/, 30_000);
    // The nested shell as the host sees it: NSpid host -> box -> nested.
    const nspids = fs
      .readdirSync(`/proc/${live.box.pids.init}/task`)
      .flatMap((t) => fs.readFileSync(`/proc/${live.box.pids.init}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean))
      .flatMap((c) => {
        const kids = fs.readFileSync(`/proc/${c}/task/${c}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
        return [c, ...kids].map((p) => /^NSpid:\s+(.*)$/m.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'))?.[1]?.trim() ?? '');
      });
    // What a follower's x-ray gets: the same walk the sampler does.
    const xray = sampleProcs({ procRoot: '/proc', init: live.box.pids.init, parent: live.box.pids.namespacedParent, uidMap: [] }).procs;
    const fd = openDir(`/proc/${live.box.pids.init}`)!;
    const mounts = sampleNestedMounts('/proc', xray, fd);
    closeFd(fd);
    return { xray, mounts, out: live.out, nspids: nspids.map((n) => n.replace(/\s+/g, ' ')) };
  } finally {
    await live.close();
  }
};

describe('instructor demo: unshare --pid --fork --mount-proc sh; ps', { skip: SKIP }, () => {
  test('lab box: the new shell is PID 1, ps lists only it and ps, the host sees three NSpid levels', async (t) => {
    const { out, nspids, xray, mounts } = await demo(true);
    // The x-ray's Layers tab: the learner's mount namespace, with the fresh /proc the box does not have.
    assert.equal(mounts.length, 1, JSON.stringify(mounts));
    assert.deepEqual(
      mounts[0]?.list.map((m) => `${m.mountPoint} ${m.fsType}`),
      ['/proc proc'],
    );
    assert.match(out, /me=1 done/, out);
    // ps reads the new /proc: only the nested shell (1) and ps itself (2), none of the box's processes.
    const rows = out.split('\n').filter((l) => /^\s*\d+\s+root\s/.test(l));
    assert.deepEqual(
      rows.map((l) => Number(l.trim().split(/\s+/)[0])),
      [1, 2],
      `ps rows: ${rows.join(' | ')}`,
    );
    const deep = nspids.find((n) => n.split(/\s+/).length === 3 && n.endsWith(' 1'));
    assert.ok(deep, `a process with NSpid host box 1: ${JSON.stringify(nspids)}`);
    t.diagnostic(`NSpid of the nested shell: ${deep}`);
    const shown = xray.find((p) => p.nspid?.length === 2 && p.nspid[1] === 1);
    assert.ok(shown, `the x-ray lists the nested PID 1 with its levels: ${JSON.stringify(xray)}`);
    assert.deepEqual(shown.nsOwn?.map((n) => n.kind).sort(), ['mnt', 'pid'], 'its own pid and mount namespaces');
    assert.equal(shown.pid, shown.nspid?.[0], 'pid is the box-level one');
    t.diagnostic(`x-ray row: pid ${shown.pid}, nspid ${shown.nspid?.join('/')}, own ${JSON.stringify(shown.nsOwn)}`);
  });

  test('plain box: the same command is refused (seccomp), the shell stays the box PID 1', async () => {
    const { out, nspids } = await demo(false);
    assert.match(out, /unshare: unshare\([^)]*\): Operation not permitted/, out);
    // The box's own shell is PID 1 there too (so `$$` proves nothing): no process has a third NSpid level.
    assert.ok(
      nspids.every((n) => n.split(' ').length === 2),
      JSON.stringify(nspids),
    );
  });

  test('lab box: the x-ray reads who owns each nested namespace from the kernel (NS_GET_USERNS)', async (t) => {
    const base = await ensureImage(defaultImagePath(), () => {});
    const live = await startBox({ baseDir: base, lab: true, stdio: 'pty', shell: '/bin/sh', args: ['-l'], rows: 40, cols: 120 });
    try {
      await live.waitFor(/# /, 30_000);
      // A user namespace of the learner's own, with a network namespace made inside it.
      live.box.write('unshare --user --map-root-user --net sleep 4343 &\n');
      const init = live.box.pids.init;
      const owned = () =>
        sampleProcs({ procRoot: '/proc', init, parent: live.box.pids.namespacedParent, uidMap: [], nsOwner: nsOwnerIno }).procs.find(
          (p) => p.cmd.includes('sleep 4343') && p.nsOwn?.some((n) => n.kind === 'net'),
        );
      await waitUntil(() => owned() !== undefined);
      const row = owned()!;
      const boxUser = fs.statSync(`/proc/${init}/ns/user`).ino;
      const user = row.nsOwn?.find((n) => n.kind === 'user');
      const net = row.nsOwn?.find((n) => n.kind === 'net');
      assert.ok(user && net, JSON.stringify(row.nsOwn));
      assert.equal(user.userns, boxUser, "the learner's user namespace hangs under the box's (its parent)");
      assert.equal(net.userns, user.ino, 'the net namespace is owned by the user namespace it was made with');
      t.diagnostic(`user:[${user.ino}] parent user:[${boxUser}]; net:[${net.ino}] owned by user:[${net.userns}]`);
    } finally {
      await live.close();
    }
  });
});
