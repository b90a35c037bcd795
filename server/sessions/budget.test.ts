// Token buckets, the slow-then-close pacer, per-key budget books and address keys, on a fake clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressKey, BudgetBook, MessageBudget, Pacer, TokenBucket, type Verdict } from './budget.ts';
import { FAIRNESS } from '../web/config.ts';
import { ACK_COST } from '../web/socket.ts';

function clock() {
  let t = 1000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test('token bucket: burst, debt as wait time, refill capped at the burst', () => {
  const c = clock();
  const b = new TokenBucket({ perSec: 10, burst: 5 }, c.now);
  for (let i = 0; i < 5; i++) assert.equal(b.take(1), 0, `token ${i} within the burst`);
  assert.equal(b.take(1), 100, 'one token of debt at 10/s is 100 ms');
  assert.equal(b.take(2), 300);
  assert.equal(b.waitFor(1), 400, 'waitFor takes nothing');
  c.advance(300);
  assert.ok(Math.abs(b.level - 0) < 1e-9, 'debt paid after its wait');
  c.advance(60_000);
  assert.equal(b.level, 5, 'never above the burst');
  assert.throws(() => new TokenBucket({ perSec: 0, burst: 1 }), RangeError);
});

test('message budget: messages and bytes both count; the deeper debt decides', () => {
  const c = clock();
  const m = new MessageBudget({ messages: { perSec: 100, burst: 10 }, bytes: { perSec: 1000, burst: 1000 } }, c.now);
  assert.deepEqual(m.charge(500), { messagesMs: 0, bytesMs: 0 });
  assert.deepEqual(m.charge(1000), { messagesMs: 0, bytesMs: 500 }, '500 bytes of debt at 1000 B/s');
  assert.equal(m.recovered, false);
  c.advance(1000);
  assert.equal(m.recovered, true, 'half of each bucket back');
});

test('pacer: within budget ok; a flood is slowed, then closed after closeAfterMs without a break', () => {
  const c = clock();
  const session = new MessageBudget({ messages: { perSec: 100, burst: 100 }, bytes: { perSec: 1e6, burst: 1e6 } }, c.now);
  const pacer = new Pacer([{ name: 'session', budget: session }], { closeAfterMs: 1000, maxDebtMs: 500, now: c.now });
  for (let i = 0; i < 100; i++) assert.equal(pacer.charge(1).action, 'ok');
  const v = pacer.charge(1);
  assert.equal(v.action, 'slow');
  assert.equal(v.action === 'slow' && v.ms, 10);
  // The flooder waits out each pause, then sends again at once: it never recovers half its burst.
  let verdict: Verdict = v;
  while (verdict.action === 'slow') {
    c.advance(verdict.ms);
    verdict = pacer.charge(1);
  }
  assert.equal(verdict.action, 'close');
  assert.ok(pacer.slowedForMs >= 1000 && pacer.slowedForMs < 1100, `closed after ${pacer.slowedForMs} ms slowed`);
});

test('pacer: a burst deeper than maxDebtMs closes at once; a client that recovers is forgiven', () => {
  const c = clock();
  const mk = () => new MessageBudget({ messages: { perSec: 100, burst: 100 }, bytes: { perSec: 1e6, burst: 1e6 } }, c.now);
  const p1 = new Pacer([{ name: 'session', budget: mk() }], { closeAfterMs: 10_000, maxDebtMs: 500, now: c.now });
  const seen: string[] = [];
  for (let i = 0; i < 200; i++) seen.push(p1.charge(1).action);
  assert.equal(seen.indexOf('slow'), 100);
  assert.equal(seen.indexOf('close'), 150, 'the 51st message over: 510 ms of debt at 100/s, beyond 500');

  const p2 = new Pacer([{ name: 'session', budget: mk() }], { closeAfterMs: 1000, maxDebtMs: 500, now: c.now });
  for (let i = 0; i < 101; i++) p2.charge(1);
  assert.ok(p2.slowedForMs >= 0);
  c.advance(900); // a paste that ended; quiet long enough to regain half the burst
  assert.equal(p2.charge(1).action, 'ok');
  assert.equal(p2.slowedForMs, 0, 'forgiven');
  let again = p2.charge(1);
  for (let i = 0; i < 130; i++) again = p2.charge(1); // 42 messages of debt: 420 ms
  assert.equal(again.action, 'slow', 'slowed again 1.9 s after the first time, but its clock restarted: not closed');
});

test('pacer: bytes over budget (a paste) are slowed as long as it takes, never closed; a message flood still is', () => {
  const c = clock();
  const session = new MessageBudget({ messages: { perSec: 200, burst: 600 }, bytes: { perSec: 1000, burst: 4000 } }, c.now);
  const pacer = new Pacer([{ name: 'session', budget: session }], { closeAfterMs: 1000, maxDebtMs: 500, now: c.now });
  // 10 s of 4 KiB frames at ~1 frame/s: four times the byte budget, but few messages.
  let slowed = 0;
  for (let i = 0; i < 40; i++) {
    const v = pacer.charge(4096);
    assert.notEqual(v.action, 'close', `frame ${i}: a paste is never closed`);
    if (v.action === 'slow') {
      slowed++;
      assert.match(v.why, /bytes/);
      c.advance(v.ms);
    }
  }
  assert.ok(slowed >= 30, `the paste was paced (${slowed} pauses)`);
  // The same pacer still closes a message flood.
  let v: Verdict = { action: 'ok' };
  for (let i = 0; i < 2000 && v.action !== 'close'; i++) v = pacer.charge(1);
  assert.equal(v.action, 'close');
});

test('pacer: the address budget is shared by its sessions', () => {
  const c = clock();
  const addr = new MessageBudget({ messages: { perSec: 10, burst: 10 }, bytes: { perSec: 1e6, burst: 1e6 } }, c.now);
  const mk = () => new MessageBudget({ messages: { perSec: 100, burst: 100 }, bytes: { perSec: 1e6, burst: 1e6 } }, c.now);
  const a = new Pacer(
    [
      { name: 'session', budget: mk() },
      { name: 'address', budget: addr },
    ],
    { closeAfterMs: 1e6, maxDebtMs: 1e6, now: c.now },
  );
  const b = new Pacer(
    [
      { name: 'session', budget: mk() },
      { name: 'address', budget: addr },
    ],
    { closeAfterMs: 1e6, maxDebtMs: 1e6, now: c.now },
  );
  for (let i = 0; i < 5; i++) assert.equal(a.charge(1).action, 'ok');
  for (let i = 0; i < 5; i++) assert.equal(b.charge(1).action, 'ok');
  const v = b.charge(1);
  assert.deepEqual(v, { action: 'slow', ms: 100, why: 'address over budget' });
});

test('budget book: shared per key, forgotten only when unused and recovered', () => {
  const c = clock();
  let made = 0;
  const book = new BudgetBook(
    () => (made++, new MessageBudget({ messages: { perSec: 10, burst: 10 }, bytes: { perSec: 100, burst: 100 } }, c.now)),
  );
  const x = book.acquire('1.2.3.4');
  assert.equal(book.acquire('1.2.3.4'), x);
  for (let i = 0; i < 20; i++) x.charge(1);
  book.release('1.2.3.4');
  book.release('1.2.3.4');
  book.sweep(true);
  assert.equal(book.size, 1, 'in debt: kept, so reconnecting does not refill it');
  c.advance(2000);
  book.sweep(true);
  assert.equal(book.size, 0);
  assert.equal(made, 1);
});

test('address keys: IPv4, IPv4-mapped, IPv6 by /64', () => {
  assert.equal(addressKey('127.0.0.1'), '127.0.0.1');
  assert.equal(addressKey('::ffff:10.0.0.7'), '10.0.0.7');
  assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:0db8:0001:0002:ffff:1:2:3'), '2001:db8:1:2::/64');
  assert.equal(addressKey('::1'), '0:0:0:0::/64');
  assert.equal(addressKey(undefined), 'unknown');
});

test('FAIRNESS defaults: a classroom behind one address fits; whole acks allow 64 MB/s of output', () => {
  assert.ok(FAIRNESS.connections.maxOpenPerAddress >= 30 * 7, '30 learners x (1 WebSocket + 6 HTTP connections)');
  assert.ok(
    FAIRNESS.connections.attempts.burst + (FAIRNESS.connections.maxDelayMs / 1000) * FAIRNESS.connections.attempts.perSec >= 30 * 7,
  );
  assert.ok((FAIRNESS.session.messages.perSec / ACK_COST) * 32 * 1024 >= 64e6);
  assert.ok(FAIRNESS.session.messages.perSec >= 100, 'mouse reports of a full-screen program, with room');
  assert.ok(FAIRNESS.address.messages.perSec >= 10 * FAIRNESS.session.messages.perSec);
  assert.ok(FAIRNESS.requestTimeoutMs >= FAIRNESS.headersTimeoutMs);
});
