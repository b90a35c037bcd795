// build.js: compiles the C side of the double fork (run by `npm install`): the koffi-loaded library and the
// boxlab-nsexec program it starts (the namespaced parent and PID 1 until execve).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, 'src');
const build = join(here, 'build');
const lib = join(build, 'libboxlab.so');
const exe = join(build, 'boxlab-nsexec');
const s = (...names) => names.map((n) => join(src, n));
const LIB_SOURCES = s('spawn.c', 'clone3.c', 'stages.c');
const EXE_SOURCES = s('nsexec_main.c', 'boxlab_child.c', 'child_util.c', 'child_mounts.c', 'child_privileges.c', 'stages.c');
const inputs = readdirSync(src).map((f) => join(src, f));
const FLAGS = ['-O2', '-g', '-Wall', '-Wextra', '-Werror', '-fvisibility=hidden'];
const cc = process.env.CC || 'cc';

function upToDate() {
  if (!existsSync(lib) || !existsSync(exe)) return false;
  const built = Math.min(statSync(lib).mtimeMs, statSync(exe).mtimeMs);
  return inputs.every((f) => statSync(f).mtimeMs <= built);
}

function compile(args) {
  execFileSync(cc, args, { stdio: 'inherit' });
}

if (process.argv.includes('--if-needed') && upToDate()) process.exit(0);
mkdirSync(build, { recursive: true });
try {
  compile([...FLAGS, '-fPIC', '-shared', '-o', lib, ...LIB_SOURCES, '-ldl']);
  // Static when the C library allows it: no dynamic loader on the path of every box creation.
  try {
    compile([...FLAGS, '-static', '-o', exe, ...EXE_SOURCES]);
  } catch {
    console.error('[native] static link failed; linking boxlab-nsexec dynamically');
    compile([...FLAGS, '-o', exe, ...EXE_SOURCES]);
  }
  rmSync(join(build, 'boxlab-nsexec.tmp'), { force: true });
  console.error(`[native] built ${lib} and ${exe}`);
} catch (err) {
  const hint =
    err.code === 'ENOENT' ? `no C compiler '${cc}': apt-get install gcc, then rerun npm install` : 'see the compiler output above';
  console.error(`[native] failed to build the sandbox helper: ${hint}`);
  process.exit(1);
}
