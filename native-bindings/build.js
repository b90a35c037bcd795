// build.js: compiles the C side of the double fork (src/*.c) into build/libboxlab.so; run by `npm install`.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, 'src');
const out = join(here, 'build', 'libboxlab.so');
const sources = readdirSync(src).filter((f) => f.endsWith('.c')).map((f) => join(src, f));
const inputs = [...sources, ...readdirSync(src).filter((f) => f.endsWith('.h')).map((f) => join(src, f))];

function upToDate() {
  if (!existsSync(out)) return false;
  const built = statSync(out).mtimeMs;
  return inputs.every((f) => statSync(f).mtimeMs <= built);
}

if (process.argv.includes('--if-needed') && upToDate()) process.exit(0);
mkdirSync(dirname(out), { recursive: true });
const cc = process.env.CC || 'cc';
const args = ['-O2', '-g', '-Wall', '-Wextra', '-Werror', '-fPIC', '-shared', '-fvisibility=hidden', '-o', out, ...sources];
try {
  execFileSync(cc, args, { stdio: 'inherit' });
  console.error(`[native] built ${out}`);
} catch (err) {
  const hint = err.code === 'ENOENT' ? `no C compiler '${cc}': apt-get install gcc, then rerun npm install` : 'see the compiler output above';
  console.error(`[native] failed to build the sandbox helper: ${hint}`);
  process.exit(1);
}
