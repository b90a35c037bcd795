// Unit tests of the bwrap command line and the runc OCI config the comparison uses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bwrapArgv, RUNC_ID_BASE, runcConfig } from './competitors.ts';

test('bwrap: every namespace, uid 0, image as /, fresh /proc and /dev, /bin/true', () => {
  const a = bwrapArgv('/img', 'ro-bind');
  assert.deepEqual(a.slice(0, 6), ['bwrap', '--unshare-all', '--uid', '0', '--gid', '0']);
  assert.deepEqual(a.slice(a.indexOf('--ro-bind'), a.indexOf('--ro-bind') + 3), ['--ro-bind', '/img', '/']);
  assert.equal(a.at(-1), '/bin/true');
  const o = bwrapArgv('/img', 'tmp-overlay');
  assert.ok(o.includes('--overlay-src') && o.includes('--tmp-overlay') && !o.includes('--ro-bind'));
});

test('runc config: userns mapped above the engine ranges, all namespaces, v1 limits of a default box', () => {
  // biome-ignore lint/suspicious/noExplicitAny: the test walks the OCI config's nested JSON
  const c = runcConfig('/img', { memoryBytes: 256 << 20, cpuQuotaUs: 50000, cpuPeriodUs: 100000, pids: 128 }) as any;
  assert.deepEqual(c.root, { path: '/img', readonly: true });
  assert.deepEqual(c.process.args, ['/bin/true']);
  assert.equal(c.process.terminal, false);
  const ns = c.linux.namespaces.map((n: { type: string }) => n.type).sort();
  assert.deepEqual(ns, ['cgroup', 'ipc', 'mount', 'network', 'pid', 'user', 'uts']);
  assert.deepEqual(c.linux.uidMappings, [{ containerID: 0, hostID: RUNC_ID_BASE, size: 65536 }]);
  // The engine's slots end at 2^30 + 4096 * 65536; runc's range must not overlap any box's.
  assert.ok(RUNC_ID_BASE >= 2 ** 30 + 4096 * 65536);
  assert.ok(RUNC_ID_BASE + 65536 <= 2 ** 32 - 1);
  assert.equal(c.linux.resources.memory.limit, 256 << 20);
  assert.equal(c.linux.resources.cpu.quota, 50000);
  assert.equal(c.linux.resources.pids.limit, 128);
  assert.match(c.linux.cgroupsPath, /^\/boxlab-bench-runc\//);
});
