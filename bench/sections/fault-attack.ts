// fault-attack.ts (section): boxes attacking at once (fork bomb, memory bomb, disk fill, 64 busy loops, yes floods)
// while others type: their echo latency, the server's survival, what each limit did, and a clean teardown.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MiB } from '../../server/protocol/size.ts';
import { loopbackAddress, LoadClient } from '../lib/load-client.ts';
import type { AttackArgs, AttackerReport } from '../lib/load-attacker.ts';
import { inventory, inventoryTotal, type Inventory } from '../lib/load-host.ts';
import { delayCell, LoadServer, Phases, runActor, sampler, type LoopDelay } from '../lib/load-server.ts';
import { cpuPercent, EchoLog, failOn, sleep, typist } from '../lib/load-typist.ts';
import { fmtMs, markdownTable, type Summary } from '../lib/stats.ts';
import type { Section } from './types.ts';

const ATTACKER = join(dirname(fileURLToPath(import.meta.url)), '..', 'lib', 'load-attacker.ts');

export interface AttackParams {
  attackers: number;
  users: number;
  baseMs: number;
  durationMs: number;
}

export const ATTACK_QUICK: AttackParams = { attackers: 5, users: 5, baseMs: 3000, durationMs: 8000 };
export const ATTACK_FULL: AttackParams = { attackers: 10, users: 20, baseMs: 8000, durationMs: 30_000 };

export interface AttackResult {
  params: AttackParams;
  echo: Record<'base' | 'attack', Summary & { lost: number }>;
  loop: Record<string, LoopDelay>;
  noise: Record<string, LoopDelay>;
  attackers: AttackerReport[];
  usersAlive: number;
  server: { pid: number; alive: boolean; rssMaxKiB: number; rssBaseKiB: number; cpuAttackPct: number };
  loadavg: number[];
  shutdown: { clean: boolean; ms: number };
  leftovers: Inventory;
}

export async function runAttack(p: AttackParams, log: (l: string) => void = () => {}): Promise<AttackResult> {
  const cfg = { memoryBytes: 256 * MiB, cpuFraction: 0.5, pids: 128, diskBytes: 64 * MiB, shmBytes: 16 * MiB };
  const server = await LoadServer.start({ config: { ...cfg, maxSessions: p.users + p.attackers + 5 } });
  const pid = server.pid;
  const echo = new EchoLog();
  const users: LoadClient[] = [];
  let stop = false;
  const typing: Promise<void>[] = [];
  const mem = sampler(pid, 500);
  const phases = new Phases(server, echo);
  try {
    for (let i = 0; i < p.users; i++) {
      const c = (await LoadClient.open(server.url, { localAddress: loopbackAddress(i) })) as LoadClient;
      await c.ready();
      users.push(c);
      typing.push(typist(c, echo, () => stop, 7000 + i));
    }
    log(`attack: ${p.users} users typing, baseline ${p.baseMs} ms`);
    await phases.start('base');
    await sleep(p.baseMs);
    await phases.next('verify');
    const rssBase = server.sample().rssKiB;
    let s1 = server.sample();
    let t1 = performance.now();
    const args: AttackArgs = {
      url: server.url,
      attackers: p.attackers,
      durationMs: p.durationMs,
      addrFrom: p.users,
      expect: { memoryBytes: cfg.memoryBytes, pids: cfg.pids, cpu: cfg.cpuFraction, diskKiB: 64 * 1024, shmKiB: 16 * 1024 },
    };
    log(`attack: ${p.attackers} attackers for ${p.durationMs} ms`);
    const attackers = await runActor<AttackerReport[]>(ATTACKER, args, (ev) => {
      if (ev.ev === 'verified') {
        for (const b of ev.boxes as { kind: string; verified: boolean; why?: string }[])
          if (!b.verified) log(`attack: NOT attacking (${b.kind}): ${b.why}`);
      }
      if (ev.ev === 'attacking') {
        void phases.next('attack');
        s1 = server.sample();
        t1 = performance.now();
      }
    });
    const s2 = server.sample();
    const t2 = performance.now();
    await phases.next('after');
    stop = true;
    await Promise.all(typing);
    const usersAlive = users.filter((c) => !c.closed && c.state === 'running').length;
    const loadavg = (await import('node:os')).loadavg();
    log('attack: SIGTERM (destroys the bombed boxes too)');
    const alive = server.alive && server.pid === pid;
    const shutdown = await server.stop();
    await sleep(300);
    const ids = new Map(server.boxes);
    mem.stop();
    return {
      params: p,
      echo: { base: echo.of('base'), attack: echo.of('attack') },
      loop: phases.loop,
      noise: phases.noise,
      attackers,
      usersAlive,
      server: {
        pid,
        alive,
        rssBaseKiB: rssBase,
        rssMaxKiB: Math.max(...mem.samples.map((s) => s.rssKiB)),
        cpuAttackPct: cpuPercent(s1, s2, t2 - t1),
      },
      loadavg,
      shutdown,
      leftovers: inventory(ids),
    };
  } finally {
    stop = true;
    mem.stop();
    phases.stop();
    await Promise.all(users.map((c) => c.close().catch(() => {})));
    await server.stop();
  }
}

