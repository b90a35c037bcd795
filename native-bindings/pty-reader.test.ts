// The main thread's side of the pty reader worker: nothing is lost before the first listener, every chunk is
// confirmed (the worker's read window), nothing is emitted after destroy().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RemotePtyStream, type PtyReader } from './pty-reader.ts';

function stream(): { s: RemotePtyStream; posted: unknown[] } {
  const posted: unknown[] = [];
  const reader = { post: (m: unknown) => posted.push(m) } as unknown as PtyReader;
  return { s: new RemotePtyStream(reader, 7), posted };
}
const data = (text: string) => ({ id: 7, ev: 'data' as const, data: new Uint8Array(Buffer.from(text)) });

test('output read before anyone listens is kept and replayed in a later turn, in order, then confirmed', async () => {
  const { s, posted } = stream();
  s.deliver(data('prompt '));
  s.deliver(data('# '));
  const got: string[] = [];
  s.on('data', (b: Buffer) => got.push(b.toString()));
  assert.deepEqual(got, [], 'not in the same turn: promise continuations attach listeners first');
  await new Promise((r) => setImmediate(r));
  s.deliver(data('more'));
  assert.deepEqual(got, ['prompt ', '# ', 'more']);
  assert.deepEqual(posted, [
    { op: 'ack', id: 7, n: 7 },
    { op: 'ack', id: 7, n: 2 },
    { op: 'ack', id: 7, n: 4 },
  ]);
});

test('pause, resume and destroy go to the worker; output after destroy() is dropped; close ends it', async () => {
  const { s, posted } = stream();
  const got: string[] = [];
  let closed = 0;
  s.on('data', (b: Buffer) => got.push(b.toString()));
  s.on('close', () => closed++);
  await new Promise((r) => setImmediate(r));
  s.pause();
  s.resume();
  s.destroy();
  assert.equal(s.destroyed, true);
  s.deliver(data('late'));
  s.deliver({ id: 7, ev: 'close' });
  s.deliver({ id: 7, ev: 'close' });
  assert.deepEqual(got, []);
  assert.equal(closed, 1);
  assert.deepEqual(posted, [
    { op: 'pause', id: 7 },
    { op: 'resume', id: 7 },
    { op: 'destroy', id: 7 },
  ]);
});

test('destroy() before anyone listens: the kept output is dropped, a late error is dropped, close still comes', () => {
  const { s } = stream();
  s.deliver(data('prompt '));
  let closed = 0;
  s.on('close', () => closed++);
  s.destroy();
  // Teardown of a box whose creation failed after the master was taken: nobody listens to 'data' or 'error'.
  s.deliver({ id: 7, ev: 'error', code: 'EIO', message: 'read EIO' });
  assert.equal(s.closed, false);
  s.deliver({ id: 7, ev: 'close' });
  assert.equal(closed, 1, "the 'close' teardown waits for did not wait in the backlog");
  assert.equal(s.closed, true);
});

test('a close kept before anyone listened (the box died mid-creation) still comes after destroy()', async () => {
  const { s, posted } = stream();
  s.deliver(data('partial'));
  s.deliver({ id: 7, ev: 'error', code: 'EIO', message: 'read EIO' });
  s.deliver({ id: 7, ev: 'close' });
  let closed = 0;
  s.on('close', () => closed++);
  s.destroy();
  await new Promise((r) => process.nextTick(r));
  assert.equal(closed, 1, "teardown would wait for a 'close' that was dropped with the backlog");
  assert.equal(s.closed, true);
  assert.deepEqual(posted, [], 'the worker already forgot this stream: nothing to destroy there');
});

test("the owner's fd is released once, when destroyed and closed, not when the worker's copy ends on its own", async () => {
  const { s } = stream();
  let released = 0;
  s.release = () => released++;
  s.on('data', () => {});
  s.on('error', () => {});
  await new Promise((r) => setImmediate(r));
  s.deliver({ id: 7, ev: 'error', code: 'EIO', message: 'read EIO' });
  s.deliver({ id: 7, ev: 'close' });
  assert.equal(released, 0, 'released at EIO: the number could be reused while writes and resizes may still use it');
  s.destroy();
  s.destroy();
  assert.equal(released, 1);
  const other = stream().s;
  let r2 = 0;
  other.release = () => r2++;
  other.on('close', () => assert.equal(r2, 1, "released before 'close' is emitted"));
  other.destroy();
  assert.equal(r2, 0);
  other.deliver({ id: 7, ev: 'close' });
  assert.equal(r2, 1);
});
