// Plans and makes busybox's applet links from `busybox --list-full` (falling back to `--list` into /bin).
import { lstat, mkdir, symlink } from 'node:fs/promises';
import { posix, join } from 'node:path';

/** Where the binary lives inside the image. */
export const BUSYBOX_PATH = 'bin/busybox';
/** Dirs we put links in; --list-full also names "linuxrc" at the top, which only an initrd wants. */
export const LINK_DIRS = ['bin', 'sbin', 'usr/bin', 'usr/sbin'] as const;

export interface LinkPlan {
  /** Path of the link, relative to the image root (e.g. "usr/bin/env"). */
  path: string;
  /** Symlink text, relative so the link also works when the image is inspected from the host. */
  target: string;
}

function validName(name: string): boolean {
  return name.length > 0 && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/**
 * One link per applet. The lists include "busybox" itself: that entry is skipped, so a link never replaces
 * the binary (a symlink bin/busybox -> busybox would leave the image with no busybox at all).
 */
export function planLinks(listFull: string, list: string, binary: string = BUSYBOX_PATH): LinkPlan[] {
  const byPath = new Map<string, LinkPlan>();
  const placed = new Set<string>();
  const add = (path: string) => {
    const name = posix.basename(path);
    if (!validName(name) || name === 'busybox' || path === binary || byPath.has(path)) return;
    byPath.set(path, { path, target: posix.relative(posix.dirname(path), binary) });
    placed.add(name);
  };
  for (const line of lines(listFull)) {
    const path = posix.normalize(line.replace(/^\/+/, ''));
    const dir = posix.dirname(path);
    if ((LINK_DIRS as readonly string[]).includes(dir)) add(path);
  }
  // Applets --list knows but --list-full did not place (or an old busybox without --list-full) go to /bin.
  for (const name of lines(list)) {
    if (!placed.has(name) && validName(name)) add(`bin/${name}`);
  }
  return [...byPath.values()].sort((a, b) => a.path.localeCompare(b.path));
}

/** Makes the planned links under root; an existing entry is left alone. Returns how many were made. */
export async function createLinks(root: string, plan: LinkPlan[]): Promise<number> {
  let made = 0;
  for (const link of plan) {
    const host = join(root, link.path);
    await mkdir(join(root, posix.dirname(link.path)), { recursive: true, mode: 0o755 });
    try {
      await lstat(host);
      continue;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await symlink(link.target, host);
    made++;
  }
  return made;
}
