// The x-ray's wire messages: the client's subscription and the sampler's diffs (zod; shared with the browser, no node imports).
import { z } from 'zod';

/** What a client can watch; each one costs the server a piece of every sample, so none is sampled unasked. */
export const XRAY_VIEWS = ['procs', 'ns', 'cgroup', 'fs', 'mounts'] as const;
export type XrayView = (typeof XRAY_VIEWS)[number];

/** Bounds: the box is hostile, so every list and string the sampler sends is capped (docs/xray.md). */
export const XRAY_LIMITS = {
  intervalMs: 250,
  maxProcs: 256,
  maxFiles: 500,
  maxMounts: 200,
  maxLowerTop: 64,
  name: 64,
  cmd: 200,
  path: 512,
  target: 256,
  field: 256,
} as const;

const int = () => z.number().int();
const str = (max: number) => z.string().max(max);

// ---- client → server ----
/** `views: []` unsubscribes: the sampler stops and no timer is left. */
export const xraySubscribeMsg = z.strictObject({
  type: z.literal('xray'),
  views: z.array(z.enum(XRAY_VIEWS)).max(XRAY_VIEWS.length),
});
export type XraySubscribe = z.infer<typeof xraySubscribeMsg>;

// ---- server → client ----
export const NS_KINDS = ['pid', 'mnt', 'uts', 'ipc', 'net', 'user', 'cgroup', 'time'] as const;

export const xrayProc = z.object({
  hostPid: int(),
  /** pid inside the box's PID namespace (last NSpid field); null for a process outside it. */
  pid: int().nullable(),
  hostPpid: int(),
  ppid: int().nullable(),
  name: str(XRAY_LIMITS.name + 1),
  /** One letter of /proc/<pid>/status State: R S D Z T t X I. */
  state: str(1),
  cmd: str(XRAY_LIMITS.cmd + 1),
  uid: int(),
  /** uid inside the box's user namespace (via uid_map), null when unmapped. */
  uidIn: int().nullable(),
  threads: int(),
  /** Lab mode: every level of NSpid below the host's when there are more than the box's (box pid, then nested). */
  nspid: z.array(int()).max(34).optional(),
  /** Lab mode: the namespaces of this process that are not the box's (PID 1's), with the user namespace the
   * process is in (the owner of a namespace it made itself; NS_GET_USERNS is not read). */
  nsOwn: z
    .array(z.object({ kind: z.enum(NS_KINDS), ino: int(), userns: int().nullable() }))
    .max(8)
    .optional(),
});
export type XrayProc = z.infer<typeof xrayProc>;

export const xrayNs = z.object({ kind: z.enum(NS_KINDS), host: int().nullable(), box: int().nullable() });
export type XrayNs = z.infer<typeof xrayNs>;

export const xrayStats = z.object({
  memory: z.object({ current: z.number(), limit: z.number(), oomKills: z.number(), swapCurrent: z.number().optional() }),
  cpu: z.object({ usageUsec: z.number(), quotaFraction: z.number(), nrThrottled: z.number(), throttledUsec: z.number() }),
  pids: z.object({ current: z.number(), max: z.number(), refused: z.number().optional() }),
  cgroupVersion: z.union([z.literal(1), z.literal(2)]),
});

/** Lab mode on cgroup v2: one cgroup below the box's delegated one (its init/ leaf, and what the learner made). */
export const xrayCgroup = z.object({
  /** Below the box's cgroup, as the learner sees it under /sys/fs/cgroup ("init", "mine/inner"). */
  path: str(XRAY_LIMITS.path + 1),
  memoryMax: z.number().nullable(),
  memoryCurrent: z.number().nullable(),
  oomKills: int(),
  pidsMax: z.number().nullable(),
  procs: int(),
});
export type XrayCgroup = z.infer<typeof xrayCgroup>;
/** The kernel caps a delegated box at 32 cgroups (cgroup.max.descendants, delegate-box.ts). */
export const XRAY_MAX_CGROUPS = 40;

