// heap-child.ts: run as a child process by the costs section: grows its JS heap by N MB, then times box creation
// (fork1/fork2 copy this process's page tables) and measures what a live box's namespaced parent pins of that heap.
// Usage: node --expose-gc --import tsx bench/lib/heap-child.ts <ballastMB> <boxes> <image>; prints one JSON line.
import { readFileSync } from 'node:fs';
import { createSandbox } from '../../server/engine/index.ts';

const [mbArg, nArg, image] = process.argv.slice(2);
if (!image) throw new Error('usage: heap-child.ts <ballastMB> <boxes> <image>');
const ballastMB = Number(mbArg);
const n = Number(nArg);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function status(pid: number | 'self', key: string): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function rollup(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').matchAll(/^(\w+):\s+(\d+) kB/gm)) out[m[1]!] = Number(m[2]) / 1024;
  return { rssMiB: out.Rss ?? NaN, pssMiB: out.Pss ?? NaN, privateDirtyMiB: out.Private_Dirty ?? NaN };
}

// Old-space objects, as a server's long-lived state would be (sessions, caches, module graphs).
const ballast: object[] = [];
const base = status('self', 'RssAnon');
while (status('self', 'RssAnon') - base < ballastMB) {
  for (let i = 0; i < 20_000; i++) ballast.push({ i, s: `session-${i}-${ballast.length}`, a: [i, i + 1] });
}
gc();

const cfg = { baseDir: image, stdio: 'pipe' as const, shell: '/bin/true' };
const stage = (ev: readonly { stage: string; durationMs: number }[], s: string) => ev.find((e) => e.stage === s)?.durationMs ?? NaN;
const failures: string[] = [];
let tried = 0;
/** A failed create has already released everything (createSandbox's contract); it is counted, not hidden. */
async function tryCreate(c: typeof cfg & { args?: string[] }) {
  tried++;
  try {
    return await createSandbox(c);
  } catch (err) {
    failures.push((err as Error).message);
    return null;
  }
}
for (let i = 0; i < 2; i++) await (await tryCreate(cfg))?.destroy();
const fork1: number[] = [];
const fork2: number[] = [];
const create: number[] = [];
let attempts = 0;
while (create.length < n && attempts++ < n * 3) {
  await sleep(30);
  const t0 = performance.now();
  const box = await tryCreate(cfg);
  if (!box) continue;
  create.push(performance.now() - t0);
  await box.wait();
  await box.destroy();
  fork1.push(stage(box.events, 'fork1'));
  fork2.push(stage(box.events, 'fork2'));
}

// A long-lived box: after fork its namespaced parent shares our pages copy-on-write; every page Node writes
// afterwards (allocation, GC moving and marking objects) leaves the old copy owned by the namespaced parent alone.
let live = null;
for (let i = 0; i < 5 && !live; i++) live = await tryCreate({ ...cfg, shell: '/bin/sleep', args: ['30'] });
let pin: { before: Record<string, number>; after: Record<string, number> } | null = null;
if (live)
  try {
    const before = rollup(live.pids.namespacedParent);
    for (let round = 0; round < 5; round++) {
      let junk: object[] = [];
      for (let i = 0; i < 300_000; i++) junk.push({ i, s: `tmp-${i}` });
      junk = [];
      for (let i = 0; i < ballast.length; i += 7) (ballast[i] as { i: number }).i++; // the server's state changes too
      gc();
    }
    pin = { before, after: rollup(live.pids.namespacedParent) };
  } finally {
    await live.destroy();
  }

console.log(
  JSON.stringify({
    ballastMB,
    rssMiB: status('self', 'VmRSS'),
    rssAnonMiB: status('self', 'RssAnon'),
    pageTablesMiB: status('self', 'VmPTE'),
    fork1,
    fork2,
    create,
    pin,
    heapObjects: ballast.length,
    tried,
    failures,
  }),
);
