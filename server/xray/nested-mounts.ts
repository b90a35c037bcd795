// Lab mode: the mounts of the learner's own mount namespaces, read through one of their processes, minus the box's.
import type { XrayMount, XrayProc } from '../protocol/xray.ts';
import { closeFd, openDir, readAt, readlinkAt } from '../boxfs/index.ts';
import { parseMountinfo } from './kernel.ts';

export const NESTED_MOUNT_LIMITS = { namespaces: 8, mounts: 50 } as const;

export interface NestedMounts {
  /** Inode of the mount namespace, and the box-level pid it was read through. */
  ino: number;
  pid: number;
  /** Mounts not in the box's own table: a copy keeps its filesystem (major:minor), root and mount point. */
  list: XrayMount[];
}

/** "major:minor root mountpoint" of each mountinfo line, in order (the same lines parseMountinfo reads). */
const keysOf = (text: string): string[] =>
  text
    .split('\n')
    .filter((l) => l && l.split(' ').length >= 10 && l.includes(' - '))
    .map((l) => l.split(' ').slice(2, 5).join(' '));

/**
 * One entry per mount namespace some box process holds apart from PID 1's (procs from sampleProcs). A pid may have
 * been reused by a host process since the walk: the mountinfo is kept only if /proc/<pid>/ns/mnt still names the
 * namespace the walk saw, so nothing of another process's table is ever sent.
 */
export function sampleNestedMounts(procRoot: string, procs: readonly XrayProc[], initFd: number): NestedMounts[] {
  if (!procs.some((p) => p.nsOwn?.some((n) => n.kind === 'mnt'))) return [];
  const boxKeys = new Set(keysOf(readAt(initFd, 'mountinfo', 256 * 1024)?.toString('utf8') ?? ''));
  const seen = new Set<number>();
  const out: NestedMounts[] = [];
  for (const p of procs) {
    const mnt = p.nsOwn?.find((n) => n.kind === 'mnt');
    if (!mnt || seen.has(mnt.ino) || p.state === 'Z') continue;
    seen.add(mnt.ino);
    if (out.length >= NESTED_MOUNT_LIMITS.namespaces) break;
    const fd = openDir(`${procRoot}/${p.hostPid}`);
    if (fd === null) continue;
    try {
      if (readlinkAt(fd, 'ns/mnt')?.toString('latin1') !== `mnt:[${mnt.ino}]`) continue;
      const raw = readAt(fd, 'mountinfo', 256 * 1024);
      if (!raw) continue;
      const text = raw.toString('utf8');
      const keys = keysOf(text);
      const list = parseMountinfo(text)
        .list.filter((_, i) => !boxKeys.has(keys[i] ?? ''))
        .slice(0, NESTED_MOUNT_LIMITS.mounts);
      out.push({ ino: mnt.ino, pid: p.pid ?? p.hostPid, list });
    } finally {
      closeFd(fd);
    }
  }
  return out;
}
