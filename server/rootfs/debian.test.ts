// Unit tests of the Debian image build with a scripted debootstrap: progress parsing, install, and failure cleanup.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDebianImage, debootstrapProgress } from './debian.ts';
import type { RunOptions, RunResult, Runner } from './exec.ts';

const PKGS = ['libc6', 'bash', 'coreutils'];
const LINES = [
  'I: Retrieving InRelease ',
  'I: Checking Release signature',
  'I: Retrieving Packages ',
  'I: Resolving dependencies of required packages...',
  'I: Found packages in base already in required: apt',
  ...PKGS.map((p) => `I: Retrieving ${p} 1.0`),
  ...PKGS.map((p) => `I: Validating ${p} 1.0`),
  ...PKGS.map((p) => `I: Extracting ${p}...`),
  'I: Installing core packages...',
  'I: Unpacking required packages...',
  ...PKGS.map((p) => `I: Unpacking ${p}...`),
  'I: Configuring required packages...',
  ...PKGS.map((p) => `I: Configuring ${p}...`),
  'W: Failure trying to run: something harmless',
  'I: Base system installed successfully.',
];

test('debootstrapProgress turns I: lines into a rising fraction', () => {
  const track = debootstrapProgress(3);
  const seen = LINES.map((l) => track(l)).filter((p) => p !== null);
  assert.equal(seen.length, LINES.length);
  const fr = seen.map((p) => p.fraction);
  assert.deepEqual(
    fr,
    [...fr].sort((a, b) => a - b),
  );
  assert.equal(fr.at(-1), 0.97);
  assert.equal(seen[0]?.msg, 'Retrieving InRelease');
  assert.ok(seen.some((p) => p.msg.startsWith('W: Failure')));
  assert.equal(track('some dpkg noise'), null);
});

function fakeRunner(opts: { installed: boolean; fail?: boolean }) {
  const calls: string[] = [];
  const ok = (stdout = ''): RunResult => ({ code: 0, signal: null, stdout, stderr: '' });
  const run: Runner = async (cmd: string, args: string[], o: RunOptions = {}) => {
    calls.push([cmd, ...args].join(' '));
    if (cmd === 'debootstrap' && args[0] === '--version') {
      if (!opts.installed) throw Object.assign(new Error('spawn debootstrap ENOENT'), { code: 'ENOENT' });
      return ok('debootstrap 1.0.128\n');
    }
    if (cmd === 'apt-get') {
      opts.installed = true;
      return ok();
    }
    if (cmd === 'debootstrap') {
      const root = args[2]!;
      await mkdir(join(root, 'etc'), { recursive: true });
      await mkdir(join(root, 'var/cache/apt/archives'), { recursive: true });
      await writeFile(join(root, 'var/cache/apt/archives/bash_5.2_amd64.deb'), 'deb');
      await writeFile(join(root, 'etc/hostname'), 'the-host\n');
      await writeFile(join(root, 'etc/resolv.conf'), 'nameserver 10.0.0.1\n');
      for (const l of LINES.slice(0, opts.fail ? 8 : LINES.length)) o.onLine?.(l, 'stdout');
      if (opts.fail) return { code: 1, signal: null, stdout: "E: Couldn't download packages: bash\n", stderr: '' };
      return ok();
    }
    return { code: 1, signal: null, stdout: '', stderr: `unexpected ${cmd}` };
  };
  return { run, calls };
}

test('installs debootstrap when missing, streams progress, and tidies the image', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'boxlab-debunit-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  const dest = join(base, 'debian');
  const { run, calls } = fakeRunner({ installed: false });
  const msgs: Array<[string, number | undefined]> = [];
  await buildDebianImage(dest, (m, f) => msgs.push([m, f]), { run });
  assert.ok(calls.some((c) => c.startsWith('apt-get install -y --no-install-recommends debootstrap')));
  const boot = calls.find((c) => c.startsWith('debootstrap --variant'));
  assert.match(boot ?? '', /^debootstrap --variant=minbase bookworm .*\/\.debian\.building-\S+ http:\/\/deb\.debian\.org\/debian$/);
  assert.ok(msgs.some(([m]) => m === 'Configuring bash...'));
  assert.equal(msgs.at(-1)?.[1], 1);
  assert.equal(await readFile(join(dest, 'etc/hostname'), 'utf8'), 'boxlab\n');
  assert.equal(await readFile(join(dest, 'etc/resolv.conf'), 'utf8'), '');
  assert.deepEqual(await readdir(join(dest, 'var/cache/apt/archives')), []);
  assert.deepEqual(await readdir(base), ['debian']);
});

test('a failing debootstrap leaves no image and no temp dir', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'boxlab-debunit-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  const { run } = fakeRunner({ installed: true, fail: true });
  await assert.rejects(
    buildDebianImage(join(base, 'debian'), () => {}, { run }),
    /debootstrap failed: E: Couldn't download packages: bash/,
  );
  await assert.rejects(stat(join(base, 'debian')));
  assert.deepEqual(await readdir(base), []);
});
