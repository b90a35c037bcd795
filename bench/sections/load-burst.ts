// load-burst.ts (section): N people press Start within one second: every request is served or cleanly refused at
// the configured cap (503 + Retry-After), none hangs; create latency of the served ones; nothing left afterwards.
import { loopbackAddress, LoadClient } from '../lib/load-client.ts';
import { inventory, inventoryTotal, type Inventory } from '../lib/load-host.ts';
import { LoadServer } from '../lib/load-server.ts';
import { failOn, sleep } from '../lib/load-typist.ts';
import { fmtMs, markdownTable, summarize, type Summary } from '../lib/stats.ts';
import type { Section } from './types.ts';

export interface BurstParams {
  requests: number;
  windowMs: number;
  /** The server's maxSessions for this run. */
  cap: number;
  /** A request not served or refused within this time counts as hung. */
  hangMs: number;
}

export const BURST_QUICK: BurstParams[] = [{ requests: 20, windowMs: 1000, cap: 15, hangMs: 30_000 }];
export const BURST_FULL: [BurstParams, BurstParams] = [
  { requests: 100, windowMs: 1000, cap: 200, hangMs: 60_000 },
  { requests: 100, windowMs: 1000, cap: 50, hangMs: 60_000 },
];

export interface BurstResult {
  params: BurstParams;
  served: number;
  refused: number;
  refusedBodies: Record<string, number>;
  retryAfter: string[];
  createFailed: string[];
  hung: number;
  errors: string[];
  /** From the POST to state running / first prompt (served sessions); POST answer time of all. */
  running: Summary;
  prompt: Summary;
  post: Summary;
  lastReadyMs: number;
  leftovers: Inventory;
  shutdown: { clean: boolean; ms: number };
}

type Outcome =
  | { kind: 'served'; c: LoadClient }
  | { kind: 'refused'; body: string; retryAfter?: string; ms: number }
  | { kind: 'failed' | 'hung' | 'error'; c?: LoadClient; msg: string };

