// term-memory.ts: memory per idle terminal session: the server process's RSS growth per session for Boxlab and ttyd,
// with each session's shell side (PSS of its processes) and, for a Boxlab box, the kernel's charge to its cgroup.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { BenchClient } from './web-client.ts';
import type { BenchServer } from './web-server.ts';
import { descendants, pssKiB, type TtydPeer } from './ttyd-peer.ts';

export interface IdleMemory {
  sessions: number;
  /** Server process VmRSS growth per session, KiB (after the prompts, a 2 s settle). */
  serverKiBPerSession: number;
  serverRssBeforeKiB: number;
  serverRssAfterKiB: number;
  /** PSS of each session's own processes (Boxlab: namespaced parent, PID 1 and below; ttyd: bwrap and the shell), KiB, mean. */
  shellPssKiB: number;
  /** Boxlab only: the server's JS heap growth per session, KiB (when the caller measured it). */
  heapKiBPerSession?: number;
  /** Boxlab only: the box's memory cgroup, mean per box (KiB): total charge, kernel part (v1 kmem), slab. */
  cgroup?: { chargeKiB: number; kernelKiB: number | null; slabKiB: number | null; version: 1 | 2 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const num = (path: string) => (existsSync(path) ? Number(readFileSync(path, 'utf8').trim()) : null);

/** The memory cgroup of pid: v1 "N:memory:/path" under /sys/fs/cgroup/memory, else v2 "0::/path" (cgroups(7)). */
function memoryCgroup(pid: number): { dir: string; version: 1 | 2 } | null {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  const v1 = lines.map((l) => l.split(':')).find((f) => f[1]?.split(',').includes('memory'))?.[2];
  if (v1 !== undefined && existsSync('/sys/fs/cgroup/memory')) return { dir: join('/sys/fs/cgroup/memory', v1), version: 1 };
  const v2 = lines.map((l) => l.split(':')).find((f) => f[0] === '0')?.[2];
  return v2 !== undefined ? { dir: join('/sys/fs/cgroup', v2), version: 2 } : null;
}

function statKeyed(path: string): Map<string, number> {
  const m = new Map<string, number>();
  if (!existsSync(path)) return m;
  for (const l of readFileSync(path, 'utf8').trim().split('\n')) {
    const [k, v] = l.split(' ');
    if (k !== undefined) m.set(k, Number(v));
  }
  return m;
}

/** Slab bytes charged to a v1 cgroup: sum of active_objs × objsize in memory.kmem.slabinfo (needs kmem accounting). */
function v1Slab(dir: string): number | null {
  const p = join(dir, 'memory.kmem.slabinfo');
  try {
    let sum = 0;
    for (const l of readFileSync(p, 'utf8').split('\n').slice(2)) {
      const f = l.trim().split(/\s+/);
      if (f.length > 3) sum += Number(f[1]) * Number(f[3]);
    }
    return sum;
  } catch {
    return null;
  }
}

/** Server RSS (and JS heap, after a full GC when the server has --expose-gc) per idle session, settleMs after the last prompt. */
export async function boxlabIdleMemory(srv: BenchServer, n: number, settleMs = 2000, warmup = 0): Promise<IdleMemory> {
  await srv.destroyAll();
  // Warm-up sessions (a command typed in each), destroyed before the baseline: V8 compiles the code paths of a
  // session (bytecode, then optimised code) the first times they run, a one-time cost the heap would otherwise
  // charge to the measured sessions (seen in heap snapshots: ~100-250 KiB of "code" per session without it).
  for (let i = 0; i < warmup; i++) {
    const c = await BenchClient.connect(srv.url);
    await c.waitPrompt(30_000);
    c.tail = '';
    c.write('ls -l /; echo $((6*7))\n');
    await c.until(() => /42\r\n/.test(c.tail), 30_000, 'the warm-up command');
    await c.close();
    await srv.destroyAll();
  }
  await sleep(1500);
  const heap0 = (await srv.gc()).heapUsed;
  await sleep(500);
  const before = srv.procMem().rssKiB;
  const clients: BenchClient[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const c = await BenchClient.connect(srv.url);
      await c.waitPrompt(30_000);
      clients.push(c);
    }
    await sleep(settleMs);
    const heapKiBPerSession = ((await srv.gc()).heapUsed - heap0) / 1024 / n;
    await sleep(500);
    const after = srv.procMem().rssKiB;
    const boxes = await srv.boxPids();
    const pss = boxes.map((b) => pssKiB([b.namespacedParent, ...descendants(b.namespacedParent)]));
    const cg = boxes
      .map((b) => {
        const c = memoryCgroup(b.init);
        if (!c) return null;
        if (c.version === 1) {
          const kmem = num(join(c.dir, 'memory.kmem.usage_in_bytes'));
          return { charge: num(join(c.dir, 'memory.usage_in_bytes')) ?? 0, kernel: kmem, slab: v1Slab(c.dir), version: 1 as const };
        }
        const st = statKeyed(join(c.dir, 'memory.stat'));
        return {
          charge: num(join(c.dir, 'memory.current')) ?? 0,
          kernel: st.get('kernel') ?? null,
          slab: st.get('slab') ?? null,
          version: 2 as const,
        };
      })
      .filter((x) => x !== null);
    const kib = (xs: (number | null)[]) => (xs.some((x) => x === null) ? null : mean(xs as number[]) / 1024);
    return {
      sessions: n,
      serverKiBPerSession: (after - before) / n,
      serverRssBeforeKiB: before,
      serverRssAfterKiB: after,
      heapKiBPerSession,
      shellPssKiB: mean(pss),
      cgroup: cg[0]
        ? {
            chargeKiB: mean(cg.map((x) => x.charge)) / 1024,
            kernelKiB: kib(cg.map((x) => x.kernel)),
            slabKiB: kib(cg.map((x) => x.slab)),
            version: cg[0].version,
          }
        : undefined,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await srv.destroyAll();
  }
}

/** Opens n ttyd sessions the way its page does (subprotocol "tty", a JSON hello with the size) and waits for each prompt. */
export async function ttydIdleMemory(peer: TtydPeer, n: number): Promise<IdleMemory> {
  await sleep(1000);
  const before = peer.rssKiB();
  const kids0 = new Set(descendants(peer.pid));
  const sockets: WebSocket[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const ws = new WebSocket(peer.url.replace(/^http/, 'ws') + '/ws', ['tty'], { perMessageDeflate: false });
      let out = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`ttyd session ${i}: no prompt; got ${JSON.stringify(out.slice(-200))}`)), 15_000);
        ws.once('error', reject);
        ws.once('open', () => ws.send(Buffer.from(JSON.stringify({ AuthToken: '', columns: 113, rows: 41 }))));
        ws.on('message', (d: Buffer) => {
          if (d[0] !== 0x30) return; // '0': output
          out += d.subarray(1).toString('latin1');
          if (out.includes('\x1b[6n')) ws.send(Buffer.from('0\x1b[41;1R')); // answer ash's cursor query, as xterm would
          if (/[#$] (\x1b\[6n)?$/.test(out)) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      sockets.push(ws);
    }
    await sleep(2000);
    const after = peer.rssKiB();
    const kids = descendants(peer.pid).filter((p) => !kids0.has(p));
    return {
      sessions: n,
      serverKiBPerSession: (after - before) / n,
      serverRssBeforeKiB: before,
      serverRssAfterKiB: after,
      shellPssKiB: pssKiB(kids) / n,
    };
  } finally {
    for (const ws of sockets) ws.close();
    await sleep(500);
  }
}
