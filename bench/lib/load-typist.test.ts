// Unit tests of the load helpers: echo log phases, worker pool bounds, deterministic PRNG, failOn, loopback addresses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loopbackAddress } from './load-client.ts';
import { EchoLog, failOn, pool, prng, sleep } from './load-typist.ts';

test('EchoLog tags samples with the current phase and counts lost keys apart', () => {
  const log = new EchoLog();
  log.add(1);
  log.add(3);
  log.phase = 'load';
  log.add(100);
  log.add(NaN);
  assert.equal(log.of('base').n, 2);
  assert.equal(log.of('base').max, 3);
  assert.equal(log.of('load').n, 1);
  assert.equal(log.of('load').lost, 1);
  assert.equal(log.of('base').lost, 0);
});

test('pool keeps at most N in flight and returns results in input order', async () => {
  let inFlight = 0;
  let peak = 0;
  const out = await pool([5, 1, 3, 2, 4], 2, async (x) => {
    peak = Math.max(peak, ++inFlight);
    await sleep(x);
    inFlight--;
    return x * 10;
  });
  assert.deepEqual(out, [50, 10, 30, 20, 40]);
  assert.equal(peak, 2);
});

test('prng is deterministic per seed and in [0, 1)', () => {
  const a = prng(7);
  const b = prng(7);
  const xs = Array.from({ length: 100 }, () => a());
  assert.deepEqual(
    xs,
    Array.from({ length: 100 }, () => b()),
  );
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.notDeepEqual(xs.slice(0, 5), Array.from({ length: 5 }, prng(8)));
});

test('failOn passes markdown through unless a problem is named', () => {
  assert.equal(failOn('# ok', [false, null, undefined, '']), '# ok');
  assert.throws(() => failOn('# t', [false, '2 leftovers']), /# t\n\nFAILED: 2 leftovers/);
});

test('loopback source addresses are distinct, valid and inside 127/8', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 70_000; i++) {
    const a = loopbackAddress(i);
    const o = a.split('.').map(Number);
    assert.equal(o[0], 127);
    assert.ok(
      o.every((x) => Number.isInteger(x) && x >= 0 && x <= 255),
      a,
    );
    const last = o[3] ?? NaN;
    assert.ok(last >= 1 && last <= 254, a);
    seen.add(a);
  }
  assert.equal(seen.size, 70_000);
});
