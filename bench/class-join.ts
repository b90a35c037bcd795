// class-join.ts: `sudo node --import tsx bench/class-join.ts [--learners 30]`: a NAT room (e2e/room/netns.ts) joins a
// class by code over HTTPS, real boxes, with the default per-address cap (3): every learner must get a box (caps per
// class and learner, not per address), and a playground box from the same NAT address is refused as client_full.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { joinFrom, type ProtocolLearner } from '../e2e/room/learner.ts';
import { createRoom } from '../e2e/room/netns.ts';
import { startServer } from '../server/root/compose.ts';
import { fmtMs, summarize } from './lib/stats.ts';

const { values } = parseArgs({ options: { learners: { type: 'string', default: '30' }, prefix: { type: 'string', default: 'bxcls' } } });
const n = Number(values.learners);
if (process.getuid?.() !== 0) throw new Error('run as root: it makes namespaces and real boxes');
const PROMPT = /# (\x1b\[6n)?$/;

const room = await createRoom({ learners: n + 1, prefix: values.prefix ?? 'bxcls' });
const home = mkdtempSync(join(tmpdir(), 'bxclasses-home-'));
const learners: ProtocolLearner[] = [];
let srv: Awaited<ReturnType<typeof startServer>> | null = null;
try {
  srv = await startServer({
    config: { host: room.serverAddress, port: 0, tls: 'self-signed', staticDir: '/nonexistent/out', maxSessions: n + 5 },
    home,
    log: () => {},
    course: { instructorToken: 'class-bench-instructor-token', dbPath: join(home, 'boxlab.db') },
  });
  const made = await srv.course.classes.create({ name: 'Bench class', lessons: [], limits: { memory: '64M', pids: 64 }, cap: n });
  if (!made.ok) throw new Error(made.message);
  const code = made.cls.code;
  const to = { host: room.serverAddress, port: srv.port, pin: srv.tls!.spki };
  const load = loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  const t0 = performance.now();
  const results = await Promise.allSettled(
    room.learners.slice(0, n).map(async (l, i) => {
      const p = await joinFrom(l.name, to, `learner-${i + 1}`, {
        path: '/api/join',
        body: JSON.stringify({ code, name: `Learner ${i + 1}` }),
      });
      learners.push(p);
      await p.waitText(PROMPT, 180_000);
      return { ms: performance.now() - p.at.sockets, post: p.at.created - p.at.sockets, startedAt: p.at.sockets - t0 };
    }),
  );
  const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason).split('\n')[0]] : []));
  const s = summarize(ok.map((r) => r.ms));
  const post = summarize(ok.map((r) => r.post));
  const addrs = new Set(srv.manager.sessions().map((x) => x.addr.replace(/^::ffff:/, '')));
  console.log(
    `class-join: ${ok.length}/${n} learners behind one NAT reached a prompt, per-address cap ${srv.config.maxPerClient} (load before: ${load})`,
  );
  console.log(
    `join-to-prompt (ms): p50 ${fmtMs(s.p50)}, p90 ${fmtMs(s.p90)}, p99 ${fmtMs(s.p99)}, max ${fmtMs(s.max)}; of which TLS + POST /api/join: p50 ${fmtMs(post.p50)}, p99 ${fmtMs(post.p99)}`,
  );
  console.log(
    `server saw ${[...addrs].join(' ')} (NAT address ${room.natAddress}); roster ${await srv.course.classStore.memberCount(made.cls.id)} members`,
  );
  // The same address asks for playground boxes: cap 3, then a refusal naming the per-address limit.
  const extra = room.learners[n]!;
  const answers: string[] = [];
  for (let i = 0; i < 4; i++) {
    try {
      const p = await joinFrom(extra.name, to, `anon-${i}`);
      learners.push(p);
      answers.push('201');
    } catch (err) {
      answers.push(
        String((err as Error).message)
          .replace(/^.*?: /, '')
          .slice(0, 160),
      );
    }
  }
  console.log(`playground from the same NAT: ${answers.join(' | ')}`);
  for (const f of failed.slice(0, 5)) console.log(`failed: ${f}`);
  if (failed.length || !answers[3]?.includes('"reason":"client_full"')) process.exitCode = 1;
} finally {
  for (const p of learners) p.close();
  await srv?.close();
  await room.destroy();
  rmSync(home, { recursive: true, force: true });
}
