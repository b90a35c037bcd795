// The overlay's upper layer, walked fd by fd without following links: what the learner created, changed or deleted.
import { statfsSync, type Stats } from 'node:fs';
import { XRAY_LIMITS, type XrayFile, type XrayFsMeta, type XrayLowerTop } from '../protocol/xray.ts';
import { at, closeFd, listAt, lstatAt, openDir, readlinkAt } from '../boxfs/index.ts';
import { clean } from './text.ts';

export interface Layers {
  lower: string;
  upper: string;
  merged: string;
}

export interface UpperOptions {
  maxFiles?: number;
  /** Directories opened per sample, entries read per directory, depth: bounds against huge or deep trees. */
  maxDirs?: number;
  maxEntriesPerDir?: number;
  maxDepth?: number;
  /** Stop the walk (truncated) once a sample has taken this long. */
  budgetMs?: number;
  now?: () => number;
  /** Usage of the upper tmpfs (tests pass a fixed one: their temp dir sits on a busy shared disk). */
  statfs?: (path: string) => { blocks: number; bfree: number; bsize: number };
  /** Test hook: runs between an entry's lstat and its open, exactly where a racing learner would swap it. */
  afterLstat?: (path: string) => void;
}

export interface UpperSample {
  files: XrayFile[];
  meta: XrayFsMeta;
  /** Cut by the time budget (a loaded machine), not by a size bound: the listing is partial this time only. */
  timedOut: boolean;
}

type Kind = XrayFile['kind'];

