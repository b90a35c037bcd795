// stall-report.ts: reads what bench/lib/stall-watch.ts and --cpu-prof left in a directory and prints each event-loop
// stall with the GC pauses inside it and the profile's hottest stacks inside it (what ran, or that nothing did).
// CLI: `node --import tsx bench/lib/stall-report.ts DIR` (whole run).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fmtMs, summarize } from './stats.ts';

type Ev =
  | { ev: 'stall'; fromUs: number; toUs: number; ms: number; cpuMs?: number; waitMs?: number; slices?: number }
  | { ev: 'gc'; kind: string; startUs: number; ms: number }
  | { ev: 'phase'; name: string; us: number };
type StallEv = Extract<Ev, { ev: 'stall' }>;
interface ProfNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export function report(dir: string, startUs = 0, near: (s: StallEv) => string[] = () => [], out: (l: string) => void = console.log): void {
  const events = readFileSync(join(dir, 'stalls.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Ev);
  const stalls = events.filter((x): x is StallEv => x.ev === 'stall' && x.toUs > startUs);
  const gcs = events.filter((x): x is Extract<Ev, { ev: 'gc' }> => x.ev === 'gc' && x.startUs > startUs);
  for (const k of ['minor', 'major', 'incremental', 'weakcb']) {
    const g = gcs.filter((x) => x.kind === k).map((x) => x.ms);
    if (g.length) out(`gc ${k} (pauses >= 1 ms): n=${g.length} p50 ${fmtMs(summarize(g).p50)} max ${fmtMs(summarize(g).max)} ms`);
  }
  const phases = events.filter((x): x is Extract<Ev, { ev: 'phase' }> => x.ev === 'phase');
  const phaseAt = (us: number) => {
    const p = phases.filter((x) => x.us <= us).pop();
    return p ? `${p.name} +${((us - p.us) / 1e6).toFixed(2)} s` : `${((us - startUs) / 1e6).toFixed(2)} s`;
  };
  const profFile = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  const prof = profFile ? (JSON.parse(readFileSync(join(dir, profFile), 'utf8')) as Profile) : null;
  const byId = new Map<number, ProfNode>();
  const parent = new Map<number, number>();
  for (const n of prof?.nodes ?? []) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const times: number[] = [];
  if (prof) {
    let t = prof.startTime;
    for (const d of prof.timeDeltas) times.push((t += d));
  }
  const frame = (id: number) => {
    const f = byId.get(id)!.callFrame;
    return `${f.functionName || '(anon)'} ${f.url.replace(/^.*\/(node_modules\/)?/, '')}:${f.lineNumber + 1}`;
  };
  const stack = (id: number, depth = 7) => {
    const s: string[] = [];
    for (let x: number | undefined = id; x !== undefined && s.length < depth; x = parent.get(x)) s.push(frame(x));
    return s.join(' < ');
  };
  // Each stall's dominant part: the main thread running (our code or GC), waiting for a CPU (the machine), or
  // neither (blocked: a syscall, or a GC waiting for its helper threads).
  const parts = { running: 0, runqueue: 0, blocked: 0 };
  for (const s of stalls) {
    if (s.cpuMs === undefined || s.waitMs === undefined) continue;
    const blocked = s.ms - s.cpuMs - s.waitMs;
    parts[s.cpuMs >= s.waitMs && s.cpuMs >= blocked ? 'running' : s.waitMs >= blocked ? 'runqueue' : 'blocked']++;
  }
  const worst = stalls.reduce((m, s) => Math.max(m, s.ms), 0);
  out(
    `stalls: ${stalls.length}, max ${worst} ms; mostly running ${parts.running}, waiting for a CPU ${parts.runqueue}, blocked ${parts.blocked}`,
  );
  out(`\n${stalls.length} stalls over the threshold:`);
  for (const s of stalls) {
    const inGc = gcs.filter((g) => g.startUs < s.toUs && g.startUs + g.ms * 1000 > s.fromUs);
    const n0 = near(s);
    out(
      `\n stall ${s.ms} ms at ${phaseAt(s.fromUs)} (main thread on CPU ${s.cpuMs} ms, waiting for a CPU ${s.waitMs} ms, ${s.slices} slices); gc: ${inGc.map((g) => `${g.kind} ${g.ms} ms`).join(', ') || 'none'}${n0.length ? `; slow echoes near: ${n0.join(' ')}` : ''}`,
    );
    if (!prof) continue;
    const counts = new Map<string, number>();
    let n = 0;
    let maxGap = 0;
    let prev = s.fromUs;
    for (let i = 0; i < times.length; i++) {
      const t = times[i]!;
      if (t < s.fromUs || t > s.toUs) continue;
      maxGap = Math.max(maxGap, t - prev);
      prev = t;
      n++;
      const k = stack(prof.samples[i]!);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    maxGap = Math.max(maxGap, s.toUs - prev);
    out(`   ${n} profile samples; longest gap between samples ${(maxGap / 1000).toFixed(1)} ms`);
    for (const [k, c] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, 6)) out(`   ${String(c).padStart(4)}  ${k}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) report(process.argv[2]!);
