// dist-stamp.js: is dist/ (the compiled CLI and server) missing or older than its TypeScript sources?
// Plain JavaScript with no dependencies: bin/boxlab.js asks it on every start, so it must cost next to nothing.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const STAMP = 'stamp.json';

/** null when dist/ is current; else why not ("missing", or the first source changed after the build). */
export function distStale(root) {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(join(root, 'dist', STAMP), 'utf8'));
  } catch {
    return 'dist/ is missing';
  }
  for (const f of stamp.inputs) {
    let mtime;
    try {
      mtime = statSync(join(root, f)).mtimeMs;
    } catch {
      // A source that is gone was imported by one that changed (caught there), or the package ships without sources.
      continue;
    }
    if (mtime > stamp.builtAt) return `${f} changed after dist/ was built`;
  }
  return null;
}
