// index.ts: the engine's entry points: createSandbox (build one box, or fail cleanly) and sweep (after a crash).
import { randomBytes } from 'node:crypto';
import { createCgroups, resolveLayout } from './cgroups/index.ts';
import { layoutVersion } from './cgroups/detect.ts';
import { resolveLimits, withDefaults } from './config.ts';
import type { EngineDeps } from './deps.ts';
import { containerMainProcess, type Built } from './main-process.ts';
import { Sandbox, teardown } from './sandbox.ts';
import { StageClock } from './stages.ts';
import { RUN_DIR } from './state.ts';
import type { CreateOptions, SandboxConfig } from './types.ts';

export * from './types.ts';
export { withDefaults, defaultEnv, DEFAULTS } from './config.ts';
export { sweep, sweepNeeded } from './sweep.ts';

let realDeps: Promise<EngineDeps> | null = null;

/** The real kernel: loaded lazily so that importing the engine (e.g. in unit tests) needs no koffi. */
export function defaultDeps(): Promise<EngineDeps> {
  realDeps ??= (async () => {
    const [{ realSyscalls }, { compileSeccompFilter }, policy, lab] = await Promise.all([
      import('../../native-bindings/index.ts'),
      import('../../native-bindings/seccomp.ts'),
      import('./security/policy.ts'),
      import('./security/lab-policy.ts'),
    ]);
    // Compiled once per process: the same filter serves every box.
    const filter = compileSeccompFilter(policy.BOX_SECCOMP_POLICY);
    const labFilter = compileSeccompFilter(lab.LAB_SECCOMP_POLICY);
    // On pure v2 the box's cgroup can be given to clone3; a host whose controllers are missing fails later, by name.
    const placement: 'clone' | 'attach' = await resolveLayout().then(
      (l) => (layoutVersion(l) === 2 ? 'clone' : 'attach'),
      () => 'attach',
    );
    return {
      cgroupPlacement: placement,
      sys: { ...realSyscalls, seccompFilter: (v?: 'box' | 'lab') => (v === 'lab' ? labFilter : filter) },
      cgroups: (id, limits) => createCgroups(id, limits),
      runDir: RUN_DIR,
      capKeep: policy.capMask(policy.BOX_CAPS),
      capKeepLab: policy.capMask(lab.LAB_CAPS),
    };
  })();
  return realDeps;
}

export function newSandboxId(): string {
  return `bx-${randomBytes(6).toString('hex')}`;
}

/** Builds one sandbox; resolves when the shell runs. On failure everything made so far is released first. */
export async function createSandbox(
  config: Partial<SandboxConfig> & { baseDir: string },
  opts: CreateOptions = {},
  depsIn?: EngineDeps,
): Promise<Sandbox> {
  const full = withDefaults(config);
  const limits = resolveLimits(full);
  const deps = depsIn ?? (await defaultDeps());
  const id = newSandboxId();
  let box: Sandbox | null = null;
  const clock = new StageClock((e) => {
    opts.onStage?.(e);
    box?.emit('stage', e);
  });
  try {
    const built = await containerMainProcess(id, full, limits, deps, clock);
    box = new Sandbox(full, built, deps, clock);
    return box;
  } catch (err) {
    const built = (err as { built?: Built }).built;
    if (built) {
      await teardown(built, deps, clock, (e) => void clock.child(e, built.initPid ?? null)).catch((cleanupErr) => {
        (err as Error).message += ` (and cleanup failed: ${(cleanupErr as Error).message})`;
      });
    }
    throw err;
  }
}
