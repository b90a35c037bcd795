// heap-sessions.ts: `node --expose-gc --import tsx bench/heap-sessions.ts [sessions] [hibernateSec]`: what idle sessions
// keep alive in the server's JS heap, counted object by object. The real server (engine included) runs in this process;
// the clients run in a child process so their objects are not counted. After 3 warm-up sessions and a full GC, a heap
// snapshot; then N sessions to their prompt, hibernateSec + 2.5 s idle, GC, a second snapshot. Nodes whose id is new in
// the second are what the sessions hold (V8 node ids are stable within a process), by type, with compiled code apart
// (code is mostly one-time: functions compiled and optimised the first times they run).
import { fork } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import v8 from 'node:v8';
import { BenchClient } from './lib/web-client.ts';

if (process.argv[2] === '--clients') {
  const [url, n] = [process.argv[3]!, Number(process.argv[4])];
  const cs: BenchClient[] = [];
  for (let i = 0; i < n; i++) {
    const c = await BenchClient.connect(url);
    await c.waitPrompt(30_000);
    cs.push(c);
  }
  process.send!('ready');
  process.on('message', async () => {
    for (const c of cs) await c.close();
    process.exit(0);
  });
} else {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  const n = Number(process.argv[2] ?? 24);
  const hib = Number(process.argv[3] ?? 2);
  const { startServer } = await import('../server/root/compose.ts');
  const srv = await startServer({
    config: { port: 0, host: '127.0.0.1', warmPool: 0, mirrorHibernateSec: hib, maxPerClient: n + 10, staticDir: '/nonexistent' },
    log: () => {},
  });
  const dir = `/tmp/boxlab-heap-${process.pid}`;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  try {
    for (let i = 0; i < 3; i++) {
      const c = await BenchClient.connect(srv.url);
      await c.waitPrompt(30_000);
      c.write('ls -l /\r');
      await sleep(300);
      await c.close();
    }
    await Promise.all(srv.manager.sessions().map((s) => srv.manager.destroy(s.session)));
    await sleep(1000);
    gc();
    const a = v8.writeHeapSnapshot(`${dir}-a.heapsnapshot`);
    const child = fork(new URL(import.meta.url).pathname, ['--clients', srv.url, String(n)], { execArgv: ['--import', 'tsx'] });
    await new Promise((r) => child.once('message', r));
    await sleep((hib || 2) * 1000 + 2500);
    gc();
    const b = v8.writeHeapSnapshot(`${dir}-b.heapsnapshot`);
    const hibernated = srv.manager.sessions().filter((s) => s.session.mirror.hibernated).length;
    child.send('bye');
    await new Promise((r) => child.once('exit', r));
    await srv.close();
    console.log(JSON.stringify({ sessions: n, hibernateSec: hib, hibernated, ...diff(a, b, n) }));
    rmSync(a);
    rmSync(b);
  } finally {
    await srv.close();
  }
}

interface Snap {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

function diff(
  fa: string,
  fb: string,
  n: number,
): { kibPerSession: number; kibPerSessionWithoutCode: number; byType: Record<string, number> } {
  const ids = (s: Snap) => {
    const f = s.snapshot.meta.node_fields;
    const out = new Set<number>();
    for (let i = 0; i < s.nodes.length; i += f.length) out.add(s.nodes[i + f.indexOf('id')]!);
    return out;
  };
  const old = ids(JSON.parse(readFileSync(fa, 'utf8')) as Snap);
  const s = JSON.parse(readFileSync(fb, 'utf8')) as Snap;
  const f = s.snapshot.meta.node_fields;
  const [iT, iS, iI] = [f.indexOf('type'), f.indexOf('self_size'), f.indexOf('id')];
  const types = s.snapshot.meta.node_types[0];
  const byType: Record<string, number> = {};
  let total = 0;
  for (let i = 0; i < s.nodes.length; i += f.length) {
    if (old.has(s.nodes[i + iI]!)) continue;
    const t = types[s.nodes[i + iT]!]!;
    byType[t] = (byType[t] ?? 0) + s.nodes[i + iS]!;
    total += s.nodes[i + iS]!;
  }
  const k = (x: number) => Math.round((x / 1024 / n) * 10) / 10;
  for (const t of Object.keys(byType)) byType[t] = k(byType[t]!);
  return { kibPerSession: k(total), kibPerSessionWithoutCode: Math.round((k(total) - (byType.code ?? 0)) * 10) / 10, byType };
}
