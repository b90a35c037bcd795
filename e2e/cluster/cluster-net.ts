// Nodes of a cluster on one machine: each node a network namespace with a veth pair to the host and an address of its
// own (a /30 per node in 10.233.K.0/24), the balancer on the host reaching them. Named boxlab-cluster-<id>-nN (netns)
// and bxc<id>nN (host links); removed by destroy() and, after a killed run, by sweepCluster().
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ip } from '../room/netns.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const NETNS_PREFIX = 'boxlab-cluster-';
export const LINK_PREFIX = 'bxc';

export interface NodeNet {
  /** The node's number (1..n) and its namespace. */
  index: number;
  netns: string;
  /** The host's end (the node's gateway) and the node's address. */
  hostAddress: string;
  address: string;
  link: string;
}

export interface ClusterNet {
  id: string;
  nodes: NodeNet[];
  /**
   * Starts argv inside a node's network namespace with nsenter (it execs: the child's pid is the command's). Not `ip
   * netns exec`: that also unshares the mount namespace and remounts /sys, which leaves /sys/fs/cgroup empty (no
   * cgroups for the boxes) and hides the boxes' mounts from the host.
   */
  spawnIn(node: NodeNet, argv: string[], env: Record<string, string | undefined>): ChildProcess;
  destroy(): Promise<void>;
}

/** Namespaces and host links of this harness (all runs, or one run's id). */
export async function clusterLeftovers(id = ''): Promise<{ namespaces: string[]; links: string[] }> {
  const namespaces = (await ip('netns', 'list'))
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`${NETNS_PREFIX}${id}`));
  const links = (await ip('-o', 'link', 'show'))
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1] ?? '')
    .filter((n) => n.startsWith(`${LINK_PREFIX}${id}`));
  return { namespaces, links };
}

/** Removes what a killed run left (this harness's names only). */
export async function sweepCluster(id = ''): Promise<void> {
  for (const ns of (await clusterLeftovers(id)).namespaces) await ip('netns', 'del', ns).catch(() => {});
  // Deleting a namespace deletes its veth end and the peer on the host; a link left without one is removed here.
  for (const l of (await clusterLeftovers(id)).links) await ip('link', 'del', l).catch(() => {});
}

async function freeSubnet(): Promise<string> {
  const used = await ip('-o', 'addr', 'show');
  for (let tries = 0; tries < 200; tries++) {
    const net = `10.233.${1 + Math.floor(Math.random() * 250)}`;
    if (!used.includes(` ${net}.`)) return net;
  }
  throw new Error('no free test subnet in 10.233.0.0/16');
}

export async function createClusterNet(count: number): Promise<ClusterNet> {
  if (count < 1 || count > 60) throw new Error('createClusterNet: 1..60 nodes');
  const id = randomBytes(3).toString('hex');
  const subnet = await freeSubnet();
  const nodes: NodeNet[] = Array.from({ length: count }, (_, i) => ({
    index: i + 1,
    netns: `${NETNS_PREFIX}${id}-n${i + 1}`,
    hostAddress: `${subnet}.${4 * i + 1}`,
    address: `${subnet}.${4 * i + 2}`,
    link: `${LINK_PREFIX}${id}n${i + 1}`,
  }));
  let destroyed = false;
  const net: ClusterNet = {
    id,
    nodes,
    spawnIn: (node, argv, env) =>
      spawn('nsenter', [`--net=/run/netns/${node.netns}`, '--', ...argv], {
        env: env as NodeJS.ProcessEnv,
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await sweepCluster(id);
    },
  };
  try {
    for (const n of nodes) {
      await ip('netns', 'add', n.netns);
      await ip('-n', n.netns, 'link', 'set', 'lo', 'up');
      await ip('link', 'add', n.link, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n.netns);
      await ip('addr', 'add', `${n.hostAddress}/30`, 'dev', n.link);
      await ip('link', 'set', n.link, 'up');
      await ip('-n', n.netns, 'addr', 'add', `${n.address}/30`, 'dev', 'eth0');
      await ip('-n', n.netns, 'link', 'set', 'eth0', 'up');
      await ip('-n', n.netns, 'route', 'add', 'default', 'via', n.hostAddress);
    }
  } catch (err) {
    await net.destroy().catch(() => {});
    throw err;
  }
  return net;
}
