// Serves the Next.js static export (out/): GET/HEAD only, no listings, realpath-checked so nothing outside out/ is reachable.
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import { SECURITY_HEADERS } from '../sessions/routes.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.webmanifest': 'application/manifest+json',
  '.xml': 'application/xml',
};

/** Headers every response from this server carries (defined with the route contract, below web). */
export { SECURITY_HEADERS };

type Found = { file: string; size: number; mtime: Date };

/** Decoded, normalized candidates for a URL path, or null when it is malformed or tries to climb out. */
export function candidates(urlPath: string): string[] | null {
  let p: string;
  try {
    p = decodeURIComponent(urlPath.split('?')[0]!.split('#')[0]!);
  } catch {
    return null;
  }
  if (p.includes('\0') || p.includes('\\') || !p.startsWith('/')) return null;
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.some((s) => s === '..')) return null;
  const rel = parts.join('/');
  if (rel === '') return ['index.html'];
  if (p.endsWith('/')) return [`${rel}/index.html`];
  // Next's export writes /about as about.html (or about/index.html with trailingSlash).
  return extname(rel) ? [rel, `${rel}/index.html`] : [rel, `${rel}.html`, `${rel}/index.html`];
}

export function createStaticHandler(root: string) {
  let realRoot: string | null = null;

  async function find(rel: string): Promise<Found | null> {
    realRoot ??= await realpath(root).catch(() => null);
    if (!realRoot) return null;
    try {
      const file = await realpath(join(realRoot, rel));
      if (!file.startsWith(realRoot + sep)) return null; // a symlink pointing out of out/
      const st = await stat(file);
      return st.isFile() ? { file, size: st.size, mtime: st.mtime } : null;
    } catch {
      return null;
    }
  }

  function send(req: IncomingMessage, res: ServerResponse, f: Found, status: number, cache: string): void {
    const etag = `W/"${f.size.toString(16)}-${f.mtime.getTime().toString(16)}"`;
    const headers = {
      ...SECURITY_HEADERS,
      'Content-Type': TYPES[extname(f.file).toLowerCase()] ?? 'application/octet-stream',
      'Cache-Control': cache,
      ETag: etag,
      'Last-Modified': f.mtime.toUTCString(),
    };
    if (status === 200 && req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers).end();
      return;
    }
    res.writeHead(status, { ...headers, 'Content-Length': f.size });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(f.file)
      .on('error', () => res.destroy())
      .pipe(res);
  }

  return async function serveStatic(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...SECURITY_HEADERS, Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    const list = candidates(req.url ?? '/');
    if (!list) {
      res.writeHead(400, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain' }).end('bad path\n');
      return;
    }
    for (const rel of list) {
      const f = await find(rel);
      // Hashed file names under _next/static never change; everything else is revalidated.
      if (f) return send(req, res, f, 200, rel.startsWith('_next/static/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    }
    const notFound = await find('404.html');
    if (notFound) return send(req, res, notFound, 404, 'no-cache');
    const msg = realRoot ? 'not found\n' : 'front end not built: run the Next.js export into out/\n';
    res.writeHead(404, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' }).end(msg);
  };
}
