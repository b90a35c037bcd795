// Unit tests of controller detection over recorded /proc/self/mountinfo and /proc/self/cgroup texts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { detectLayout, dirThroughMount, layoutVersion, parseMountinfo, parseProcCgroup, unescapeMountField } from './detect.ts';

const fx = (name: string) => readFileSync(new URL(`./testing/fixtures/${name}`, import.meta.url), 'utf8');

test('mountinfo: optional fields, the " - " separator and \\040 escapes', () => {
  const m = parseMountinfo(fx('v2-mountinfo.txt'));
  const usb = m.find((x) => x.fsType === 'vfat')!;
  assert.equal(usb.mountPoint, '/media/usb disk');
  assert.deepEqual(usb.optionalFields, ['shared:45', 'master:3']);
  assert.equal(usb.source, '/dev/sdb1');
  const cg = m.find((x) => x.fsType === 'cgroup2')!;
  assert.deepEqual(cg.superOptions, ['rw', 'nsdelegate', 'memory_recursiveprot']);
  const host = parseMountinfo(fx('host-v1-mountinfo.txt'));
  const mem = host.find((x) => x.mountPoint === '/sys/fs/cgroup/memory')!;
  assert.deepEqual(mem.optionalFields, []);
  assert.deepEqual(mem.superOptions, ['rw', 'memory']);
  assert.equal(unescapeMountField('a\\011b\\134c\\012'), 'a\tb\\c\n');
  assert.throws(() => parseMountinfo('1 2 3:4 / /x rw shared:1 ext4 /dev/x rw'), /malformed/);
});

test('/proc/self/cgroup: v1 lists, named hierarchies and the 0:: line', () => {
  const c = parseProcCgroup(fx('hybrid-systemd-cgroup.txt'));
  assert.equal(c.v1.get('cpu'), '/system.slice/boxlab.service');
  assert.equal(c.v1.get('cpuacct'), '/system.slice/boxlab.service');
  assert.equal(c.v1.get('net_prio'), '/');
  assert.equal(c.v1.get('name=systemd'), '/system.slice/boxlab.service');
  assert.equal(c.v2, '/system.slice/boxlab.service');
  assert.equal(parseProcCgroup('0::/a:b\n').v2, '/a:b');
});

test('this host (hybrid, v1 controllers, cgroup2 with only hugetlb)', () => {
  const l = detectLayout({ mountinfo: fx('host-v1-mountinfo.txt'), selfCgroup: fx('host-v1-cgroup.txt'), unifiedControllers: 'hugetlb\n' });
  assert.equal(layoutVersion(l), 1);
  assert.deepEqual(l.controllers.memory, {
    version: 1,
    mountPoint: '/sys/fs/cgroup/memory',
    mountRoot: '/',
    ownPath: '/process_api/e2b0110824a7f4401049d848c041fe93',
    ownDir: '/sys/fs/cgroup/memory/process_api/e2b0110824a7f4401049d848c041fe93',
  });
  assert.equal(l.controllers.cpu!.ownDir, '/sys/fs/cgroup/cpu');
  assert.equal(l.controllers.cpuacct!.ownDir, '/sys/fs/cgroup/cpuacct');
  assert.equal(l.controllers.pids!.ownDir, '/sys/fs/cgroup/pids');
  assert.equal(l.controllers.freezer!.ownDir, '/sys/fs/cgroup/freezer');
  // "cpuset" must not be taken for "cpu": options are matched as whole tokens.
  assert.equal(l.controllers.cpu!.mountPoint, '/sys/fs/cgroup/cpu');
  assert.deepEqual(l.unified!.controllers, ['hugetlb']);
  assert.equal(l.unified!.ownDir, '/sys/fs/cgroup/unified');
});

test('pure cgroup v2: everything on the unified mount, nested under our service', () => {
  const l = detectLayout({
    mountinfo: fx('v2-mountinfo.txt'),
    selfCgroup: fx('v2-cgroup.txt'),
    unifiedControllers: 'cpuset cpu io memory hugetlb pids rdma misc\n',
  });
  assert.equal(layoutVersion(l), 2);
  for (const c of ['memory', 'cpu', 'pids'] as const) {
    assert.equal(l.controllers[c]!.version, 2);
    assert.equal(l.controllers[c]!.ownDir, '/sys/fs/cgroup/system.slice/boxlab.service');
  }
  assert.equal(l.controllers.cpuacct, undefined, 'no cpuacct on v2: usage is in cpu.stat');
  assert.equal(l.controllers.freezer, undefined, 'no freezer controller on v2: cgroup.freeze/kill are core');
});

test('systemd hybrid with co-mounted cpu,cpuacct', () => {
  const l = detectLayout({
    mountinfo: fx('hybrid-systemd-mountinfo.txt'),
    selfCgroup: fx('hybrid-systemd-cgroup.txt'),
    unifiedControllers: '',
  });
  assert.equal(l.controllers.cpu!.ownDir, '/sys/fs/cgroup/cpu,cpuacct/system.slice/boxlab.service');
  assert.equal(l.controllers.cpuacct!.ownDir, l.controllers.cpu!.ownDir);
  assert.equal(l.controllers.freezer!.ownDir, '/sys/fs/cgroup/freezer');
  assert.equal(layoutVersion(l), 1);
});

test('container whose cgroup mounts have a non-/ root', () => {
  const l = detectLayout({ mountinfo: fx('docker-v1-mountinfo.txt'), selfCgroup: fx('docker-v1-cgroup.txt') });
  assert.equal(l.controllers.memory!.ownDir, '/sys/fs/cgroup/memory');
  assert.equal(l.controllers.cpu!.ownDir, '/sys/fs/cgroup/cpu,cpuacct');
  assert.equal(l.unified, undefined);
  assert.equal(dirThroughMount('/m', '/docker/c0ffee', '/docker/c0ffee/sub'), '/m/sub');
  assert.equal(dirThroughMount('/m', '/docker/c0ffee', '/docker/c0ffee2'), null);
  assert.equal(dirThroughMount('/m', '/', '/a/b (deleted)'), '/m/a/b');
});

test('a missing required controller is a clear error', () => {
  assert.throws(
    () => detectLayout({ mountinfo: fx('v2-mountinfo.txt'), selfCgroup: fx('v2-cgroup.txt'), unifiedControllers: 'cpu memory' }),
    /cgroup controller\(s\) pids not found: v1 mounts none, cgroup2 \/sys\/fs\/cgroup \[cpu memory\]/,
  );
  const noCpuacct = fx('host-v1-mountinfo.txt')
    .split('\n')
    .filter((l) => !l.includes('cpuacct'))
    .join('\n');
  assert.throws(() => detectLayout({ mountinfo: noCpuacct, selfCgroup: fx('host-v1-cgroup.txt') }), /cpuacct not found/);
});
