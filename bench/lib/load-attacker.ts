// load-attacker.ts: a bench actor (own process, see runActor): opens N sessions, reads back each box's enforced limits,
// and only if they hold launches fork/memory/disk/CPU/output bombs in them; samples what the kernel did; prints JSON.
import { readFileSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { loopbackAddress, LoadClient } from './load-client.ts';
import { boxCgroupDir, boxLimits, boxlabParents, type BoxLimits } from './load-host.ts';
import { sleep } from './load-typist.ts';

export type AttackKind = 'fork-bomb' | 'memory-bomb' | 'disk-fill' | 'busy-64' | 'yes-flood';
export const ATTACKS: AttackKind[] = ['fork-bomb', 'memory-bomb', 'disk-fill', 'busy-64', 'yes-flood'];

/** busybox ash; each line returns to the prompt except the flood, which owns the terminal. */
const COMMANDS: Record<AttackKind, string> = {
  'fork-bomb': 'b(){ b|b& }; b',
  'memory-bomb': 'for i in 1 2; do (while :; do tail /dev/zero; done) & done',
  'disk-fill':
    '(while :; do dd if=/dev/zero of=/root/fill bs=1M 2>/dev/null; dd if=/dev/zero of=/dev/shm/fill bs=1M 2>/dev/null; rm -f /root/fill /dev/shm/fill; done) &',
  'busy-64': 'i=0; while [ $i -lt 64 ]; do (while :; do :; done) & i=$((i+1)); done',
  'yes-flood': 'yes',
};

export interface AttackArgs {
  url: string;
  attackers: number;
  durationMs: number;
  /** First loopback address index (the users take the ones below). */
  addrFrom: number;
  /** What the server was configured with: a box whose kernel limits are looser than this is not attacked. */
  expect: { memoryBytes: number; pids: number; cpu: number; diskKiB: number; shmKiB: number };
}

export interface AttackerReport {
  kind: AttackKind;
  box: string | null;
  limits: BoxLimits;
  verified: boolean;
  why?: string;
  peakPids: number;
  pidsEventsMax: number;
  peakMemKiB: number;
  memFailcnt: number;
  oomKills: number;
  peakUpperUsedKiB: number;
  throttledPeriods: number;
  cpuSec: number;
  bytesReceived: number;
  state: string;
  closed: number | null;
}

const num = (p: string): number => {
  try {
    return Number(readFileSync(p, 'utf8').trim());
  } catch {
    return NaN;
  }
};
const field = (p: string, key: string): number => {
  try {
    return Number(new RegExp(`^${key} (\\d+)`, 'm').exec(readFileSync(p, 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
};

function verify(l: BoxLimits, e: AttackArgs['expect']): string | null {
  if (!(l.memoryBytes <= e.memoryBytes)) return `memory.limit_in_bytes ${l.memoryBytes} > ${e.memoryBytes}`;
  if (!(l.pidsMax <= e.pids)) return `pids.max ${l.pidsMax} > ${e.pids}`;
  if (!(l.cpuQuotaUs > 0 && l.cpuQuotaUs / l.cpuPeriodUs <= e.cpu + 1e-9))
    return `cpu quota ${l.cpuQuotaUs}/${l.cpuPeriodUs} above ${e.cpu}`;
  if (!(l.upperKiB <= e.diskKiB)) return `upper tmpfs ${l.upperKiB} KiB > ${e.diskKiB}`;
  if (!(l.shmKiB <= e.shmKiB)) return `/dev/shm ${l.shmKiB} KiB > ${e.shmKiB}`;
  return null;
}

async function main(a: AttackArgs): Promise<void> {
  const emit = (ev: object) => process.stdout.write(`${JSON.stringify(ev)}\n`);
  const clients: LoadClient[] = [];
  for (let i = 0; i < a.attackers; i++) {
    const c = await LoadClient.open(a.url, { localAddress: loopbackAddress(a.addrFrom + i) });
    if (!(c instanceof LoadClient)) throw new Error(`attacker refused: ${c.refused.body}`);
    await c.ready();
    clients.push(c);
  }
  const parents = boxlabParents();
  const reports: AttackerReport[] = clients.map((c, i) => {
    const limits = boxLimits(c.box.id!, c.box.initPid, parents);
    const why = verify(limits, a.expect);
    return {
      kind: ATTACKS[i % ATTACKS.length]!,
      box: c.box.id,
      limits,
      verified: why === null,
      ...(why ? { why } : {}),
      peakPids: 0,
      pidsEventsMax: 0,
      peakMemKiB: 0,
      memFailcnt: 0,
      oomKills: 0,
      peakUpperUsedKiB: 0,
      throttledPeriods: 0,
      cpuSec: 0,
      bytesReceived: 0,
      state: c.state,
      closed: null,
    };
  });
  emit({ ev: 'verified', boxes: reports.map((r) => ({ kind: r.kind, box: r.box, verified: r.verified, why: r.why, limits: r.limits })) });
  const dir = (c: LoadClient, name: string) => boxCgroupDir(c.box.id!, name, parents);
  // One row per attacker: its client, report, cgroup dirs and the bytes received before the attack.
  const boxes = clients.map((c, i) => ({
    c,
    r: reports[i]!,
    received0: c.received,
    d: { mem: dir(c, 'memory'), pids: dir(c, 'pids'), cpu: dir(c, 'cpu'), acct: dir(c, 'cpuacct') },
  }));
  for (const { c, r } of boxes) {
    if (!r.verified) continue;
    if (r.kind === 'yes-flood') c.keepTail = false; // counted and acked like a browser, not kept
    c.write(`${COMMANDS[r.kind]}\r`);
  }
  emit({ ev: 'attacking' });
  const until = performance.now() + a.durationMs;
  while (performance.now() < until) {
    await sleep(250);
    boxes.forEach(({ c, r, d }) => {
      if (d.pids) r.peakPids = Math.max(r.peakPids, num(join(d.pids, 'pids.current')) || 0);
      if (d.mem) r.peakMemKiB = Math.max(r.peakMemKiB, (num(join(d.mem, 'memory.usage_in_bytes')) || 0) / 1024);
      try {
        const st = statfsSync(join('/run/boxlab/sandboxes', c.box.id!, 'rw'));
        r.peakUpperUsedKiB = Math.max(r.peakUpperUsedKiB, ((st.blocks - st.bfree) * st.bsize) / 1024);
      } catch {
        // Torn down (a bomb killed the shell): keep the peak so far.
      }
    });
  }
  boxes.forEach(({ c, r, d, received0 }) => {
    if (d.pids) r.pidsEventsMax = field(join(d.pids, 'pids.events'), 'max');
    if (d.mem) {
      r.peakMemKiB = Math.max(r.peakMemKiB, (num(join(d.mem, 'memory.max_usage_in_bytes')) || 0) / 1024);
      r.memFailcnt = num(join(d.mem, 'memory.failcnt'));
      r.oomKills = field(join(d.mem, 'memory.oom_control'), 'oom_kill');
    }
    if (d.cpu) r.throttledPeriods = field(join(d.cpu, 'cpu.stat'), 'nr_throttled');
    if (d.acct) r.cpuSec = num(join(d.acct, 'cpuacct.usage')) / 1e9;
    r.bytesReceived = c.received - received0;
    r.state = c.state;
    r.closed = c.closed?.code ?? null;
  });
  emit({ ev: 'result', value: reports });
  // Ctrl-C first so the flood stops writing; the server's SIGTERM destroys the boxes afterwards.
  for (const c of clients) c.write('\x03');
  await Promise.all(clients.map((c) => c.close()));
  process.exit(0);
}

if (process.argv[1]?.endsWith('load-attacker.ts')) {
  main(JSON.parse(process.argv[2] ?? '') as AttackArgs).catch((err: Error) => {
    process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  });
}
