// Vocabulary words for namespaces, mounts, listening ports, interfaces and SysV shared memory, all read from the host side.
import { z } from 'zod';
import { parseMountinfo } from '../engine/cgroups/detect.ts';
import type { CheckDef, Memo } from './checks.ts';
import { listeningPorts, matching, rxPackets, shmSegments } from './kernel-reads.ts';
import type { BoxProbe } from './probe.ts';

const pass = (message: string) => ({ ok: true, message });
const fail = (message: string) => ({ ok: false, message });
const NS_KINDS = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'user', 'uts'] as const;

const nsParams = z.strictObject({
  namespace: z.enum(NS_KINDS),
  /** host: the server's own namespace (the host's); otherwise a command-line substring of another box process. */
  differsFrom: z.string().min(1).default('host'),
});
type NsParams = z.infer<typeof nsParams>;

const mountParams = z.strictObject({ mount: z.string().regex(/^\//, 'must be a mount point in the box'), fstype: z.string().optional() });
const listenParams = z.strictObject({ listen: z.number().int().min(1).max(65535) });
const ifParams = z.strictObject({
  interface: z.string().regex(/^[\w.-]{1,15}$/, 'must be an interface name'),
  up: z.boolean().default(true),
  /** Packets received since the step began. */
  rxPackets: z.number().int().min(0).default(0),
});
const shmParams = z.strictObject({ shm: z.literal('any'), attachedByOther: z.boolean().default(false) });

export const NET_CHECKS: Record<string, CheckDef> = {
  namespace: {
    params: nsParams,
    summary: (p: NsParams) =>
      `the box's ${p.namespace} namespace differs from ${p.differsFrom === 'host' ? "the host's" : `that of "${p.differsFrom}"`}`,
    run(probe: BoxProbe, p: NsParams) {
      const box = probe.nsInode(p.namespace);
      if (p.differsFrom === 'host') {
        const host = probe.hostNsInode?.(p.namespace) ?? null;
        return host !== null && host !== box
          ? pass(`${p.namespace}:[${box}] in the box, ${p.namespace}:[${host}] on the host`)
          : fail(`the box shares the host's ${p.namespace} namespace`);
      }
      const other = matching(probe.processes(), { argv: p.differsFrom }).find((x) => x.hostPid !== probe.initPid);
      if (!other) return fail(`no "${p.differsFrom}" in the box`);
      const ino = probe.procNsInode?.(other.hostPid, p.namespace) ?? null;
      if (ino === null) return fail(`"${p.differsFrom}" is gone`);
      return ino !== box
        ? pass(`"${p.differsFrom}" (host pid ${other.hostPid}) is in ${p.namespace}:[${ino}], PID 1 in ${p.namespace}:[${box}]`)
        : fail(`"${p.differsFrom}" shares PID 1's ${p.namespace} namespace ${p.namespace}:[${box}]`);
    },
  },

  mount: {
    params: mountParams,
    summary: (p: z.infer<typeof mountParams>) => `${p.mount} is a mount point in the box${p.fstype ? ` (${p.fstype})` : ''}`,
    run(probe: BoxProbe, p: z.infer<typeof mountParams>) {
      const here = parseMountinfo(probe.procText('mountinfo')).filter((m) => m.mountPoint === p.mount);
      const top = here.at(-1);
      if (!top) return fail(`nothing is mounted on ${p.mount}`);
      if (p.fstype && top.fsType !== p.fstype) return fail(`${p.mount} is ${top.fsType}, not ${p.fstype}`);
      return pass(`${p.mount}: ${top.fsType} (${here.length} mount(s) there)`);
    },
  },

  listen: {
    params: listenParams,
    summary: (p: { listen: number }) => `a TCP socket listens on port ${p.listen} in the box's network namespace`,
    run(probe: BoxProbe, p: { listen: number }) {
      const ports = listeningPorts(probe);
      if (!ports.has(p.listen)) return fail(`nothing listens on ${p.listen}${ports.size ? ` (listening: ${[...ports].join(', ')})` : ''}`);
      const onHost = listeningPorts(probe, true).has(p.listen);
      return pass(
        `port ${p.listen} listens in the box's network namespace; ${onHost ? `the host's own port ${p.listen} is another socket` : `on the host nothing listens on ${p.listen}`}`,
      );
    },
  },

  interface: {
    params: ifParams,
    summary: (p: z.infer<typeof ifParams>) =>
      `${p.interface} is ${p.up ? 'up' : 'down'}${p.rxPackets ? ` and received at least ${p.rxPackets} packets since this step began` : ''}`,
    init: async (probe: BoxProbe, p: z.infer<typeof ifParams>) => ({ base: await rxPackets(probe, p.interface) }),
    async run(probe: BoxProbe, p: z.infer<typeof ifParams>, memo: Memo) {
      if ((await rxPackets(probe, p.interface)) === null) return fail(`the box has no ${p.interface}`);
      const link = await probe.inNamespace('net', ['ip', '-o', 'link', 'show', 'dev', p.interface]);
      const up = /[<,]UP[,>]/.test(link);
      if (up !== p.up) return fail(`${p.interface} is ${up ? 'up' : 'down'}`);
      const n = ((await rxPackets(probe, p.interface)) ?? 0) - ((memo.base as number | null) ?? 0);
      if (n < p.rxPackets) return fail(`${p.interface} is ${up ? 'up' : 'down'}; ${n} packets so far`);
      return pass(`${p.interface} is ${up ? 'up' : 'down'} and received ${n} packets`);
    },
  },

  shm: {
    params: shmParams,
    summary: (p: z.infer<typeof shmParams>) =>
      p.attachedByOther
        ? "a second process attached the box's shared memory segment"
        : "a System V shared memory segment exists in the box's IPC namespace",
    async run(probe: BoxProbe, p: z.infer<typeof shmParams>) {
      const segs = await shmSegments(probe);
      const [seg] = segs;
      if (!seg) return fail("the box's IPC namespace has no shared memory segment");
      const what = `key ${seg.key}, ${seg.size} bytes`;
      if (!p.attachedByOther) {
        // The server's own IPC namespace is the host's: the same key there would be another object.
        const onHost = probe
          .hostText('/proc/sysvipc/shm')
          .trim()
          .split('\n')
          .slice(1)
          .filter((l) => l.trim().split(/\s+/)[0] === seg.key).length;
        const host = onHost
          ? `the host has ${onHost} other segment(s) with that key: different objects`
          : "the host's IPC namespace has no segment with that key";
        return pass(`segment ${what}, created by host pid ${seg.cpid}; ${host}`);
      }
      return seg.lpid !== seg.cpid
        ? pass(`segment ${what}: last attached by host pid ${seg.lpid}, not its creator`)
        : fail(`only the creator (host pid ${seg.cpid}) used segment ${what}`);
    },
  },
};
