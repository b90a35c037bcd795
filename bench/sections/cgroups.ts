// cgroups.ts (section): the kernel cost of a box's v1 cgroups (mkdir, attach seq vs parallel, idle vs busy) and
// the Node cost around it (fs/promises thread-pool round trips vs synchronous calls on cgroupfs).
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { machineFacts } from '../lib/machine.ts';
import { Probe, ScratchCgroups, type AttachResult, type MkdirResult } from '../lib/probe.ts';
import { fmtMs, markdownTable, median, summarize } from '../lib/stats.ts';
import type { Section } from './types.ts';

const hierarchy = (dir: string, names: string[], dirs: string[]) => names[dirs.indexOf(dir)] ?? basename(dirname(dir));

/** One value written to a cgroupfs file the way the engine does (open, write, close), async vs sync. */
async function writeCost(file: string, value: string, n: number): Promise<{ promises: number[]; sync: number[] }> {
  const promises: number[] = [];
  const sync: number[] = [];
  const flags = fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW | fs.constants.O_TRUNC;
  for (let i = 0; i < n; i++) {
    let t = performance.now();
    const fh = await fsp.open(file, flags);
    await fh.write(value);
    await fh.close();
    promises.push(performance.now() - t);
    t = performance.now();
    const fd = fs.openSync(file, flags);
    fs.writeSync(fd, value);
    fs.closeSync(fd);
    sync.push(performance.now() - t);
  }
  return { promises, sync };
}

export const cgroupsSection: Section = {
  name: 'cgroups',
  title: 'cgroup v1 costs: create, attach (RCU grace period), remove',
  async run({ quick, log }) {
    const iters = quick ? 12 : 40;
    const probe = new Probe();
    let scratch: ScratchCgroups | null = null;
    const attach: { gapMs: number; r: AttachResult }[] = [];
    let mk: MkdirResult;
    let write: { promises: number[]; sync: number[] };
    try {
      scratch = await ScratchCgroups.create();
      for (const gapMs of [0, 50]) {
        for (const mode of ['seq', 'par']) {
          log(`cgroups: attach ${mode}, ${gapMs} ms idle before each`);
          attach.push({ gapMs, r: probe.run<AttachResult>(['attach', iters, mode, ...scratch.targets], { PROBE_GAP_MS: String(gapMs) }) });
        }
      }
      log('cgroups: mkdir/rmdir per hierarchy');
      mk = probe.run<MkdirResult>(['mkdir', iters, ...scratch.parents]);
      const pidsTarget = scratch.targets[scratch.names.indexOf('pids')];
      if (pidsTarget === undefined) throw new Error('cgroups: the scratch cgroups have no pids hierarchy');
      write = await writeCost(join(pidsTarget, 'pids.max'), '128', quick ? 50 : 200);
    } finally {
      scratch?.remove();
      probe.dispose();
    }
    const { names, targets, parents } = scratch;
    const facts = machineFacts();
    const attachRows = attach.map(({ gapMs, r }) => {
      const s = summarize(r.total);
      const per = Object.entries(r.perDir)
        .map(([d, v]) => `${hierarchy(d, names, targets)} ${fmtMs(median(v))}`)
        .join(', ');
      return [r.mode === 'seq' ? 'sequential' : 'parallel (1 thread each)', String(gapMs), fmtMs(s.p50), fmtMs(s.p90), fmtMs(s.max), per];
    });
    const mkRows = Object.entries(mk.mkdir).map(([d, ms]) => [
      hierarchy(d, names, parents),
      fmtMs(median(ms)),
      fmtMs(median(mk.rmdir[d] ?? [])),
    ]);
    const ws = { promises: summarize(write.promises), sync: summarize(write.sync) };
    const markdown = [
      `### Attach: write a pid to cgroup.procs of the ${names.length} box hierarchies (${names.join(', ')}) (ms)`,
      '',
      markdownTable(['writes', 'idle ms before', 'total p50', 'p90', 'max', 'median per hierarchy'], attachRows, [
        'l',
        'r',
        'r',
        'r',
        'r',
        'l',
      ]),
      '',
      `Kernel mode: ${facts.perThreadgroupRwsem ? 'per-threadgroup rwsem ON (favordynmods was enabled since boot: cgroup.procs writes no longer wait for an RCU grace period)' : facts.perThreadgroupRwsem === false ? 'default (global cgroup_threadgroup_rwsem: the first cgroup.procs write after idle waits for an RCU grace period)' : 'unknown (dmesg unreadable)'}.`,
      '',
      '### mkdir / rmdir of one cgroup per hierarchy (median ms)',
      '',
      markdownTable(['hierarchy', 'mkdir', 'rmdir'], mkRows),
      '',
      '### One cgroupfs write (open + write + close of pids.max), Node (ms)',
      '',
      markdownTable(
        ['API', 'p50', 'p90', 'p99'],
        [
          ['fs/promises (what the engine uses)', fmtMs(ws.promises.p50), fmtMs(ws.promises.p90), fmtMs(ws.promises.p99)],
          ['fs sync calls', fmtMs(ws.sync.p50), fmtMs(ws.sync.p90), fmtMs(ws.sync.p99)],
        ],
      ),
    ].join('\n');
    return {
      markdown,
      json: {
        attach,
        mkdir: mk,
        write,
        hierarchies: names,
        cgroupMounts: facts.cgroupMounts,
        perThreadgroupRwsem: facts.perThreadgroupRwsem,
      },
    };
  },
};
