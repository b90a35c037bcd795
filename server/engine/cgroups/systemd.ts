// The real systemd side of delegation: sd_booted(), the delegate xattr, and StartTransientUnit over D-Bus (busctl).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { SystemdHooks } from './delegate.ts';
import { dirThroughMount, parseProcCgroup } from './detect.ts';

/** sd_booted(3): systemd is the init system exactly when /run/systemd/system/ exists. */
export function systemdBooted(fsRoot = '/'): boolean {
  return existsSync(path.join(fsRoot, 'run/systemd/system'));
}

/** systemd >= 251 marks a unit's cgroup delegated with trusted.delegate (system manager) or user.delegate (user manager). */
async function isDelegated(dir: string): Promise<boolean> {
  const { readXattr } = await import('../../../native-bindings/index.ts');
  return readXattr(dir, 'trusted.delegate') === '1' || readXattr(dir, 'user.delegate') === '1';
}

const run = (cmd: string, args: string[]) =>
  new Promise<string>((resolve, reject) => {
    execFile(cmd, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} failed: ${(stderr || err.message).trim().split('\n')[0]}`));
      else resolve(stdout);
    });
  });

/**
 * StartTransientUnit(name, "fail", properties, []) as runc's and crun's systemd drivers call it: a scope with
 * Delegate=yes holding only `pid`, collected when it empties (CollectMode=inactive-or-failed, like --collect).
 * A scope's PIDs are moved when the job runs, so we wait until our /proc/self/cgroup shows the scope.
 */
async function startScope(name: string, pid: number): Promise<void> {
  await run('busctl', [
    '--system',
    'call',
    'org.freedesktop.systemd1',
    '/org/freedesktop/systemd1',
    'org.freedesktop.systemd1.Manager',
    'StartTransientUnit',
    'ssa(sv)a(sa(sv))',
    name,
    'fail',
    '4',
    'PIDs',
    'au',
    '1',
    String(pid),
    'Delegate',
    'b',
    'true',
    'CollectMode',
    's',
    'inactive-or-failed',
    'Description',
    's',
    `Boxlab sandboxes of pid ${pid}`,
    '0',
  ]);
  for (let i = 0; i < 200; i++) {
    const own = parseProcCgroup(await fsp.readFile(`/proc/${pid}/cgroup`, 'utf8')).v2 ?? '';
    if (path.posix.basename(own) === name) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`pid ${pid} did not appear in ${name} within 2 s`);
}

/** Manager.Version, e.g. `s "252.39-1~deb12u1"` -> 252; null when the bus or the answer is not there. */
export function parseSystemdVersion(busctlOut: string): number | null {
  const m = /^s "(\d+)/.exec(busctlOut.trim());
  return m ? Number(m[1]) : null;
}

async function version(): Promise<number | null> {
  return parseSystemdVersion(
    await run('busctl', [
      '--system',
      'get-property',
      'org.freedesktop.systemd1',
      '/org/freedesktop/systemd1',
      'org.freedesktop.systemd1.Manager',
      'Version',
    ]),
  );
}

/** Hooks on the real host; `mountPoint`/`mountRoot` locate our cgroup on the unified hierarchy. */
export function realSystemdHooks(mountPoint: string, mountRoot: string, fsRoot = '/'): SystemdHooks {
  return {
    systemd: systemdBooted(fsRoot),
    pid: process.pid,
    isDelegated,
    startScope,
    version,
    async ownDirNow() {
      const own = parseProcCgroup(await fsp.readFile('/proc/self/cgroup', 'utf8')).v2 ?? '/';
      return path.join(fsRoot, dirThroughMount(mountPoint, mountRoot, own) ?? mountPoint);
    },
  };
}
