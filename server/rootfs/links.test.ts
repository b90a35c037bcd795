// Unit tests of busybox applet link planning and creation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, readlink, lstat, readFile, rm, realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planLinks, createLinks } from './links.ts';

const LIST_FULL = [
  'bin/busybox',
  'bin/sh',
  'bin/ls',
  'sbin/init',
  'usr/bin/env',
  'usr/sbin/nologin',
  'linuxrc',
  'bin/ls',
  'etc/evil',
  '',
].join('\n');
const LIST = ['busybox', 'sh', 'ls', 'init', 'env', 'nologin', 'linuxrc', 'extra', '..'].join('\n');

test('planLinks follows --list-full and never plans a link over the binary', () => {
  const plan = planLinks(LIST_FULL, LIST);
  const paths = plan.map((l) => l.path);
  assert.deepEqual(paths, ['bin/extra', 'bin/linuxrc', 'bin/ls', 'bin/sh', 'sbin/init', 'usr/bin/env', 'usr/sbin/nologin']);
  assert.ok(!paths.includes('bin/busybox'));
  assert.ok(!paths.some((p) => p.startsWith('etc/')), 'only bin, sbin, usr/bin, usr/sbin get links');
  assert.equal(plan.find((l) => l.path === 'usr/bin/env')?.target, '../../bin/busybox');
  assert.equal(plan.find((l) => l.path === 'sbin/init')?.target, '../bin/busybox');
  assert.equal(plan.find((l) => l.path === 'bin/sh')?.target, 'busybox');
});

test('planLinks without --list-full puts every applet but busybox in /bin', () => {
  const plan = planLinks('', 'busybox\nsh\ncat\n');
  assert.deepEqual(plan, [
    { path: 'bin/cat', target: 'busybox' },
    { path: 'bin/sh', target: 'busybox' },
  ]);
});

test('createLinks makes relative links that reach the binary and leaves the binary alone', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'boxlab-links-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'bin'));
  await writeFile(join(root, 'bin/busybox'), 'BINARY', { mode: 0o755 });
  // A plan that wrongly names the binary must still not replace it.
  const plan = [...planLinks(LIST_FULL, LIST), { path: 'bin/busybox', target: 'busybox' }];
  const made = await createLinks(root, plan);
  assert.equal(made, plan.length - 1);
  assert.ok((await lstat(join(root, 'bin/busybox'))).isFile());
  assert.equal(await readFile(join(root, 'bin/busybox'), 'utf8'), 'BINARY');
  assert.equal(await readlink(join(root, 'usr/bin/env')), '../../bin/busybox');
  assert.equal(await realpath(join(root, 'usr/sbin/nologin')), await realpath(join(root, 'bin/busybox')));
  assert.equal(await readFile(join(root, 'sbin/init'), 'utf8'), 'BINARY');
  // Running it again makes nothing new and does not fail.
  assert.equal(await createLinks(root, plan), 0);
});
