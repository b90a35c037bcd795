// Unit tests of the benchmark statistics and markdown helpers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fmtMs, markdownTable, median, percentile, rotate, summarize } from './stats.ts';

test('nearest-rank percentiles: p99 of 200 samples is the 198th smallest', () => {
  const xs = Array.from({ length: 200 }, (_, i) => 200 - i); // 200..1, unsorted on purpose
  const s = summarize(xs);
  assert.equal(s.n, 200);
  assert.equal(s.p50, 100);
  assert.equal(s.p90, 180);
  assert.equal(s.p99, 198);
  assert.equal(s.min, 1);
  assert.equal(s.max, 200);
  assert.equal(s.mean, 100.5);
  assert.deepEqual(xs.slice(0, 2), [200, 199], 'input is not sorted in place');
});

test('small and empty samples', () => {
  assert.equal(percentile([7], 99), 7);
  assert.equal(percentile([1, 2], 50), 1);
  assert.equal(median([3, 1, 2]), 2);
  assert.ok(Number.isNaN(summarize([]).p50));
});

test('fmtMs keeps three significant-ish digits', () => {
  assert.equal(fmtMs(0.04213), '0.042');
  assert.equal(fmtMs(1.3749), '1.37');
  assert.equal(fmtMs(12.44), '12.4');
  assert.equal(fmtMs(130.2), '130');
  assert.equal(fmtMs(NaN), 'n/a');
});

test('markdown table: alignment row and escaped pipes', () => {
  const t = markdownTable(['a', 'b|c'], [['x|y', '1']]);
  assert.equal(t, '| a | b\\|c |\n| :--- | ---: |\n| x\\|y | 1 |');
  assert.match(markdownTable(['a', 'b'], [], ['r', 'l']), /\| ---: \| :--- \|/);
});

test('rotate: each round starts with the next variant', () => {
  assert.deepEqual(rotate(['a', 'b', 'c'], 0), ['a', 'b', 'c']);
  assert.deepEqual(rotate(['a', 'b', 'c'], 1), ['b', 'c', 'a']);
  assert.deepEqual(rotate(['a', 'b', 'c'], 5), ['c', 'a', 'b']);
  assert.deepEqual(rotate([], 3), []);
});
