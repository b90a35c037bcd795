// fork.ts (section): what fork() of the Node server costs a box (fork1, fork2) and what a live box pins of its memory.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultImagePath, ensureImage } from '../../server/rootfs/index.ts';
import { Probe, type ForkResult } from '../lib/probe.ts';
import { fmtMs, markdownTable, median, summarize } from '../lib/stats.ts';
import type { Section } from './types.ts';

const HEAP_CHILD = join(dirname(fileURLToPath(import.meta.url)), '..', 'lib', 'heap-child.ts');

/** smaps_rollup of the namespaced parent, as heap-child.ts reports it. */
interface PinMiB {
  rssMiB: number;
  pssMiB: number;
  privateDirtyMiB: number;
}

interface HeapChildResult {
  ballastMB: number;
  rssMiB: number;
  rssAnonMiB: number;
  pageTablesMiB: number;
  fork1: number[];
  fork2: number[];
  create: number[];
  pin: { before: PinMiB; after: PinMiB } | null;
  tried: number;
  failures: string[];
}

/** RSS of this process inside VMAs marked VM_DONTCOPY ("dc" in smaps VmFlags): V8 madvises its heap so. */
export function dontCopyShare(smaps = readFileSync('/proc/self/smaps', 'utf8')): { dontCopyMiB: number; otherMiB: number } {
  let dc = 0;
  let other = 0;
  for (const vma of smaps.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const rss = Number(/^Rss:\s+(\d+) kB/m.exec(vma)?.[1] ?? 0);
    if (/^VmFlags:.*\bdc\b/m.test(vma)) dc += rss;
    else other += rss;
  }
  return { dontCopyMiB: dc / 1024, otherMiB: other / 1024 };
}

export const forkSection: Section = {
  name: 'fork',
  title: 'fork() of the Node server: fork1/fork2 cost and copy-on-write pinning',
  async run({ quick, log }) {
    const image = defaultImagePath();
    await ensureImage(image, () => {});
    const probe = new Probe();
    const sizes = quick ? [0, 64, 256] : [0, 32, 128, 512];
    const forks: ForkResult[] = [];
    try {
      for (const mb of sizes) {
        log(`fork: probe with ${mb} MiB of touched anonymous memory`);
        forks.push(probe.run<ForkResult>(['fork', mb, quick ? 10 : 30]));
      }
    } finally {
      probe.dispose();
    }
    const heaps: HeapChildResult[] = [];
    for (const mb of quick ? [0, 300] : [0, 100, 300]) {
      log(`fork: engine in a Node process with +${mb} MiB of JS heap`);
      const out = execFileSync(
        process.execPath,
        ['--expose-gc', '--import', 'tsx', HEAP_CHILD, String(mb), String(quick ? 10 : 30), image],
        {
          encoding: 'utf8',
          maxBuffer: 16 << 20,
        },
      );
      heaps.push(JSON.parse(out.trim().split('\n').pop()!) as HeapChildResult);
    }
    const dc = dontCopyShare();
    const forkRows = forks.map((f) => [
      String(f.mb),
      fmtMs(median(f.fork_return)),
      fmtMs(median(f.fork_reap)),
      fmtMs(median(f.vfork_reap)),
      fmtMs(median(f.clone_vm_vfork_reap)),
      fmtMs(median(f.vfork_exec_helper_reap)),
    ]);
    const heapRows = heaps.map((h) => [
      `+${h.ballastMB}`,
      Math.round(h.rssMiB).toString(),
      Math.round(h.rssAnonMiB).toString(),
      h.pageTablesMiB.toFixed(1),
      fmtMs(median(h.fork1)),
      fmtMs(median(h.fork2)),
      fmtMs(summarize(h.create).p50),
      h.pin ? `${h.pin.after.privateDirtyMiB.toFixed(1)} (was ${h.pin.before.privateDirtyMiB.toFixed(1)})` : 'n/a',
      `${h.failures.length}/${h.tried}`,
    ]);
    const markdown = [
      '### fork() cost by touched anonymous memory (C probe, median ms)',
      '',
      markdownTable(
        [
          'MiB',
          'fork() returns',
          'fork + child exit + reap',
          'vfork + exit + reap',
          'clone(CLONE_VM|CLONE_VFORK) + exit + reap',
          'vfork + execve(small helper) + exit + reap',
        ],
        forkRows,
      ),
      '',
      `This Node process: ${dc.dontCopyMiB.toFixed(0)} MiB of its RSS is in VM_DONTCOPY mappings (the V8 heap: never copied by fork), ${dc.otherMiB.toFixed(0)} MiB elsewhere (malloc, Buffers, code).`,
      '',
      "### Engine fork1 / fork2 vs the server's heap (child Node processes, median ms)",
      '',
      markdownTable(
        [
          'JS heap ballast MiB',
          'RSS MiB',
          'RssAnon MiB',
          'page tables MiB',
          'fork1',
          'fork2',
          'create p50',
          'namespaced parent Private_Dirty MiB after heap churn',
          'failed creates',
        ],
        heapRows,
      ),
      '',
      ...heaps.flatMap((h) => h.failures.map((f) => `Failure at +${h.ballastMB} MiB: ${f}`)),
    ].join('\n');
    return { markdown, json: { forks, heaps, thisProcess: dc } };
  },
};
