// A fake BoxProbe for check tests: layers, processes, /proc texts, stats and namespaced command outputs set by hand.
import type fs from 'node:fs';
import type { SandboxStats, StageEvent } from '../../engine/types.ts';
import type { SubCgroup } from '../../engine/cgroups/delegate-box.ts';
import type { Memo } from '../checks.ts';
import { compileCheck } from '../compose.ts';
import type { BoxProbe, BoxProc } from '../probe.ts';

/** ctimeMs: when it was last changed (Date.now() scale; default 0, long ago). */
type Entry = { kind: 'file' | 'dir' | 'whiteout'; uid?: number; mode?: number; data?: string; ctimeMs?: number };
const stat = (e: Entry): fs.Stats =>
  ({
    isFile: () => e.kind === 'file',
    isDirectory: () => e.kind === 'dir',
    isCharacterDevice: () => e.kind === 'whiteout',
    rdev: 0,
    uid: e.uid ?? 1_000_000,
    mode: e.mode ?? 0o644,
    size: e.data?.length ?? 0,
    ctimeMs: e.ctimeMs ?? 0,
  }) as unknown as fs.Stats;

export function stats(over: { oom?: number; throttled?: number; usage?: number; pids?: number; refused?: number } = {}): SandboxStats {
  return {
    memory: { current: 5 << 20, limit: 64 << 20, oomKills: over.oom ?? 0 },
    cpu: { usageUsec: over.usage ?? 0, quotaFraction: 0.2, nrThrottled: over.throttled ?? 0, throttledUsec: 0 },
    pids: { current: over.pids ?? 1, max: 32, refused: over.refused ?? 0 },
    cgroupVersion: 1,
  };
}

export class FakeProbe implements BoxProbe {
  id = 'bx-fake';
  initPid = 100;
  events: StageEvent[] = [];
  upper = new Map<string, Entry>();
  lower = new Map<string, Entry>();
  procs: BoxProc[] = [
    { hostPid: 100, boxPid: 1, boxPpid: 0, hostPpid: 99, pgrpHost: 100, name: 'sh', argv: ['/bin/sh', '-l'], state: 'S' },
  ];
  proc: Record<string, string> = {
    uid_map: '         0 1000000      65536\n',
    'net/dev': 'h1\nh2\n    lo: 100 7 0 0 0 0 0 0 100 7 0 0 0 0 0 0\n',
  };
  st = stats();
  subtree: SubCgroup[] = [];
  async cgroupSubtree() {
    return this.subtree;
  }
  ns: Record<string, string> = {};
  roots = new Map<number, string>();
  cwdOut = new Set<number>();
  processes() {
    return this.procs.map((p) => ({ ...p }));
  }
  upperStat(rel: string) {
    const e = this.upper.get(rel);
    return e ? stat(e) : null;
  }
  lowerStat(rel: string) {
    const e = this.lower.get(rel);
    return e ? stat(e) : null;
  }
  readUpper(rel: string) {
    const e = this.upper.get(rel);
    return e?.kind === 'file' ? { data: Buffer.from(e.data ?? ''), stat: stat(e) } : null;
  }
  procText(rel: string) {
    const t = this.proc[rel];
    if (t === undefined) throw new Error(`ENOENT ${rel}`);
    return t;
  }
  hostText(p: string) {
    return p === '/proc/sysvipc/shm' || p.startsWith('/proc/net/') ? 'header\n' : '65534\n';
  }
  async stats() {
    return this.st;
  }
  async inNamespace(kind: string, argv: string[]) {
    return this.ns[`${kind}:${argv.join(' ')}`] ?? '';
  }
  nsInode() {
    return 4026532999;
  }
  boxDirId(rel: string) {
    return rel === '/jail' ? '1:42' : null;
  }
  rootIdOf(pid: number) {
    return this.roots.get(pid) ?? '1:2';
  }
  cwdOutside(pid: number) {
    return this.cwdOut.has(pid);
  }
}

/** A legacy `type:` check (mapped onto the vocabulary by legacy.ts) or a vocabulary map, compiled as a lesson would be. */
export async function run(type: string | null, probe: BoxProbe, params: Record<string, unknown>, memo?: Memo) {
  const value = type ? { type, ...params } : params;
  const c = compileCheck(value, { value, lineOf: () => 1 }, 't.md');
  const m = memo ?? (await c.init(probe));
  return { r: await c.run(probe, m), memo: m, check: c };
}
