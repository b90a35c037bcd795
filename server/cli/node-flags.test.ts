// The server's V8 flags are the same everywhere it is started: npm start, the systemd unit in README.md, the benches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingNodeFlags, SERVER_NODE_FLAGS } from './node-flags.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const flags = SERVER_NODE_FLAGS.join(' ');

test('npm start and the README unit run the server with SERVER_NODE_FLAGS', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.equal(pkg.scripts.start, `node ${flags} bin/boxlab.js serve`);
  assert.ok(readFileSync(join(root, 'README.md'), 'utf8').includes(`ExecStart=/usr/bin/node ${flags} /opt/boxlab/bin/boxlab.js serve`));
});

test('missingNodeFlags names the flags a process lacks', () => {
  assert.deepEqual(missingNodeFlags([...SERVER_NODE_FLAGS, '--expose-gc']), []);
  assert.deepEqual(missingNodeFlags(['--max-semi-space-size=1']), SERVER_NODE_FLAGS.slice(1));
});
