// Lab-mode lesson checks: what the learner built inside the box (nested namespaces, mounts, roots, links), read on the host.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { z } from 'zod';
import { lstatBeneath, tryOr } from '../boxfs/index.ts';
import type { CheckDef, CheckResult } from './checks.ts';
import type { BoxProbe, BoxProc } from './probe.ts';

const KINDS = ['user', 'pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup'] as const;
type Kind = (typeof KINDS)[number];
const pass = (message: string): CheckResult => ({ ok: true, message });
const fail = (message: string): CheckResult => ({ ok: false, message });

const read = (p: string): string | null => {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return null;
  }
};
/** The namespace a process is in, as the host's /proc/<pid>/ns/<kind> names it (pid_for_children for pid: the
 * namespace `unshare -p` made applies to the children, which are then in it themselves). */
const nsIno = (pid: number, kind: Kind): number | null => {
  try {
    return fs.statSync(`/proc/${pid}/ns/${kind}`).ino;
  } catch {
    return null;
  }
};
export const nspidOf = (pid: number): number[] =>
  (/^NSpid:\s+(.*)$/m.exec(read(`/proc/${pid}/status`) ?? '')?.[1] ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
/** mountinfo lines as { target, fstype, source, options }. */
const mountsOf = (pid: number) =>
  (read(`/proc/${pid}/mountinfo`) ?? '')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [a = '', b = ''] = l.split(' - ');
      const f = a.split(' ');
      const [fstype, source, super_] = b.split(' ');
      return { target: f[4], fstype, source, options: `${f[5]},${super_}` };
    });
/** Non-loopback interfaces of a process's network namespace with their received packets (/proc/<pid>/net/dev). */
const linksOf = (pid: number) =>
  (read(`/proc/${pid}/net/dev`) ?? '')
    .split('\n')
    .slice(2)
    .map((l) => /^\s*([^:]+):\s*\d+\s+(\d+)/.exec(l))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => ({ name: m[1], rxPackets: Number(m[2]) }))
    .filter((x) => x.name !== 'lo');
const hostnameOf = (pid: number): Promise<string> =>
  new Promise((resolve) => {
    execFile('nsenter', [`--uts=/proc/${pid}/ns/uts`, 'uname', '-n'], { timeout: 2000 }, (err, out) => resolve(err ? '' : out.trim()));
  });

export const nestedParams = z.strictObject({
  /** The word's value: namespaces the process must hold apart from the box's own (PID 1's). */
  nested: z.array(z.enum(KINDS)).min(1),
  /** Pick the process by a piece of its command line. */
  argv: z.string().optional(),
  /** It is PID 1 of a nested PID namespace: NSpid has a level below the box's, ending in 1. */
  pid1: z.boolean().optional(),
  hostname: z.string().optional(),
  /** A mount of this type at this path in its mount namespace (and not in the box's). */
  fstype: z.string().optional(),
  target: z.string().optional(),
  /** A path that must exist under the process's root (/proc/<pid>/root/<path>, walked without following links).
   * Not `file`: that is a word of its own (a check map holds one word). */
  rootHas: z
    .string()
    .regex(/^\/[^\0]*$/, 'must be an absolute path under its root')
    .optional(),
  /** Its root directory is not the box's root (pivot_root or chroot into something else). */
  newRoot: z.boolean().optional(),
  /** A link of its network namespace received packets, and so did one of the box's (a ping across a veth pair). */
  traffic: z.boolean().optional(),
});
type NestedParams = z.infer<typeof nestedParams>;

const rootId = (pid: number): string | null => {
  try {
    const st = fs.statSync(`/proc/${pid}/root/`);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
};

/** Everything the learner's process must show; null when it does, else the first missing fact. */
async function missing(probe: BoxProbe, p: BoxProc, want: NestedParams): Promise<string | null> {
  const init = probe.initPid;
  for (const k of want.nested) {
    const a = nsIno(p.hostPid, k);
    if (a === null || a === nsIno(init, k)) return `it shares the box's ${k} namespace`;
  }
  const nspid = nspidOf(p.hostPid);
  if (want.pid1 && !(nspid.length >= 3 && nspid[nspid.length - 1] === 1))
    return `its NSpid is ${nspid.join(' ')}: not PID 1 of a namespace of its own`;
  if (want.hostname !== undefined && (await hostnameOf(p.hostPid)) !== want.hostname) return `its hostname is not "${want.hostname}"`;
  if (want.target !== undefined) {
    const hit = mountsOf(p.hostPid).find((m) => m.target === want.target && (!want.fstype || m.fstype === want.fstype));
    if (!hit) return `no ${want.fstype ?? ''} mount at ${want.target} in its mount namespace`;
    if (mountsOf(init).some((m) => m.target === want.target && m.fstype === hit.fstype))
      return `the box itself has that mount at ${want.target} too`;
  }
  if (want.newRoot && rootId(p.hostPid) === rootId(init)) return "its root directory is still the box's root";
  // The learner's links are not followed: a host-root lookup through them would tell whether a host path exists.
  if (want.rootHas !== undefined && !tryOr(() => lstatBeneath(`/proc/${p.hostPid}/root`, want.rootHas!), null))
    return `${want.rootHas} does not exist under its root`;
  if (want.traffic) {
    const mine = linksOf(p.hostPid).filter((l) => l.rxPackets > 0);
    const box = linksOf(init).filter((l) => l.rxPackets > 0);
    if (!mine.length) return 'no link of its network namespace received a packet yet';
    if (!box.length) return "no link of the box's own network namespace received a packet yet";
  }
  return null;
}

const describeNested = (p: BoxProc): string => {
  const nspid = nspidOf(p.hostPid);
  const levels = ['host', 'box', 'yours', 'yours, nested'].slice(0, nspid.length).join(' → ');
  return `${p.argv.join(' ').slice(0, 60) || p.name}: NSpid ${nspid.join(' → ')} (${levels}), user ns ${nsIno(p.hostPid, 'user')}`;
};

export const LAB_CHECKS: Record<string, CheckDef> = {
  nested: {
    params: nestedParams,
    summary: (p: NestedParams) =>
      `a process ${p.argv ? `running "${p.argv}" ` : ''}in ${p.nested.join(', ')} namespace(s) of its own${p.pid1 ? ', as PID 1' : ''}`,
    async run(probe, p: NestedParams) {
      const candidates = probe
        .processes()
        .filter((x) => x.state !== 'Z' && x.hostPid !== probe.initPid && (!p.argv || x.argv.join(' ').includes(p.argv)));
      let first: string | null = null;
      for (const c of candidates) {
        const why = await missing(probe, c, p);
        if (!why) return pass(describeNested(c));
        first ??= `${c.argv.join(' ').slice(0, 40) || c.name}: ${why}`;
      }
      return fail(first ?? `no process${p.argv ? ` running "${p.argv}"` : ''} besides your shell`);
    },
  },
};
