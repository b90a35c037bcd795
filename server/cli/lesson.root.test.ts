// `boxlab lesson check DIR` as an author runs it: lint errors with file:line exit 1 before any box; a step whose `wrong`
// turns the check green is caught in a real box and shown in the table; the example pack lints clean. Run as root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLE = path.join(ROOT, 'examples/lesson-pack');
const boxlab = (...args: string[]) => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/boxlab.js'), ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout + r.stderr };
};
function copy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlab-lesson-check-'));
  fs.cpSync(EXAMPLE, dir, { recursive: true });
  return dir;
}

test('the example pack lints clean', () => {
  const r = boxlab('lesson', 'check', EXAMPLE, '--lint-only');
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /2 lesson\(s\), 4 step\(s\)/);
  assert.match(r.out, /lint: ok/);
});

test('lint errors name file:line and exit 1 before any box is made', (t) => {
  const dir = copy();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const f = path.join(dir, 'second-look.md');
  fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('answer: box-pid-of', 'answer: box-pid'));
  const r = boxlab('lesson', 'check', dir);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /second-look\.md:19: check answer: answer Invalid option/);
  assert.doesNotMatch(r.out, /red before/, 'nothing was proved');
});

test('a wrong action that passes is caught in a real box and reported with its line', { timeout: 120_000 }, (t) => {
  const dir = copy();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const f = path.join(dir, 'first-steps.md');
  // The "wrong" now writes the right text: the check turns green after it, which the prover must report.
  fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('echo something-else > /root/note.txt', 'echo boxlab > /root/note.txt'));
  const r = boxlab('lesson', 'check', dir, '--lesson', 'first-steps');
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /first-steps +1 +file +yes +NO +yes/);
  assert.match(r.out, /FAILED .*first-steps\.md:\d+: step 1: the wrong action "echo boxlab > \/root\/note\.txt" passed/);
  assert.match(r.out, /0 passed, 1 failed/);
});
