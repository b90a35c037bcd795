// claims.test.ts: every lesson an x-ray caption links to exists (no link rather than a wrong one, e.g. time).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { NS_KINDS } from '../../server/protocol/xray.ts';
import { MAX_CAPTION_CHARS, NS_CLAIMS } from './claims.ts';

test('one claim per namespace kind the x-ray shows, each linking to a lesson that exists or to none', () => {
  assert.deepEqual(Object.keys(NS_CLAIMS).sort(), [...NS_KINDS].sort());
  for (const [kind, c] of Object.entries(NS_CLAIMS)) {
    if (c.lesson) assert.ok(existsSync(join(import.meta.dirname, '..', '..', 'lessons', `${c.lesson}.md`)), `${kind} -> ${c.lesson}`);
  }
  assert.equal(NS_CLAIMS.time.lesson, null, 'there is no time lesson: the tour is not one');
});

test('every caption fits its one-line row (measured: a 69-character caption filled the 400-unit row to its edge in Chromium)', () => {
  for (const [kind, c] of Object.entries(NS_CLAIMS)) assert.ok(c.words.length <= MAX_CAPTION_CHARS, `${kind}: ${c.words.length} chars`);
});
