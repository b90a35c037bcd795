// hostile-fairness.ts (section): ten learners type while one greedy client does, in turn, a 10 MB paste, 10,000
// messages/s, 1000 connects and 500 silent sockets; the learners' echo per case next to an idle probe's lateness.
import { appendFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loopbackAddress, LoadClient } from '../lib/load-client.ts';
import type { CaseRow, FairnessActorResult, FairnessArgs } from '../lib/load-fairness.ts';
import { inventory, inventoryTotal, type Inventory } from '../lib/load-host.ts';
import { delayCell, LoadServer, runActor, type LoopDelay } from '../lib/load-server.ts';
import { EchoLog, failOn, sleep, typist } from '../lib/load-typist.ts';
import { fmtMs, markdownTable, type Summary } from '../lib/stats.ts';
import { timerProbe, type Lateness } from '../lib/timer-probe.ts';
import type { Section } from './types.ts';

const ACTOR = join(dirname(fileURLToPath(import.meta.url)), '..', 'lib', 'load-fairness.ts');
const CASES = ['base', 'messages', 'connects', 'silent', 'paste', 'after'] as const;
const LABEL: Record<(typeof CASES)[number], string> = {
  base: 'before (nobody greedy)',
  paste: '10 MB paste',
  messages: '10,000 messages/s',
  connects: '1000 connects in 1 s',
  silent: '500 silent sockets',
  after: 'after',
};

export interface FairnessParams {
  learners: number;
  baseMs: number;
  actor: Omit<FairnessArgs, 'url' | 'serverPid'>;
}

export const FAIRNESS_FULL: FairnessParams = {
  learners: 10,
  baseMs: 8000,
  actor: { pasteBytes: 10 * 1024 * 1024, rate: 10_000, floodMs: 8000, connects: 1000, silent: 500, silentWatchMs: 8000, gapMs: 3000 },
};
export const FAIRNESS_QUICK: FairnessParams = {
  learners: 4,
  baseMs: 3000,
  actor: { pasteBytes: 2 * 1024 * 1024, rate: 10_000, floodMs: 3000, connects: 200, silent: 100, silentWatchMs: 7000, gapMs: 1000 },
};

export interface FairnessResult {
  params: FairnessParams;
  actor: FairnessActorResult;
  echo: Record<string, Summary & { lost: number }>;
  probe: Record<string, Lateness>;
  loop: Record<string, LoopDelay>;
  learnersAlive: number;
  serverAlive: boolean;
  leftovers: Inventory;
  loadavg: number[];
}

export async function runFairness(p: FairnessParams, log: (l: string) => void = () => {}): Promise<FairnessResult> {
  const loadavg = (await import('node:os')).loadavg();
  const server = await LoadServer.start({ config: { maxSessions: 60, graceSec: 5 } });
  const echo = new EchoLog();
  const learners: LoadClient[] = [];
  const typing: Promise<void>[] = [];
  const probe = timerProbe();
  const lateness: Record<string, Lateness> = {};
  const loop: Record<string, LoopDelay> = {};
  let stop = false;
  let chain = Promise.resolve();
  let current = 'base';
  // A diagnosis run (bench/lib/stall-watch.ts in the server) gets the phase switches on its clock.
  const mark = (name: string): void => {
    const f = process.env.BOXLAB_STALL_LOG;
    if (f) appendFileSync(f, `${JSON.stringify({ ev: 'phase', name, us: Number(process.hrtime.bigint() / 1000n) })}\n`);
  };
  // Echo samples are tagged at once; the probe's and the server loop's figures of the phase that ended are read after.
  const next = (name: string): void => {
    const prev = current;
    current = name;
    echo.phase = name;
    mark(name);
    chain = chain.then(async () => {
      const [l, d] = await Promise.all([probe.read(), server.loopDelay().catch(() => null)]);
      lateness[prev] = l;
      if (d) loop[prev] = d;
    });
  };
  try {
    for (let i = 0; i < p.learners; i++) {
      const c = (await LoadClient.open(server.url, { localAddress: loopbackAddress(i) })) as LoadClient;
      await c.ready();
      learners.push(c);
      typing.push(typist(c, echo, () => stop, 7000 + i));
    }
    await Promise.all([server.loopDelay(), probe.read()]);
    echo.phase = 'base';
    mark('base');
    await sleep(p.baseMs);
    log(`fairness: greedy client starts (load ${((await import('node:os')).loadavg()[0] ?? 0).toFixed(1)})`);
    const actor = await runActor<FairnessActorResult>(
      ACTOR,
      { ...p.actor, url: server.url, serverPid: server.pid } satisfies FairnessArgs,
      (ev) => {
        if (ev.ev !== 'phase') return;
        log(`fairness: ${ev.name}`);
        next(ev.name as string);
      },
    );
    next('after');
    await chain;
    await sleep(2000);
    next('end');
    await chain;
    stop = true;
    await Promise.all(typing);
    const learnersAlive = learners.filter((c) => !c.closed && c.state === 'running').length;
    const serverAlive = server.alive;
    await server.stop();
    await sleep(300);
    const echoBy: FairnessResult['echo'] = {};
    for (const c of CASES) echoBy[c] = echo.of(c);
    return {
      params: p,
      actor,
      echo: echoBy,
      probe: lateness,
      loop,
      learnersAlive,
      serverAlive,
      leftovers: inventory(server.boxes),
      loadavg,
    };
  } finally {
    stop = true;
    probe.stop();
    await Promise.all(learners.map((c) => c.close().catch(() => {})));
    await server.stop();
  }
}

