// Kernel facts a learner's written answer is compared against (the "answer" check): each read from the host side of the box.
import { parseMountinfo } from '../engine/cgroups/detect.ts';
import type { BoxProbe } from './probe.ts';

export const FACTS = {
  /** Lines of the box's mount table. */
  'mount-count': (p: BoxProbe) => String(p.procText('mountinfo').trim().split('\n').length),
  /** Filesystem type of the box's root mount (the last mount on "/"). */
  'root-fstype': (p: BoxProbe) =>
    parseMountinfo(p.procText('mountinfo'))
      .filter((m) => m.mountPoint === '/')
      .at(-1)?.fsType ?? '?',
  /** pid inside the box of the process whose command line is `arg`. */
  'box-pid-of': (p: BoxProbe, arg?: string) => {
    const hit = p.processes().find((x) => x.argv.join(' ') === arg && x.state !== 'Z');
    return hit ? String(hit.boxPid) : null;
  },
  /** pid on the host of the process whose command line is `arg` (the same process, numbered by the host's PID namespace). */
  'host-pid-of': (p: BoxProbe, arg?: string) => {
    const hit = p.processes().find((x) => x.argv.join(' ') === arg && x.state !== 'Z');
    return hit ? String(hit.hostPid) : null;
  },
  /** Host uid that the box's root (uid 0) is mapped to. */
  'host-root-uid': (p: BoxProbe) => {
    const line = p
      .procText('uid_map')
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .find((f) => f[0] === '0');
    return line?.[1] ?? null;
  },
  /** The uid shown for files whose owner has no mapping in the box (the kernel's overflowuid, usually 65534). */
  overflowuid: (p: BoxProbe) => p.hostText('/proc/sys/kernel/overflowuid').trim(),
  /** Network interfaces in the box's network namespace. */
  'net-ifaces': (p: BoxProbe) => String(p.procText('net/dev').trim().split('\n').slice(2).length),
  /** PID 1's effective capability set, hex as in /proc/<pid>/status. */
  capeff: (p: BoxProbe) => /^CapEff:\s*([0-9a-f]+)/m.exec(p.procText('status'))?.[1] ?? null,
  /** PID 1's seccomp mode (2 = filter). */
  'seccomp-mode': (p: BoxProbe) => /^Seccomp:\s*(\d+)/m.exec(p.procText('status'))?.[1] ?? null,
  /** PID 1's parent pid as the box sees it: the namespaced parent lives outside the box's PID namespace, so 0. */
  'init-ppid': (p: BoxProbe) => String(p.processes().find((x) => x.hostPid === p.initPid)?.boxPpid ?? '?'),
  /** The box's UTS namespace as readlink shows it, e.g. uts:[4026532614]. */
  'uts-ns': (p: BoxProbe) => `uts:[${p.nsInode('uts')}]`,
  /** The box's hostname, read inside its UTS namespace. */
  hostname: async (p: BoxProbe) => (await p.inNamespace('uts', ['uname', '-n'])).trim(),
} satisfies Record<string, (p: BoxProbe, arg?: string) => string | null | Promise<string | null>>;

export type FactName = keyof typeof FACTS;
export const FACT_NAMES = Object.keys(FACTS) as FactName[];

export async function readFact(name: FactName, p: BoxProbe, arg?: string): Promise<string | null> {
  return FACTS[name](p, arg);
}

/** Whitespace-insensitive comparison of a written answer with the fact. */
export function answerMatches(answer: string, fact: string, mode: 'equals' | 'contains' | 'number'): boolean {
  const norm = (s: string) => s.replace(/\s+/g, ' ').trim();
  if (mode === 'number') {
    const m = /-?\d+/.exec(answer);
    return m !== null && Number(m[0]) === Number(fact);
  }
  return mode === 'equals' ? norm(answer) === norm(fact) : norm(answer).includes(norm(fact));
}
