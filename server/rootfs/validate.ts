// Checks an image dir and finds its shell, resolving symlinks relative to the image root, never on the host.
import { lstat, readdir, readlink, realpath, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, join } from 'node:path';
import { ImageError } from './errors.ts';
import { IMAGE_PATH } from './layout.ts';

/** path_resolution(7): more than 40 links in one lookup fails with ELOOP. */
const MAX_LINKS = 40;

export interface InImagePath {
  /** Absolute path inside the image, with every symlink resolved. */
  inside: string;
  /** The same file seen from the host: image root + inside. */
  host: string;
  stat: Stats;
}

/**
 * Resolves p as the kernel would after pivot_root into root: absolute links restart at the image root and ".."
 * stops at it (path_resolution(7)). Each component is lstat'ed under a prefix already known to hold no links,
 * so a link such as bin/sh -> /bin/bash is read as <root>/bin/bash and the host's /bin/bash is never looked at.
 */
export async function resolveInImage(root: string, p: string): Promise<InImagePath> {
  const queue = p.split('/');
  const cur: string[] = [];
  let links = 0;
  while (queue.length) {
    const c = queue.shift() as string;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      cur.pop();
      continue;
    }
    const host = join(root, ...cur, c);
    const inside = '/' + [...cur, c].join('/');
    let st: Stats;
    try {
      st = await lstat(host);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new ImageError(`${inside} does not exist in image ${root}`, {
        code: e.code ?? 'ENOENT',
        syscall: 'lstat',
        path: inside,
        errno: typeof e.errno === 'number' ? Math.abs(e.errno) : undefined,
      });
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) {
        throw new ImageError(`too many symlinks resolving ${p} in image ${root}`, { code: 'ELOOP', path: p, syscall: 'readlink' });
      }
      const target = await readlink(host);
      if (target.startsWith('/')) cur.length = 0;
      queue.unshift(...target.split('/'));
      continue;
    }
    if (queue.some((q) => q !== '' && q !== '.') && !st.isDirectory()) {
      throw new ImageError(`${inside} is not a directory in image ${root}`, { code: 'ENOTDIR', path: inside, syscall: 'lstat' });
    }
    cur.push(c);
  }
  const inside = '/' + cur.join('/');
  return { inside, host: join(root, ...cur), stat: await lstat(join(root, ...cur)) };
}

export interface ValidatedImage {
  /** Real path of the image dir on the host. */
  root: string;
  /** The shell to exec inside the box: absolute, as given or as found on the image's PATH. */
  shell: string;
  /** The file it resolves to inside the image (differs from shell when shell is a symlink). */
  resolvedShell: string;
  /** Mount points the sandbox needs that the image lacks (they will be created in the upper layer). */
  warnings: string[];
}

function notExecutable(shell: string, root: string, inside: string, why: string): ImageError {
  const via = inside !== shell ? ` (resolves to ${inside})` : '';
  return new ImageError(`shell ${shell}${via} in image ${root} ${why}`, { code: 'EACCES', path: inside, syscall: 'execve' });
}

export async function validateImage(path: string, shell: string): Promise<ValidatedImage> {
  let st: Stats;
  try {
    st = await stat(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ImageError(`image not found at ${path}`, { code: e.code ?? 'ENOENT', path, syscall: 'stat' });
  }
  if (!st.isDirectory()) throw new ImageError(`image ${path} is not a directory`, { code: 'ENOTDIR', path, syscall: 'stat' });
  const root = await realpath(path);
  if (!shell) throw new ImageError('no shell given', { code: 'EINVAL' });

  // A bare name is looked up on the image's PATH, as execvp(3) would inside the box.
  const candidates = shell.includes('/')
    ? [shell.startsWith('/') ? shell : `/${shell}`]
    : IMAGE_PATH.split(':').map((d) => `${d}/${shell}`);
  let lastErr: unknown;
  for (const candidate of candidates) {
    let r: InImagePath;
    try {
      r = await resolveInImage(root, candidate);
    } catch (err) {
      lastErr = err;
      continue;
    }
    if (!r.stat.isFile()) throw notExecutable(candidate, root, r.inside, 'is not a regular file');
    if ((r.stat.mode & 0o111) === 0) throw notExecutable(candidate, root, r.inside, 'is not executable');
    const warnings: string[] = [];
    for (const dir of ['proc', 'dev', 'tmp']) {
      const d = await lstat(join(root, dir)).catch(() => null);
      if (!d?.isDirectory()) warnings.push(`image has no /${dir} directory`);
    }
    return { root, shell: candidate, resolvedShell: r.inside, warnings };
  }
  const e = lastErr as ImageError | undefined;
  const why = e?.code === 'ENOENT' ? `${e.path} does not exist` : (e?.message ?? 'not found');
  const detail = candidates.length === 1 ? why : `searched ${IMAGE_PATH}`;
  throw new ImageError(`shell ${shell} not found in image ${root} (${detail})`, {
    code: (lastErr as ImageError)?.code ?? 'ENOENT',
    path: shell,
    syscall: 'execve',
  });
}

export interface ImageInfo {
  name: string;
  /** Apparent size of files and links, each hard-linked inode counted once. */
  sizeBytes: number;
  /** Entries that are not directories. */
  files: number;
}

export async function imageInfo(path: string): Promise<ImageInfo> {
  const top = await stat(path);
  const seen = new Set<number>();
  let sizeBytes = 0;
  let files = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const ent of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, ent.name);
      const st = await lstat(p);
      if (st.isDirectory()) {
        // Stay on the image's filesystem: never count a /proc someone mounted inside it.
        if (st.dev === top.dev) await walk(p);
        continue;
      }
      files++;
      if (st.nlink > 1) {
        if (seen.has(st.ino)) continue;
        seen.add(st.ino);
      }
      sizeBytes += st.size;
    }
  };
  await walk(path);
  return { name: basename(path), sizeBytes, files };
}
