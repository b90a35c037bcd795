// apt-get helpers: download or install a package, running `apt-get update` once when the lists are empty or stale.
import { readdir } from 'node:fs/promises';
import { ImageError } from './errors.ts';
import { tail, type RunResult, type Runner } from './exec.ts';

export type OnProgress = (msg: string, fraction?: number) => void;

/** What apt prints when its package lists are missing or older than the mirror. */
const STALE_LISTS =
  /Unable to locate package|has no installation candidate|Can't select (candidate|versions)|Failed to fetch|404\s+Not Found/i;

/** apt-get update, with each "Get:/Hit:" line shown as progress. */
export async function aptUpdate(run: Runner, onProgress: OnProgress, fraction?: number): Promise<void> {
  onProgress('apt lists are empty or stale: running apt-get update', fraction);
  const r = await run('apt-get', ['update'], { onLine: (line) => onProgress(`apt-get update: ${line.trim()}`, fraction) });
  if (r.code !== 0) {
    throw new ImageError(`apt-get update failed: ${tail(r.stderr) || tail(r.stdout)}`, {
      code: 'ECMDFAIL',
      path: 'apt-get',
      syscall: 'execve',
    });
  }
}

/** Runs an apt-get command; on a stale-lists failure updates once and retries. */
export async function aptWithUpdate(
  run: Runner,
  args: string[],
  opts: { cwd?: string; onProgress: OnProgress; fraction?: number },
): Promise<RunResult> {
  let r = await run('apt-get', args, { cwd: opts.cwd });
  if (r.code !== 0 && STALE_LISTS.test(r.stderr + r.stdout)) {
    await aptUpdate(run, opts.onProgress, opts.fraction);
    r = await run('apt-get', args, { cwd: opts.cwd });
  }
  if (r.code !== 0) {
    throw new ImageError(`apt-get ${args.join(' ')} failed: ${tail(r.stderr) || tail(r.stdout)}`, {
      code: 'ECMDFAIL',
      path: 'apt-get',
      syscall: 'execve',
    });
  }
  return r;
}

/** Downloads pkg's .deb into dir and returns its path. */
export async function downloadDeb(run: Runner, dir: string, pkg: string, onProgress: OnProgress, fraction?: number): Promise<string> {
  // apt drops to user _apt for downloads, which cannot write a root-owned temp dir; stay root (apt.conf(5)).
  await aptWithUpdate(run, ['download', '-o', 'APT::Sandbox::User=root', pkg], { cwd: dir, onProgress, fraction });
  const debs = (await readdir(dir)).filter((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
  if (debs.length !== 1) {
    throw new ImageError(`apt-get download ${pkg} left ${debs.length} .deb files in ${dir}`, { code: 'ENOENT', path: dir });
  }
  return `${dir}/${debs[0]}`;
}
