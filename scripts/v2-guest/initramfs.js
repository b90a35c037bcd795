// initramfs.js: packs the guest's initramfs (static busybox, init.sh, stage2.sh, the 9p/overlay modules) as newc cpio.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { moduleLoadOrder } from './kernel.js';

const HERE = import.meta.dirname;
/** insmod parameters: dummy makes no dummy0 of its own (stage2.sh adds the one link it wants, eth0). */
const PARAMS = { dummy: 'numdummies=0' };

/** Debian's busybox-static installs /bin/busybox; the dynamic `busybox` package does too but cannot run without libc. */
export function staticBusybox(path = '/bin/busybox') {
  if (!existsSync(path)) throw new Error(`${path} missing: apt-get install busybox-static`);
  if (hasInterpreter(readFileSync(path))) throw new Error(`${path} is dynamically linked: apt-get install busybox-static`);
  return path;
}

/** True when a 64-bit ELF has a PT_INTERP program header, i.e. needs a dynamic loader (elf(5)). */
export function hasInterpreter(b) {
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) throw new Error('not a 64-bit ELF file');
  const phoff = Number(b.readBigUInt64LE(0x20));
  const size = b.readUInt16LE(0x36);
  const count = b.readUInt16LE(0x38);
  for (let i = 0; i < count; i++) if (b.readUInt32LE(phoff + i * size) === 3) return true;
  return false;
}

/** Writes `out` (uncompressed newc cpio; the kernel unpacks it directly) and returns the modules it will load. */
export function buildInitramfs(out, kernel, stage) {
  const busybox = staticBusybox();
  rmSync(stage, { recursive: true, force: true });
  for (const d of ['bin', 'modules', 'dev']) mkdirSync(join(stage, d), { recursive: true });
  copyFileSync(busybox, join(stage, 'bin', 'busybox'));
  chmodSync(join(stage, 'bin', 'busybox'), 0o755);
  copyFileSync(join(HERE, 'init.sh'), join(stage, 'init'));
  chmodSync(join(stage, 'init'), 0o755);
  copyFileSync(join(HERE, 'stage2.sh'), join(stage, 'stage2.sh'));
  const mods = moduleLoadOrder(kernel.modDir);
  for (const m of mods) copyFileSync(m.file, join(stage, 'modules', `${m.name}.ko`));
  writeFileSync(join(stage, 'modules.list'), mods.map((m) => `${m.name} ${PARAMS[m.name] ?? ''}`.trim()).join('\n') + '\n');
  // busybox cpio -o reads the file list on stdin; -R 0:0 makes every entry root's whoever builds it.
  const list = spawnSync('find', ['.', '-mindepth', '1'], { cwd: stage, encoding: 'utf8' });
  const r = spawnSync(busybox, ['cpio', '-o', '-H', 'newc', '-R', '0:0'], { cwd: stage, input: list.stdout, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`busybox cpio failed: ${r.stderr}`);
  writeFileSync(out, r.stdout);
  rmSync(stage, { recursive: true, force: true });
  return mods.map((m) => m.name);
}
