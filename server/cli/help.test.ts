// help.test.ts: every `boxlab` subcommand answers -h/--help with exit 0 and its usage, as any user, before any work.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { SUBCOMMANDS, USAGE, wantsHelp } from './usage.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'boxlab.js');
const boxlab = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });

test('the top-level usage lists exactly the subcommands that have a help text', () => {
  const listed = [...(USAGE.split('commands:')[1] ?? '').matchAll(/^ {2}(\w+) {2,}/gm)].map((m) => m[1]);
  assert.deepEqual(listed, [...SUBCOMMANDS]);
});

for (const cmd of SUBCOMMANDS) {
  for (const flag of ['--help', '-h']) {
    test(`boxlab ${cmd} ${flag}: exit 0, usage on stdout, nothing on stderr`, () => {
      const r = boxlab(cmd, flag);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^usage: boxlab ${cmd}\\b`));
      assert.ok(r.stdout.split('\n').length >= 3, 'more than a usage line');
      assert.equal(r.stderr, '');
    });
  }
}

test('boxlab serve --help lists every setting with its env var (from the table loadConfig reads)', () => {
  const r = boxlab('serve', '--help');
  for (const want of ['--port', 'PORT', '--memory', 'BOXLAB_MEMORY', 'default 256M', '--idle', 'BOXLAB_IDLE'])
    assert.ok(r.stdout.includes(want), want);
});

test('--help after `--` belongs to the command in the box, not to boxlab run', () => {
  assert.equal(wantsHelp(['--', 'sh', '--help']), false);
  assert.equal(wantsHelp(['--memory', '1G', '-h']), true);
});

test('no subcommand: usage on stdout, exit 2; --help: exit 0; an unknown one: exit 2 with the usage', () => {
  assert.equal(boxlab().status, 2);
  assert.equal(boxlab('--help').status, 0);
  const r = boxlab('frobnicate');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command "frobnicate"/);
});
