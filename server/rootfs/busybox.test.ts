// Unit tests of the busybox image build with a scripted runner: layout, apt update-and-retry, and failure cleanup.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBusyboxImage, parseBusyboxVersion } from './busybox.ts';
import type { RunOptions, RunResult, Runner } from './exec.ts';

const BANNER = 'BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) multi-call binary.\n';
const LIST_FULL = 'bin/busybox\nbin/sh\nbin/ls\nsbin/init\nusr/bin/env\nusr/sbin/nologin\nlinuxrc\n';
const LIST = 'busybox\nsh\nls\ninit\nenv\nnologin\nlinuxrc\n';

interface Script {
  /** apt-get download answers "Unable to locate" until apt-get update ran. */
  listsEmpty?: boolean;
  failDpkg?: boolean;
  /** dpkg -x makes bin/busybox a directory, so copying it into the image fails midway. */
  binaryIsDir?: boolean;
}

function fakeRunner(s: Script) {
  const calls: string[] = [];
  let updated = false;
  const ok = (stdout = ''): RunResult => ({ code: 0, signal: null, stdout, stderr: '' });
  const fail = (stderr: string): RunResult => ({ code: 100, signal: null, stdout: '', stderr });
  const run: Runner = async (cmd: string, args: string[], opts: RunOptions = {}) => {
    calls.push([cmd.split('/').pop(), ...args].join(' '));
    if (cmd === 'apt-get' && args[0] === 'update') {
      opts.onLine?.('Hit:1 http://deb.debian.org/debian bookworm InRelease', 'stdout');
      updated = true;
      return ok();
    }
    if (cmd === 'apt-get' && args[0] === 'download') {
      if (s.listsEmpty && !updated) return fail('E: Unable to locate package busybox-static\n');
      await writeFile(join(opts.cwd as string, 'busybox-static_1%3a1.35.0-4_amd64.deb'), 'deb');
      return ok();
    }
    if (cmd === 'dpkg') {
      if (s.failDpkg) return fail('dpkg-deb: error: injected failure\n');
      await mkdir(join(args[2]!, 'bin'), { recursive: true });
      if (s.binaryIsDir) await mkdir(join(args[2]!, 'bin/busybox'));
      else await writeFile(join(args[2]!, 'bin/busybox'), 'ELF', { mode: 0o755 });
      return ok();
    }
    if (cmd.endsWith('/bin/busybox')) {
      if (args[0] === '--list-full') return ok(LIST_FULL);
      if (args[0] === '--list') return ok(LIST);
      return ok(BANNER);
    }
    return fail(`unexpected command ${cmd}`);
  };
  return { run, calls };
}

async function dirs(t: { after: (fn: () => unknown) => void }) {
  const base = await mkdtemp(join(tmpdir(), 'boxlab-bbunit-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  await mkdir(join(base, 'work'));
  return { base, dest: join(base, 'images/busybox'), work: join(base, 'work') };
}

test('parseBusyboxVersion', () => {
  assert.equal(parseBusyboxVersion(BANNER), '1.35.0');
  assert.equal(parseBusyboxVersion('garbage'), 'unknown');
});

test('builds the layout: binary, links, dirs with real modes, /etc files', async (t) => {
  const { dest, work } = await dirs(t);
  const { run } = fakeRunner({});
  const fractions: number[] = [];
  await buildBusyboxImage(dest, (_m, f) => f !== undefined && fractions.push(f), { run, workDir: work });
  assert.ok((await lstat(join(dest, 'bin/busybox'))).isFile(), 'bin/busybox stays the binary');
  assert.equal(await readFile(join(dest, 'bin/busybox'), 'utf8'), 'ELF');
  assert.equal(await readlink(join(dest, 'bin/sh')), 'busybox');
  assert.equal(await readlink(join(dest, 'usr/sbin/nologin')), '../../bin/busybox');
  await assert.rejects(lstat(join(dest, 'linuxrc')));
  assert.equal((await stat(join(dest, 'tmp'))).mode & 0o7777, 0o1777);
  assert.equal((await stat(join(dest, 'root'))).mode & 0o7777, 0o700);
  for (const d of ['proc', 'dev', 'sys', 'home', 'var', 'run', 'mnt', 'usr/local/bin']) {
    assert.ok((await stat(join(dest, d))).isDirectory(), d);
  }
  const passwd = await readFile(join(dest, 'etc/passwd'), 'utf8');
  assert.match(passwd, /^root:x:0:0:root:\/root:\/bin\/sh$/m);
  assert.match(passwd, /^nobody:x:65534:65534:.*:\/usr\/sbin\/nologin$/m);
  assert.match(await readFile(join(dest, 'etc/group'), 'utf8'), /^tty:x:5:$/m);
  assert.match(await readFile(join(dest, 'etc/os-release'), 'utf8'), /^NAME="Boxlab busybox"$/m);
  assert.match(await readFile(join(dest, 'etc/profile'), 'utf8'), /PS1=.*\\u@\\h.*\\w.*\\\$ /);
  assert.deepEqual(
    fractions,
    [...fractions].sort((a, b) => a - b),
    'progress never goes back',
  );
  assert.equal(fractions.at(-1), 1);
  if (process.getuid?.() === 0) assert.equal((await lstat(join(dest, 'usr/bin/env'))).uid, 0);
  assert.deepEqual(await readdir(work), [], 'download dir removed');
});

test('empty apt lists: runs apt-get update once, shows it, and retries', async (t) => {
  const { dest, work } = await dirs(t);
  const { run, calls } = fakeRunner({ listsEmpty: true });
  const msgs: string[] = [];
  await buildBusyboxImage(dest, (m) => msgs.push(m), { run, workDir: work });
  assert.deepEqual(
    calls.filter((c) => c.startsWith('apt-get')).map((c) => c.split(' ').slice(0, 2).join(' ')),
    ['apt-get download', 'apt-get update', 'apt-get download'],
  );
  assert.ok(
    msgs.some((m) => m.includes('Hit:1 http://deb.debian.org')),
    'update output is shown',
  );
});

test('a failing dpkg step leaves no image and no temp dirs', async (t) => {
  const { base, dest, work } = await dirs(t);
  const { run } = fakeRunner({ failDpkg: true });
  await assert.rejects(
    buildBusyboxImage(dest, () => {}, { run, workDir: work }),
    /dpkg -x .* failed: dpkg-deb: error: injected failure/,
  );
  await assert.rejects(stat(dest));
  assert.deepEqual(await readdir(work), []);
  assert.deepEqual(await readdir(base), ['work']);
});

test('a failure midway through filling the image removes the half-built dir beside dest', async (t) => {
  const { dest, work } = await dirs(t);
  const { run } = fakeRunner({ binaryIsDir: true });
  await assert.rejects(
    buildBusyboxImage(dest, () => {}, { run, workDir: work }),
    /EISDIR|illegal operation/,
  );
  await assert.rejects(stat(dest));
  assert.deepEqual(await readdir(join(dest, '..')), [], 'no .busybox.building-* left');
  assert.deepEqual(await readdir(work), []);
});
