// overlay.ts: the box's root: shared read-only image as lower layer (idmapped), upper/work on a size-capped tmpfs.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MNT_DETACH, MS, type Syscalls } from './syscalls.ts';

export interface Layers {
  /** The per-sandbox tmpfs holding upper/ and work/. */
  rw: string;
  upper: string;
  work: string;
  /** Where the idmapped view of the image is attached while the overlay is mounted. */
  lowerView: string;
  merged: string;
}

export function layerPaths(dir: string): Layers {
  const rw = join(dir, 'rw');
  return { rw, upper: join(rw, 'upper'), work: join(rw, 'work'), lowerView: join(dir, 'lower'), merged: join(dir, 'merged') };
}

/** Overlay mount options; commas and colons in paths would split options, so they are refused (overlayfs docs). */
export function overlayOptions(lower: string, upper: string, work: string): string {
  for (const p of [lower, upper, work]) {
    if (/[,:\\]/.test(p)) throw new Error(`overlay path may not contain ',', ':' or '\\': ${p}`);
  }
  return `lowerdir=${lower},upperdir=${upper},workdir=${work}`;
}

/** tmpfs capped at `sizeBytes` and `nrInodes` (config.ts inodeCap): a disk-filling or file-creating box ends in
 * ENOSPC, not a full host disk nor an OOM kill of its shell. */
export function mountUpperTmpfs(sys: Syscalls, l: Layers, sizeBytes: number, nrInodes: number, uid: number): void {
  mkdirSync(l.rw, { mode: 0o700 });
  sys.mount('boxlab-upper', l.rw, 'tmpfs', MS.NOSUID | MS.NODEV, `size=${sizeBytes},nr_inodes=${nrInodes},mode=0700`);
  mkdirSync(l.upper, { mode: 0o755 });
  mkdirSync(l.work, { mode: 0o700 });
  // The upper dir is the merged root's own inode: owned by the box's root so root inside can write to /.
  sys.chown(l.upper, uid, uid);
}

/**
 * The image is attached through an idmapped mount (mount_setattr(2), MOUNT_ATTR_IDMAP) bound to the box's user
 * namespace, so its files appear owned by the box's root without copying or chowning the shared image; the
 * overlay keeps a private clone of that mount (overlayfs clones its layers), so the view is detached right after.
 */
export function mountOverlay(sys: Syscalls, image: string, l: Layers, usernsPid: number): void {
  mkdirSync(l.lowerView, { mode: 0o700 });
  mkdirSync(l.merged, { mode: 0o755 });
  sys.idmappedBind(image, l.lowerView, usernsPid);
  try {
    sys.mount('boxlab', l.merged, 'overlay', MS.NOSUID | MS.NODEV, overlayOptions(l.lowerView, l.upper, l.work));
  } finally {
    sys.umount2(l.lowerView, MNT_DETACH);
  }
}

/** Detaches whatever of merged / lower view / tmpfs is still mounted; missing mounts are fine (idempotent). */
export function unmountLayers(sys: Syscalls, l: Layers): void {
  for (const target of [l.merged, l.lowerView, l.rw]) {
    try {
      sys.umount2(target, MNT_DETACH);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== 'EINVAL' && code !== 'ENOENT') throw err;
    }
  }
}
