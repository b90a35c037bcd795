// Namespace inodes (host vs box) and the box's mount table, read from /proc without following any link.
import { readFileSync, readlinkSync } from 'node:fs';
import { NS_KINDS, XRAY_LIMITS, type XrayMount, type XrayNs } from '../protocol/xray.ts';
import { gone, readAt, readlinkAt } from '../boxfs/index.ts';
import { clean, unescapeMountField } from './text.ts';

type Kind = (typeof NS_KINDS)[number];

/** "pid:[4026531836]" → 4026531836 (readlink of /proc/<pid>/ns/<kind> names the namespace, namespaces(7)). */
export function nsInode(link: string | null, kind: string): number | null {
  if (!link) return null;
  const m = /^([a-z_]+):\[(\d+)\]$/.exec(link);
  return m && m[1] === kind ? Number(m[2]) : null;
}

/** The server's own namespaces: what the host side of each row compares against. */
export function hostNamespaces(procRoot: string): Partial<Record<Kind, number>> {
  const out: Partial<Record<Kind, number>> = {};
  for (const kind of NS_KINDS) {
    let link: string | null = null;
    try {
      link = readlinkSync(`${procRoot}/self/ns/${kind}`);
    } catch (err) {
      if (!gone(err)) throw err;
    }
    const ino = nsInode(link, kind);
    if (ino !== null) out[kind] = ino;
  }
  return out;
}

/** One row per kind the host has (time namespaces need Linux 5.6); the box side through PID 1's dir fd. */
export function sampleNamespaces(host: Partial<Record<Kind, number>>, initFd: number | null): XrayNs[] {
  const rows: XrayNs[] = [];
  for (const kind of NS_KINDS) {
    if (host[kind] === undefined) continue;
    const link = initFd === null ? null : readlinkAt(initFd, `ns/${kind}`);
    rows.push({ kind, host: host[kind]!, box: nsInode(link ? link.toString('latin1') : null, kind) });
  }
  return rows;
}

/**
 * /proc/<pid>/mountinfo lines (proc(5)): id parent major:minor root mountpoint options [optional...] - fstype
 * source superoptions. Fields are octal-escaped by the kernel; every one is cleaned and capped here.
 */
export function parseMountinfo(text: string, max: number = XRAY_LIMITS.maxMounts): { list: XrayMount[]; truncated: boolean } {
  const list: XrayMount[] = [];
  let truncated = false;
  for (const line of text.split('\n')) {
    if (!line) continue;
    const f = line.split(' ');
    const dash = f.indexOf('-', 6);
    if (f.length < 10 || dash < 0) continue;
    if (list.length >= max) {
      truncated = true;
      break;
    }
    const field = (s: string | undefined, cap: number = XRAY_LIMITS.field) => clean(unescapeMountField(s ?? ''), cap);
    list.push({
      id: Number(f[0]) || 0,
      parent: Number(f[1]) || 0,
      root: field(f[3]),
      mountPoint: field(f[4], XRAY_LIMITS.path),
      options: field(f[5]),
      fsType: field(f[dash + 1], XRAY_LIMITS.name),
      source: field(f[dash + 2]),
      superOptions: field(f[dash + 3]),
    });
  }
  return { list, truncated };
}

export function sampleMounts(initFd: number | null): { list: XrayMount[]; truncated: boolean } {
  const raw = initFd === null ? null : readAt(initFd, 'mountinfo', 256 * 1024);
  return raw ? parseMountinfo(raw.toString('utf8')) : { list: [], truncated: false };
}

/** Mounts in the server's own table: the box's mount namespace started as a copy of it (never sent, only counted). */
export function countHostMounts(procRoot: string): number {
  try {
    return readFileSync(`${procRoot}/self/mountinfo`, 'utf8').split('\n').filter(Boolean).length;
  } catch (err) {
    if (gone(err)) return 0;
    throw err;
  }
}
