// Unit tests of limit parsing (memory sizes, cpu fractions) and of cgroup value files.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cfsQuotaUs, parseCpuFraction, parseKeyed, parseLimit, parseMemory, parsePids } from './parse.ts';

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

test('cfsQuotaUs scales to a 100 ms period and keeps the 1 ms floor', () => {
  assert.equal(cfsQuotaUs(0.25), 25000);
  assert.equal(cfsQuotaUs(2), 200000);
  assert.equal(cfsQuotaUs(0.01), 1000);
  assert.equal(cfsQuotaUs(0.333), 33300);
});

test('cgroup value files parse', () => {
  const k = parseKeyed('oom_kill_disable 0\nunder_oom 0\noom_kill 3\n');
  assert.equal(k.get('oom_kill'), 3);
  assert.equal(parseLimit('max\n'), -1);
  assert.equal(parseLimit('9223372036854771712\n'), -1);
  assert.equal(parseLimit('67108864\n'), 67108864);
  assert.throws(() => parseLimit('garbage'), /unexpected cgroup value/);
  assert.deepEqual(parsePids('12\n345\n\n'), [12, 345]);
});
