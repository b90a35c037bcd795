// Builds the minimal busybox image from Debian's busybox-static package in a few seconds.
import { access, chmod, constants, copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAtomically, type AtomicResult } from './atomic.ts';
import { downloadDeb, type OnProgress } from './apt.ts';
import { ImageError } from './errors.ts';
import { mustRun, runCommand, type Runner } from './exec.ts';
import { chownTreeToRoot, writeBaseDirs, writeEtc } from './layout.ts';
import { BUSYBOX_PATH, createLinks, planLinks } from './links.ts';

export interface BusyboxBuildOptions {
  /** Replace an image already at dest (default true; ensureImage passes false to keep a concurrent build). */
  replace?: boolean;
  /** Program runner; tests inject one that fails at a chosen step. */
  run?: Runner;
  /** Where the .deb is downloaded and unpacked (default os.tmpdir()). */
  workDir?: string;
}

/** "BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) multi-call binary." -> "1.35.0" */
export function parseBusyboxVersion(banner: string): string {
  return /BusyBox v([0-9][\w.+~-]*)/.exec(banner)?.[1] ?? 'unknown';
}

export async function buildBusyboxImage(dest: string, onProgress: OnProgress, opts: BusyboxBuildOptions = {}): Promise<AtomicResult> {
  const run = opts.run ?? runCommand;
  const work = await mkdtemp(join(opts.workDir ?? tmpdir(), 'boxlab-busybox-'));
  try {
    onProgress('downloading busybox-static', 0.05);
    const deb = await downloadDeb(run, work, 'busybox-static', onProgress, 0.1);

    onProgress('extracting busybox-static', 0.4);
    const unpacked = join(work, 'pkg');
    await mustRun(run, 'dpkg', ['-x', deb, unpacked]);
    const binary = join(unpacked, BUSYBOX_PATH);
    try {
      await access(binary, constants.X_OK);
    } catch {
      throw new ImageError(`busybox-static has no executable ${BUSYBOX_PATH}`, { code: 'ENOENT', path: binary });
    }
    // The binary is static, so the host can run it to ask for its applets.
    const banner = (await run(binary, [])).stdout;
    const listFull = await run(binary, ['--list-full']);
    const list = await mustRun(run, binary, ['--list']);
    const plan = planLinks(listFull.code === 0 ? listFull.stdout : '', list.stdout);
    if (!plan.some((l) => l.path === 'bin/sh')) {
      throw new ImageError('busybox-static has no sh applet', { code: 'ENOENT', path: binary });
    }
    const version = parseBusyboxVersion(banner);

    const result = await buildAtomically(
      dest,
      async (root) => {
        onProgress('creating directories', 0.5);
        await writeBaseDirs(root);
        await copyFile(binary, join(root, BUSYBOX_PATH));
        await chmod(join(root, BUSYBOX_PATH), 0o755);
        onProgress(`linking ${plan.length} applets`, 0.6);
        await createLinks(root, plan);
        onProgress('writing /etc', 0.8);
        const nologin = plan.find((l) => l.path.endsWith('/nologin'));
        await writeEtc(root, { version, nologin: nologin ? `/${nologin.path}` : '/bin/false' });
        if (process.getuid?.() === 0) await chownTreeToRoot(root);
        onProgress('moving image into place', 0.95);
      },
      { replace: opts.replace, run },
    );
    onProgress(result === 'built' ? `busybox ${version} image ready at ${dest}` : `kept existing image at ${dest}`, 1);
    return result;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
