// main.ts: `boxlab` subcommands: run (one sandbox), rootfs (build images), serve (the playground), sweep (leftovers).
import { parseArgs } from 'node:util';
import { parseRunArgs } from './args.ts';
import { CliError, requireRoot } from './preflight.ts';
import { mark, reportTiming } from './timing.ts';
import { USAGE, usageOf, wantsHelp } from './usage.ts';

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
    // Help first, before any parsing or root check: `boxlab rootfs --help` must answer as a normal user too.
    const help = cmd ? usageOf(cmd) : null;
    if (help && wantsHelp(rest)) {
      process.stdout.write(help + '\n');
      return 0;
    }
    switch (cmd) {
      case 'run': {
        const a = parseRunArgs(rest);
        const { runCommand } = await import('./run.ts');
        mark('load-run');
        const status = await runCommand(a);
        reportTiming();
        return status;
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
        if (rest.length) throw new CliError(`sweep takes no arguments, got ${JSON.stringify(rest[0])}\n${usageOf('sweep')}`, 2);
        requireRoot();
        const { sweep } = await import('../engine/index.ts');
        const r = await sweep();
        process.stderr.write(
          `swept ${r.sandboxes.length} sandboxes: killed ${r.killed.length} processes, ` +
            `unmounted ${r.unmounted.length} mounts, removed ${r.cgroups.length} cgroups\n`,
        );
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
    const known =
      err instanceof CliError ||
      e.name === 'ConfigError' ||
      e.name === 'SandboxError' ||
      e.name === 'ImageError' ||
      e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ||
      e.code?.startsWith?.('ERR_PARSE_ARGS');
    process.stderr.write(`boxlab: ${known ? e.message : (e.stack ?? e.message)}\n`);
    return e.exitCode ?? 125;
  }
}
