// preflight.ts: checks made before any sandbox work, each failing with a one-line error naming the missing host feature and its fix.
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import os from 'node:os';
import { dirname } from 'node:path';
import { resolveLayout, type CgroupOptions } from '../engine/cgroups/index.ts';

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 125,
  ) {
    super(message);
  }
}

export function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new CliError('must run as root: the sandbox needs mounts, cgroups and namespaces (try: sudo boxlab ...)');
  }
}

export function requireOverlay(filesystems = readFileSync('/proc/filesystems', 'utf8')): void {
  if (!/\toverlay$/m.test(filesystems)) {
    throw new CliError('this kernel has no overlayfs: load it with `modprobe overlay` (or use a kernel with CONFIG_OVERLAY_FS)');
  }
}

/** What the checks read of the host; tests inject faults through a fake one. */
export interface HostProbe {
  /** File text, or null when it does not exist. */
  read(path: string): string | null;
  exists(path: string): boolean;
  /** uname -r. */
  release(): string;
  /** statfs(2) f_type of the filesystem holding path, or null. */
  fsType(path: string): number | null;
  /** Options for the cgroup detection (tests: a fake cgroupfs); default the real host. */
  cgroups?: CgroupOptions;
}

export const realHost: HostProbe = {
  read: (p) => {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      return null;
    }
  },
  exists: (p) => existsSync(p),
  release: () => os.release(),
  fsType: (p) => {
    // The image may not be built yet: the filesystem it will land on is that of its nearest existing ancestor.
    for (let d = p; ; d = dirname(d)) {
      try {
        return Number(statfsSync(d).type);
      } catch {
        if (d === dirname(d)) return null;
      }
    }
  },
};

/** Idmapped mounts (mount_setattr MOUNT_ATTR_IDMAP) per filesystem: the kernel release that added each (fs/*, man mount_setattr). */
const IDMAP_FS: Record<number, { name: string; since: [number, number] }> = {
  0xef53: { name: 'ext4', since: [5, 12] },
  0x58465342: { name: 'xfs', since: [5, 12] },
  0x4d44: { name: 'vfat', since: [5, 12] },
  0x9123683e: { name: 'btrfs', since: [5, 15] },
  0xf2f52010: { name: 'f2fs', since: [5, 18] },
  0x794c7630: { name: 'overlayfs', since: [5, 19] },
  0x01021994: { name: 'tmpfs', since: [6, 3] },
};
/** Filesystems that never support idmapped mounts (network and fuse-like ones). */
const NO_IDMAP: Record<number, string> = { 0x6969: 'nfs', 0x01021997: 'v9fs', 0xff534d42: 'cifs', 0x65735546: 'fuse', 0x2fc12fc1: 'zfs' };

export function kernelVersion(release: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}
const atLeast = (v: [number, number], w: [number, number]) => v[0] > w[0] || (v[0] === w[0] && v[1] >= w[1]);

/**
 * Every host feature a box needs, checked in order; returns one line per missing feature (empty: all present).
 * Root is exempt from kernel.unprivileged_userns_clone (Debian) and apparmor_restrict_unprivileged_userns
 * (Ubuntu 24.04): both only refuse callers without CAP_SYS_ADMIN, and the server runs as root.
 */
export async function hostProblems(host: HostProbe = realHost, imageDir?: string): Promise<string[]> {
  const out: string[] = [];
  const kv = kernelVersion(host.release());
  if (!host.exists('/proc/self/ns/user')) {
    out.push('no user namespaces: this kernel is built without CONFIG_USER_NS; use a kernel with it (every distribution kernel has it)');
  } else if (host.read('/proc/sys/user/max_user_namespaces')?.trim() === '0') {
    out.push(
      'user namespaces are disabled (user.max_user_namespaces=0): run `sysctl -w user.max_user_namespaces=15000` (and set it in /etc/sysctl.d/)',
    );
  }
  if (!/\toverlay$/m.test(host.read('/proc/filesystems') ?? '')) {
    out.push('no overlayfs: load it with `modprobe overlay` (or use a kernel with CONFIG_OVERLAY_FS)');
  }
  if (!atLeast(kv, [5, 12])) {
    out.push(
      `no idmapped mounts: kernel ${host.release()} is older than 5.12 (mount_setattr MOUNT_ATTR_IDMAP); upgrade the kernel (Debian 12, Ubuntu 22.04 or newer)`,
    );
  } else if (imageDir) {
    const t = host.fsType(imageDir);
    const fs = t === null ? undefined : IDMAP_FS[t];
    if (t !== null && NO_IDMAP[t]) {
      out.push(
        `no idmapped mounts on ${NO_IDMAP[t]}: the image ${imageDir} must be on ext4, xfs or btrfs; set BOXLAB_HOME to a directory there`,
      );
    } else if (fs && !atLeast(kv, fs.since)) {
      out.push(
        `no idmapped mounts on ${fs.name} before Linux ${fs.since.join('.')} (kernel ${host.release()}): put the image ${imageDir} on ext4 or xfs, or upgrade the kernel`,
      );
    }
  }
  const status = host.read('/proc/self/status') ?? '';
  const actions = host.read('/proc/sys/kernel/seccomp/actions_avail');
  if (!/^Seccomp:/m.test(status) || actions === null || !/\bkill_process\b/.test(actions) || !/\berrno\b/.test(actions)) {
    out.push('no seccomp filters: this kernel lacks CONFIG_SECCOMP_FILTER (or SECCOMP_RET_KILL_PROCESS, Linux 4.14); use a kernel with it');
  }
  try {
    await resolveLayout(host.cgroups);
  } catch (e) {
    out.push(
      `${(e as Error).message}: enable them (cgroup v2: they must be listed in /sys/fs/cgroup/cgroup.controllers; v1: mounted; check cgroup_disable= on the kernel command line)`,
    );
  }
  return out;
}

/** The CLI's gate: root first, then the first missing host feature as a one-line error. */
export async function preflight(imageDir?: string, host: HostProbe = realHost): Promise<void> {
  requireRoot();
  const [problem] = await hostProblems(host, imageDir);
  if (problem !== undefined) throw new CliError(problem);
}
