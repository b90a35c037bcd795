// Unit tests of the CLI progress printer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { consoleProgress, formatProgress } from './progress.ts';

function sink(isTTY: boolean, columns = 80) {
  const out: string[] = [];
  return { out, stream: { isTTY, columns, write: (s: string) => out.push(s) } };
}

test('formatProgress', () => {
  assert.equal(formatProgress('rootfs', 'extracting busybox-static', 0.4), '[rootfs]  40% extracting busybox-static');
  assert.equal(formatProgress('rootfs', 'x', 1.7), '[rootfs] 100% x');
  assert.equal(formatProgress('rootfs', 'x'), '[rootfs] x');
});

test('plain lines when stderr is not a terminal, keeping the last fraction', () => {
  const { out, stream } = sink(false);
  const p = consoleProgress('rootfs', stream);
  p('downloading busybox-static', 0.05);
  p('apt-get update: Hit:1 http://deb.debian.org bookworm');
  p('extracting busybox-static', 0.4);
  p.done();
  assert.deepEqual(out, [
    '[rootfs]   5% downloading busybox-static\n',
    '[rootfs]   5% apt-get update: Hit:1 http://deb.debian.org bookworm\n',
    '[rootfs]  40% extracting busybox-static\n',
  ]);
});

test('one rewritten line on a terminal, cut to its width, ended by done()', () => {
  const { out, stream } = sink(true, 30);
  const p = consoleProgress('rootfs', stream);
  p('extracting busybox-static', 0.4);
  p('a very long message that does not fit in thirty columns', 0.5);
  p.done();
  p.done();
  assert.equal(out[0], '\r\x1b[2K[rootfs]  40% extracting bus…');
  assert.equal(out[1]?.length, '\r\x1b[2K'.length + 29);
  assert.deepEqual(out.slice(2), ['\n']);
});
