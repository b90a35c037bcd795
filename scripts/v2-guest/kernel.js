// kernel.js: fetches Debian's stock kernel (apt-get download, dpkg-deb -x) into a cache and picks the modules the guest needs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

/**
 * Modules the initramfs loads, roots only: virtio-pci carries the 9p shares and the scratch disk, ext4 formats that
 * disk (crc32c_generic by hand: ext4's metadata checksums ask the crypto API for it, and there is no modprobe),
 * overlay makes the writable root, dummy gives the guest a NIC-like eth0 that leads nowhere.
 */
export const GUEST_MODULES = ['virtio_pci', 'virtio_blk', 'crc32c_generic', 'ext4', '9pnet_virtio', '9p', 'overlay', 'dummy'];

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  return r;
}

function mustRun(cmd, args, opts = {}) {
  const r = run(cmd, args, opts);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().slice(-800)}`);
  return r;
}

/** linux-image-amd64 is a metapackage; its Depends names the real image package (e.g. linux-image-6.1.0-57-amd64). */
function imagePackage(log) {
  const ask = () => run('apt-cache', ['depends', 'linux-image-amd64']);
  let r = ask();
  if (r.status !== 0 || !/Depends: linux-image-/.test(r.stdout)) {
    log('apt lists do not know linux-image-amd64: running apt-get update');
    mustRun('apt-get', ['update', '-q'], { stdio: ['ignore', 'inherit', 'inherit'] });
    r = ask();
  }
  const m = /Depends: (linux-image-[\w.+-]+)/.exec(r.stdout);
  if (!m)
    throw new Error('apt knows no linux-image-amd64 (a Debian archive is needed; or set BOXLAB_V2_KERNEL_DEB=/path/to/linux-image-*.deb)');
  return m[1];
}

/**
 * Returns { vmlinuz, modDir, release } of a cached kernel, downloading it when the cache is empty.
 * BOXLAB_V2_KERNEL_DEB=/path.deb uses a given package instead of apt (hosts without a Debian archive).
 */
export function ensureKernel(cache, log) {
  const kdir = join(cache, 'kernel');
  const found = findExtracted(kdir);
  if (found) return found;
  mkdirSync(kdir, { recursive: true });
  const work = mkdtempSync(join(cache, 'dl-'));
  try {
    let deb = process.env.BOXLAB_V2_KERNEL_DEB;
    if (!deb) {
      const pkg = imagePackage(log);
      log(`downloading ${pkg} (apt-get download, ~70 MB; cached in ${kdir})`);
      // apt drops to user _apt for downloads, which cannot write a root-owned temp dir (apt.conf(5)).
      mustRun('apt-get', ['download', '-q', '-o', 'APT::Sandbox::User=root', pkg], { cwd: work });
      deb = join(
        work,
        readdirSync(work).find((f) => f.endsWith('.deb')),
      );
    }
    log(`extracting ${basename(deb)}`);
    const out = join(work, 'x');
    mustRun('dpkg-deb', ['-x', deb, out]);
    const dest = join(kdir, basename(deb, '.deb'));
    rmSync(dest, { recursive: true, force: true });
    renameSync(out, dest);
    writeFileSync(join(kdir, 'current'), basename(dest) + '\n');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const k = findExtracted(kdir);
  if (!k) throw new Error(`no vmlinuz or modules found after extracting into ${kdir}`);
  return k;
}

function findExtracted(kdir) {
  const cur = join(kdir, 'current');
  if (!existsSync(cur)) return null;
  const root = join(kdir, readFileSync(cur, 'utf8').trim());
  const boot = join(root, 'boot');
  const vm = existsSync(boot) ? readdirSync(boot).find((f) => f.startsWith('vmlinuz-')) : null;
  if (!vm) return null;
  const release = vm.slice('vmlinuz-'.length);
  const modDir = join(root, 'lib', 'modules', release);
  if (!existsSync(join(modDir, 'modules.order'))) return null;
  return { vmlinuz: join(boot, vm), modDir, release };
}

/** A module's own dependency list, read from its .modinfo section ("depends=a,b"): the package ships no modules.dep. */
function dependsOf(file) {
  const m = /depends=([\w,-]*)\0/.exec(readFileSync(file).toString('latin1'));
  return m?.[1] ? m[1].split(',') : [];
}

/** The .ko files for `roots` and everything they depend on, in load order (dependencies first). */
export function moduleLoadOrder(modDir, roots = GUEST_MODULES) {
  const byName = new Map();
  for (const line of readFileSync(join(modDir, 'modules.order'), 'utf8').split('\n')) {
    const rel = line.trim();
    if (!rel) continue;
    // modules.order lists "kernel/fs/9p/9p.ko"; module names use '_' where file names may use '-'.
    byName.set(
      basename(rel)
        .replace(/\.ko(\.\w+)?$/, '')
        .replace(/-/g, '_'),
      join(modDir, rel),
    );
  }
  const order = [];
  const seen = new Set();
  const visit = (name) => {
    const n = name.replace(/-/g, '_');
    if (seen.has(n)) return;
    seen.add(n);
    const file = byName.get(n);
    if (!file) throw new Error(`module ${name} is not in ${modDir}/modules.order`);
    if (!existsSync(file)) throw new Error(`module file missing: ${file} (compressed modules are not supported)`);
    for (const d of dependsOf(file)) visit(d);
    order.push({ name: n, file });
  };
  for (const r of roots) visit(r);
  return order;
}
