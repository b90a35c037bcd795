// The box's view of files: masked and read-only /proc, ro /sys, minimal /dev, pivot_root vs chroot escape, fds, rm -rf /.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { answers, buildProbeImage, runInBox, SKIP, startBox, type ProbeImage, SUITE_LAB } from './testing/harness.ts';

interface MountLine {
  majmin: string;
  mountPoint: string;
  optional: string[];
  fstype: string;
  superOpts: string;
}
function mountsOf(pid: number | 'self'): MountLine[] {
  return fs
    .readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [pre = '', post = ''] = line.split(' - ');
      const f = pre.split(' ');
      const [fstype = '', , superOpts = ''] = post.split(' ');
      return { majmin: f[2] ?? '', mountPoint: f[4] ?? '', optional: f.slice(6), fstype, superOpts };
    });
}

/** A digest of every path, type, mode, owner, size and link target of the image: did anything inside change it? */
function treeDigest(dir: string): string {
  return createHash('sha256')
    .update(execFileSync('find', [dir, '-printf', '%P %y %m %U %s %l\n']))
    .digest('hex');
}

const PROC_SCRIPT = [
  '/probe stat /proc/keys',
  '/probe read /proc/keys',
  '/probe stat /proc/timer_list',
  '/probe read /proc/timer_list',
  '/probe stat /proc/kcore',
  'echo "firmware $(ls -A /sys/firmware | wc -l)"',
  // open(O_WRONLY) only: enough to see which layer refuses, with no side effect even when it is allowed.
  '/probe write /proc/sys/net/ipv4/ip_forward',
  '/probe write /proc/sys/kernel/core_pattern',
  '/probe write /proc/sysrq-trigger',
  '/probe write /sys/class/net/lo/mtu',
  '/probe write /sys/kernel/mm/transparent_hugepage/enabled',
  'sed "s/^/mnt /" /proc/self/mountinfo',
].join('; ');
const MASKED = ['/proc/keys', '/proc/timer_list', '/proc/acpi', '/sys/firmware'].filter((p) => fs.existsSync(p));
const READONLY = ['/proc/sys', '/proc/bus', '/proc/fs', '/proc/irq'].filter((p) => fs.existsSync(p));
/** Mount point -> per-mount options, from the box's own /proc/self/mountinfo. */
const boxMounts = (out: string) => new Map([...out.matchAll(/^mnt \d+ \d+ \S+ \S+ (\S+) (\S+)/gm)].map((m) => [m[1], m[2]]));
const hostHas = (p: string) => fs.existsSync(p);

