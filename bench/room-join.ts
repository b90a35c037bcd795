// room-join.ts: `sudo node --import tsx bench/room-join.ts [--learners 30] [--prefix bxroom]`: a NAT room of N learner
// namespaces (e2e/room/netns.ts) joins a real HTTPS server with real boxes at once; prints join-to-prompt percentiles.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { joinFrom, type ProtocolLearner } from '../e2e/room/learner.ts';
import { createRoom } from '../e2e/room/netns.ts';
import { startServer } from '../server/root/compose.ts';
import { fmtMs, summarize } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    learners: { type: 'string', default: '30' },
    prefix: { type: 'string', default: 'bxroom' },
    port: { type: 'string', default: '0' },
  },
});
const n = Number(values.learners);
if (process.getuid?.() !== 0) throw new Error('run as root: it makes namespaces and real boxes');
const PROMPT = /# (\x1b\[6n)?$/; // busybox ash as root, then a cursor-position query

const room = await createRoom({ learners: n, prefix: values.prefix! });
const home = mkdtempSync(join(tmpdir(), `${values.prefix}-home-`));
const learners: ProtocolLearner[] = [];
let srv: Awaited<ReturnType<typeof startServer>> | null = null;
try {
  srv = await startServer({
    config: {
      host: room.serverAddress,
      port: Number(values.port),
      tls: 'self-signed',
      staticDir: '/nonexistent/out',
      maxSessions: n + 5,
      maxPerClient: n + 5,
    },
    home,
    log: () => {},
    course: { instructorToken: 'room-bench-instructor-token', dbPath: ':memory:' },
  });
  const to = { host: room.serverAddress, port: srv.port, pin: srv.tls!.spki };
  const load = loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  const t0 = performance.now();
  // All at once: each learner's clock starts when its sockets exist (a node helper per namespace makes them, which a
  // browser would not need) and stops at the shell prompt: POST, TLS, wss, box creation, first prompt.
  const results = await Promise.allSettled(
    room.learners.map(async (l, i) => {
      const p = await joinFrom(l.name, to, `learner-${i + 1}`);
      learners.push(p);
      await p.waitText(PROMPT, 120_000);
      const now = performance.now();
      return { ms: now - p.at.sockets, session: p.at.created - p.at.sockets, startedAt: p.at.sockets - t0 };
    }),
  );
  const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason).split('\n')[0]] : []));
  const s = summarize(ok.map((r) => r.ms));
  const post = summarize(ok.map((r) => r.session));
  const spread = ok.length ? Math.max(...ok.map((r) => r.startedAt)) - Math.min(...ok.map((r) => r.startedAt)) : 0;
  const addrs = new Set(srv.manager.sessions().map((x) => x.addr.replace(/^::ffff:/, '')));
  console.log(`room-join: ${ok.length}/${n} learners reached a prompt (load before: ${load}; starts spread over ${fmtMs(spread)} ms)`);
  console.log(
    `join-to-prompt (ms): p50 ${fmtMs(s.p50)}, p90 ${fmtMs(s.p90)}, p99 ${fmtMs(s.p99)}, max ${fmtMs(s.max)}; server saw ${[...addrs].join(' ')} (NAT address ${room.natAddress})`,
  );
  console.log(`of which TLS + POST /api/session (ms): p50 ${fmtMs(post.p50)}, p99 ${fmtMs(post.p99)}`);
  for (const f of failed.slice(0, 5)) console.log(`failed: ${f}`);
  if (failed.length) process.exitCode = 1;
} finally {
  for (const p of learners) p.close();
  await srv?.close();
  await room.destroy();
  rmSync(home, { recursive: true, force: true });
}
