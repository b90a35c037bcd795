// One box's x-ray sampler: samples only the views a client watches, at most every intervalMs, and sends diffs.
import type { SandboxStats } from '../engine/types.ts';
import type { SubCgroup } from '../engine/cgroups/delegate-box.ts';
import {
  XRAY_LIMITS,
  XRAY_MAX_CGROUPS,
  type XrayCgroup,
  type XrayFile,
  type XrayFsMeta,
  type XrayLowerTop,
  type XrayMsg,
  type XrayNs,
  type XrayProc,
  type XrayView,
} from '../protocol/xray.ts';
import { byKey, diffKeyed, same } from './diff.ts';
import { closeFd, openDir, readAt } from '../boxfs/index.ts';
import { countHostMounts, hostNamespaces, sampleMounts, sampleNamespaces } from './kernel.ts';
import { parseIdMap, sampleProcs, type NsOwner } from './procs.ts';
import { nsOwnerIno } from '../../native-bindings/index.ts';
import { lowerTop, walkUpper, type UpperOptions } from './upper.ts';
import { sampleNestedMounts } from './nested-mounts.ts';

/** What the sampler needs of a sandbox (a SandboxHandle has all of it). */
export interface XraySource {
  readonly id: string;
  readonly pids: { namespacedParent: number; init: number };
  readonly layers: { lower: string; upper: string; merged: string };
  stats(): Promise<SandboxStats>;
  /** Lab mode on cgroup v2: the cgroups below the box's own (a SandboxHandle has it; fakes may not). */
  cgroupSubtree?(): Promise<SubCgroup[]>;
}

export interface SamplerOptions extends UpperOptions {
  /** Stand-in for /proc (unit tests use recorded trees). */
  procRoot?: string;
  intervalMs?: number;
  maxProcs?: number;
  /** A slow sample stretches the interval to cost × this, so one box never eats more than 1/costFactor of a core. */
  costFactor?: number;
  clock?: () => number;
  /** Owner of a nested namespace (procs.ts NsOwner); default: the kernel's answer (NS_GET_USERNS) on the real /proc. */
  nsOwner?: NsOwner;
}

interface Snapshot {
  procs?: Map<number, XrayProc>;
  procsTruncated?: boolean;
  ns?: XrayNs[];
  stats?: SandboxStats;
  cgroups?: XrayCgroup[];
  files?: Map<string, XrayFile>;
  fsMeta?: XrayFsMeta;
  mounts?: NonNullable<XrayMsg['mounts']>;
}

export class XraySampler {
  private views: XrayView[] = [];
  private prev: Snapshot = {};
  private full = true;
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = false;
  /** When the last sample started: a client toggling its subscription cannot make samples come faster. */
  private lastStart = -Infinity;
  private readonly procRoot: string;
  private host: ReturnType<typeof hostNamespaces> | null = null;
  private top: XrayLowerTop | null = null;
  /** Counted once: other boxes mounting and unmounting must not make this box's mount table look changed. */
  private hostMounts: number | null = null;
  /** Last cost per sample (ms), for the docs' measurements and the adaptive interval. */
  lastCostMs = 0;

  constructor(
    private readonly src: XraySource,
    private readonly send: (msg: XrayMsg) => void,
    private readonly opts: SamplerOptions = {},
  ) {
    this.procRoot = opts.procRoot ?? '/proc';
    this.nsOwner = opts.nsOwner ?? (this.procRoot === '/proc' ? nsOwnerIno : undefined);
  }
  private readonly nsOwner: NsOwner | undefined;

  /** Views to sample; [] stops: no timer, no reads. A new set starts over with a full message. */
  watch(views: readonly XrayView[]): void {
    if (!this.select(views)) return;
    this.cancel();
    if (this.views.length && !this.stopped) this.schedule(Math.max(0, this.lastStart + this.interval - performance.now()));
  }

  /** Sets the views without scheduling anything (watch() does both; tests and the bench call sampleOnce() themselves). */
  select(views: readonly XrayView[]): boolean {
    const next = [...new Set(views)].sort();
    if (same(next, this.views)) return false;
    this.views = next;
    this.prev = {};
    this.full = true;
    return true;
  }

  private get interval(): number {
    return this.opts.intervalMs ?? XRAY_LIMITS.intervalMs;
  }

  stop(): void {
    this.stopped = true;
    this.views = [];
    this.cancel();
  }

  get active(): boolean {
    return this.timer !== null || this.running;
  }

  /** Takes one sample of the watched views; returns the diff message, or null when nothing changed. */
  async sampleOnce(): Promise<XrayMsg | null> {
    const views = this.views;
    const t0 = performance.now();
    const snap = this.collect(views);
    if (views.includes('cgroup')) {
      snap.stats = await this.src.stats().catch(() => undefined);
      const sub = await this.src.cgroupSubtree?.().catch(() => undefined);
      if (sub)
        snap.cgroups = sub.slice(0, XRAY_MAX_CGROUPS).map((c) => ({
          path: c.path.slice(0, XRAY_LIMITS.path),
          memoryMax: c.memoryMax,
          memoryCurrent: c.memoryCurrent,
          oomKills: c.oomKills,
          pidsMax: c.pidsMax,
          procs: c.procs.length,
        }));
    }
    this.lastCostMs = performance.now() - t0;
    if (!same(views, this.views)) return null; // changed while stats() was awaited: the new set starts over
    const msg = this.diff(snap);
    this.prev = { ...this.prev, ...snap };
    return msg;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref?.();
  }

