// fault-crash.ts (section): kill -9 of the server with live sessions, then a restart: what the crash left on the
// host (mounts, cgroups, processes, state, uid slots), what the start-up sweep removed, and how long it took.
import { loopbackAddress, LoadClient } from '../lib/load-client.ts';
import { inventory, inventoryTotal, type Inventory } from '../lib/load-host.ts';
import { LoadServer } from '../lib/load-server.ts';
import { failOn, pool, sleep } from '../lib/load-typist.ts';
import { fmtMs, markdownTable } from '../lib/stats.ts';
import type { SweepReport } from '../../server/engine/sweep.ts';
import type { Section } from './types.ts';

export interface CrashParams {
  sessions: number;
  concurrency: number;
}

export const CRASH_QUICK: CrashParams = { sessions: 10, concurrency: 4 };
export const CRASH_FULL: CrashParams = { sessions: 50, concurrency: 4 };

export interface CrashResult {
  params: CrashParams;
  live: number;
  before: Inventory;
  /** Right after the kill (processes die by PDEATHSIG), and one second later. */
  afterKill: Inventory;
  afterKill1s: Inventory;
  clientCloseCodes: Record<string, number>;
  /** Spawn of the new server to "listening" (includes Node + tsx start-up), and the sweep alone. */
  restartMs: number;
  sweepMs: number;
  sweep: SweepReport | null;
  /** How much of the sweep report concerns this run's boxes (the rest: other crashed runs on the machine). */
  sweptMine: { sandboxes: number; unmounted: number; cgroups: number; killed: number };
  afterRestart: Inventory;
  newSessionOk: boolean;
  finalLeftovers: Inventory;
}

const count = (i: Inventory) =>
  `${i.mounts.length} (${i.tmpfs} tmpfs, ${i.overlays} overlay) / ${i.cgroups.length} / ${i.processes.length} (+${i.zombies.length} zombies) / ${i.stateDirs.length} / ${i.slots.length}`;

export async function runCrash(p: CrashParams, log: (l: string) => void = () => {}): Promise<CrashResult> {
  const config = { maxSessions: p.sessions + 10 };
  let a: LoadServer | null = await LoadServer.start({ config });
  let b: LoadServer | null = null;
  const clients: LoadClient[] = [];
  try {
    log(`crash: ${p.sessions} live sessions`);
    await pool(
      Array.from({ length: p.sessions }, (_, i) => i),
      p.concurrency,
      async (i) => {
        const c = await LoadClient.open(a!.url, { localAddress: loopbackAddress(i) });
        if (!(c instanceof LoadClient)) throw new Error(`refused: ${c.refused.body}`);
        clients.push(c);
        await c.ready();
        await c.run('sleep 3600 & echo started', 10_000); // a second process in the box, as a user would leave one
      },
    );
    const ids = new Map([...a.boxes, ...clients.map((c) => [c.box.id!, c.box.uidBase] as const)]);
    const before = inventory(ids);
    log(`crash: kill -9 of server pid ${a.pid}`);
    await a.kill9();
    const afterKill = inventory(ids);
    await sleep(1000);
    const afterKill1s = inventory(ids);
    const codes: Record<string, number> = {};
    await Promise.all(clients.map((c) => c.until(() => c.closed !== null, 5000, 'close').catch(() => {})));
    for (const c of clients) codes[String(c.closed?.code ?? 'open')] = (codes[String(c.closed?.code ?? 'open')] ?? 0) + 1;
    a = null;
    log('crash: restarting the server');
    b = await LoadServer.start({ config });
    const afterRestart = inventory(ids);
    const rep = b.swept?.report ?? null;
    const mine = (xs: readonly (string | number)[]) => xs.filter((x) => [...ids.keys()].some((id) => String(x).includes(id))).length;
    const killedMine = rep ? rep.killed.length : 0;
    const c = await LoadClient.open(b.url, { localAddress: loopbackAddress(p.sessions) });
    let newSessionOk = false;
    if (c instanceof LoadClient) {
      await c.ready().then(
        () => (newSessionOk = true),
        () => {},
      );
      await c.run('echo ok', 10_000).catch(() => (newSessionOk = false));
      ids.set(c.box.id!, c.box.uidBase);
      await c.close();
    }
    await b.stop();
    await sleep(200);
    for (const [id, base] of b.boxes) ids.set(id, base);
    return {
      params: p,
      live: before.stateDirs.length,
      before,
      afterKill,
      afterKill1s,
      clientCloseCodes: codes,
      restartMs: b.readyMs,
      sweepMs: b.swept?.ms ?? NaN,
      sweep: rep,
      sweptMine: {
        sandboxes: rep ? mine(rep.sandboxes) : 0,
        unmounted: rep ? mine(rep.unmounted) : 0,
        cgroups: rep ? mine(rep.cgroups) : 0,
        killed: killedMine,
      },
      afterRestart,
      newSessionOk,
      finalLeftovers: inventory(ids),
    };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await a?.kill9();
    await b?.stop();
  }
}

export function crashMarkdown(r: CrashResult): string {
  const s = r.sweep;
  return [
    `### kill -9 of the server with ${r.live} live sessions, then a restart`,
    '',
    markdownTable(
      ['when', 'mounts / cgroups / live processes (+ unreaped) / state dirs / uid slots of these boxes'],
      [
        ['live, before the kill', count(r.before)],
        ['right after kill -9', count(r.afterKill)],
        ['1 s after the kill', count(r.afterKill1s)],
        ['after the restart (sweep done)', count(r.afterRestart)],
      ],
      ['l', 'l'],
    ),
    '',
    `Restart to listening: ${fmtMs(r.restartMs)} ms (Node + tsx start-up included); the sweep itself: ${fmtMs(r.sweepMs)} ms. ` +
      `Sweep report: ${s ? `${s.sandboxes.length} sandboxes (${r.sweptMine.sandboxes} of this run), ${s.unmounted.length} mounts detached (${r.sweptMine.unmounted} of this run), ${s.cgroups.length} cgroup dirs removed (${r.sweptMine.cgroups} of this run), ${s.killed.length} processes killed` : 'none'}. ` +
      `Clients saw close codes ${JSON.stringify(r.clientCloseCodes)}. A new session after the restart: ${r.newSessionOk ? 'works' : 'FAILED'}; leftovers at the end: ${inventoryTotal(r.finalLeftovers)}.`,
  ].join('\n');
}

export const crashProblems = (r: CrashResult) => [
  r.live !== r.params.sessions && `${r.live}/${r.params.sessions} sessions were live before the kill`,
  inventoryTotal(r.afterRestart) > 0 && `left after the restart: ${JSON.stringify(r.afterRestart).slice(0, 300)}`,
  !r.newSessionOk && 'no working session after the restart',
  inventoryTotal(r.finalLeftovers) > 0 && `leftovers at the end: ${JSON.stringify(r.finalLeftovers).slice(0, 300)}`,
];

export const crashSection: Section = {
  name: 'fault-crash',
  title: 'Faults: kill -9 of the server, restart and sweep',
  async run({ quick, log }) {
    const r = await runCrash(quick ? CRASH_QUICK : { ...CRASH_FULL, sessions: 20 }, log);
    return { markdown: failOn(crashMarkdown(r), crashProblems(r)), json: r };
  },
};
