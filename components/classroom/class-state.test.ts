// The class actions a learner's page follows, on the playground (slug null) and on a lesson page alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseServerMessage } from '../terminal/protocol';
import { INITIAL_CLASS, classStep, type ClassView } from './class-state';

/** Through the page's own parser (zod): what the server sends, as the client receives it. */
function feed(texts: object[], slug: string | null): { view: ClassView; gotos: string[] } {
  let view = INITIAL_CLASS;
  const gotos: string[] = [];
  for (const t of texts) {
    const msg = parseServerMessage(JSON.stringify(t));
    assert.ok(msg, `parsed: ${JSON.stringify(t)}`);
    const r = classStep(view, msg, { slug });
    view = r.view;
    if (r.goto) gotos.push(r.goto);
  }
  return { view, gotos };
}

test('playground: banner, move to the lesson, reset notice, class over', () => {
  assert.deepEqual(feed([{ type: 'broadcast', active: true, name: 'Instructor' }], null).view.broadcast, 'Instructor');
  assert.equal(
    feed(
      [
        { type: 'broadcast', active: true },
        { type: 'broadcast', active: false },
      ],
      null,
    ).view.broadcast,
    null,
  );
  assert.deepEqual(feed([{ type: 'goto', slug: 'overlayfs' }], null).gotos, ['/lessons/overlayfs']);
  assert.equal(
    feed([{ type: 'class_reset', message: 'Your instructor reset your box.' }], null).view.notice,
    'Your instructor reset your box.',
  );
  const over = feed(
    [
      { type: 'broadcast', active: true, name: 'Ann' },
      { type: 'class_ended', message: 'The instructor ended the class.' },
    ],
    null,
  ).view;
  assert.deepEqual(over, { broadcast: null, notice: null, ended: 'The instructor ended the class.' });
});

test('lesson page: a move to the lesson already open stays; another lesson is opened', () => {
  assert.deepEqual(feed([{ type: 'goto', slug: 'overlayfs' }], 'overlayfs').gotos, []);
  assert.deepEqual(feed([{ type: 'goto', slug: 'pid-namespace' }], 'overlayfs').gotos, ['/lessons/pid-namespace']);
});

test('malformed class messages are dropped by the zod parser, other messages leave the view alone', () => {
  assert.equal(parseServerMessage(JSON.stringify({ type: 'class_reset' })), null, 'no message');
  assert.equal(parseServerMessage(JSON.stringify({ type: 'goto', slug: 42 })), null);
  assert.equal(parseServerMessage(JSON.stringify({ type: 'class_ended', message: 7 })), null);
  assert.deepEqual(feed([{ type: 'pong', t: 1 }], null).view, INITIAL_CLASS);
});
