// The one limits grammar: sizes, cpu fractions, counts, durations, and their display form (moved from engine/cgroups/parse.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  GiB,
  LimitError,
  MiB,
  TiB,
  describeLimitError,
  formatBytes,
  parseBytes,
  parseCount,
  parseCpuFraction,
  parseDurationSec,
} from './size.ts';

const parseMemory = (s: string) => parseBytes(s);

test('parseMemory accepts binary units, optional i/B, any case', () => {
  assert.equal(parseMemory('100M'), 100 * 2 ** 20);
  assert.equal(parseMemory('1G'), 2 ** 30);
  assert.equal(parseMemory('512k'), 512 * 1024);
  assert.equal(parseMemory('1048576'), 1048576);
  assert.equal(parseMemory('64MiB'), 64 * 2 ** 20);
  assert.equal(parseMemory('64mb'), 64 * 2 ** 20);
  assert.equal(parseMemory('64Mi'), 64 * 2 ** 20);
  assert.equal(parseMemory('2kB'), 2048);
  assert.equal(parseMemory('1T'), 2 ** 40);
  assert.equal(parseMemory('1.5g'), 1.5 * 2 ** 30);
  assert.equal(parseMemory(' 100B '), 100);
});

test('parseMemory rejects zero, negatives, junk and > 1 TiB with clear messages', () => {
  assert.throws(() => parseMemory('0'), /is zero/);
  assert.throws(() => parseMemory('0M'), /is zero/);
  assert.throws(() => parseMemory('-5M'), /is negative/);
  assert.throws(() => parseMemory(''), /is empty/);
  for (const junk of ['abc', '100X', '10MM', 'M', '1e6', '100Bi', '12 34', '0x10']) {
    assert.throws(() => parseMemory(junk), /is not a size like 100M/, junk);
  }
  assert.throws(() => parseMemory('2T'), /above the 1T maximum/);
  assert.throws(() => parseMemory('1025G'), /above the 1T maximum/);
});

test('parseCpuFraction accepts 0.01..nproc and rejects junk', () => {
  assert.equal(parseCpuFraction('0.5', 2), 0.5);
  assert.equal(parseCpuFraction('2', 2), 2);
  assert.equal(parseCpuFraction('.25', 2), 0.25);
  assert.equal(parseCpuFraction('0.01', 2), 0.01);
  assert.throws(() => parseCpuFraction('0.001', 2), /below the minimum 0.01/);
  assert.throws(() => parseCpuFraction('0', 2), /below the minimum/);
  assert.throws(() => parseCpuFraction('3', 2), /above the 2 CPU/);
  for (const junk of ['', 'half', '-1', '1/2', '50%', 'NaN', 'Infinity']) {
    assert.throws(() => parseCpuFraction(junk, 2), /not a number of cores/, junk);
  }
});

test('a range per setting: below and above are refused with the bound in the unit people write', () => {
  assert.equal(parseBytes('64MiB', { min: MiB, max: TiB }), 64 * MiB);
  assert.throws(() => parseBytes('512k', { min: MiB, max: TiB }), /is below the 1M minimum/);
  assert.throws(() => parseBytes('2G', { min: MiB, max: GiB }), /is above the 1G maximum/);
  assert.equal(parseBytes('0', { min: 0, max: TiB }), 0, 'a range from 0 takes 0 (check thresholds)');
});

test('formatBytes: the largest binary unit that divides exactly', () => {
  assert.equal(formatBytes(256 * MiB), '256M');
  assert.equal(formatBytes(GiB), '1G');
  assert.equal(formatBytes(1.5 * GiB), '1536M');
  assert.equal(formatBytes(TiB), '1T');
  assert.equal(formatBytes(1000), '1000');
  for (const s of ['256M', '64MiB', '1.5g', '1T', '131072']) assert.equal(parseBytes(formatBytes(parseBytes(s))), parseBytes(s), s);
});

test('counts and durations', () => {
  assert.equal(parseCount('128', { min: 8, max: 65536 }), 128);
  for (const bad of ['2', '65537', '1e3', '12.5', '-8', '', 'lots'])
    assert.throws(() => parseCount(bad, { min: 8, max: 65536 }), /must be an integer in 8\.\.65536/, bad);
  assert.equal(parseDurationSec('90'), 90);
  assert.equal(parseDurationSec('30m'), 1800);
  assert.equal(parseDurationSec('2h'), 7200);
  assert.throws(() => parseDurationSec('8d'), /is not a duration/);
  assert.throws(() => parseDurationSec('200h'), /between 1 s and 7 days/);
});

test('errors are the problem only; the edge names the setting', () => {
  const err = (() => {
    try {
      parseBytes('banana');
    } catch (e) {
      return e;
    }
  })();
  assert.ok(err instanceof LimitError);
  assert.equal(
    describeLimitError('BOXLAB_MEMORY', 'banana', err),
    'BOXLAB_MEMORY: "banana" is not a size like 100M, 1G, 64MiB, 512k or 1048576',
  );
});

test('the grammar and the schema import nothing from node (protocol: bundled anywhere)', async () => {
  const { readFileSync } = await import('node:fs');
  const importsOf = (f: string) => [...readFileSync(new URL(f, import.meta.url), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]);
  assert.deepEqual(importsOf('./size.ts'), []);
  assert.deepEqual(importsOf('./settings.ts'), ['./size.ts']);
});
