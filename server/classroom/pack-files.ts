// GET /api/lessons/<slug>/files/<path>: an image of the lesson's pack, read beneath the pack folder one component at a
// time with O_NOFOLLOW (server/boxfs): no "..", no symlink anywhere on the path, regular files only, 2 MiB at most.
import { readFileBeneath } from '../boxfs/index.ts';
import { SECURITY_HEADERS, type RouteResponse } from '../sessions/routes.ts';

const TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  svg: 'image/svg+xml',
};
const PATH_RE = /^[A-Za-z0-9_][A-Za-z0-9._/-]*\.(png|jpe?g|gif|webp|svg)$/i;

/** Answers the request; `dir` is the pack folder of the lesson (undefined: no such lesson). */
export function servePackFile(res: RouteResponse, dir: string | undefined, rel: string, head: boolean): void {
  const plain = (status: number, text: string) => {
    res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(head ? undefined : text);
  };
  let decoded: string;
  try {
    decoded = decodeURIComponent(rel);
  } catch {
    return plain(400, 'bad path');
  }
  if (!dir || !PATH_RE.test(decoded) || decoded.split('/').some((p) => p === '..' || p === '.' || p === '')) return plain(404, 'not found');
  let data: Buffer;
  try {
    data = readFileBeneath(dir, `/${decoded}`, 2 << 20);
  } catch {
    return plain(404, 'not found');
  }
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': TYPES[decoded.split('.').pop()!.toLowerCase()]!, // PATH_RE admits only these extensions
    'Content-Length': String(data.length),
    'Cache-Control': 'no-cache',
    // An SVG opened directly must not run script in this origin.
    'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(head ? undefined : data);
}
