// fault-hostile.ts (section): hostile clients (garbage, bad frames and messages, absurd resizes, clients that never
// read or ack, a connection flood) while others type: the answer each gets, the server's memory, the others' echo.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loopbackAddress, LoadClient } from '../lib/load-client.ts';
import type { FloodResult } from '../lib/load-flood.ts';
import { inventory, inventoryTotal, type Inventory } from '../lib/load-host.ts';
import type { HostileArgs, Row, SlowRow } from '../lib/load-hostile.ts';
import { delayCell, LoadServer, Phases, runActor, sampler, type LoopDelay } from '../lib/load-server.ts';
import { EchoLog, failOn, sleep, typist } from '../lib/load-typist.ts';
import { fmtMs, markdownTable, type Summary } from '../lib/stats.ts';
import type { Section } from './types.ts';

const HOSTILE = join(dirname(fileURLToPath(import.meta.url)), '..', 'lib', 'load-hostile.ts');

export interface HostileParams {
  users: number;
  heartbeatMs: number;
  holdMs: number;
  floodAttempts: number;
  baseMs: number;
  /** Run the slow cases (stalled frame, never read, never ack: holdMs each, watched together). */
  slow: boolean;
}

export const HOSTILE_QUICK: HostileParams = { users: 3, heartbeatMs: 2000, holdMs: 5000, floodAttempts: 200, baseMs: 2000, slow: false };
/**
 * The production heartbeat (30 s): a peer that answers no ping is dropped after 30-60 s. A peer that answers pings
 * but never reads first fills ~4 MB of kernel socket buffer (about 80 s at 50 KB/s of resyncs), then 1 MiB of
 * queue, then the 30 s close timeout runs: 150 s of watch sees it dropped.
 */
export const HOSTILE_FULL: HostileParams = {
  users: 5,
  heartbeatMs: 30_000,
  holdMs: 150_000,
  floodAttempts: 1000,
  baseMs: 5000,
  slow: true,
};

export interface HostileResult {
  params: HostileParams;
  rows: Row[];
  slow: SlowRow[];
  flood: FloodResult;
  echo: Record<'base' | 'fast' | 'slow' | 'flood', Summary & { lost: number }>;
  /** Per phase: the server's event-loop delay (ms) and its peak RSS (KiB). */
  loop: Record<string, LoopDelay>;
  noise: Record<string, LoopDelay>;
  rssMaxByPhase: Record<string, number>;
  usersAlive: number;
  server: { alive: boolean; rssStartKiB: number; rssMaxKiB: number; rssEndKiB: number };
  leftovers: Inventory;
}

export async function runHostile(p: HostileParams, log: (l: string) => void = () => {}): Promise<HostileResult> {
  const server = await LoadServer.start({ config: { maxSessions: 60 }, heartbeatMs: p.heartbeatMs });
  const echo = new EchoLog();
  const users: LoadClient[] = [];
  let stop = false;
  const typing: Promise<void>[] = [];
  const phases = new Phases(server, echo);
  let mem = sampler(server.pid, 250);
  const mark = (next: string): void => void phases.next(next);
  try {
    for (let i = 0; i < p.users; i++) {
      const c = (await LoadClient.open(server.url, { localAddress: loopbackAddress(i) })) as LoadClient;
      await c.ready();
      users.push(c);
      typing.push(typist(c, echo, () => stop, 9000 + i));
    }
    await phases.start('base');
    mem.stop();
    mem = sampler(server.pid, 250); // samples' t is measured from the phases' start
    await sleep(p.baseMs);
    mark('fast');
    log('hostile: malformed input cases');
    const args: HostileArgs = {
      url: server.url,
      serverPid: server.pid,
      heartbeatMs: p.heartbeatMs,
      holdMs: p.holdMs,
      floodAttempts: p.floodAttempts,
      slow: p.slow,
    };
    const r = await runActor<{ rows: Row[]; slow: SlowRow[]; flood: FloodResult }>(HOSTILE, args, (ev) => {
      if (ev.ev === 'phase') {
        mark(ev.name as string);
        log(`hostile: ${ev.name} cases`);
      }
    });
    await phases.next('after');
    stop = true;
    await Promise.all(typing);
    const usersAlive = users.filter((c) => !c.closed && c.state === 'running').length;
    const alive = server.alive;
    const rssEnd = server.sample().rssKiB;
    mem.stop();
    const rssMaxByPhase: Record<string, number> = {};
    const starts = Object.entries(phases.starts);
    for (const s of mem.samples) {
      const ph = starts.filter(([, t]) => t <= s.t).at(-1)?.[0] ?? 'base';
      rssMaxByPhase[ph] = Math.max(rssMaxByPhase[ph] ?? 0, s.rssKiB);
    }
    await server.stop();
    await sleep(300);
    return {
      params: p,
      ...r,
      echo: { base: echo.of('base'), fast: echo.of('fast'), slow: echo.of('slow'), flood: echo.of('flood') },
      loop: phases.loop,
      noise: phases.noise,
      rssMaxByPhase,
      usersAlive,
      server: {
        alive,
        rssStartKiB: mem.samples[0]?.rssKiB ?? NaN,
        rssMaxKiB: Math.max(...mem.samples.map((s) => s.rssKiB)),
        rssEndKiB: rssEnd,
      },
      leftovers: inventory(server.boxes),
    };
  } finally {
    stop = true;
    mem.stop();
    phases.stop();
    await Promise.all(users.map((c) => c.close().catch(() => {})));
    await server.stop();
  }
}

