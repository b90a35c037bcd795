// main.ts: `boxlab` subcommands: run (one sandbox), rootfs (build images), serve (the playground), sweep (leftovers).
import { parseArgs } from 'node:util';
import { parseRunArgs, RUN_USAGE } from './args.ts';
import { CliError, requireRoot } from './preflight.ts';

const USAGE = `usage: boxlab <command> [options]

commands:
  run       run a shell or command in a fresh sandbox (boxlab run --help)
  rootfs    build or rebuild the default image (--debian for a Debian minbase via debootstrap)
  serve     start the playground web server (PORT, HOST env; --lessons DIR adds a lesson pack; see README)
  lesson    lesson check DIR: lint a lesson pack and prove every step in a real box (docs/authoring.md)
  sweep     remove what crashed sandboxes left behind (mounts, cgroups, processes)`;

async function rootfs(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { debian: { type: 'boolean' }, 'base-dir': { type: 'string' } } });
  requireRoot();
  const r = await import('../rootfs/index.ts');
  const dest = values['base-dir'] ?? (values.debian ? `${r.DEFAULT_IMAGES_DIR}/debian` : r.defaultImagePath());
  const progress = r.consoleProgress('rootfs');
  if (values.debian) await r.buildDebianImage(dest, progress);
  else await r.buildBusyboxImage(dest, progress);
  progress.done();
  const info = await r.imageInfo(dest);
  process.stderr.write(`image ready: ${dest} (${info.files} files, ${(info.sizeBytes / 1e6).toFixed(1)} MB)\n`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'run': {
        const a = parseRunArgs(rest);
        if (a.help) {
          process.stdout.write(RUN_USAGE + '\n');
          return 0;
        }
        const { runCommand } = await import('./run.ts');
        return await runCommand(a);
      }
      case 'rootfs':
        return await rootfs(rest);
      case 'serve': {
        const { serveCommand } = await import('./serve.ts');
        return await serveCommand(rest);
      }
      case 'lesson': {
        const { lessonCommand } = await import('./lesson.ts');
        return await lessonCommand(rest);
      }
      case 'sweep': {
        requireRoot();
        const { sweep } = await import('../engine/index.ts');
        const r = await sweep();
        process.stderr.write(`swept ${r.sandboxes.length} sandboxes: killed ${r.killed.length} processes, ` +
          `unmounted ${r.unmounted.length} mounts, removed ${r.cgroups.length} cgroups\n`);
        return 0;
      }
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(USAGE + '\n');
        return cmd ? 0 : 2;
      default:
        throw new CliError(`unknown command ${JSON.stringify(cmd)}\n${USAGE}`, 2);
    }
  } catch (err) {
    const e = err as Error & { exitCode?: number; code?: string };
    const known = err instanceof CliError || e.name === 'SandboxError' || e.name === 'ImageError' || e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || e.code?.startsWith?.('ERR_PARSE_ARGS');
    process.stderr.write(`boxlab: ${known ? e.message : (e.stack ?? e.message)}\n`);
    return e.exitCode ?? 125;
  }
}
