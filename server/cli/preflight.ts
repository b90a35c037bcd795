// preflight.ts: checks made before any sandbox work, each failing with a one-line error a user can act on.
import { readFileSync } from 'node:fs';

export class CliError extends Error {
  constructor(message: string, readonly exitCode = 125) {
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
