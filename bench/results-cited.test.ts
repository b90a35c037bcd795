// Bench results in git are exactly those the docs cite: every committed result is named in docs/ or the README, and every cited one exists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const docs = [
  join(root, 'README.md'),
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => join(root, 'docs', f)),
]
  .map((p) => readFileSync(p, 'utf8'))
  .join('\n');

/** Citations: full names (`web-echo-2026-11-27T06-53-41.json`) or the docs' short form (`web-echo-…T06-42-52`). */
function cited(): { full: Set<string>; short: Set<string> } {
  const full = new Set([...docs.matchAll(/([a-z0-9-]+-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2})\.json/g)].map((m) => m[1] as string));
  const short = new Set([...docs.matchAll(/([a-z0-9-]+)-…(T\d{2}-\d{2}-\d{2})/g)].map((m) => `${m[1]}|${m[2]}`));
  return { full, short };
}

function tracked(): string[] {
  const out = execFileSync('git', ['ls-files', 'bench/results'], { cwd: root, encoding: 'utf8' });
  return out
    .split('\n')
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice('bench/results/'.length, -'.json'.length));
}

test('every committed bench result is cited by a doc', { skip: !existsSync(join(root, '.git')) && 'not a git checkout' }, () => {
  const { full, short } = cited();
  const uncited = tracked().filter((name) => {
    const m = /^(.*)-\d{4}-\d{2}-\d{2}(T\d{2}-\d{2}-\d{2})$/.exec(name);
    return !full.has(name) && !(m && short.has(`${m[1]}|${m[2]}`));
  });
  assert.deepEqual(uncited, [], 'results in git that no doc cites: remove them (git rm) or cite them');
});

test('every bench result a doc cites by full name is in the tree', () => {
  const missing = [...cited().full].filter((name) => !existsSync(join(root, 'bench/results', `${name}.json`)));
  assert.deepEqual(missing, [], 'docs cite results that are not committed: git add -f them');
});
