// The 16 check types of the first course (`type: file`, `type: chroot`, ...) mapped onto the vocabulary, so lesson files
// written before it keep working; docs/authoring.md shows each mapping.
import { FormatError } from './yaml.ts';

type Params = Record<string, unknown>;
const TEARDOWN = ['child_exit', 'umount_proc', 'umount_dev', 'namespaced_parent_exit', 'overlay_umount', 'cgroup_remove', 'cleanup_done'];
const MiB = 1024 * 1024;
const LAYER: Record<string, string> = { 'upper-only': 'new', 'copied-up': 'copied-up', whiteout: 'whiteout', present: 'upper' };

/** Each legacy type: its allowed keys and the vocabulary check it becomes. */
const MAP: Record<string, { keys: string[]; to(p: Params): Params }> = {
  file: {
    keys: ['path', 'state', 'contains', 'executable', 'owner'],
    to: ({ path, state, ...rest }) => ({ file: path, ...(state !== undefined ? { layer: LAYER[String(state)] ?? state } : {}), ...rest }),
  },
  answer: { keys: ['path', 'fact', 'arg', 'match'], to: ({ fact, ...rest }) => ({ answer: fact, ...rest }) },
  'hostname-file': { keys: ['path'], to: ({ path }) => ({ file: path ?? '/etc/hostname', differsFromFact: 'hostname' }) },
  process: {
    keys: ['name', 'argv', 'state', 'orphan', 'absent', 'seenFirst', 'since'],
    to: ({ argv, ...rest }) => ({ process: argv ?? 'any', ...rest }),
  },
  chroot: { keys: ['dir', 'escaped'], to: ({ dir, escaped }) => ({ process: 'any', root: dir, ...(escaped ? { cwdOutside: true } : {}) }) },
  'memory-usage': {
    keys: ['minMiB'],
    to: ({ minMiB }) => ({ cgroup: 'memory.current', atLeast: typeof minMiB === 'number' ? minMiB * MiB : minMiB }),
  },
  'oom-kill': { keys: [], to: () => ({ cgroup: 'memory.oom_kill', since: 'step', atLeast: 1 }) },
  'cpu-throttled': { keys: ['minPeriods'], to: ({ minPeriods }) => ({ cgroup: 'cpu.throttled', since: 'step', atLeast: minPeriods ?? 3 }) },
  'cpu-usage': { keys: ['minSeconds'], to: ({ minSeconds }) => ({ cgroup: 'cpu.usage', since: 'step', atLeast: minSeconds }) },
  'pids-count': { keys: ['min'], to: ({ min }) => ({ cgroup: 'pids.current', atLeast: min }) },
  'pids-max-hit': { keys: [], to: () => ({ cgroup: 'pids.max_events', since: 'step', atLeast: 1 }) },
  'pids-calm': {
    keys: ['max', 'seenAbove'],
    to: ({ max, seenAbove }) => ({ cgroup: 'pids.current', atMost: max ?? 3, seenAbove: seenAbove ?? 10 }),
  },
  'tcp-listen': { keys: ['port'], to: ({ port }) => ({ listen: port }) },
  'net-traffic': {
    keys: ['dev', 'minPackets'],
    to: ({ dev, minPackets }) => ({ interface: dev ?? 'lo', up: true, rxPackets: minPackets ?? 2 }),
  },
  'sysv-shm': { keys: ['otherAttached'], to: ({ otherAttached }) => ({ shm: 'any', attachedByOther: otherAttached ?? false }) },
  teardown: { keys: [], to: () => ({ stages: TEARDOWN }) },
};

export const LEGACY_TYPES = Object.keys(MAP);

export function fromLegacy(value: Params, file: string, line: number): Params {
  const { type, ...params } = value;
  const m = typeof type === 'string' && Object.hasOwn(MAP, type) ? MAP[type] : undefined;
  if (!m) throw new FormatError(file, line, `unknown check type ${JSON.stringify(type)}`);
  const extra = Object.keys(params).find((k) => !m.keys.includes(k));
  if (extra) throw new FormatError(file, line, `check ${type}: unknown parameter "${extra}"`);
  return Object.fromEntries(Object.entries(m.to(params)).filter(([, v]) => v !== undefined));
}
