// run.ts: `boxlab run`: one sandbox attached to this terminal (pty) or to stdin/stdout (pipe), exit status passed through.
import { consoleProgress, defaultImagePath, ensureImage, validateImage } from '../rootfs/index.ts';
import { createSandbox, sweep } from '../engine/index.ts';
import type { Sandbox } from '../engine/sandbox.ts';
import { defaultEnv } from '../engine/config.ts';
import { SandboxError, type StageEvent } from '../engine/types.ts';
import type { RunArgs } from './args.ts';
import { CliError, requireOverlay, requireRoot } from './preflight.ts';

const SIGNALS: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1, SIGQUIT: 3 };

export async function runCommand(a: RunArgs): Promise<number> {
  requireRoot();
  requireOverlay();
  // A previous run killed with -9 may have left mounts, cgroups or processes: remove them first.
  await sweep();
  const baseDir = a.baseDir ?? defaultImagePath();
  if (!a.baseDir) {
    const progress = consoleProgress('rootfs');
    await ensureImage(baseDir, progress);
    progress.done();
  }
  const shell = a.command[0] ?? a.shell ?? '/bin/sh';
  const image = await validateImage(baseDir, shell);
  const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  const hostname = a.hostname ?? 'boxlab';
  const args = a.command.length ? a.command.slice(1) : tty && !a.shell ? ['-l'] : [];
  const trace = (e: StageEvent) => a.trace && process.stderr.write(JSON.stringify(e) + '\n');

  let box: Sandbox;
  try {
    box = await createSandbox(
      {
        baseDir: image.root,
        shell: image.shell,
        args,
        memory: a.memory,
        cpuLimit: a.cpuLimit,
        pids: a.pids,
        workdir: a.workdir,
        hostname,
        diskLimit: a.disk,
        lab: a.lab || undefined,
        env: { ...defaultEnv(hostname, process.env.TERM ?? 'xterm-256color'), ...a.env },
        stdio: tty ? 'pty' : 'pipe',
        rows: tty ? process.stdout.rows : undefined,
        cols: tty ? process.stdout.columns : undefined,
      } as Parameters<typeof createSandbox>[0],
      { onStage: trace },
    );
  } catch (err) {
    if (err instanceof SandboxError) throw new CliError(err.message);
    throw err;
  }
  box.on('stage', trace);
  return tty ? attachTty(box) : attachPipes(box);
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
  const onInput = (b: Buffer) => box.write(b);
  const onResize = () => box.resize(process.stdout.rows, process.stdout.columns);
  stdin.on('data', onInput);
  process.stdout.on('resize', onResize);
  box.on('data', (b: Buffer) => process.stdout.write(b));
  return new Promise<number>((resolve) => {
    let offSignals = () => {};
    const done = (status: number) => {
      offSignals();
      stdin.off('data', onInput);
      process.stdout.off('resize', onResize);
      stdin.setRawMode(false);
      stdin.pause();
      resolve(status);
    };
    offSignals = onSignals(box, done);
    void box.wait().then(async (e) => {
      await box.destroy();
      done(e.status);
    });
  });
}

async function attachPipes(box: Sandbox): Promise<number> {
  box.on('data', (b: Buffer) => process.stdout.write(b));
  box.on('stderr', (b: Buffer) => process.stderr.write(b));
  const onInput = (b: Buffer) => box.write(b);
  const onEnd = () => box.endInput();
  process.stdin.on('data', onInput);
  process.stdin.on('end', onEnd);
  return new Promise<number>((resolve) => {
    let offSignals = () => {};
    const done = (status: number) => {
      offSignals();
      process.stdin.off('data', onInput);
      process.stdin.off('end', onEnd);
      process.stdin.pause();
      resolve(status);
    };
    offSignals = onSignals(box, done);
    void box.wait().then(async (e) => {
      await box.destroy();
      // Let stdout drain before the process exits with the box's status.
      process.stdout.write('', () => done(e.status));
    });
  });
}
