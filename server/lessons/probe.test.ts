// The box's cgroup directory from /proc/<init>/cgroup and the host's mountinfo, on v1, hybrid, pure v2 and Docker-style v1 hosts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cgroupDir } from './probe.ts';

const fixture = (name: string) => readFileSync(new URL(`../engine/cgroups/testing/fixtures/${name}`, import.meta.url), 'utf8');
/** The box sits in <server's cgroup>/boxlab/<id> of every hierarchy (what the engine makes). */
const boxCgroup = (serverCgroup: string) =>
  serverCgroup
    .trim()
    .split('\n')
    .map((l) => `${l.replace(/\/$/, '')}/boxlab/bx-1`)
    .join('\n');

test('hybrid host (v1 controllers and a cgroup2 mount): the v1 pids hierarchy wins', () => {
  const cg = boxCgroup(fixture('hybrid-systemd-cgroup.txt'));
  assert.equal(
    cgroupDir('pids', cg, fixture('hybrid-systemd-mountinfo.txt')),
    '/sys/fs/cgroup/pids/system.slice/boxlab.service/boxlab/bx-1',
  );
  assert.equal(
    cgroupDir('memory', cg, fixture('hybrid-systemd-mountinfo.txt')),
    '/sys/fs/cgroup/memory/system.slice/boxlab.service/boxlab/bx-1',
  );
});

test('pure v2 host: the unified hierarchy', () => {
  const cg = boxCgroup(fixture('v2-cgroup.txt'));
  assert.equal(cgroupDir('pids', cg, fixture('v2-mountinfo.txt')), '/sys/fs/cgroup/system.slice/boxlab.service/boxlab/bx-1');
});

test('v1 host, and a container whose v1 mounts start at its own cgroup (mount root /docker/c0ffee)', () => {
  assert.equal(
    cgroupDir('pids', boxCgroup(fixture('host-v1-cgroup.txt')), fixture('host-v1-mountinfo.txt')),
    '/sys/fs/cgroup/pids/boxlab/bx-1',
  );
  assert.equal(
    cgroupDir('pids', boxCgroup(fixture('docker-v1-cgroup.txt')), fixture('docker-v1-mountinfo.txt')),
    '/sys/fs/cgroup/pids/boxlab/bx-1',
  );
});

test('no hierarchy for the controller is an error, not a guess', () => {
  assert.throws(
    () =>
      cgroupDir(
        'pids',
        '1:name=systemd:/x',
        fixture('host-v1-mountinfo.txt')
          .split('\n')
          .filter((l) => !/ - cgroup2? /.test(l))
          .join('\n'),
      ),
    /no pids cgroup/,
  );
});
