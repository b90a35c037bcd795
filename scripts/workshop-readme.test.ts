// The README's "Run a workshop" commands: its one-line install names the same packages as .ci/run, and the server
// flags it uses exist (the section is a fresh machine's path to a room, so it must not drift).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../server/web/config.ts';

/** .ci/run's `pkgs=(...)` (as scripts/install-line.test.ts reads it; not imported: that would run its tests here too). */
const ciPackages = (script: string): string[] => (/^pkgs=\(([^)]*)\)/m.exec(script)?.[1] ?? '').split(/\s+/).filter(Boolean);

const root = join(import.meta.dirname, '..');
const read = (p: string) => readFileSync(join(root, p), 'utf8');

test('Run a workshop: three commands, the same packages as .ci/run, flags the server takes, the firewall port opened', () => {
  const readme = read('README.md');
  const section = /^## Run a workshop\n([\s\S]*?)^## /m.exec(readme)?.[1];
  assert.ok(section, 'README has a "Run a workshop" section');
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1].trim().split('\n') ?? [];
  assert.equal(block.length, 3, 'three commands');
  const pkgs =
    /apt-get install\s+(.*?)\s+&&/
      .exec(block[0])?.[1]
      .split(/\s+/)
      .filter((w) => !w.startsWith('-')) ?? [];
  assert.deepEqual([...pkgs].sort(), [...ciPackages(read('.ci/run'))].sort());
  assert.match(block[1], /ufw allow 3000\/tcp/);
  const flags = block[2].replace(/^.*npm start -- /, '').split(/\s+/);
  const cfg = loadConfig({}, flags);
  assert.equal(cfg.host, '0.0.0.0');
  assert.equal(cfg.tls, 'self-signed');
  assert.equal(cfg.port, 3000, 'the port the firewall line opens');
});
