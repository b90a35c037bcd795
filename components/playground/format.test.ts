// Unit tests of the playground formatters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuPercent, formatBytes, formatDuration, formatLimit } from './format';

test('formatBytes', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(100 * 1024 * 1024), '100 MiB');
  assert.equal(formatBytes(-1), '—');
});

test('formatLimit and formatDuration', () => {
  assert.equal(formatLimit('100M'), '100 MiB');
  assert.equal(formatLimit('1G'), '1 GiB');
  assert.equal(formatLimit('weird'), 'weird');
  assert.equal(formatDuration(45), '45 s');
  assert.equal(formatDuration(600), '10 min');
  assert.equal(formatDuration(5400), '1.5 h');
});

test('cpuPercent: half a core over one second', () => {
  assert.equal(cpuPercent({ usec: 0, at: 0 }, { usec: 500_000, at: 1000 }), 50);
  assert.equal(cpuPercent(null, { usec: 1, at: 1 }), null);
  assert.equal(cpuPercent({ usec: 10, at: 5 }, { usec: 5, at: 6 }), null, 'counter reset after restart');
});