describe('filesystem view of the box', { skip: SKIP }, () => {
  let img: ProbeImage;
  before(async () => {
    img = await buildProbeImage();
  });
  after(() => img?.cleanup());

  // A lab-mode box has no masks by design (nested proc mounts need a fully visible /proc): lab.root.test.ts
  // measures what the masks guarded there.
  const noMasks = SUITE_LAB && 'lab mode: no /proc masks by design, see lab.root.test.ts';
  test('/proc: runc masked paths read empty, /proc/sys read-only; exposed with mask_proc disabled', { skip: noMasks }, async (t) => {
    const cfgs = {
      secure: [],
      'no mask_proc': ['mask_proc'],
      'no proc_ro': ['proc_ro'],
      'no caps': ['caps'],
      'no caps+mask_proc+proc_ro': ['caps', 'mask_proc', 'proc_ro'],
    } as const;
    const r: Record<string, { out: string; stat: Map<string, string>; read: Map<string, string>; write: Map<string, string> }> = {};
    for (const [name, disable] of Object.entries(cfgs)) {
      const run = await runInBox({ baseDir: img.image, script: PROC_SCRIPT, disable: [...disable] });
      r[name] = { out: run.out, stat: answers(run.lines, 'stat'), read: answers(run.lines, 'read'), write: answers(run.lines, 'write') };
    }
    const s = r.secure!;
    const o = r['no mask_proc']!;
    const [ms, mo] = [boxMounts(s.out), boxMounts(o.out)];
    for (const p of MASKED) assert.ok(ms.has(p) && !mo.has(p), `${p} masked by a mount, only with mask_proc`);
    for (const p of READONLY) {
      assert.match(ms.get(p) ?? '', /^ro,/, `${p} is a read-only bind`);
      assert.ok(!mo.has(p), `${p} not remounted with mask_proc disabled`);
    }
    // Masked: a bind of /dev/null (char 1:3), so reads give nothing.
    assert.match(s.stat.get('/proc/keys') ?? '', /^chr 1:3 /);
    assert.equal(s.read.get('/proc/keys'), 'ok 0');
    assert.match(s.stat.get('/proc/timer_list') ?? '', /^chr 1:3 /);
    assert.equal(s.read.get('/proc/timer_list'), 'ok 0');
    // This kernel has no /proc/kcore (CONFIG_PROC_KCORE off); where it exists it is masked like the others.
    assert.match(s.stat.get('/proc/kcore') ?? '', hostHas('/proc/kcore') ? /^chr 1:3 / : /^err ENOENT$/);
    assert.match(s.out, /^firmware 0$/m, '/sys/firmware is an empty tmpfs');
    assert.match(o.stat.get('/proc/keys') ?? '', /^reg /, 'unmasked: the real /proc/keys');
    // timer_list is 0400 on this kernel: unmasked it is the real file, which the host-root ownership then guards.
    assert.match(o.stat.get('/proc/timer_list') ?? '', /^reg /, 'unmasked: the real /proc/timer_list');
    assert.equal(o.read.get('/proc/timer_list'), 'err EACCES');
    assert.doesNotMatch(o.out, /^firmware 0$/m, 'unmasked: host firmware tables listed');

    // /proc/sys/net belongs to the box's netns. The read-only /proc (its superblock, procmem.root.test.ts) answers
    // first; without it the lack of CAP_NET_ADMIN, then the ro bind of /proc/sys; with all three off it opens.
    const fwd = Object.fromEntries(Object.keys(cfgs).map((k) => [k, r[k]!.write.get('/proc/sys/net/ipv4/ip_forward')]));
    assert.deepEqual(fwd, {
      secure: 'err EROFS',
      'no mask_proc': 'err EROFS',
      'no proc_ro': 'err EACCES',
      'no caps': 'err EROFS',
      'no caps+mask_proc+proc_ro': 'ok',
    });
    // Host-global sysctls belong to the host's root: the read-only /proc answers first (EROFS); past every switch
    // the user namespace refuses (EACCES).
    for (const [name, run] of Object.entries(r)) {
      const roProc = !(cfgs[name as keyof typeof cfgs] as readonly string[]).includes('proc_ro');
      assert.equal(run.write.get('/proc/sys/kernel/core_pattern'), roProc ? 'err EROFS' : 'err EACCES', `core_pattern under ${name}`);
      assert.match(run.write.get('/proc/sysrq-trigger') ?? '', hostHas('/proc/sysrq-trigger') ? /^err (EACCES|EROFS)$/ : /^err ENOENT$/);
      // /sys is mounted read-only whatever is disabled, even the box's own lo.
      assert.equal(run.write.get('/sys/class/net/lo/mtu'), 'err EROFS', `/sys under ${name}`);
      assert.equal(run.write.get('/sys/kernel/mm/transparent_hugepage/enabled'), 'err EROFS', `/sys under ${name}`);
    }
    t.diagnostic(
      `secure: keys=${s.stat.get('/proc/keys')} timer_list=${s.read.get('/proc/timer_list')} kcore=${s.stat.get('/proc/kcore')} core_pattern=${s.write.get('/proc/sys/kernel/core_pattern')} sysrq=${s.write.get('/proc/sysrq-trigger')}`,
    );
    t.diagnostic(
      `mask_proc disabled: keys=${o.stat.get('/proc/keys')} timer_list=${o.stat.get('/proc/timer_list')}/${o.read.get('/proc/timer_list')} firmware=${/^firmware (\d+)$/m.exec(o.out)?.[1]} entries; ip_forward: ${JSON.stringify(fwd)}`,
    );
  });

  test('/dev is minimal with a private devpts and capped shm; /proc is fresh; no mount is shared with the host', async (t) => {
    const live = await startBox({
      baseDir: img.image,
      keepStdin: true,
      shell: '/bin/sh',
      args: [
        '-c',
        'echo "dev $(ls -A /dev | tr "\\n" " ")"; echo "pts $(ls -A /dev/pts | tr "\\n" " ")"; echo "pids $(ls /proc | grep -c "^[0-9]")"; echo ready; read x',
      ],
    });
    try {
      await live.waitFor(/ready/);
      const dev = /^dev (.*)$/m.exec(live.out)?.[1]?.trim().split(' ').sort();
      assert.deepEqual(dev, ['fd', 'full', 'null', 'ptmx', 'pts', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'tty', 'urandom', 'zero']);
      assert.match(live.out, /^pts ptmx $/m, 'pipe mode: no pty at all in the box devpts');
      assert.ok(Number(/^pids (\d+)$/m.exec(live.out)?.[1]) <= 4, 'a fresh /proc shows only the box processes');
      const inside = mountsOf(live.box.pids.init);
      const shm = inside.find((m) => m.mountPoint === '/dev/shm');
      assert.equal(shm?.fstype, 'tmpfs');
      assert.match(shm?.superOpts ?? '', /(^|,)size=16384k(,|$)/, 'shm capped at 16M by the kernel');
      assert.match(inside.find((m) => m.mountPoint === '/dev')?.superOpts ?? '', /(^|,)size=64k(,|$)/);
      const pts = inside.find((m) => m.mountPoint === '/dev/pts');
      const hostPts = mountsOf('self').find((m) => m.mountPoint === '/dev/pts');
      assert.equal(pts?.fstype, 'devpts');
      assert.notEqual(pts?.majmin, hostPts?.majmin, 'a new devpts instance, not the host one');
      assert.match(inside.find((m) => m.mountPoint === '/sys')?.superOpts ?? '', /^ro(,|$)/);
      assert.deepEqual(
        inside.filter((m) => m.fstype.startsWith('cgroup')).map((m) => m.mountPoint),
        [],
        'no cgroupfs inside (CVE-2022-0492)',
      );
      const shared = inside.filter((m) => m.optional.some((o) => o.startsWith('shared:')));
      assert.deepEqual(
        shared.map((m) => m.mountPoint),
        [],
        'no mount propagates back to the host (rslave)',
      );
      t.diagnostic(`box mounts: ${inside.length}, shm ${shm?.superOpts}, devpts ${pts?.majmin} vs host ${hostPts?.majmin}`);
    } finally {
      await live.close();
    }
  });

  test('double-chroot escape stays inside with pivot_root; escapes with a plain chroot, where the uid map still holds', async (t) => {
    const script = `/probe escape ${img.marker}`;
    const sec = answers((await runInBox({ baseDir: img.image, script })).lines, 'escape');
    const open = answers((await runInBox({ baseDir: img.image, script, disable: ['pivot_root'] })).lines, 'escape');
    assert.equal(sec.get('marker'), 'absent', 'pivot_root: nothing above the box root');
    assert.equal(sec.get('public'), 'ENOENT -');
    assert.equal(open.get('marker'), 'found', 'chroot only: walked out to the host root');
    assert.equal(open.get('public'), `ok ${img.token}`, 'read the host marker file');
    // Even outside, root of the box is host uid 2^30+: a 0600 root file and a 0755 root dir stay closed.
    assert.equal(open.get('secret'), 'EACCES');
    assert.equal(open.get('write'), 'EACCES');
    assert.deepEqual(fs.readdirSync(img.marker).sort(), ['public', 'secret']);
    t.diagnostic(
      `secure: marker=${sec.get('marker')}; pivot_root disabled: marker=${open.get('marker')} public=${open.get('public')} secret=${open.get('secret')} write=${open.get('write')}`,
    );
  });

  test('only fds 0-2 at exec and cwd inside the root; leaked host fds with close_fds disabled', async (t) => {
    const sec = await runInBox({ baseDir: img.image, shell: '/probe', args: ['fds'] });
    const open = await runInBox({ baseDir: img.image, shell: '/probe', args: ['fds'], disable: ['close_fds'] });
    assert.match(sec.out, /^fds 0 1 2$/m);
    assert.match(sec.out, /^cwd \/root$/m);
    const leaked =
      /^fds (.*)$/m
        .exec(open.out)?.[1]
        ?.split(' ')
        .filter((fd) => Number(fd) > 2) ?? [];
    assert.ok(leaked.length > 0, `close_fds disabled: fds above 2 reach the box (${leaked.join(' ')})`);
    t.diagnostic(`secure: fds 0 1 2, cwd /root; close_fds disabled: also ${leaked.join(' ')}`);
  });

  test('after rm -rf / inside, the image is untouched and the next box is pristine', async (t) => {
    const before = treeDigest(img.image);
    // After rm -rf only shell builtins are left to report.
    const wreck = await runInBox({
      baseDir: img.image,
      script: 'rm -rf / 2>/dev/null; [ -e /bin/busybox ] && echo busybox present || echo busybox gone',
    });
    assert.match(wreck.out, /^busybox gone$/m, 'rm -rf / did delete inside that box');
    assert.equal(treeDigest(img.image), before, 'the shared image is unchanged');
    const next = await runInBox({ baseDir: img.image, script: '/probe stat /bin/busybox; ls -A /root | wc -l; cat /etc/hostname' });
    assert.match(next.out, /^stat \/bin\/busybox reg /m);
    assert.equal(next.exit.code, 0);
    t.diagnostic('wrecked box: busybox gone; next box: busybox present, image digest unchanged');
  });
});
