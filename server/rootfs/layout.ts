// The directories and /etc files of the minimal busybox image, with the modes a real Debian system uses.
import { chmod, lchown, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** [path, mode]; modes set with chmod after mkdir so the umask cannot weaken /tmp's sticky bit. */
export const BASE_DIRS: ReadonlyArray<readonly [string, number]> = [
  ['bin', 0o755],
  ['sbin', 0o755],
  ['usr', 0o755],
  ['usr/bin', 0o755],
  ['usr/sbin', 0o755],
  ['usr/local', 0o755],
  ['usr/local/bin', 0o755],
  ['etc', 0o755],
  ['dev', 0o755],
  ['proc', 0o555],
  ['sys', 0o555],
  ['tmp', 0o1777],
  ['root', 0o700],
  ['home', 0o755],
  ['var', 0o755],
  ['var/tmp', 0o1777],
  ['var/log', 0o755],
  ['run', 0o755],
  ['mnt', 0o755],
];

export const IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface EtcOptions {
  /** BusyBox version, e.g. "1.35.0". */
  version: string;
  /** Shell for the nobody account (an applet path inside the image). */
  nologin: string;
}

/** Contents of the image's /etc files: path -> [text, mode]. */
export function etcFiles(o: EtcOptions): Record<string, [string, number]> {
  // Colors are wrapped in \[ \] so ash's line editor does not count them as printed columns.
  const ps1 = String.raw`\[\e[1;32m\]\u@\h\[\e[0m\]:\[\e[1;34m\]\w\[\e[0m\]\$ `;
  return {
    'etc/passwd': [`root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:${o.nologin}\n`, 0o644],
    'etc/group': ['root:x:0:\ntty:x:5:\nusers:x:100:\nnobody:x:65534:\n', 0o644],
    // shadow(5): '*' means no password can log in; su and login read it.
    'etc/shadow': ['root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n', 0o640],
    'etc/hostname': ['boxlab\n', 0o644],
    'etc/hosts': ['127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n', 0o644],
    'etc/os-release': [
      [
        'NAME="Boxlab busybox"',
        `PRETTY_NAME="Boxlab busybox ${o.version}"`,
        'ID=boxlab-busybox',
        'ID_LIKE=busybox',
        `VERSION_ID="${o.version}"`,
        '',
      ].join('\n'),
      0o644,
    ],
    'etc/profile': [
      [
        '# /etc/profile: read by login shells (sh -l), and by interactive ash when ENV=/etc/profile.',
        `export PATH="${IMAGE_PATH}"`,
        'export HOME="${HOME:-/root}"',
        'export TERM="${TERM:-xterm-256color}"',
        'export PAGER="${PAGER:-less}"',
        `if [ "$(id -u)" -eq 0 ]; then PS1='${ps1}'; else PS1='${ps1.replace('1;32m', '1;33m')}'; fi`,
        'export PS1',
        "alias ll='ls -la'",
        "alias l='ls -CF'",
        '',
      ].join('\n'),
      0o644,
    ],
    'etc/shells': ['/bin/sh\n/bin/ash\n', 0o644],
  };
}

export async function writeBaseDirs(root: string): Promise<void> {
  for (const [dir, mode] of BASE_DIRS) {
    await mkdir(join(root, dir), { recursive: true });
    await chmod(join(root, dir), mode);
  }
}

export async function writeEtc(root: string, o: EtcOptions): Promise<void> {
  for (const [path, [text, mode]] of Object.entries(etcFiles(o))) {
    await writeFile(join(root, path), text);
    await chmod(join(root, path), mode);
  }
}

/** Everything root-owned, as on a real system; the overlay's idmapped lower maps uid 0 to the box's root. */
export async function chownTreeToRoot(dir: string): Promise<void> {
  await lchown(dir, 0, 0);
  for (const ent of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) await chownTreeToRoot(p);
    else await lchown(p, 0, 0);
  }
}
