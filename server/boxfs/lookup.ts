// Lenient lookups beneath a box-controlled directory (lesson checks): null where the path is absent or needs a planted link.
import { closeSync, fstatSync, lstatSync, statSync, type Stats } from 'node:fs';
import { at, O_RDONLY, openFileAt, orAbsent } from './at.ts';
import { fileBoxPath, openDirBeneath, splitBoxPath } from './beneath.ts';
import { readUpTo } from './fd.ts';

/** The parent directory of `rel` beneath `root` and the last name, or null when the walk met a missing name or a
 * link (ELOOP/ENOTDIR): a check then sees "not there", as the box itself would through that link's target. */
function parentOf(root: string, rel: string): [number, string] | null {
  const parts = fileBoxPath(rel);
  const dir = orAbsent(() => openDirBeneath(root, parts.slice(0, -1)));
  return dir === null ? null : [dir, parts[parts.length - 1]!];
}

/** lstat of `rel` beneath `root` (a link at the end is described, never followed), or null. */
export function lstatBeneath(root: string, rel: string): Stats | null {
  const p = parentOf(root, rel);
  if (!p) return null;
  try {
    return lstatSync(at(p[0], p[1]), { throwIfNoEntry: false }) ?? null;
  } finally {
    closeSync(p[0]);
  }
}

/** stat of the directory `rel` beneath `root`, each step opened with O_NOFOLLOW, or null; "" is `root` itself. */
export function statDirBeneath(root: string, rel: string): Stats | null {
  const parts = splitBoxPath(rel);
  if (!parts.length) return statSync(root);
  const dir = orAbsent(() => openDirBeneath(root, parts));
  if (dir === null) return null;
  try {
    return fstatSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** The first `maxBytes` of a regular file beneath `root` and its stat; null when absent or a link, FIFO or device. */
export function readHeadBeneath(root: string, rel: string, maxBytes = 64 * 1024): { data: Buffer; stat: Stats } | null {
  const p = parentOf(root, rel);
  if (!p) return null;
  let fd: number | null;
  try {
    fd = orAbsent(() => openFileAt(p[0], p[1], O_RDONLY));
  } finally {
    closeSync(p[0]);
  }
  if (fd === null) return null;
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return null;
    // Upper-layer files are regular files on disk: st_size bounds the read, so a file growing meanwhile is cut there.
    return { data: readUpTo(fd, Math.min(maxBytes, Math.max(0, stat.size))), stat };
  } finally {
    closeSync(fd);
  }
}
