// probe.ts: compiles bench/native/probe.c into a temp dir and runs its kernel micro-measurements (fork, cgroup v1).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveLayout, type Controller } from '../../server/engine/cgroups/index.ts';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', 'native', 'probe.c');

export class Probe {
  private readonly dir = mkdtempSync(join(tmpdir(), 'boxlab-bench-probe-'));
  readonly bin = join(this.dir, 'probe');

  constructor() {
    execFileSync(process.env.CC || 'cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-pthread', '-o', this.bin, SRC], { stdio: 'inherit' });
  }

  run<T>(args: (string | number)[], env: Record<string, string> = {}): T {
    const out = execFileSync(this.bin, args.map(String), { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
    return JSON.parse(out) as T;
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface ForkResult {
  mb: number;
  fork_return: number[];
  fork_reap: number[];
  vfork_reap: number[];
  clone_vm_vfork_reap: number[];
  vfork_exec_helper_reap: number[];
}

export interface AttachResult {
  mode: 'seq' | 'par';
  total: number[];
  perDir: Record<string, number[]>;
}

export interface MkdirResult {
  mkdir: Record<string, number[]>;
  rmdir: Record<string, number[]>;
}

export const BOX_CONTROLLERS: Controller[] = ['memory', 'cpu', 'cpuacct', 'pids', 'freezer'];

/**
 * Scratch cgroups where a box's would be (under this process's own cgroup of each controller):
 * `<own>/boxlab-bench-probe-<pid>` as a parent for mkdir tests and `.../t` as an attach target.
 */
export class ScratchCgroups {
  readonly parents: string[] = [];
  readonly targets: string[] = [];
  readonly names: string[] = [];

  static async create(): Promise<ScratchCgroups> {
    const layout = await resolveLayout();
    const s = new ScratchCgroups();
    try {
      for (const c of BOX_CONTROLLERS) {
        const p = layout.controllers[c];
        if (p?.version !== 1) continue;
        const parent = join(p.ownDir, `boxlab-bench-probe-${process.pid}`);
        mkdirSync(parent);
        s.parents.push(parent);
        mkdirSync(join(parent, 't'));
        s.targets.push(join(parent, 't'));
        s.names.push(c);
      }
    } catch (err) {
      s.remove();
      throw err;
    }
    return s;
  }

  /** The probe's children have exited and been reaped, so the targets are empty; EBUSY is retried briefly. */
  remove(): void {
    for (const d of [...this.targets, ...this.parents]) {
      for (let i = 0; ; i++) {
        try {
          rmdirSync(d);
          break;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') break;
          if (code !== 'EBUSY' || i > 100) throw err;
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        }
      }
    }
  }
}
