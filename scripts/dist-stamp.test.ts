// dist-stamp.test.ts: bin/boxlab.js runs dist/ only when it is current; distStale says missing, current, or which source is newer.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { distStale, STAMP } from './dist-stamp.js';

test('missing, current, then stale naming the newer source; a source that is gone is not stale', () => {
  const root = mkdtempSync(join(tmpdir(), 'boxlab-dist-stamp-'));
  try {
    assert.equal(distStale(root), 'dist/ is missing');
    mkdirSync(join(root, 'server'));
    writeFileSync(join(root, 'server', 'a.ts'), '');
    const past = new Date(Date.now() - 60_000);
    utimesSync(join(root, 'server', 'a.ts'), past, past);
    mkdirSync(join(root, 'dist'));
    writeFileSync(join(root, 'dist', STAMP), JSON.stringify({ builtAt: Date.now() - 1000, inputs: ['server/a.ts', 'server/gone.ts'] }));
    assert.equal(distStale(root), null);
    utimesSync(join(root, 'server', 'a.ts'), new Date(), new Date());
    assert.equal(distStale(root), 'server/a.ts changed after dist/ was built');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
