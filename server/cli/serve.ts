// serve.ts: `boxlab serve` (what `npm start` runs): first-run set-up with progress (image, web bundle), then the server.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { consoleProgress, defaultImagePath, ensureImage } from '../rootfs/index.ts';
import { missingNodeFlags } from './node-flags.ts';
import { CliError, preflight } from './preflight.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WEB_SOURCES = ['app', 'components', 'server/protocol', 'next.config.ts', 'postcss.config.mjs', 'public'];

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return readdirSync(path).reduce((m, name) => Math.max(m, newestMtime(join(path, name))), st.mtimeMs);
}

/** True when out/ is missing or older than any front-end source. */
export function webBundleStale(root = ROOT): boolean {
  const built = join(root, 'out', 'index.html');
  if (!existsSync(built)) return true;
  const at = statSync(built).mtimeMs;
  return WEB_SOURCES.some((p) => newestMtime(join(root, p)) > at);
}

export function buildWebBundle(root = ROOT, log = (l: string) => process.stderr.write(l + '\n')): Promise<void> {
  log('[web] building the front end (next build, static export) ...');
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'node_modules', 'next', 'dist', 'bin', 'next'), 'build'], {
      cwd: root,
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const relay = (b: Buffer) =>
      b
        .toString()
        .split('\n')
        .filter((l) => l.trim())
        .forEach((l) => log(`[web] ${l}`));
    child.stdout.on('data', relay);
    child.stderr.on('data', relay);
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) {
        log(`[web] built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        resolve();
      } else reject(new CliError(`the front-end build failed (next build exited ${code}); see the [web] lines above`));
    });
  });
}

export async function serveCommand(argv: string[]): Promise<number> {
  // Settings first: a bad flag or token is one line and exit 2, before the root check or an image build.
  const { loadConfig } = await import('../web/config.ts');
  const cfg = loadConfig(process.env, argv);
  if (cfg.tls === 'files') (await import('../web/tls.ts')).loadTlsFiles(cfg.tlsCert ?? '', cfg.tlsKey ?? '');
  const image = cfg.imagePath ?? defaultImagePath(); // --image counts like BOXLAB_IMAGE
  await preflight(image);
  const progress = consoleProgress('rootfs');
  await ensureImage(image, progress);
  progress.done();
  if (process.env.BOXLAB_SKIP_WEB_BUILD !== '1' && webBundleStale()) await buildWebBundle();
  const missing = missingNodeFlags();
  if (missing.length)
    process.stderr.write(
      `boxlab: node was started without ${missing.join(' ')}: the server works, with longer event-loop pauses (see server/cli/node-flags.ts)\n`,
    );
  const { main } = await import('../root/compose.ts');
  await main(argv);
  // main() installs its own SIGTERM/SIGINT handlers and exits the process when the server is closed.
  return new Promise<number>(() => {});
}
