// args.ts: parses `boxlab run` flags (the seed's --base-dir --memory --cpu-limit --shell --workdir, and more).
import { parseArgs } from 'node:util';

export const RUN_USAGE = `usage: boxlab run [options] [-- command [args...]]

  --base-dir DIR     image used as the read-only lower layer (default: the busybox image, built if missing)
  --memory SIZE      memory limit, e.g. 100M, 1G (default 256M)
  --cpu-limit FRAC   CPU limit as a fraction of one core, e.g. 0.5 (default 0.5)
  --pids N           max tasks in the box (default 128)
  --shell PATH       shell or binary to run inside (default /bin/sh)
  --workdir DIR      working directory inside (default /root)
  --hostname NAME    hostname inside (default boxlab)
  --disk SIZE        size cap of the writable layer (default 64M)
  --lab              lab mode: unshare, mount, pivot_root and veth inside the box (docs/lab-mode.md)
  -e, --env K=V      extra environment variable (repeatable)
  --trace            print each stage event as a JSON line on stderr
  -h, --help         this help

With a terminal on stdin the box gets a pty; otherwise stdin/stdout/stderr are piped (like docker run -i),
so \`echo hostname | boxlab run\` works in scripts. The exit status is the command's, or 128+N if killed by signal N.`;

export interface RunArgs {
  baseDir?: string;
  memory?: string;
  cpuLimit?: string;
  pids?: number;
  shell?: string;
  workdir?: string;
  hostname?: string;
  disk?: string;
  lab: boolean;
  env: Record<string, string>;
  trace: boolean;
  help: boolean;
  command: string[];
}

export function parseRunArgs(argv: string[]): RunArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      'base-dir': { type: 'string' },
      memory: { type: 'string' },
      'cpu-limit': { type: 'string' },
      pids: { type: 'string' },
      shell: { type: 'string' },
      workdir: { type: 'string' },
      hostname: { type: 'string' },
      disk: { type: 'string' },
      lab: { type: 'boolean', default: false },
      env: { type: 'string', short: 'e', multiple: true },
      trace: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const env: Record<string, string> = {};
  for (const kv of values.env ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new Error(`--env expects KEY=VALUE, got ${JSON.stringify(kv)}`);
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  let pids: number | undefined;
  if (values.pids !== undefined) {
    pids = Number(values.pids);
    if (!Number.isInteger(pids)) throw new Error(`--pids expects an integer, got ${JSON.stringify(values.pids)}`);
  }
  return {
    baseDir: values['base-dir'],
    memory: values.memory,
    cpuLimit: values['cpu-limit'],
    pids,
    shell: values.shell,
    workdir: values.workdir,
    hostname: values.hostname,
    disk: values.disk,
    lab: values.lab ?? false,
    env,
    trace: values.trace ?? false,
    help: values.help ?? false,
    command: positionals,
  };
}
