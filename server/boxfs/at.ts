// The primitive under every boxfs call: look up one name beneath an open directory fd without following a link.
import { constants, openSync } from 'node:fs';

export const { O_RDONLY, O_WRONLY, O_CREAT, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK, O_NOCTTY } = constants;
// Not in node's fs.constants; Linux's value (asm-generic/fcntl.h). libuv adds it to every open too: no fd of ours
// (a directory inside a box, above all) may leak into a spawned child.
export const O_CLOEXEC = 0o2000000;

/** One directory step: O_NOFOLLOW|O_DIRECTORY on a symlink fails with ELOOP or ENOTDIR (open(2)). */
const DIR_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
/** Added to the last step's flags. O_NONBLOCK: a FIFO the box made must not hang the server; O_NOCTTY: nor may the
 * server adopt a terminal the box points it at. */
const FILE_FLAGS = O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;

/**
 * "/proc/self/fd/N/name" resolves N to the very directory we opened (a magic link, proc(5)) and then looks up one
 * name in it: openat(N, name) without openat, which Node lacks. With O_NOFOLLOW on that name, a symlink the learner
 * planted, or a directory swapped for one between our lstat and our open (the race of runc's CVE-2021-30465), fails
 * with ELOOP/ENOTDIR instead of leading us out of the box onto the host's files (Judge0's CVE-2024-28185/28189).
 */
export function at(dirFd: number): string;
export function at(dirFd: number, name: string): string;
export function at(dirFd: number, name: string | Buffer): string | Buffer;
export function at(dirFd: number, name?: string | Buffer): string | Buffer {
  const base = `/proc/self/fd/${dirFd}`;
  if (name === undefined) return base;
  return typeof name === 'string' ? `${base}/${name}` : Buffer.concat([Buffer.from(`${base}/`), name]);
}

/** A trusted host directory (the box's upper dir, /proc/<pid>): a link in it, such as the magic /proc/<pid>/root, is
 * followed once, on purpose. Throws the errno error. */
export function openRoot(path: string): number {
  return openSync(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/** One name under dirFd as a directory, never through a link; `path` alone is absolute (its last name not followed). */
export function openDirAt(dirFd: number | undefined, name: string | Buffer): number {
  return openSync(dirFd === undefined ? name : at(dirFd, name), DIR_FLAGS);
}

/** One name under dirFd as a file with `flags` (O_RDONLY, O_WRONLY|O_CREAT...), never through a link. */
export function openFileAt(dirFd: number, name: string | Buffer, flags: number, mode = 0o644): number {
  return openSync(at(dirFd, name), flags | FILE_FLAGS, mode);
}

const code = (err: unknown): string => (err as NodeJS.ErrnoException)?.code ?? '';

// What a path through a box looks like when the name is not there, or a link or non-directory stands on the way.
const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'ELOOP']);
/** The path is not there or is not walkable without following a link: a lookup answers "none". */
export function absent(err: unknown): boolean {
  return ABSENT.has(code(err));
}

// Also: ESRCH/EACCES/EPERM/ENXIO/EINVAL when a /proc/<pid> dies or changes owner mid-read; EAGAIN from a FIFO opened
// O_NONBLOCK with a writer and nothing written: treated as unreadable, never waited on.
const GONE = new Set([...ABSENT, 'ESRCH', 'EACCES', 'EPERM', 'ENXIO', 'EINVAL', 'EAGAIN']);
/** The process exited or the file vanished mid-walk: expected while sampling a live box, never an error. */
export function gone(err: unknown): boolean {
  return GONE.has(code(err));
}

/** fn(), or `fallback` when it failed in an `expected` way (by default: the thing is gone); other errors are thrown. */
export function tryOr<T>(fn: () => T, fallback: T, expected: (err: unknown) => boolean = gone): T {
  try {
    return fn();
  } catch (err) {
    if (expected(err)) return fallback;
    throw err;
  }
}

/** fn(), or null when the path is absent (a planted link counts as absent); other errors are thrown. */
export function orAbsent<T>(fn: () => T): T | null {
  return tryOr<T | null>(fn, null, absent);
}
