// run.ts: `boxlab run`: one sandbox attached to this terminal (pty) or to stdin/stdout (pipe), exit status passed through.
import { consoleProgress, defaultImagePath, ensureImage, validateImage } from '../rootfs/index.ts';
import { createSandbox, sweep, sweepNeeded } from '../engine/index.ts';
import { pruneOwnParents } from '../engine/cgroups/index.ts';
import type { Sandbox } from '../engine/sandbox.ts';
import { defaultEnv } from '../engine/config.ts';
import { defaultOf } from '../protocol/settings.ts';
import { SandboxError, type StageEvent } from '../engine/types.ts';
import type { RunArgs } from './args.ts';
import { CliError, preflight } from './preflight.ts';
import { mark } from './timing.ts';

const SIGNALS: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1, SIGQUIT: 3 };

export async function runCommand(a: RunArgs): Promise<number> {
  const baseDir = a.baseDir ?? defaultImagePath();
  // Root, then every host feature a box needs (one-line error naming the missing one and its fix).
  await preflight(baseDir);
  mark('preflight');
  // A previous run killed with -9 may have left mounts, cgroups or processes: remove them first. Only then: the
  // check is one readdir of an (almost always) empty dir, the sweep itself loads the native layer and walks cgroups.
  if (sweepNeeded()) await sweep();
  mark('sweep-check');
  if (!a.baseDir) {
    const progress = consoleProgress('rootfs');
    await ensureImage(baseDir, progress);
    progress.done();
  }
  const shell = a.command[0] ?? a.shell ?? defaultOf('shell');
  const image = await validateImage(baseDir, shell);
  mark('image');
  const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  const hostname = a.hostname ?? defaultOf('hostname');
  const args = a.command.length ? a.command.slice(1) : tty && !a.shell ? ['-l'] : [];
  const trace = (e: StageEvent) => a.trace && process.stderr.write(JSON.stringify(e) + '\n');

  const box = await openBox(
    {
      baseDir: image.root,
      shell: image.shell,
      args,
      memoryBytes: a.memoryBytes,
      cpuFraction: a.cpuFraction,
      pids: a.pids,
      workdir: a.workdir,
      hostname,
      diskBytes: a.diskBytes,
      shmBytes: a.shmBytes,
      lab: a.lab || undefined,
      env: defaultEnv(hostname, process.env.TERM ?? 'xterm-256color', a.env),
      stdio: tty ? 'pty' : 'pipe',
      rows: tty ? process.stdout.rows : undefined,
      cols: tty ? process.stdout.columns : undefined,
    },
    trace,
  );
  mark('create');
  const status = await (tty ? attachTty(box) : attachPipes(box));
  // Nothing of ours stays behind: an emptied box parent goes too (a systemd scope goes with this process).
  await pruneOwnParents().catch(() => {});
  return status;
}

/**
 * Creates the box with `trace` seeing every stage event exactly once: the engine hands each event to onStage, the
 * teardown ones included (a 'stage' listener on the box as well printed every teardown event twice).
 */
export async function openBox(
  config: Parameters<typeof createSandbox>[0],
  trace: (e: StageEvent) => unknown,
  create: typeof createSandbox = createSandbox,
): Promise<Sandbox> {
  try {
    return await create(config, { onStage: (e) => void trace(e) });
  } catch (err) {
    if (err instanceof SandboxError) throw new CliError(err.message);
    throw err;
  }
}

/**
 * Local stdin → the box with back-pressure: the box's input queue is bounded (write() refuses over its cap), so
 * stdin is paused while half of it waits and resumed on 'drain'; a refused chunk is kept and written first then.
 * `cat big | boxlab run` thus streams every byte without ever blocking (or buffering all of it in) this process.
 */
function feed(box: Sandbox, stdin: NodeJS.ReadableStream, onEnd?: () => void): () => void {
  let pending: Buffer | null = null;
  let ended = false;
  const push = (b: Buffer): void => {
    if (!box.write(b)) {
      pending = b;
      stdin.pause();
    } else if (box.inputQueued > box.inputStats.cap / 2) stdin.pause();
  };
  const onData = (b: Buffer): void => push(b);
  const onDrain = (): void => {
    const p = pending;
    pending = null;
    if (p) push(p);
    if (pending) return;
    if (ended) onEnd?.();
    else stdin.resume();
  };
  const onStdinEnd = (): void => {
    ended = true;
    if (!pending) onEnd?.();
  };
  stdin.on('data', onData);
  stdin.on('end', onStdinEnd);
  box.on('drain', onDrain);
  return () => {
    stdin.off('data', onData);
    stdin.off('end', onStdinEnd);
    box.off('drain', onDrain);
  };
}

/** Ctrl-C and friends go to the box through the pty (raw mode); signals sent to this process end the box. */
function onSignals(box: Sandbox, done: (status: number) => void): () => void {
  const handlers = Object.entries(SIGNALS).map(([name, n]) => {
    const h = () => {
      void box.destroy().finally(() => done(128 + n!));
    };
    process.on(name as NodeJS.Signals, h);
    return [name, h] as const;
  });
  return () => handlers.forEach(([name, h]) => process.off(name, h));
}

async function attachTty(box: Sandbox): Promise<number> {
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  const offInput = feed(box, stdin);
  const onResize = () => box.resize(process.stdout.rows, process.stdout.columns);
  process.stdout.on('resize', onResize);
  box.on('data', (b: Buffer) => process.stdout.write(b));
  return new Promise<number>((resolve) => {
    let offSignals = () => {};
    const done = (status: number) => {
      offSignals();
      offInput();
      process.stdout.off('resize', onResize);
      stdin.setRawMode(false);
      stdin.pause();
      resolve(status);
    };
    offSignals = onSignals(box, done);
    void box.wait().then(async (e) => {
      mark('wait');
      await box.destroy();
      mark('destroy');
      done(e.status);
    });
  });
}

async function attachPipes(box: Sandbox): Promise<number> {
  box.on('data', (b: Buffer) => process.stdout.write(b));
  box.on('stderr', (b: Buffer) => process.stderr.write(b));
  const offInput = feed(box, process.stdin, () => box.endInput());
  return new Promise<number>((resolve) => {
    let offSignals = () => {};
    const done = (status: number) => {
      offSignals();
      offInput();
      process.stdin.pause();
      resolve(status);
    };
    offSignals = onSignals(box, done);
    void box.wait().then(async (e) => {
      mark('wait');
      await box.destroy();
      mark('destroy');
      // Let stdout drain before the process exits with the box's status.
      process.stdout.write('', () => done(e.status));
    });
  });
}