export const FILE_KINDS = ['file', 'dir', 'symlink', 'whiteout', 'other'] as const;
export const FILE_CHANGES = ['created', 'modified', 'deleted', 'opaque'] as const;
export const xrayFile = z.object({
  /** Path inside the box ("/tmp/x"), made printable. */
  path: str(XRAY_LIMITS.path + 1),
  kind: z.enum(FILE_KINDS),
  change: z.enum(FILE_CHANGES),
  size: z.number(),
  mtimeMs: z.number(),
  /** A symlink's target, read with readlink and never followed. */
  target: str(XRAY_LIMITS.target + 1).optional(),
});
export type XrayFile = z.infer<typeof xrayFile>;

export const xrayFsMeta = z.object({
  /** Entries found in the upper layer (listed or not) and whether a bound cut the walk short. */
  total: int(),
  truncated: z.boolean(),
  usedBytes: z.number(),
  sizeBytes: z.number(),
});
export type XrayFsMeta = z.infer<typeof xrayFsMeta>;
/** Top level of the read-only image, for the lower band of the layer picture (sent with full messages). */
export const xrayLowerTop = z.array(z.object({ name: str(XRAY_LIMITS.name + 1), kind: z.enum(FILE_KINDS) })).max(XRAY_LIMITS.maxLowerTop);
export type XrayLowerTop = z.infer<typeof xrayLowerTop>;

export const xrayMount = z.object({
  id: int(),
  parent: int(),
  root: str(XRAY_LIMITS.field + 1),
  mountPoint: str(XRAY_LIMITS.path + 1),
  options: str(XRAY_LIMITS.field + 1),
  fsType: str(XRAY_LIMITS.name + 1),
  source: str(XRAY_LIMITS.field + 1),
  superOptions: str(XRAY_LIMITS.field + 1),
});
export type XrayMount = z.infer<typeof xrayMount>;

export const xrayMsg = z.object({
  type: z.literal('xray'),
  seq: int(),
  /** true: drop every x-ray section first (new subscription or new sandbox), then apply this one. */
  full: z.boolean(),
  /** Server clock (epoch ms) of the sample, and what it cost to take (ms). */
  at: z.number(),
  costMs: z.number(),
  procs: z
    .object({
      set: z.array(xrayProc).max(XRAY_LIMITS.maxProcs + 1),
      del: z.array(int()).max(XRAY_LIMITS.maxProcs * 2 + 2),
      truncated: z.boolean(),
    })
    .optional(),
  ns: z.array(xrayNs).max(NS_KINDS.length).optional(),
  stats: xrayStats.optional(),
  cgroups: z.array(xrayCgroup).max(XRAY_MAX_CGROUPS).optional(),
  fs: z
    .object({
      set: z.array(xrayFile).max(XRAY_LIMITS.maxFiles),
      del: z.array(str(XRAY_LIMITS.path + 1)).max(XRAY_LIMITS.maxFiles * 2),
      meta: xrayFsMeta,
      lowerTop: xrayLowerTop.optional(),
    })
    .optional(),
  mounts: z
    .object({
      list: z.array(xrayMount).max(XRAY_LIMITS.maxMounts),
      truncated: z.boolean(),
      /** Mounts of the host table the box's mount namespace was copied from, before pivot_root cut it off. */
      hostCount: int(),
      /** Where the merged root sat on the host before pivot_root made it "/". */
      mergedPath: str(XRAY_LIMITS.path + 1),
      /** Lab mode: the learner's own mount namespaces, each with the mounts the box's table does not have. */
      nested: z
        .array(z.object({ ino: int(), pid: int(), list: z.array(xrayMount).max(50) }))
        .max(8)
        .optional(),
    })
    .optional(),
});
export type XrayMsg = z.infer<typeof xrayMsg>;
