// web-memory.ts (section): the server's RSS over a 1 GB flood through one session (goal: grows < 20 MB): flow control
// must hold the pty instead of buffering, and the headless mirror must stay at its scrollback.
import { SERVER_NODE_FLAGS } from '../../server/cli/node-flags.ts';
import os from 'node:os';
import { BenchClient, PROMPT_END } from '../lib/web-client.ts';
import { startBenchServer } from '../lib/web-server.ts';
import { markdownTable } from '../lib/stats.ts';
import type { Section } from './types.ts';
import { FLOOD_COMMANDS, type FloodKind } from './web-flood.ts';

const GOAL_MB = 20;
const MB = 1e6;
const rssMB = (srv: { procMem(): { rssKiB: number } }) => (srv.procMem().rssKiB * 1024) / MB;

interface MemoryRun {
  /** Node flags of the server process. */
  flags: string;
  kind: FloodKind;
  bytes: number;
  seconds: number;
  /** Server VmRSS (MB) after the session's prompt, the highest seen while flooding (sampled every 250 ms), at the end, 3 s later. */
  rssBefore: number;
  rssPeak: number;
  rssEnd: number;
  rssSettled: number;
  heapBefore: number;
  heapEnd: number;
  externalEnd: number;
  flow: unknown;
}

async function flood(
  url: string,
  srv: Awaited<ReturnType<typeof startBenchServer>>,
  flags: string,
  kind: FloodKind,
  bytes: number,
  log: (l: string) => void,
): Promise<MemoryRun> {
  const c = await BenchClient.connect(url);
  try {
    await c.waitPrompt();
    await new Promise((r) => setTimeout(r, 1000));
    const before = rssMB(srv);
    const heap0 = await srv.stats();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMB(srv))), 250);
    const t0 = performance.now();
    let next = 100 * MB;
    c.onBytes = () => {
      if (c.received < next) return;
      log(`web-memory: ${kind}: ${Math.round(c.received / MB)} MB, server RSS ${rssMB(srv).toFixed(1)} MB`);
      next += 100 * MB;
    };
    c.tail = '';
    c.write(`${FLOOD_COMMANDS[kind](bytes)}; echo; echo E""ND\n`);
    await c.until(() => c.tail.includes('END\r\n') && PROMPT_END.test(c.tail), 1_800_000, 'the end of the flood');
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    const end = rssMB(srv);
    const heap1 = await srv.stats();
    const flow = await srv.flow();
    await new Promise((r) => setTimeout(r, 3000));
    return {
      flags,
      kind,
      bytes: c.received,
      seconds,
      rssBefore: before,
      rssPeak: Math.max(peak, end),
      rssEnd: end,
      rssSettled: rssMB(srv),
      heapBefore: heap0.heapUsed / MB,
      heapEnd: heap1.heapUsed / MB,
      externalEnd: (heap1.external + heap1.arrayBuffers) / MB,
      flow,
    };
  } finally {
    await c.close();
    await srv.destroyAll();
  }
}

export const webMemorySection: Section = {
  name: 'web-memory',
  title: 'Terminal: server memory over a 1 GB flood',
  async run({ quick, log }) {
    const bytes = quick ? 60 * MB : 1000 * MB;
    const load0 = os.loadavg();
    const runs: MemoryRun[] = [];
    // Node's default young generation grows to 16 MiB semi-spaces under the allocation rate of a flood (heapTotal
    // +19 MB, never given back); --max-semi-space-size=1 keeps it at 1 MiB for a few % more server CPU.
    // --quick (CI) measures only what `npm start` runs: the server with a 1 MiB semi-space (SERVER_NODE_FLAGS).
    const variants: [string, FloodKind[]][] = [
      ['', ['base64 lines', 'giant line']],
      [SERVER_NODE_FLAGS.join(' '), ['base64 lines']],
    ];
    for (const [flags, kinds] of quick ? variants.slice(1) : variants) {
      // Box cpu 2 so the flood is quick; the server's work per byte is the same at any box limit.
      const srv = await startBenchServer({ cpuFraction: 2 }, flags.split(' ').filter(Boolean));
      try {
        for (const kind of kinds) runs.push(await flood(srv.url, srv, flags || 'defaults', kind, bytes, log));
      } finally {
        await srv.close();
      }
    }
    const f1 = (v: number) => v.toFixed(1);
    const worst = Math.max(...runs.filter((r) => r.flags === 'defaults').map((r) => r.rssPeak - r.rssBefore));
    const flagged = Math.max(...runs.filter((r) => r.flags !== 'defaults').map((r) => r.rssPeak - r.rssBefore));
    const markdown = [
      `Goal: the server's RSS grows by less than ${GOAL_MB} MB over a 1 GB flood. The real server in its own process (\`bench/lib/web-server-child.ts\`, RSS from /proc/<pid>/status), one session with a real sandbox (box cpu 2), a Node client acking every 32 KiB on receipt (the fastest consumer, so the server is the one working hardest); the headless mirror parses every byte. Load average before: ${load0.map((x) => x.toFixed(1)).join(' ')}.`,
      '',
      markdownTable(
        [
          'server node flags',
          'command',
          'MB',
          's',
          'MB/s',
          'RSS before MB',
          'peak',
          'end',
          '3 s later',
          'growth to peak',
          'JS heap MB before → end',
          'external + ArrayBuffers MB',
        ],
        runs.map((r) => [
          r.flags,
          `\`${FLOOD_COMMANDS[r.kind](bytes)}\``,
          f1(r.bytes / MB),
          f1(r.seconds),
          f1(r.bytes / MB / r.seconds),
          f1(r.rssBefore),
          f1(r.rssPeak),
          f1(r.rssEnd),
          f1(r.rssSettled),
          `**${f1(r.rssPeak - r.rssBefore)}**`,
          `${f1(r.heapBefore)} → ${f1(r.heapEnd)}`,
          f1(r.externalEnd),
        ]),
      ),
      '',
      `The runs of one server follow each other: the second starts from what the first left (a one-time growth, not a leak, if it stays flat).`,
      '',
      `Verdict: ${Number.isFinite(worst) ? `with Node's defaults ${worst < GOAL_MB ? 'goal met' : 'goal NOT met'} (worst growth ${f1(worst)} MB, MB = 10^6 bytes); ` : ''}with ${SERVER_NODE_FLAGS.join(' ')} (as \`npm start\` runs it) ${flagged < GOAL_MB ? 'goal met' : 'goal NOT met'} (${f1(flagged)} MB).`,
    ].join('\n');
    return { markdown, json: { goalMB: GOAL_MB, bytes, runs, loadavgBefore: load0, loadavgAfter: os.loadavg() } };
  },
};
