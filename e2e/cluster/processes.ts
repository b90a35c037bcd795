// The processes of a cluster test: Boxlab nodes (the real `compose.ts main`, as `boxlab serve` runs it) inside their
// namespaces, and HAProxy on the host in the foreground with its runtime API socket; each stopped by its own pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterNet, NodeNet } from './cluster-net.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const COMPOSE = join(ROOT, 'server/root/compose.ts');

export interface NodeProcess {
  id: string;
  net: NodeNet;
  child: ChildProcess;
  pid: number;
  logs: string[];
  /** SIGTERM (every box destroyed) and wait for the exit; SIGKILL after 30 s. */
  stop(): Promise<void>;
  exited: Promise<number | null>;
}

export interface NodeSettings {
  id: string;
  port: number;
  agentPort: number;
  runDir: string;
  home: string;
  maxSessions: number;
  /** Names the nodes answer to besides their address (the balancer's). */
  allowedHosts: string;
  extraEnv?: Record<string, string>;
}

function untilLine(logs: string[], child: ChildProcess, re: RegExp, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no line ${re} in ${ms} ms; log: ${logs.slice(-10).join(' | ')}`)), ms);
    const poll = setInterval(() => logs.some((l) => re.test(l)) && done(), 50);
    const onExit = (code: number | null) => done(new Error(`exited (${code}) before ${re}; log: ${logs.slice(-10).join(' | ')}`));
    child.once('exit', onExit);
    function done(err?: Error): void {
      clearTimeout(timer);
      clearInterval(poll);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    }
  });
}

export async function startNode(net: ClusterNet, node: NodeNet, s: NodeSettings, timeoutMs = 120_000): Promise<NodeProcess> {
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    HOST: node.address,
    PORT: String(s.port),
    BOXLAB_NODE_ID: s.id,
    BOXLAB_AGENT_PORT: String(s.agentPort),
    BOXLAB_RUN: s.runDir,
    BOXLAB_HOME: s.home,
    BOXLAB_MAX_SESSIONS: String(s.maxSessions),
    BOXLAB_MAX_PER_CLIENT: String(s.maxSessions),
    // HAProxy reaches the node from the host's end of its veth: its X-Forwarded-For names the client (docs/cluster.md).
    BOXLAB_TRUSTED_PROXIES: node.hostAddress,
    BOXLAB_ALLOWED_HOSTS: s.allowedHosts,
    BOXLAB_INSTRUCTOR_TOKEN: 'cluster-test-instructor-token-0123',
    BOXLAB_STATIC_DIR: join(ROOT, 'out'),
    ...s.extraEnv,
  };
  const child = net.spawnIn(node, [process.execPath, '--import', 'tsx', COMPOSE], env);
  const logs: string[] = [];
  const take = (chunk: Buffer) => logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await untilLine(logs, child, /node \S+: (ready|draining|full)/, timeoutMs);
  let stopping: Promise<void> | null = null;
  return {
    id: s.id,
    net: node,
    child,
    pid: child.pid!,
    logs,
    exited,
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(t);
      })()),
  };
}

export interface Balancer {
  child: ChildProcess;
  pid: number;
  /** One runtime API command (management.txt, "show stat", "show servers state"). */
  admin(cmd: string): Promise<string>;
  /** status (UP, DOWN, DRAIN, MAINT, ...) and current weight per server of the backend. */
  servers(): Promise<Map<string, { status: string; weight: number; sessions: number }>>;
  stop(): Promise<void>;
}

export async function startHaproxy(dir: string, config: string): Promise<Balancer> {
  const cfg = join(dir, 'haproxy.cfg');
  const sock = join(dir, 'admin.sock');
  writeFileSync(cfg, config);
  // -db: foreground, no daemon; the pid is haproxy's own.
  const child = spawn('haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  child.stdout?.on('data', (c: Buffer) => logs.push(c.toString()));
  child.stderr?.on('data', (c: Buffer) => logs.push(c.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const admin = (cmd: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const s = connect(sock);
      let out = '';
      s.setEncoding('utf8');
      s.on('connect', () => s.end(`${cmd}\n`));
      s.on('data', (c) => (out += c));
      s.on('end', () => resolve(out));
      s.on('error', reject);
    });
  const servers = async () => {
    const csv = (await admin('show stat')).split('\n');
    const head = (csv[0] ?? '').replace(/^# /, '').split(',');
    const col = (name: string) => head.indexOf(name);
    const out = new Map<string, { status: string; weight: number; sessions: number }>();
    for (const line of csv.slice(1)) {
      const f = line.split(',');
      if (f[col('pxname')] !== 'nodes' || ['BACKEND', 'FRONTEND'].includes(f[col('svname')] ?? '')) continue;
      out.set(f[col('svname')]!, { status: f[col('status')]!, weight: Number(f[col('weight')]), sessions: Number(f[col('scur')]) });
    }
    return out;
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited (${child.exitCode}): ${logs.join('')}`);
    if (await admin('show info').catch(() => null)) break;
    if (Date.now() > deadline) throw new Error(`haproxy's admin socket did not answer: ${logs.join('')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    pid: child.pid!,
    admin,
    servers,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}