export function attackMarkdown(r: AttackResult): string {
  const e = (s: Summary & { lost: number }, ph: string) => [
    String(s.n),
    fmtMs(s.p50),
    fmtMs(s.p99),
    fmtMs(s.max),
    String(s.lost),
    delayCell(r.loop[ph]),
    delayCell(r.noise[ph]),
  ];
  const lim = (a: AttackerReport) => {
    const l = a.limits;
    switch (a.kind) {
      case 'fork-bomb':
        return `pids.max ${l.pidsMax}: peak ${a.peakPids}, ${a.pidsEventsMax} forks refused`;
      case 'memory-bomb':
        return `memory ${l.memoryBytes / 2 ** 20} MiB: peak ${(a.peakMemKiB / 1024).toFixed(0)} MiB, ${a.oomKills} OOM kills in the box`;
      case 'disk-fill':
        return `upper ${l.upperKiB / 1024} MiB, shm ${l.shmKiB / 1024} MiB: upper peak ${(a.peakUpperUsedKiB / 1024).toFixed(1)} MiB`;
      case 'busy-64':
        return `cpu ${l.cpuQuotaUs}/${l.cpuPeriodUs} µs: ${a.cpuSec.toFixed(1)} s CPU in ${(r.params.durationMs / 1000).toFixed(0)} s, throttled ${a.throttledPeriods} periods, pids peak ${a.peakPids}`;
      case 'yes-flood':
        return `${(a.bytesReceived / 2 ** 20).toFixed(1)} MiB delivered to its (acking) client, ${a.cpuSec.toFixed(1)} s CPU`;
    }
  };
  return [
    `### ${r.params.attackers} boxes attacking while ${r.params.users} others type`,
    '',
    markdownTable(
      [
        "users' keystroke echo (ms)",
        'keys',
        'p50',
        'p99',
        'max',
        'lost',
        'server loop lateness p99 / max',
        'idle process lateness p99 / max',
      ],
      [
        ['before the attack', ...e(r.echo.base, 'base')],
        ['during the attack', ...e(r.echo.attack, 'attack')],
      ],
    ),
    '',
    markdownTable(
      ['attack', 'box', 'limits verified first', 'what the kernel did', 'session after'],
      r.attackers.map((a) => [
        a.kind,
        a.box ?? '?',
        a.verified ? 'yes' : `NO (not attacked: ${a.why})`,
        lim(a),
        `${a.state}${a.closed !== null ? `, closed ${a.closed}` : ''}`,
      ]),
      ['l', 'l', 'l', 'l', 'l'],
    ),
    '',
    `Server pid ${r.server.pid} ${r.server.alive ? 'alive throughout (never restarted)' : 'DIED'}; RSS ${(r.server.rssBaseKiB / 1024).toFixed(0)} MiB before, max ${(r.server.rssMaxKiB / 1024).toFixed(0)} MiB; CPU ${r.server.cpuAttackPct.toFixed(0)} % of a core during the attack. ` +
      `Users still running: ${r.usersAlive}/${r.params.users}. Load average after: ${r.loadavg.map((x) => x.toFixed(1)).join(' ')}. SIGTERM ${r.shutdown.clean ? 'clean' : 'NOT clean'} in ${fmtMs(r.shutdown.ms)} ms; leftovers: ${inventoryTotal(r.leftovers)}.`,
  ].join('\n');
}

export const attackProblems = (r: AttackResult) => [
  !r.server.alive && 'the server died or restarted',
  r.usersAlive !== r.params.users && `${r.params.users - r.usersAlive} users lost their session`,
  r.attackers.some((a) => !a.verified) &&
    `limits not verified: ${r.attackers
      .filter((a) => !a.verified)
      .map((a) => a.why)
      .join(', ')}`,
  !r.shutdown.clean && 'unclean shutdown',
  inventoryTotal(r.leftovers) > 0 && `leftovers: ${JSON.stringify(r.leftovers).slice(0, 300)}`,
];

export const attackSection: Section = {
  name: 'fault-attack',
  title: 'Faults: boxes attacking while others type',
  async run({ quick, log }) {
    // --quick (CI) runs one fault, the crash; bombs need tens of seconds to mean anything.
    if (quick)
      return { markdown: 'Skipped in --quick (`npm run bench -- --only=fault-attack` or `npm run soak`).', json: { skipped: true } };
    const r = await runAttack({ ...ATTACK_FULL, durationMs: 15_000 }, log);
    return { markdown: failOn(attackMarkdown(r), attackProblems(r)), json: r };
  },
};