  private cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async tick(): Promise<void> {
    this.timer = null;
    if (this.running || !this.views.length) return;
    this.running = true;
    this.lastStart = performance.now();
    try {
      const msg = await this.sampleOnce();
      if (msg && this.views.length && !this.stopped) this.send(msg);
    } catch {
      // A sample that failed (box torn down under us) is skipped; the next one tries again.
    } finally {
      this.running = false;
    }
    if (this.views.length && !this.stopped && !this.timer) {
      this.schedule(Math.max(this.interval, this.lastCostMs * (this.opts.costFactor ?? 20)));
    }
  }

  private collect(views: readonly XrayView[]): Snapshot {
    const snap: Snapshot = {};
    const { init, namespacedParent } = this.src.pids;
    // PID 1 must be this box's: its cgroup path names the sandbox id, so a recycled pid is never sampled.
    const initFd = openDir(`${this.procRoot}/${init}`);
    try {
      const cg = initFd === null ? null : readAt(initFd, 'cgroup', 16 * 1024);
      const box = initFd !== null && cg?.toString('latin1').includes(`/${this.src.id}`) ? initFd : null;
      if (views.includes('procs')) {
        const map = box === null ? '' : (readAt(box, 'uid_map', 4096)?.toString('latin1') ?? '');
        const r =
          box === null
            ? { procs: [], truncated: false }
            : sampleProcs({
                procRoot: this.procRoot,
                init,
                parent: namespacedParent,
                uidMap: parseIdMap(map),
                maxProcs: this.opts.maxProcs,
                nsOwner: this.nsOwner,
              });
        snap.procs = byKey(r.procs, (p) => p.hostPid);
        snap.procsTruncated = r.truncated;
      }
      if (views.includes('ns')) {
        this.host ??= hostNamespaces(this.procRoot);
        snap.ns = sampleNamespaces(this.host, box);
      }
      if (views.includes('mounts')) {
        const m = sampleMounts(box);
        this.hostMounts ??= countHostMounts(this.procRoot);
        // Lab mode: the learner's mount namespaces, found through the process walk (done here if procs is not watched).
        const procs = snap.procs
          ? [...snap.procs.values()]
          : box === null
            ? []
            : sampleProcs({
                procRoot: this.procRoot,
                init,
                parent: namespacedParent,
                uidMap: [],
                maxProcs: this.opts.maxProcs,
                nsOwner: this.nsOwner,
              }).procs;
        const nested = box === null ? [] : sampleNestedMounts(this.procRoot, procs, box);
        snap.mounts = { ...m, hostCount: this.hostMounts, mergedPath: this.src.layers.merged, ...(nested.length ? { nested } : {}) };
      }
    } finally {
      closeFd(initFd);
    }
    if (views.includes('fs')) {
      this.top ??= lowerTop(this.src.layers.lower);
      const r = walkUpper(this.src.layers, this.opts);
      // A walk cut short by time would "delete" everything it did not reach: keep the last listing instead.
      if (!r.timedOut || this.full || !this.prev.files) {
        snap.files = byKey(r.files, (f) => f.path);
        snap.fsMeta = r.meta;
      }
    }
    return snap;
  }

  private diff(snap: Snapshot): XrayMsg | null {
    const p = this.full ? {} : this.prev;
    const msg: XrayMsg = { type: 'xray', seq: 0, full: this.full, at: (this.opts.clock ?? Date.now)(), costMs: round(this.lastCostMs) };
    let changed = this.full;
    if (snap.procs) {
      const d = diffKeyed(p.procs ?? null, snap.procs);
      if (d.set.length || d.del.length || snap.procsTruncated !== p.procsTruncated || this.full) {
        msg.procs = { ...d, truncated: !!snap.procsTruncated };
        changed = true;
      }
    }
    if (snap.ns && (this.full || !same(snap.ns, p.ns))) {
      msg.ns = snap.ns;
      changed = true;
    }
    if (snap.stats && (this.full || !same(snap.stats, p.stats))) {
      msg.stats = snap.stats;
      changed = true;
    }
    if (snap.cgroups && (this.full || !same(snap.cgroups, p.cgroups))) {
      msg.cgroups = snap.cgroups;
      changed = true;
    }
    if (snap.files && snap.fsMeta) {
      const d = diffKeyed(p.files ?? null, snap.files);
      if (d.set.length || d.del.length || this.full || !same(snap.fsMeta, p.fsMeta)) {
        msg.fs = { ...d, meta: snap.fsMeta, ...(this.full ? { lowerTop: this.top ?? [] } : {}) };
        changed = true;
      }
    }
    if (snap.mounts && (this.full || !same(snap.mounts, p.mounts))) {
      msg.mounts = snap.mounts;
      changed = true;
    }
    if (!changed) return null;
    this.full = false;
    msg.seq = ++this.seq;
    return msg;
  }
}

const round = (ms: number): number => Math.round(ms * 100) / 100;
