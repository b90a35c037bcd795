// deps.ts: what the engine needs from the outside world, injected so its logic runs against fakes in unit tests.
import type { CgroupLimits, CgroupSet } from './cgroups/index.ts';
import type { Syscalls } from './syscalls.ts';

export interface EngineDeps {
  sys: Syscalls;
  cgroups: (sandboxId: string, limits: CgroupLimits) => Promise<CgroupSet>;
  runDir: string;
  /** The machine-wide uid slot registry (uid-registry.ts UID_REGISTRY unless a unit test gives a temp dir). */
  uidRegistry?: string;
  /** Capabilities the box keeps (bit n = capability n). */
  capKeep: bigint;
  /** Capabilities a lab-mode box keeps (security/lab-policy.ts); without it lab mode is refused. */
  capKeepLab?: bigint;
  /**
   * 'clone' (cgroup v2): cgroups are made first and the namespaced parent is born in them (clone3 CLONE_INTO_CGROUP),
   * so there is no attach write; 'attach' (v1, hybrid; default): it starts first and is attached after uid_map.
   */
  cgroupPlacement?: 'clone' | 'attach';
}
