// One learner can never stall the room (root, real server process): a 10 MB paste into `sleep 600` and into
// `wc -c` at once; /api/health answers throughout, every byte is counted, SIGTERM ends it all within 2 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { summarize } from '../../bench/lib/stats.ts';
import { pasteBytes, runPaste } from '../root/testing/paste-scenario.ts';
import { startServer } from '../root/compose.ts';
import { TestClient, newSession } from '../root/testing/test-client.ts';

const root = process.getuid?.() === 0;
/**
 * The bound is p99 < 50 ms: bench/sections/fault-paste.ts measures it, next to an idle probe's lateness.
 * The test runs on machines shared with other suites (load 10-18 on 2 vCPUs here put an idle process's own timer
 * 40 ms late at p99), so it keeps 250 ms; a freeze (the bug: 31 s and counting) fails it, and so does max >= 1 s.
 */
const P99_BOUND_MS = Number(process.env.BOXLAB_PASTE_P99_MS ?? 250);

test('10 MB paste into sleep 600 and into wc -c: health answers, every byte arrives, SIGTERM within 2 s, nothing left', {
  skip: !root && 'needs root',
  timeout: 600_000,
}, async (t) => {
  const bytes = 10 * 1024 * 1024;
  const r = await runPaste({ bytes, frame: 4096, healthGapMs: 10, echo: true }, (l) => t.diagnostic(l));
  const h = summarize(r.health.samples);
  const late = summarize(r.health.late);
  t.diagnostic(
    `health during the pastes: n=${h.n} p50=${h.p50.toFixed(1)} p99=${h.p99.toFixed(1)} max=${h.max.toFixed(1)} ms, errors ${r.health.errors}; the probe's own timer late p99 ${late.p99.toFixed(1)} ms`,
  );
  t.diagnostic(
    `wc -c counted ${r.read.counted} of ${bytes} in ${r.read.ms.toFixed(0)} ms; SIGTERM → exit ${r.sigterm.code} in ${r.sigterm.ms.toFixed(0)} ms`,
  );
  assert.equal(r.read.counted, bytes, 'every byte of the paste reached the reading box');
  assert.equal(r.read.refusals, 0, 'nothing refused to a box that reads');
  assert.equal(r.stuck.refusedNotice, true, 'the learner of the stuck box was told (control message)');
  assert.equal(r.stuck.noticeInTerminal, true, 'and sees it in the terminal');
  assert.equal(r.health.errors, 0);
  assert.ok(h.n >= 20, `health answered ${h.n} times`);
  assert.ok(h.max < 1000, `no freeze: slowest health answer ${h.max.toFixed(0)} ms`);
  assert.ok(h.p99 < P99_BOUND_MS, `health p99 ${h.p99.toFixed(1)} ms < ${P99_BOUND_MS}`);
  assert.equal(r.sigterm.signal, null, `server exited by itself after SIGTERM (${r.sigterm.signal})\n${r.serverLog.slice(-2000)}`);
  assert.equal(r.sigterm.code, 0, r.serverLog.slice(-2000));
  assert.ok(r.sigterm.ms < 2000, `SIGTERM to exit ${r.sigterm.ms.toFixed(0)} ms`);
  assert.deepEqual(r.sigterm.closeCodes, [4503, 4503]);
  assert.deepEqual(r.leftovers, [], 'no state dir, mount, cgroup or process left');
});

test('4 MB paste into a box that writes what it reads to the terminal (tee): every byte, though its output waits for acks', {
  skip: !root && 'needs root',
  timeout: 600_000,
}, async (t) => {
  // The socket is held while the paste drains, so acks cannot arrive: output must not wait for them meanwhile, or
  // tee blocks writing, stops reading, and its input is refused after the stall (it was: 1.2 of 10 MB counted).
  const bytes = 4 * 1024 * 1024;
  const r = await runPaste({ bytes, frame: 4096, healthGapMs: 10, echo: true, readCmd: 'tee /dev/stderr | wc -c', baselineMs: 500 }, (l) =>
    t.diagnostic(l),
  );
  const h = summarize(r.health.samples);
  t.diagnostic(
    `health: p99=${h.p99.toFixed(1)} max=${h.max.toFixed(1)} ms; counted ${r.read.counted} in ${r.read.ms.toFixed(0)} ms; SIGTERM ${r.sigterm.ms.toFixed(0)} ms`,
  );
  assert.equal(r.read.counted, bytes);
  assert.equal(r.read.refusals, 0);
  assert.ok(h.max < 1000, `no freeze: slowest health answer ${h.max.toFixed(0)} ms`);
  assert.equal(r.sigterm.code, 0, r.serverLog.slice(-2000));
  assert.ok(r.sigterm.ms < 2000, `SIGTERM to exit ${r.sigterm.ms.toFixed(0)} ms`);
  assert.deepEqual(r.leftovers, []);
});

test('a box that stops reading gets what was queued in order and complete when it reads again (md5 of the accepted prefix)', {
  skip: !root && 'needs root',
  timeout: 120_000,
}, async (t) => {
  const srv = await startServer({ config: { port: 0, staticDir: '/nonexistent/out' }, log: () => {} });
  t.after(() => srv.close());
  const { token, sessionId } = await newSession(srv.url);
  const c = new TestClient(srv.url, token);
  c.autoAck = 32 * 1024;
  await c.opened();
  await c.waitText(/# (\x1b\[6n)?$/, 20_000);
  const sb = srv.manager.get(sessionId)!.sandbox!;
  c.type('stty -echo; sleep 6; md5sum\r');
  await c.until(() => sb.inputQueued === 0 && sb.inputStats.written > 0, 2000, 'command line taken');
  await new Promise((r) => setTimeout(r, 300)); // the shell read its line; sleep runs
  const w0 = sb.inputStats.written;
  const data = pasteBytes(3 * 1024 * 1024);
  for (let i = 0; i < data.length; i += 4096) c.ws.send(data.subarray(i, i + 4096), { binary: true });
  await c.waitMessage('error', (m) => m.code === 'input_refused', 4000);
  // The socket is read at the session's byte budget: wait until every byte was either queued or refused, still
  // while the box sleeps (6 s), then nothing may be refused any more.
  await c.until(
    () => sb.inputStats.written - w0 + sb.inputQueued + sb.inputStats.refused >= data.length,
    5000,
    'every byte queued or refused while the box sleeps',
  );
  const refusedWhileAsleep = sb.inputStats.refused;
  await c.waitMessage('error', (m) => m.code === 'input_resumed', 15_000);
  const accepted = sb.inputStats.written - w0;
  t.diagnostic(`accepted ${accepted} of ${data.length} bytes (cap ${sb.inputStats.cap}), refused ${sb.inputStats.refused}`);
  assert.equal(sb.inputStats.refused, refusedWhileAsleep, 'every refusal happened while the box slept');
  assert.equal(accepted + sb.inputStats.refused, data.length, 'each byte was either accepted or refused');
  assert.ok(
    accepted >= sb.inputStats.cap && accepted <= sb.inputStats.cap + 128 * 1024,
    `accepted ${accepted}: the cap plus what the kernel holds`,
  );
  c.type('\x04');
  const want = createHash('md5').update(data.subarray(0, accepted)).digest('hex');
  await c.waitText(new RegExp(`${want}  -`), 10_000);
});
