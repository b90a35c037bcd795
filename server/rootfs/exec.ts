// Runs the external tools the image builders need (apt-get, dpkg, debootstrap) and streams their output line by line.
import { spawn } from 'node:child_process';
import { ImageError } from './errors.ts';

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Called for each complete output line, as it arrives. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** What builders call to run a program; tests pass a fake to script failures without network or root. */
export type Runner = (cmd: string, args: string[], opts?: RunOptions) => Promise<RunResult>;

/** Output kept per stream; debootstrap can print thousands of lines and only the tail matters for errors. */
const KEEP_BYTES = 256 * 1024;

export const runCommand: Runner = (cmd, args, opts = {}) =>
  new Promise((resolvePromise, reject) => {
    // LC_ALL=C so apt's messages are the English ones we match ("Unable to locate package").
    const env = { ...process.env, LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive', ...opts.env };
    const child = spawn(cmd, args, { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = { stdout: '', stderr: '' };
    const partial = { stdout: '', stderr: '' };
    const feed = (stream: 'stdout' | 'stderr', chunk: string) => {
      out[stream] += chunk;
      if (out[stream].length > KEEP_BYTES) out[stream] = out[stream].slice(-KEEP_BYTES);
      if (!opts.onLine) return;
      const lines = (partial[stream] + chunk).split(/\r?\n|\r/);
      partial[stream] = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) opts.onLine(line, stream);
    };
    child.stdout.setEncoding('utf8').on('data', (c: string) => feed('stdout', c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => feed('stderr', c));
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(
        new ImageError(`cannot run ${cmd}: ${err.code ?? err.message}`, {
          code: err.code ?? 'EIO',
          syscall: 'spawn',
          path: cmd,
          errno: typeof err.errno === 'number' ? Math.abs(err.errno) : undefined,
        }),
      ),
    );
    child.on('close', (code, signal) => {
      for (const s of ['stdout', 'stderr'] as const) {
        if (opts.onLine && partial[s].trim()) opts.onLine(partial[s], s);
      }
      resolvePromise({ code, signal, ...out });
    });
  });

/** Last non-empty lines of a tool's output, for one-line error messages. */
export function tail(text: string, n = 1): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-n)
    .join(' | ');
}

/** Runs and throws an ImageError naming the command when it does not exit 0. */
export async function mustRun(run: Runner, cmd: string, args: string[], opts?: RunOptions): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    const why = tail(r.stderr) || tail(r.stdout) || (r.signal ? `killed by ${r.signal}` : `exit ${r.code}`);
    throw new ImageError(`${cmd} ${args.join(' ')} failed: ${why}`, { code: 'ECMDFAIL', path: cmd, syscall: 'execve' });
  }
  return r;
}
