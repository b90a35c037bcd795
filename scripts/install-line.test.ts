// install-line.test.ts: the README's apt-get line names exactly the packages CI (.ci/run) installs on a fresh clone,
// so a package CI needed to pass is never missing from what a new user is told to install.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(import.meta.dirname, '..');
const read = (p: string) => readFileSync(join(root, p), 'utf8');

/** Package names of the README's `apt-get install` line (options dropped). */
export function readmePackages(readme: string): string[] {
  const lines = readme.split('\n').filter((l) => /^\s*(sudo )?apt-get install\b/.test(l));
  assert.equal(lines.length, 1, `one apt-get install line in the README, found ${lines.length}`);
  return (lines[0] ?? '')
    .replace(/^\s*(sudo )?apt-get install\s+/, '')
    .split(/\s+/)
    .filter((w) => w && !w.startsWith('-'));
}

/** Package names of the `pkgs=(...)` array of .ci/run. */
export function ciPackages(script: string): string[] {
  const m = /^pkgs=\(([^)]*)\)/m.exec(script);
  assert.ok(m, '.ci/run has a pkgs=(...) line');
  return (m[1] ?? '').split(/\s+/).filter(Boolean);
}

test('the README install line and .ci/run name the same Debian packages', () => {
  const readme = readmePackages(read('README.md'));
  const ci = ciPackages(read('.ci/run'));
  assert.deepEqual([...readme].sort(), [...ci].sort());
  assert.equal(new Set(readme).size, readme.length, 'no package twice');
});

test('what npm install needs to build native code is in the list: C and C++ compilers, make, python3 (node-gyp)', () => {
  const pkgs = new Set(ciPackages(read('.ci/run')));
  for (const p of ['gcc', 'g++', 'make', 'python3', 'libc6-dev']) assert.ok(pkgs.has(p), p);
});

test(".ci/run installs the list it declares and then runs the README's commands", () => {
  const ci = read('.ci/run');
  assert.match(ci, /apt-get install -y [^\n]*"\$\{missing\[@\]\}"/);
  assert.match(ci, /\bnpm ci\b/);
  assert.match(ci, /\bnpm test\b/);
  // Lint (Biome, clang-format, layer rules) fails the run before the long test phases start.
  assert.ok(ci.indexOf('npm run lint') > 0 && ci.indexOf('npm run lint') < ci.indexOf('npm test'), 'npm run lint runs before npm test');
});

test('.npmrc makes npm 11 print dependency build scripts (better-sqlite3 compiles silently for minutes otherwise)', () => {
  assert.match(read('.npmrc'), /^foreground-scripts=true$/m);
});