export function hostileMarkdown(r: HostileResult): string {
  const e = (s: Summary & { lost: number }, ph: string) => [
    String(s.n),
    fmtMs(s.p50),
    fmtMs(s.p99),
    fmtMs(s.max),
    String(s.lost),
    delayCell(r.loop[ph]),
    delayCell(r.noise[ph]),
    ((r.rssMaxByPhase[ph] ?? NaN) / 1024).toFixed(0),
  ];
  const f = r.flood;
  const usable = (u: boolean | null) => (u === null ? '' : u ? 'yes' : 'no');
  return [
    `### Hostile clients (heartbeat ${r.params.heartbeatMs / 1000} s) while ${r.params.users} others type`,
    '',
    markdownTable(
      ['case', 'sent', 'server answer', 'close / status', 'ms', 'session usable after', 'as promised'],
      r.rows.map((x) => [x.case, x.sent, x.answer, x.code, fmtMs(x.ms), usable(x.usable), x.ok ? 'yes' : `NO (${x.expect})`]),
      ['l', 'l', 'l', 'l', 'r', 'l', 'l'],
    ),
    '',
    ...(r.slow.length
      ? [
          markdownTable(
            ['slow case (watched together)', 'behaviour', 'outcome', 'close', `watched (s)`, 'bytes it got'],
            r.slow.map((x) => [
              x.case,
              x.sent,
              x.answer,
              x.code,
              (x.ms / 1000).toFixed(1),
              x.bytes === undefined ? '' : x.bytes.toLocaleString('en-US'),
            ]),
            ['l', 'l', 'l', 'l', 'r', 'r'],
          ),
          '',
        ]
      : []),
    `Connection flood: ${f.attempts} attempts in ${fmtMs(f.spreadMs)} ms from one address; server RSS ${(f.serverRssBeforeKiB / 1024).toFixed(0)} → max ${(f.serverRssMaxKiB / 1024).toFixed(0)} MiB, at most ${f.serverFdsMax} fds; ` +
      `silent connections closed by the server within ${f.silentWatchMs / 1000} s: ${f.silentClosed}.`,
    '',
    markdownTable(
      ['attempt', 'answers', 'p50 ms', 'p99 ms'],
      Object.entries(f.answers).map(([k, v]) => [
        k,
        Object.entries(v)
          .map(([a, n]) => `${n} × ${a}`)
          .join(', '),
        fmtMs(f.latency[k]?.p50 ?? NaN),
        fmtMs(f.latency[k]?.p99 ?? NaN),
      ]),
      ['l', 'l', 'r', 'r'],
    ),
    '',
    markdownTable(
      [
        "phase: others' keystroke echo (ms)",
        'keys',
        'p50',
        'p99',
        'max',
        'lost',
        'server loop lateness p99 / max',
        'idle process lateness p99 / max',
        'server RSS max MiB',
      ],
      [
        ['before', ...e(r.echo.base, 'base')],
        ['malformed input cases', ...e(r.echo.fast, 'fast')],
        ['slow cases', ...e(r.echo.slow, 'slow')],
        ['connection flood', ...e(r.echo.flood, 'flood')],
      ].filter((row) => row[1] !== '0'),
    ),
    '',
    `Server ${r.server.alive ? 'alive throughout' : 'DIED'}; RSS ${(r.server.rssStartKiB / 1024).toFixed(0)} → max ${(r.server.rssMaxKiB / 1024).toFixed(0)} → ${(r.server.rssEndKiB / 1024).toFixed(0)} MiB. ` +
      `Users still running: ${r.usersAlive}/${r.params.users}. Leftovers after shutdown: ${inventoryTotal(r.leftovers)}.`,
  ].join('\n');
}

export const hostileProblems = (r: HostileResult) => [
  ...r.rows
    .filter((x) => !x.ok)
    .map((x) => `${x.case}: expected "${x.expect}", got "${x.answer} ${x.code}"${x.usable === false ? ' (not usable)' : ''}`),
  !r.server.alive && 'the server died',
  r.usersAlive !== r.params.users && `${r.params.users - r.usersAlive} users lost their session`,
  inventoryTotal(r.leftovers) > 0 && `leftovers: ${JSON.stringify(r.leftovers).slice(0, 300)}`,
];

export const hostileSection: Section = {
  name: 'fault-hostile',
  title: 'Faults: hostile clients',
  async run({ quick, log }) {
    const r = await runHostile(quick ? HOSTILE_QUICK : { ...HOSTILE_FULL, heartbeatMs: 5000, holdMs: 12_000 }, log);
    return { markdown: failOn(hostileMarkdown(r), hostileProblems(r)), json: r };
  },
};
