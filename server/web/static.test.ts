// Static file server: content types, html fallbacks, caching, 404 page, and no way out of out/ (traversal, symlinks).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { candidates, createStaticHandler } from './static.ts';

/** Raw request so the path reaches the server exactly as written (fetch would normalize ../). */
function get(port: number, path: string, method = 'GET', headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c)).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject).end();
  });
}

test('candidates: normalizes and refuses to climb', () => {
  assert.deepEqual(candidates('/'), ['index.html']);
  assert.deepEqual(candidates('/about'), ['about', 'about.html', 'about/index.html']);
  assert.deepEqual(candidates('/lessons/'), ['lessons/index.html']);
  assert.deepEqual(candidates('/a.js?x=1'), ['a.js', 'a.js/index.html']);
  assert.equal(candidates('/../etc/passwd'), null);
  assert.equal(candidates('/%2e%2e/etc/passwd'), null);
  assert.equal(candidates('/a/%2e%2e/%2e%2e/x'), null);
  assert.equal(candidates('/..%5cwin.ini'), null);
  assert.equal(candidates('/%00'), null);
  assert.equal(candidates('/%E0%A4%A'), null);
});

test('serves files with types, fallbacks, cache headers; never escapes the root', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'boxlab-static-'));
  const root = join(base, 'out');
  mkdirSync(join(root, '_next/static/chunks'), { recursive: true });
  mkdirSync(join(root, 'docs'));
  writeFileSync(join(root, 'index.html'), '<h1>home</h1>');
  writeFileSync(join(root, 'about.html'), '<h1>about</h1>');
  writeFileSync(join(root, 'docs/index.html'), '<h1>docs</h1>');
  writeFileSync(join(root, '404.html'), '<h1>lost</h1>');
  writeFileSync(join(root, '_next/static/chunks/app-abc.js'), 'console.log(1)');
  writeFileSync(join(root, 'style.css'), 'body{}');
  writeFileSync(join(base, 'secret.txt'), 'TOP SECRET');
  symlinkSync(join(base, 'secret.txt'), join(root, 'leak.txt'));
  const handler = createStaticHandler(root);
  const srv = createServer((req, res) => void handler(req, res));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => {
    srv.close();
    rmSync(base, { recursive: true, force: true });
  });
  const port = (srv.address() as AddressInfo).port;

  const home = await get(port, '/');
  assert.equal(home.status, 200);
  assert.equal(home.body, '<h1>home</h1>');
  assert.equal(home.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(home.headers['cache-control'], 'no-cache');
  assert.equal(home.headers['x-content-type-options'], 'nosniff');
  assert.equal((await get(port, '/about')).body, '<h1>about</h1>');
  assert.equal((await get(port, '/docs')).body, '<h1>docs</h1>');
  assert.equal((await get(port, '/docs/')).body, '<h1>docs</h1>');
  const js = await get(port, '/_next/static/chunks/app-abc.js');
  assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal((await get(port, '/style.css')).headers['content-type'], 'text/css; charset=utf-8');
  const again = await get(port, '/style.css', 'GET', { 'If-None-Match': String(js.headers.etag ?? '') });
  assert.equal(again.status, 200, 'etag of another file does not match');
  const etag = String((await get(port, '/style.css')).headers.etag);
  assert.equal((await get(port, '/style.css', 'GET', { 'If-None-Match': etag })).status, 304);
  const head = await get(port, '/', 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.equal(head.headers['content-length'], '13');

  const missing = await get(port, '/nope');
  assert.equal(missing.status, 404);
  assert.equal(missing.body, '<h1>lost</h1>');
  for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/docs/..%2f..%2fsecret.txt', '/..%5csecret.txt']) {
    const r = await get(port, p);
    assert.ok(r.status === 400 || r.status === 404, `${p} → ${r.status}`);
    assert.doesNotMatch(r.body, /SECRET/, p);
  }
  const leak = await get(port, '/leak.txt');
  assert.equal(leak.status, 404, 'symlink out of the root is not followed');
  assert.doesNotMatch(leak.body, /SECRET/);
  assert.equal((await get(port, '/', 'POST')).status, 405);
  assert.equal((await get(port, '/_next')).status, 404, 'no directory listing');
});

test('missing out/ answers 404 with a hint instead of crashing', async (t) => {
  const handler = createStaticHandler('/nonexistent/boxlab/out');
  const srv = createServer((req, res) => void handler(req, res));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => srv.close());
  const r = await get((srv.address() as AddressInfo).port, '/');
  assert.equal(r.status, 404);
  assert.match(r.body, /not built/);
});
