// fast-cgroups.ts: bench-only prototype of a proposed engine change, injected through EngineDeps.cgroups: a pool
// of ready cgroups. (Its sibling, sync cgroupfs I/O with the layout read once, is now the engine's own.)
import { createCgroups, type CgroupLimits, type CgroupSet } from '../../server/engine/cgroups/index.ts';
import type { EngineDeps } from '../../server/engine/deps.ts';

const sameLimits = (a: CgroupLimits, b: CgroupLimits) =>
  a.memoryBytes === b.memoryBytes && a.cpuFraction === b.cpuFraction && a.pids === b.pids;

/**
 * Pre-made cgroups with the default limits: a create takes one (cgroup_create drops to a shift()), and a
 * replacement is made off the critical path. Each cgroup keeps its pool name; teardown removes it as usual.
 */
export class CgroupPool {
  private ready: CgroupSet[] = [];
  private seq = 0;
  private refilling: Promise<void> | null = null;
  constructor(
    private readonly limits: CgroupLimits,
    private readonly size = 2,
  ) {}

  fill(): Promise<void> {
    this.refilling ??= (async () => {
      while (this.ready.length < this.size) {
        this.ready.push(await createCgroups(`bxpool-${process.pid}-${this.seq++}`, this.limits));
      }
    })().finally(() => (this.refilling = null));
    return this.refilling;
  }

  deps(base: EngineDeps): EngineDeps {
    return {
      ...base,
      cgroups: async (id, limits) => {
        const set = sameLimits(limits, this.limits) ? this.ready.shift() : undefined;
        return set ?? createCgroups(id, limits);
      },
    };
  }

  /** Removes the cgroups still waiting in the pool. */
  async drain(): Promise<void> {
    await this.refilling;
    for (const set of this.ready.splice(0)) await set.remove();
  }
}
