// Fault injection into the host checks: each missing kernel feature gives exactly one line naming it and the fix.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { FakeKernel } from '../engine/cgroups/testing/fake-kernel.ts';
import { hostProblems, kernelVersion, preflight, type HostProbe } from './preflight.ts';

const fx = (name: string) => readFileSync(new URL(`../engine/cgroups/testing/fixtures/${name}`, import.meta.url), 'utf8');

/** A healthy pure-v2 Debian 12 host (kernel 6.1, image on ext4) over a fake cgroupfs; `files` overrides /proc texts. */
async function host(
  t: { after(fn: () => Promise<void>): void },
  over: Partial<HostProbe> & { files?: Record<string, string | null>; rootControllers?: string } = {},
) {
  const k = await FakeKernel.create([{ mount: '/sys/fs/cgroup', kind: 'v2' }]);
  t.after(() => k.cleanup());
  if (over.rootControllers !== undefined) await k.setRel('/sys/fs/cgroup/cgroup.controllers', over.rootControllers + '\n');
  const files: Record<string, string | null> = {
    '/proc/sys/user/max_user_namespaces': '63299\n',
    '/proc/filesystems': 'nodev\tsysfs\nnodev\tcgroup2\n\text4\nnodev\toverlay\n',
    '/proc/self/status': 'Name:\tnode\nSeccomp:\t0\nSeccomp_filters:\t0\n',
    '/proc/sys/kernel/seccomp/actions_avail': 'kill_process kill_thread trap errno user_notif trace log allow\n',
    ...over.files,
  };
  const probe: HostProbe = {
    read: (p) => files[p] ?? null,
    exists: (p) => p !== '/proc/self/ns/user' || files['ns/user'] !== null,
    release: () => '6.1.0-28-amd64',
    fsType: () => 0xef53,
    cgroups: { mountinfo: fx('v2-mountinfo.txt'), selfCgroup: '0::/\n', fsRoot: k.root, io: k.io },
    ...over,
  };
  return probe;
}

const one = async (probe: HostProbe, image = '/var/lib/boxlab/images/busybox') => {
  const p = await hostProblems(probe, image);
  assert.equal(p.length, 1, `exactly one problem: ${JSON.stringify(p)}`);
  assert.ok(!p[0]!.includes('\n'), 'one line');
  return p[0]!;
};

test('a healthy host has no problems', async (t) => {
  assert.deepEqual(await hostProblems(await host(t), '/var/lib/boxlab/images/busybox'), []);
});

test('user namespaces: built without, or disabled by sysctl', async (t) => {
  assert.match(await one(await host(t, { files: { 'ns/user': null } })), /^no user namespaces: .*CONFIG_USER_NS/);
  assert.match(
    await one(await host(t, { files: { '/proc/sys/user/max_user_namespaces': '0\n' } })),
    /user\.max_user_namespaces=0\).*sysctl -w user\.max_user_namespaces=15000/,
  );
  // Debian's kernel.unprivileged_userns_clone=0 does not apply to root (CAP_SYS_ADMIN): not a problem.
  assert.deepEqual(await hostProblems(await host(t, { files: { '/proc/sys/kernel/unprivileged_userns_clone': '0\n' } })), []);
});

test('overlayfs missing', async (t) => {
  assert.match(await one(await host(t, { files: { '/proc/filesystems': 'nodev\tsysfs\n\text4\n' } })), /^no overlayfs: .*modprobe overlay/);
});

test('idmapped mounts: kernel before 5.12, a filesystem without them, one that got them late', async (t) => {
  assert.match(
    await one(await host(t, { release: () => '5.10.0-30-amd64' })),
    /^no idmapped mounts: kernel 5\.10\.0-30-amd64 is older than 5\.12.*upgrade the kernel/,
  );
  assert.match(await one(await host(t, { fsType: () => 0x6969 })), /^no idmapped mounts on nfs: .*BOXLAB_HOME/);
  assert.match(
    await one(await host(t, { release: () => '5.15.0', fsType: () => 0x01021994 })),
    /^no idmapped mounts on tmpfs before Linux 6\.3/,
  );
  assert.deepEqual(await hostProblems(await host(t, { release: () => '6.6.0', fsType: () => 0x01021994 }), '/img'), []);
  assert.deepEqual(kernelVersion('6.18.44-fc-v1300'), [6, 18]);
});

test('seccomp filters missing', async (t) => {
  assert.match(
    await one(await host(t, { files: { '/proc/sys/kernel/seccomp/actions_avail': null } })),
    /^no seccomp filters: .*CONFIG_SECCOMP_FILTER/,
  );
  assert.match(await one(await host(t, { files: { '/proc/self/status': 'Name:\tnode\n' } })), /^no seccomp filters/);
});

test('cgroup v2 controllers not available at the root (fake cgroupfs)', async (t) => {
  const line = await one(await host(t, { rootControllers: 'cpuset io memory' }));
  assert.match(line, /^cgroup controller\(s\) cpu, pids not found: .*cgroup2 \/sys\/fs\/cgroup \[cpuset io memory\].*cgroup\.controllers/);
});

test('preflight throws the first problem as a CliError (exit 125)', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('requireRoot comes first');
  await assert.rejects(preflight('/img', await host(t, { files: { '/proc/filesystems': '' } })), (e: Error & { exitCode?: number }) => {
    assert.equal(e.exitCode, 125);
    assert.match(e.message, /^no overlayfs/);
    return true;
  });
});
