// Root filesystem images: where they live, building the default one on first use, and checking one before a box runs.
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { OnProgress } from './apt.ts';
import { buildBusyboxImage } from './busybox.ts';
import { ImageError } from './errors.ts';
import { fromEnv } from '../protocol/settings.ts';

export const DEFAULT_IMAGES_DIR = join(fromEnv('home', process.env), 'images');

export function defaultImagePath(): string {
  return join(DEFAULT_IMAGES_DIR, 'busybox');
}

export interface EnsureOptions {
  /** Builder of the default image; tests pass a fake one. */
  build?: (dest: string, onProgress: OnProgress) => Promise<unknown>;
}

/** One build per path at a time in this process; callers arriving mid-build wait for it. */
const building = new Map<string, Promise<string>>();

/** Returns the image path, building the default busybox image if it is missing. */
export async function ensureImage(path: string, onProgress: OnProgress, opts: EnsureOptions = {}): Promise<string> {
  const abs = resolve(path);
  const st = await stat(abs).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw new ImageError(`cannot read image at ${abs}: ${err.code}`, { code: err.code ?? 'EIO', path: abs, syscall: 'stat' });
  });
  if (st) {
    if (!st.isDirectory()) throw new ImageError(`image at ${abs} is not a directory`, { code: 'ENOTDIR', path: abs, syscall: 'stat' });
    return abs;
  }
  if (abs !== resolve(defaultImagePath())) {
    throw new ImageError(`image not found at ${abs}: run \`boxlab rootfs\` or pass --base-dir`, {
      code: 'ENOENT',
      path: abs,
      syscall: 'stat',
    });
  }
  let p = building.get(abs);
  if (!p) {
    // replace: false, so if another process finished first its image is kept and ours discarded.
    const build = opts.build ?? ((d: string, cb: OnProgress) => buildBusyboxImage(d, cb, { replace: false }));
    p = build(abs, onProgress)
      .then(() => abs)
      .finally(() => building.delete(abs));
    building.set(abs, p);
  }
  return p;
}

export { buildBusyboxImage, type BusyboxBuildOptions } from './busybox.ts';
export { buildDebianImage, type DebianBuildOptions } from './debian.ts';
export { validateImage, imageInfo, resolveInImage, type ValidatedImage, type ImageInfo } from './validate.ts';
export { consoleProgress, type ProgressPrinter } from './progress.ts';
export { ImageError } from './errors.ts';
export type { OnProgress } from './apt.ts';
