// Builds a full Debian minbase image with debootstrap (takes minutes), streaming its progress.
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { aptWithUpdate, type OnProgress } from './apt.ts';
import { buildAtomically, type AtomicResult } from './atomic.ts';
import { ImageError } from './errors.ts';
import { runCommand, tail, type Runner } from './exec.ts';

export interface DebianBuildOptions {
  replace?: boolean;
  run?: Runner;
  suite?: string;
  mirror?: string;
}

/**
 * Turns debootstrap's "I: ..." lines into a fraction. Its plain output has no totals, so the download phase is
 * measured against a typical minbase size, and later phases against the number of packages it retrieved.
 */
export function debootstrapProgress(expectedPackages = 90) {
  let retrieved = 0;
  let extracted = 0;
  let unpacked = 0;
  let configured = 0;
  let last = 0;
  const part = (n: number, of: number) => Math.min(n / Math.max(of, 1), 1);
  return (line: string): { msg: string; fraction: number } | null => {
    const m = /^([IWE]): (.*)$/.exec(line.trim());
    if (!m) return null;
    const [, level, msg = ''] = m;
    const total = Math.max(retrieved, 1);
    let f = last;
    if (/^Retrieving (InRelease|Release|Packages)|^Checking Release|^Valid Release|^Checking component/.test(msg)) f = 0.03;
    else if (/^Resolving dependencies/.test(msg)) f = 0.06;
    else if (/^Found /.test(msg)) f = 0.08;
    else if (/^Retrieving /.test(msg)) f = 0.1 + 0.35 * part(++retrieved, Math.max(expectedPackages, retrieved));
    else if (/^Validating /.test(msg)) f = Math.max(last, 0.1);
    else if (/^Extracting /.test(msg)) f = 0.45 + 0.1 * part(++extracted, total);
    else if (/^Installing core packages/.test(msg)) f = 0.56;
    else if (/^Unpacking the base system|^Unpacking required packages/.test(msg)) f = 0.58;
    else if (/^Unpacking /.test(msg)) f = 0.58 + 0.17 * part(++unpacked, total);
    else if (/^Configuring required packages|^Configuring the base system/.test(msg)) f = 0.76;
    else if (/^Configuring /.test(msg)) f = 0.76 + 0.2 * part(++configured, total);
    else if (/^Base system installed successfully/.test(msg)) f = 0.97;
    last = Math.max(last, f);
    return { msg: level === 'I' ? msg : `${level}: ${msg}`, fraction: last };
  };
}

async function ensureDebootstrap(run: Runner, onProgress: OnProgress): Promise<void> {
  try {
    const r = await run('debootstrap', ['--version']);
    if (r.code === 0) return;
  } catch {
    // ENOENT: not installed.
  }
  onProgress('installing debootstrap', 0.01);
  await aptWithUpdate(run, ['install', '-y', '--no-install-recommends', 'debootstrap'], { onProgress, fraction: 0.01 });
}

export async function buildDebianImage(dest: string, onProgress: OnProgress, opts: DebianBuildOptions = {}): Promise<AtomicResult> {
  const run = opts.run ?? runCommand;
  const suite = opts.suite ?? 'bookworm';
  const mirror = opts.mirror ?? 'http://deb.debian.org/debian';
  await ensureDebootstrap(run, onProgress);
  const result = await buildAtomically(
    dest,
    async (root) => {
      onProgress(`debootstrap --variant=minbase ${suite}`, 0.02);
      const track = debootstrapProgress();
      const r = await run('debootstrap', ['--variant=minbase', suite, root, mirror], {
        onLine: (line) => {
          const p = track(line);
          if (p) onProgress(p.msg, p.fraction);
        },
      });
      if (r.code !== 0) {
        throw new ImageError(`debootstrap failed: ${tail(r.stderr) || tail(r.stdout, 2)} (see ${root}/debootstrap/debootstrap.log)`, {
          code: 'ECMDFAIL',
          path: 'debootstrap',
          syscall: 'execve',
        });
      }
      onProgress('tidying the image', 0.98);
      // debootstrap copies the host's /etc/hostname and resolv.conf; a box gets its own name and has no network.
      await writeFile(join(root, 'etc/hostname'), 'boxlab\n');
      await writeFile(join(root, 'etc/hosts'), '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n');
      await writeFile(join(root, 'etc/resolv.conf'), '');
      const archives = join(root, 'var/cache/apt/archives');
      for (const f of await readdir(archives).catch(() => [] as string[])) {
        if (f.endsWith('.deb')) await rm(join(archives, f), { force: true });
      }
    },
    { replace: opts.replace, run },
  );
  onProgress(result === 'built' ? `debian ${suite} image ready at ${dest}` : `kept existing image at ${dest}`, 1);
  return result;
}