const late = (l: Lateness | undefined) => (l && Number.isFinite(l.p99) ? `${fmtMs(l.p50)} / ${fmtMs(l.p99)} / ${fmtMs(l.max)}` : 'n/a');

/** Goal: quiet echo p99 < 50 ms, or within 2x of the idle probe's p99 lateness on a loaded machine. */
export function goalMet(e: Summary, l: Lateness | undefined): boolean {
  return e.p99 < 50 || (l !== undefined && Number.isFinite(l.p99) && e.p99 <= 2 * l.p99);
}

export function fairnessMarkdown(r: FairnessResult): string {
  const a = r.actor;
  const f = a.flood;
  const s = a.silent;
  return [
    `### One greedy client while ${r.params.learners} learners type (load average at start ${r.loadavg.map((x) => x.toFixed(1)).join(' ')})`,
    '',
    markdownTable(
      [
        'case',
        "learners' echo keys",
        'p50 ms',
        'p99 ms',
        'max ms',
        'lost',
        'idle probe lateness p50 / p99 / max ms',
        'server loop p99 / max',
        'goal (p99 < 50 or ≤ 2× probe p99)',
      ],
      CASES.map((c) => {
        const e = r.echo[c];
        if (!e) return [LABEL[c], 'n/a', '', '', '', '', '', '', ''];
        return [
          LABEL[c],
          String(e.n),
          fmtMs(e.p50),
          fmtMs(e.p99),
          fmtMs(e.max),
          String(e.lost),
          late(r.probe[c]),
          delayCell(r.loop[c]),
          e.n ? (goalMet(e, r.probe[c]) ? 'met' : '**not met**') : '',
        ];
      }),
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
    ),
    '',
    markdownTable(
      ['greedy client', 'sent', 'what it got'],
      a.rows.map((x: CaseRow) => [x.case, x.sent, x.outcome]),
      ['l', 'l', 'l'],
    ),
    '',
    `Connects: ${f.attempts} attempts in ${fmtMs(f.spreadMs)} ms from one address; server fds at most ${f.serverFdsMax}; silent ones closed by the server within ${f.silentWatchMs / 1000} s: ${f.silentClosed}.`,
    '',
    markdownTable(
      ['attempt', 'answers', 'p50 ms', 'p99 ms'],
      Object.entries(f.answers).map(([k, v]) => [
        k,
        Object.entries(v)
          .map(([x, n]) => `${n} × ${x}`)
          .join(', '),
        fmtMs(f.latency[k]?.p50 ?? NaN),
        fmtMs(f.latency[k]?.p99 ?? NaN),
      ]),
      ['l', 'l', 'r', 'r'],
    ),
    '',
    `Silent sockets: ${s.opened} opened from one address, ${s.refused429} refused at once with 429, ${s.closedByServer} closed by the server within the watch ` +
      `(the others after p50 ${fmtMs(s.closeAfterMs.p50)} / max ${fmtMs(s.closeAfterMs.max)} ms); server fds ${s.serverFds.before} → max ${s.serverFds.max} → ${s.serverFds.after} after.`,
    '',
    `Server ${r.serverAlive ? 'alive throughout' : 'DIED'}; learners still running: ${r.learnersAlive}/${r.params.learners}; leftovers after shutdown: ${inventoryTotal(r.leftovers)}.`,
  ].join('\n');
}

export const fairnessSection: Section = {
  name: 'hostile-fairness',
  title: 'Faults: hostile fairness (one greedy client, quiet learners)',
  async run({ quick, log }) {
    const p = quick ? FAIRNESS_QUICK : FAIRNESS_FULL;
    // FAIRNESS_PASTE_MB=0 leaves the paste out (a server whose pty input blocks would hang on it: the baseline run).
    const mb = process.env.FAIRNESS_PASTE_MB;
    const r = await runFairness(mb === undefined ? p : { ...p, actor: { ...p.actor, pasteBytes: Number(mb) * 1024 * 1024 } }, log);
    return {
      markdown: failOn(fairnessMarkdown(r), [
        !r.serverAlive && 'the server died',
        r.learnersAlive !== r.params.learners && `${r.params.learners - r.learnersAlive} learners lost their session`,
        inventoryTotal(r.leftovers) > 0 && `leftovers: ${JSON.stringify(r.leftovers).slice(0, 300)}`,
      ]),
      json: r,
    };
  },
};