export async function runBurst(p: BurstParams, log: (l: string) => void = () => {}): Promise<BurstResult> {
  const server = await LoadServer.start({ config: { maxSessions: p.cap } });
  const outcomes: Promise<Outcome>[] = [];
  const t0 = performance.now();
  const clients: LoadClient[] = [];
  try {
    log(`burst: ${p.requests} sessions requested within ${p.windowMs} ms, cap ${p.cap}`);
    for (let i = 0; i < p.requests; i++) {
      const at = t0 + (i * p.windowMs) / p.requests;
      await sleep(Math.max(0, at - performance.now()));
      outcomes.push(
        (async (): Promise<Outcome> => {
          let c: LoadClient | undefined;
          const hang = new Promise<'hang'>((r) => setTimeout(() => r('hang'), p.hangMs).unref());
          const work = (async (): Promise<Outcome> => {
            const o = await LoadClient.open(server.url, { localAddress: loopbackAddress(i), timeoutMs: p.hangMs });
            if (!(o instanceof LoadClient))
              return { kind: 'refused', body: o.refused.body, retryAfter: o.refused.retryAfter, ms: o.refused.ms };
            c = o;
            clients.push(o);
            try {
              await o.ready(p.hangMs);
            } catch (err) {
              return { kind: 'failed', c: o, msg: (err as Error).message };
            }
            return { kind: 'served', c: o };
          })().catch((err: Error): Outcome => ({ kind: 'error', msg: err.message }));
          const r = await Promise.race([work, hang]);
          return r === 'hang' ? { kind: 'hung', c, msg: `no answer in ${p.hangMs} ms` } : r;
        })(),
      );
    }
    const all = await Promise.all(outcomes);
    const served = all.flatMap((o) => (o.kind === 'served' ? [o.c] : []));
    const refused = all.flatMap((o) => (o.kind === 'refused' ? [o] : []));
    const bodies: Record<string, number> = {};
    for (const r of refused) {
      const key = r.body.replace(/"retryAfterSec":\d+/, '"retryAfterSec":N');
      bodies[key] = (bodies[key] ?? 0) + 1;
    }
    log(`burst: ${served.length} served, ${refused.length} refused; SIGTERM`);
    const shutdown = await server.stop();
    await sleep(200);
    const ids = new Map([...server.boxes, ...clients.filter((c) => c.box.id).map((c) => [c.box.id!, c.box.uidBase] as const)]);
    return {
      params: p,
      served: served.length,
      refused: refused.length,
      refusedBodies: bodies,
      retryAfter: [...new Set(refused.map((r) => r.retryAfter ?? 'none'))],
      createFailed: all.flatMap((o) => (o.kind === 'failed' ? [o.msg] : [])),
      hung: all.filter((o) => o.kind === 'hung').length,
      errors: all.flatMap((o) => (o.kind === 'error' ? [o.msg] : [])),
      running: summarize(served.map((c) => c.t.running)),
      prompt: summarize(served.map((c) => c.t.prompt)),
      post: summarize([...served.map((c) => c.t.post), ...refused.map((r) => r.ms)]),
      lastReadyMs: Math.max(0, ...served.map((c) => c.t0 + c.t.prompt - t0)),
      leftovers: inventory(ids),
      shutdown,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await server.stop();
  }
}

export function burstMarkdown(rs: BurstResult[]): string {
  return [
    '### Burst: sessions requested within one second',
    '',
    markdownTable(
      [
        'requests / window / cap',
        'served',
        'refused 503',
        'create failed',
        'hung',
        'create p50 (to prompt)',
        'p99',
        'max',
        'POST p99',
        'all ready after',
        'leftovers',
      ],
      rs.map((r) => [
        `${r.params.requests} / ${r.params.windowMs} ms / ${r.params.cap}`,
        String(r.served),
        String(r.refused),
        String(r.createFailed.length + r.errors.length),
        String(r.hung),
        fmtMs(r.prompt.p50),
        fmtMs(r.prompt.p99),
        fmtMs(r.prompt.max),
        fmtMs(r.post.p99),
        `${fmtMs(r.lastReadyMs)} ms`,
        String(inventoryTotal(r.leftovers)),
      ]),
    ),
    '',
    ...rs.flatMap((r) =>
      Object.entries(r.refusedBodies).map(([b, n]) => `- cap ${r.params.cap}: ${n} × \`503 ${b}\`, Retry-After ${r.retryAfter.join(', ')}`),
    ),
    ...rs.flatMap((r) => [...r.createFailed, ...r.errors].slice(0, 3).map((m) => `- cap ${r.params.cap}: ${m}`)),
  ].join('\n');
}

export const burstProblems = (r: BurstResult) => [
  r.hung > 0 && `cap ${r.params.cap}: ${r.hung} requests hung`,
  r.createFailed.length + r.errors.length > 0 &&
    `cap ${r.params.cap}: ${r.createFailed.length + r.errors.length} failed: ${[...r.createFailed, ...r.errors][0]}`,
  r.served !== Math.min(r.params.requests, r.params.cap) &&
    `cap ${r.params.cap}: served ${r.served}, expected ${Math.min(r.params.requests, r.params.cap)}`,
  inventoryTotal(r.leftovers) > 0 && `cap ${r.params.cap}: leftovers ${JSON.stringify(r.leftovers).slice(0, 300)}`,
];

export const burstSection: Section = {
  name: 'load-burst',
  title: 'Load: burst (sessions requested within one second)',
  async run({ quick, log }) {
    const rs: BurstResult[] = [];
    for (const p of quick
      ? BURST_QUICK
      : [
          { ...BURST_FULL[0], requests: 50 },
          { ...BURST_FULL[1], requests: 50, cap: 25 },
        ])
      rs.push(await runBurst(p, log));
    return { markdown: failOn(burstMarkdown(rs), rs.flatMap(burstProblems)), json: { runs: rs } };
  },
};
