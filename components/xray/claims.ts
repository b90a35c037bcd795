// What the x-ray's captions claim about the box, in one table: the views render these words and
// server/xray/captions.root.test.ts checks each claim against the kernel in a real box, so the two cannot drift.
import type { NS_KINDS } from '../../server/protocol/xray';
import type { LessonSlug } from './ui';

export type NsKind = (typeof NS_KINDS)[number];

/** The caption is one SVG text line of a 400-unit row (NamespacesView): longer words are cut off. */
export const MAX_CAPTION_CHARS = 64;

export interface NsClaim {
  title: string;
  /** The caption under the namespace's row: only what the box really lets you see or do (MAX_CAPTION_CHARS). */
  words: string;
  /** The lesson that teaches it; null when there is none (no link rather than a wrong one). */
  lesson: LessonSlug | null;
  /** Isolated: the box has a namespace of its own (a different inode); false: it shares the host's. */
  isolated: boolean;
}

/**
 * sethostname(2) needs CAP_SYS_ADMIN in the user namespace owning the UTS namespace. The box drops it, so renaming
 * fails there with EPERM; a mode that kept it would rename only the box. The caption names the capability, so it stays
 * true either way; the root test checks the branch the box's CapEff selects.
 */
export const UTS_RENAME_CAP = { name: 'CAP_SYS_ADMIN', bit: 21 } as const;

export const NS_CLAIMS: Record<NsKind, NsClaim> = {
  pid: { title: 'PID', words: 'Process IDs: the box counts from 1, blind to host processes.', lesson: 'pid-namespace', isolated: true },
  mnt: { title: 'mount', words: 'Mount table: the box’s /, /proc and /dev mounts are its own.', lesson: 'mount-namespace', isolated: true },
  uts: {
    title: 'UTS',
    words: `Hostname: its own, set by Boxlab; renaming needs ${UTS_RENAME_CAP.name}.`,
    lesson: 'uts-namespace',
    isolated: true,
  },
  ipc: { title: 'IPC', words: 'Shared memory and message queues are the box’s own.', lesson: 'ipc-namespace', isolated: true },
  net: {
    title: 'network',
    words: 'Network: only a loopback, no route out; host sockets invisible.',
    lesson: 'network-namespace',
    isolated: true,
  },
  user: { title: 'user', words: 'User IDs: root inside is an unprivileged uid on the host.', lesson: 'user-namespace', isolated: true },
  cgroup: { title: 'cgroup', words: 'cgroup view: the box sees its own cgroup as the root.', lesson: 'cgroup-memory', isolated: true },
  time: { title: 'time', words: 'Boot and monotonic clocks: shared with the host here.', lesson: null, isolated: false },
};

/** Commands the captions invite the learner to try; each must succeed in a fresh box. */
export const TRY_COMMANDS = {
  layers: ['echo hi > /tmp/x', 'rm /etc/hosts'],
  processes: ['sleep 100 &'],
} as const;
