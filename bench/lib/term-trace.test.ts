// term-trace.test.ts: summarizeTrace picks the page that got the keys, counts busy time once, and counts per key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarizeTrace } from './term-trace.ts';

const X = (name: string, ts: number, dur: number, tid = 1, pid = 10, data?: object) => ({
  name,
  cat: 'x',
  ph: 'X',
  ts,
  dur,
  pid,
  tid,
  args: data ? { data } : {},
});

test('busy time is the union of nested task spans on the thread that dispatched the keydowns', () => {
  const events = [
    // the traced page: two keys; RunTask nests inside ThreadControllerImpl::RunTask and must not count twice
    X('ThreadControllerImpl::RunTask', 0, 4000),
    X('RunTask', 500, 3000),
    X('EventDispatch', 600, 100, 1, 10, { type: 'keydown' }),
    X('ThreadControllerImpl::RunTask', 10_000, 2000),
    X('EventDispatch', 10_100, 100, 1, 10, { type: 'keydown' }),
    X('ProxyMain::BeginMainFrame', 20_000, 1000),
    X('UpdateLayoutTree', 20_100, 100),
    X('Layout', 20_300, 100),
    X('EventDispatch', 30_000, 10, 1, 10, { type: 'animationstart' }),
    // another renderer (another page): busy, but never got a key
    X('ThreadControllerImpl::RunTask', 0, 90_000, 1, 20),
    X('ProxyMain::BeginMainFrame', 0, 1000, 1, 20),
  ];
  const s = summarizeTrace(events, 2);
  assert.equal(s.busyMs, (4000 + 2000) / 1000 / 2);
  assert.equal(s.frames, 0.5);
  assert.equal(s.styleRecalcs, 0.5);
  assert.equal(s.layouts, 0.5);
  assert.deepEqual(s.events, { keydown: 1, animationstart: 0.5 });
});
