// Builds an image in a temp dir beside its destination and renames it into place, so a half-built image never exists there.
import { mkdir, mkdtemp, readFile, realpath, rename, rm, chmod, lstat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ImageError } from './errors.ts';
import { runCommand, type Runner } from './exec.ts';

export interface AtomicOptions {
  /** Replace an existing image at dest (true) or keep it and discard the new build (false). */
  replace?: boolean;
  /** Used to unmount leftovers (debootstrap mounts /proc and /sys in its target). */
  run?: Runner;
}

/** 'built' when our build is now at dest, 'existing' when another image was already there and replace was false. */
export type AtomicResult = 'built' | 'existing';

export async function buildAtomically(
  dest: string,
  build: (tmp: string) => Promise<void>,
  opts: AtomicOptions = {},
): Promise<AtomicResult> {
  const target = resolve(dest);
  const parent = dirname(target);
  await mkdir(parent, { recursive: true, mode: 0o755 });
  // Same parent dir, so rename(2) stays on one filesystem and is atomic.
  const tmp = await mkdtemp(join(parent, `.${basename(target)}.building-`));
  try {
    // mkdtemp makes 0700; an image root must be 0755 like a real "/".
    await chmod(tmp, 0o755);
    await build(tmp);
    return await moveIntoPlace(tmp, target, opts.replace ?? true, opts.run);
  } catch (err) {
    await safeRemove(tmp, opts.run).catch(() => {});
    throw err;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

async function moveIntoPlace(tmp: string, target: string, replace: boolean, run?: Runner): Promise<AtomicResult> {
  if (!(await exists(target))) {
    try {
      await rename(tmp, target);
      return 'built';
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Lost a race with another builder: fall through to the replace/keep decision.
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw err;
    }
  }
  if (!replace) {
    await safeRemove(tmp, run);
    return 'existing';
  }
  // rename(2) cannot replace a non-empty directory, but it does replace an empty one: move the old image
  // onto a fresh empty dir, then ours onto dest. dest is missing only between two renames, never half-built.
  const old = await mkdtemp(join(dirname(target), `.${basename(target)}.old-`));
  await rename(target, old);
  try {
    await rename(tmp, target);
  } catch (err) {
    await rename(old, target).catch(() => {});
    throw err;
  }
  await safeRemove(old, run);
  return 'built';
}

/** Mount points at or below dir, deepest first, from /proc/self/mountinfo (proc(5): field 5 is the mount point). */
export async function mountsUnder(dir: string, mountinfo?: string): Promise<string[]> {
  const text = mountinfo ?? (await readFile('/proc/self/mountinfo', 'utf8'));
  const real = await realpath(dir).catch(() => resolve(dir));
  const found: string[] = [];
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (!field) continue;
    // mountinfo escapes space, tab, newline and backslash as \ooo octal.
    const mp = field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (mp === real || mp.startsWith(real + '/')) found.push(mp);
  }
  return found.sort((a, b) => b.length - a.length);
}

/**
 * rm -rf that refuses to cross mount points: a debootstrap killed halfway can leave /proc, /sys or a bind of the
 * host's /dev mounted in its target, and a recursive delete would then walk into the host's files.
 */
export async function safeRemove(dir: string, run: Runner = runCommand): Promise<void> {
  if (!(await exists(dir))) return;
  for (const mp of await mountsUnder(dir)) {
    // -l (MNT_DETACH, umount(2)): detach now even if busy, so nothing below is reachable through dir any more.
    await run('umount', ['-l', mp]).catch(() => undefined);
  }
  const left = await mountsUnder(dir);
  if (left.length) {
    throw new ImageError(`refusing to delete ${dir}: ${left[0]} is still mounted`, {
      code: 'EBUSY',
      path: left[0],
      syscall: 'umount2',
    });
  }
  await rm(dir, { recursive: true, force: true });
}
