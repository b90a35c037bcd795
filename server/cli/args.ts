// args.ts: `boxlab run` flags (the seed's --base-dir --memory --cpu-limit --shell --workdir, and more), from the one settings schema.
import { helpRows } from '../protocol/settings.ts';
import { parseFlags } from '../web/config.ts';
import { CliError } from './preflight.ts';

/** `boxlab run --help`: the flags of every setting whose scope has run (server/protocol/settings.ts). */
export function runUsage(): string {
  return `usage: boxlab run [options] [-- command [args...]]

${helpRows('run').join('\n')}

Sizes like 256M, 1G or 64MiB (binary units); the same grammar as the server's settings and a lesson's limits.
With a terminal on stdin the box gets a pty; otherwise stdin/stdout/stderr are piped (like docker run -i),
so \`echo hostname | boxlab run\` works in scripts. The exit status is the command's, or 128+N if killed by signal N.`;
}

/** Typed once here: the engine takes numbers (bytes, a fraction of a core, a count), never the text of a flag. */
export interface RunArgs {
  baseDir?: string;
  memoryBytes?: number;
  cpuFraction?: number;
  pids?: number;
  shell?: string;
  workdir?: string;
  hostname?: string;
  diskBytes?: number;
  shmBytes?: number;
  lab: boolean;
  env: Record<string, string>;
  trace: boolean;
  help: boolean;
  command: string[];
}

export function parseRunArgs(argv: string[]): RunArgs {
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags('run', argv);
  } catch (err) {
    // A bad value: one line naming the flag and the accepted form, exit 125 like the engine's refusals.
    if ((err as Error).name === 'ConfigError') throw new CliError((err as Error).message);
    throw err;
  }
  const v = parsed.values as Record<string, unknown>;
  const env: Record<string, string> = {};
  for (const kv of (v.env as string[] | undefined) ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new Error(`--env expects KEY=VALUE, got ${JSON.stringify(kv)}`);
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return {
    baseDir: v.imagePath as string | undefined,
    memoryBytes: v.memoryBytes as number | undefined,
    cpuFraction: v.cpuFraction as number | undefined,
    pids: v.pids as number | undefined,
    shell: v.shell as string | undefined,
    workdir: v.workdir as string | undefined,
    hostname: v.hostname as string | undefined,
    diskBytes: v.diskBytes as number | undefined,
    shmBytes: v.shmBytes as number | undefined,
    lab: v.runLab === true,
    env,
    trace: v.trace === true,
    help: parsed.help,
    command: parsed.positionals,
  };
}
