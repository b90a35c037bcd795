// This server as one node of a cluster (docs/cluster.md): an id, a capacity and a load, and the state a load balancer
// reads (ready, draining, full) as an HTTP status for health checks and as an HAProxy agent-check line.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type NodeState = 'ready' | 'draining' | 'full';

/** What the node reads of the session manager (SessionManager fits). */
export interface NodeLoad {
  readonly size: number;
  readonly capacity: number;
  draining: boolean;
}

/** Where "drained" is kept: a file under BOXLAB_RUN (root-only, 0700), so `touch`/`rm` by root drain and undrain. */
export interface DrainSwitch {
  isOn(): boolean;
  set(on: boolean): void;
}

/** The drain switch as a file: present = draining (survives a restart: a node drained for maintenance stays out). */
export function fileDrain(path: string): DrainSwitch {
  return {
    isOn: () => existsSync(path),
    set(on) {
      if (on) {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        writeFileSync(path, `drained at ${new Date().toISOString()}\n`, { mode: 0o600 });
      } else rmSync(path, { force: true });
    },
  };
}

/** A drain switch in memory (tests, and servers that keep no run dir). */
export function memoryDrain(on = false): DrainSwitch & { on: boolean } {
  const d = { on, isOn: () => d.on, set: (v: boolean) => void (d.on = v) };
  return d;
}

/** A node id from a host name: its first label, cut to the id grammar (settings.ts nodeId). */
export function defaultNodeId(hostname: string): string {
  const id = (hostname.split('.')[0] ?? '')
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 63);
  return id || 'node';
}

export class ClusterNode {
  constructor(
    readonly id: string,
    private readonly load: NodeLoad,
    private readonly drain: DrainSwitch,
  ) {
    this.refresh();
  }

  /** Reads the drain switch into the manager (no new sessions while on); returns whether it is on. */
  refresh(): boolean {
    const on = this.drain.isOn();
    this.load.draining = on;
    return on;
  }

  /** SIGUSR2 or an operator: no new sessions from now on; live ones run out. */
  setDraining(on: boolean): void {
    this.drain.set(on);
    this.refresh();
  }

  state(): NodeState {
    if (this.load.draining) return 'draining';
    return this.load.size >= this.load.capacity ? 'full' : 'ready';
  }

  /** GET /api/health's status: 200 ready, 503 draining or full (a balancer's http-check sends it no new visitors). */
  healthStatus(): 200 | 503 {
    return this.state() === 'ready' ? 200 : 503;
  }

  /**
   * One agent-check line (HAProxy configuration.txt, "agent-check"): `up` keeps the operating state to the health
   * check; `ready`/`drain` set the administrative state (DRAIN: only persistent traffic, i.e. the live sessions'
   * cookies). The weight is the configured one (100%) while there is room and 0% while full (no new visitors,
   * persistence still honoured, like DRAIN but undone by the next answer). Not the free capacity: leastconn already
   * divides a node's connections by its weight, and a weight that follows the load is up to one check interval stale,
   * so in a burst of arrivals it skewed the spread (17/24/19 of 60 where leastconn alone gives 20/20/20). Nodes of
   * different sizes get static weights in HAProxy (scripts/cluster/haproxy-cfg.ts `weight`).
   */
  agentReply(): string {
    this.refresh();
    const state = this.state();
    if (state === 'draining') return 'up drain 0%\n';
    return state === 'full' ? 'up ready 0%\n' : 'up ready 100%\n';
  }
}