/** A name as a string when it is valid UTF-8 (cheap paths), else the raw bytes (always exact). */
function nameArg(b: Buffer): string | Buffer {
  const s = b.toString('utf8');
  return Buffer.byteLength(s) === b.length && !s.includes('\ufffd') ? s : b;
}
function kindOf(st: Stats): Kind {
  // overlayfs records a deletion as a 0:0 character device in the upper layer (Documentation/filesystems/overlayfs.rst).
  if (st.isCharacterDevice() && st.rdev === 0) return 'whiteout';
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

/** Top-level names of the image (trusted, ours) for the lower band of the picture. */
export function lowerTop(lower: string, max: number = XRAY_LIMITS.maxLowerTop): XrayLowerTop {
  const fd = openDir(lower);
  if (fd === null) return [];
  try {
    const out: XrayLowerTop = [];
    for (const name of listAt(fd, max).names) {
      const st = lstatAt(fd, name);
      if (st) out.push({ name: clean(name, XRAY_LIMITS.name), kind: kindOf(st) });
    }
    return out;
  } finally {
    closeFd(fd);
  }
}

/**
 * Walks upper, lower and (when needed) merged in step, each through its own chain of directory fds: a name is
 * "modified" when the image has it too (copy-up), "created" when not, "deleted" for a whiteout. An upper
 * directory over an image directory is "opaque" (rm -rf then mkdir, the trusted.overlay.opaque xattr) when an
 * image entry it does not shadow is missing from the merged view: detected without reading xattrs.
 */
export function walkUpper(layers: Layers, opts: UpperOptions = {}): UpperSample {
  const maxFiles = opts.maxFiles ?? XRAY_LIMITS.maxFiles;
  const maxDirs = opts.maxDirs ?? 2000;
  const maxEntries = opts.maxEntriesPerDir ?? 4096;
  const maxDepth = opts.maxDepth ?? 32;
  const now = opts.now ?? (() => performance.now());
  const deadline = now() + (opts.budgetMs ?? 40);
  const files: XrayFile[] = [];
  let total = 0;
  let dirs = 0;
  let truncated = false;
  let timedOut = false;
  const upper = openDir(layers.upper);
  const meta = (): XrayFsMeta => ({ total, truncated, ...usage(upper, opts.statfs ?? statfsSync) });
  if (upper === null) return { files, meta: meta(), timedOut };
  const lower = openDir(layers.lower);

  const record = (f: XrayFile) => {
    if (files.length < maxFiles) files.push(f);
    else truncated = true;
  };

  // merged: a thunk per level so the merged fd is opened only for directories that need the opaque check.
  const walk = (u: number, l: number | null, merged: () => number | null, prefix: string, depth: number): void => {
    if (now() > deadline) timedOut = true;
    if (++dirs > maxDirs || depth > maxDepth || timedOut) {
      truncated = true;
      return;
    }
    const { names, truncated: cut } = listAt(u, maxEntries);
    if (cut) truncated = true;
    for (const raw of names) {
      if (now() > deadline) {
        truncated = timedOut = true;
        return;
      }
      const name = nameArg(raw);
      const st = lstatAt(u, name);
      if (!st) continue; // deleted between readdir and lstat
      total++;
      const path = `${prefix}/${clean(name, XRAY_LIMITS.name)}`.slice(0, XRAY_LIMITS.path);
      const base = { path, size: st.size, mtimeMs: Math.floor(st.mtimeMs) };
      const kind = kindOf(st);
      opts.afterLstat?.(path);
      const inLower = l === null ? null : lstatAt(l, name);
      if (kind === 'whiteout') {
        record({ ...base, kind, change: 'deleted', size: 0 });
        continue;
      }
      if (kind !== 'dir') {
        const target = kind === 'symlink' ? readlinkAt(u, name) : null;
        record({
          ...base,
          kind,
          change: inLower ? 'modified' : 'created',
          ...(target ? { target: clean(target, XRAY_LIMITS.target) } : {}),
        });
        continue;
      }
      const child = openDir(name, u);
      if (child === null) continue; // replaced by a symlink or removed since lstat: O_NOFOLLOW refused it
      const lowerChild = inLower?.isDirectory() && l !== null ? openDir(name, l) : null;
      let mergedChild: number | null | undefined;
      const mergedOf = () => {
        if (mergedChild === undefined) {
          const m = merged();
          mergedChild = m === null ? null : openDir(name, m);
        }
        return mergedChild;
      };
      try {
        if (!inLower) record({ ...base, kind, change: 'created', size: 0 });
        else if (!inLower.isDirectory()) record({ ...base, kind, change: 'modified', size: 0 });
        else if (lowerChild !== null && isOpaque(child, lowerChild, mergedOf)) record({ ...base, kind, change: 'opaque', size: 0 });
        walk(child, lowerChild, mergedOf, path, depth + 1);
      } finally {
        closeFd(child);
        closeFd(lowerChild);
        if (mergedChild != null) closeFd(mergedChild);
      }
    }
  };

  let mergedRoot: number | null | undefined;
  const mergedTop = () => (mergedRoot === undefined ? (mergedRoot = openDir(layers.merged)) : mergedRoot);
  try {
    walk(upper, lower, mergedTop, '', 0);
    return { files, meta: meta(), timedOut };
  } finally {
    closeFd(upper);
    closeFd(lower);
    if (mergedRoot != null) closeFd(mergedRoot);
  }
}

/** One image entry the upper dir does not shadow: if the merged view lacks it, the upper dir hides the image's. */
function isOpaque(upperDir: number, lowerDir: number, merged: () => number | null): boolean {
  for (const name of listAt(lowerDir, 64).names) {
    if (lstatAt(upperDir, name)) continue;
    const m = merged();
    return m !== null && lstatAt(m, name) === null;
  }
  return false;
}

function usage(upper: number | null, statfs: NonNullable<UpperOptions['statfs']>): { usedBytes: number; sizeBytes: number } {
  if (upper === null) return { usedBytes: 0, sizeBytes: 0 };
  try {
    const s = statfs(at(upper));
    return { usedBytes: (s.blocks - s.bfree) * s.bsize, sizeBytes: s.blocks * s.bsize };
  } catch {
    return { usedBytes: 0, sizeBytes: 0 };
  }
}
