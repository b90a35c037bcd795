// cli.root.test.ts: `boxlab run` as a user runs it: pipe mode, exit statuses, one-line errors, signals and crash sweeps.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { RUN_DIR } from '../engine/state.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'boxlab.js');
const root = process.getuid?.() === 0;
/** Slow hosts (the qemu TCG guest) scale the per-run timeout: see server/engine/testing/helpers.ts. */
const TIME_FACTOR = Math.max(1, Number(process.env.BOXLAB_TEST_TIME_FACTOR) || 1);
const opts = { skip: root ? false : 'needs root (sudo npm test)', timeout: 300_000 * TIME_FACTOR };

function run(args: string[], input = '') {
  const r = spawnSync(process.execPath, [BIN, 'run', ...args], { input, encoding: 'utf8', timeout: 60_000 * TIME_FACTOR });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Sandbox ids whose state is still in the run dir, and mounts still under it. */
function leftovers(ids: string[]) {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => ids.some((id) => l.includes(id)));
  const dirs = existsSync(join(RUN_DIR, 'sandboxes')) ? readdirSync(join(RUN_DIR, 'sandboxes')).filter((d) => ids.includes(d)) : [];
  return { mounts, dirs };
}

/** `boxlab run --trace` of a long command, once its box is up; `err()` is the trace so far. */
async function startLongRun() {
  const child = spawn(process.execPath, [BIN, 'run', '--trace', '--', '/bin/sh', '-c', 'echo up; sleep 100'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let trace = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (trace += b));
  while (!out.includes('up')) await new Promise((r) => setTimeout(r, 20));
  return { child, err: () => trace };
}

function idsFromTrace(stderr: string): string[] {
  // The box's cgroup path names it: .../boxlab/bx-… (v1, v2 without systemd) or .../boxes/bx-… (a systemd unit).
  return [...new Set([...stderr.matchAll(/\/(?:boxlab|boxes)\/(bx-[0-9a-f]+)/g)].map((m) => m[1]!))];
}

test("pipe mode: stdin is the script, stdout the output, exit status the command's", opts, () => {
  const r = run(['--hostname', 'clitest', '--trace'], 'hostname\necho $$\nexit 4\n');
  assert.equal(r.stdout, 'clitest\n1\n');
  assert.equal(r.status, 4);
  const stages = r.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l).stage);
  assert.ok(stages.indexOf('exec') < stages.indexOf('running') && stages.at(-1) === 'cleanup_done', stages.join(' '));
  const ids = idsFromTrace(r.stderr);
  assert.equal(ids.length, 1);
  assert.deepEqual(leftovers(ids), { mounts: [], dirs: [] });
});

test('a command after -- runs instead of the shell; a signal death is 128+N', opts, () => {
  assert.equal(run(['--', '/bin/sh', '-c', 'exit 7']).status, 7);
  assert.equal(run(['--', '/bin/sh', '-c', 'kill -KILL $$']).status, 0, 'PID 1 ignores SIGKILL sent from inside (pid_namespaces(7))');
  const r = run(['--', '/bin/sh', '-c', 'sh -c "kill -TERM \\$\\$"; echo $?']);
  assert.equal(r.stdout.trim(), String(128 + 15));
});

test('clear one-line errors and exit 125 for bad input', opts, () => {
  for (const [args, msg] of [
    [['--memory', '12X'], /^boxlab: --memory: .*12X/],
    [['--cpu-limit', 'fast'], /^boxlab: --cpu-limit: /],
    [['--shell', '/bin/bash'], /^boxlab: shell \/bin\/bash not found in image/],
    [['--base-dir', '/nonexistent-image'], /^boxlab: image not found at \/nonexistent-image/],
    [['--bogus'], /^boxlab: Unknown option '--bogus'/],
  ] as const) {
    const r = run([...args]);
    assert.equal(r.status, 125, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  }
});

test('SIGTERM to the CLI tears the box down and exits 143', opts, async () => {
  const { child, err } = await startLongRun();
  child.kill('SIGTERM');
  const status = await new Promise((r) => child.on('exit', (code) => r(code)));
  assert.equal(status, 143);
  const ids = idsFromTrace(err());
  assert.equal(ids.length, 1);
  assert.deepEqual(leftovers(ids), { mounts: [], dirs: [] });
  assert.match(err(), /"stage":"cleanup_done"/);
});

test('after kill -9 of the CLI, the next start sweeps what it left', opts, async () => {
  const { child, err } = await startLongRun();
  const ids = idsFromTrace(err());
  const init = JSON.parse(
    err()
      .split('\n')
      .find((l) => l.includes('"stage":"running"'))!,
  ).hostPid as number;
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  // PDEATHSIG takes the box's processes down with the dead outer parent, but mounts and state stay behind.
  assert.ok(leftovers(ids).dirs.length === 1, 'the dead run left its state');
  const r = spawnSync(process.execPath, [BIN, 'sweep'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /swept [1-9]\d* sandboxes/);
  assert.deepEqual(leftovers(ids), { mounts: [], dirs: [] });
  assert.ok(!existsSync(`/proc/${init}`) || !readFileSync(`/proc/${init}/cmdline`, 'utf8').includes('sleep'), 'box process gone');
});
