// uid-registry.ts: the machine-wide registry of host uid-range slots, one for every server and CLI run on the host.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mountsUnder, processStartTime } from './state.ts';

/**
 * Fixed, whatever BOXLAB_RUN says: two servers (or a server and `boxlab run`) with different run dirs must still
 * never hand out the same host uids. /run is a tmpfs, so a reboot (which ends every box) empties it.
 */
export const UID_REGISTRY = '/run/boxlab-uids';
export const MAX_SLOTS = 4096;
/** An entry that cannot be parsed (never written by us: entries appear whole through rename) is stale after this. */
const UNREADABLE_GRACE_MS = 60_000;

/** A process that keeps the slot in use while it lives; pid and start time together name one process. */
export interface SlotOwner {
  pid: number;
  starttime: string;
}

/** What one entry file, `<registry>/<slot>/<sandbox id>.json`, holds. */
export interface SlotEntry {
  id: string;
  slot: number;
  /** The sandbox dir: while anything is mounted under it, files of this uid range still exist. */
  dir: string;
  owners: SlotOwner[];
  createdAt: string;
}

export interface UidClaim {
  slot: number;
  /** Path of our entry file. */
  entry: string;
}

export interface RegistryOptions {
  registry?: string;
  maxSlots?: number;
  start?: number;
  /** Test seams; the defaults read /proc/<pid>/stat and /proc/self/mountinfo. */
  ownerAlive?: (o: SlotOwner) => boolean;
  hasMounts?: (dir: string) => boolean;
}

export const ownerOf = (pid: number): SlotOwner => ({ pid, starttime: processStartTime(pid) ?? '' });
const defaultAlive = (o: SlotOwner) => o.starttime !== '' && processStartTime(o.pid) === o.starttime;
const defaultHasMounts = (dir: string) => mountsUnder(dir).length > 0;

/**
 * In use while any owner lives (the server or CLI until its teardown released the slot; the namespaced parent and
 * PID 1, whose death ends every process of the box's PID namespace) or while its sandbox dir still has mounts (the
 * box's files, owned by these uids, after a crash until the sweep). Once false it stays false: a dead process never
 * comes back and only a live owner mounts.
 */
function entryLive(path: string, opts: RegistryOptions): boolean {
  let e: SlotEntry;
  try {
    e = JSON.parse(readFileSync(path, 'utf8')) as SlotEntry;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    try {
      return Date.now() - statSync(path).mtimeMs < UNREADABLE_GRACE_MS;
    } catch {
      return false;
    }
  }
  if (!Array.isArray(e.owners)) return false;
  if (e.owners.some(opts.ownerAlive ?? defaultAlive)) return true;
  return typeof e.dir === 'string' && e.dir !== '' && (opts.hasMounts ?? defaultHasMounts)(e.dir);
}

/** Whether a slot has a live entry other than `exceptId`'s; stale entries met on the way are removed. */
function slotBusy(registry: string, slot: number, exceptId: string | null, opts: RegistryOptions): boolean {
  const dir = join(registry, String(slot));
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return false;
  }
  let busy = false;
  for (const name of names) {
    if (!name.endsWith('.json') || name === `${exceptId}.json`) continue;
    // Each name is unique to one sandbox and a stale entry never turns live again, so removing it races with nobody.
    if (entryLive(join(dir, name), opts)) busy = true;
    else rmSync(join(dir, name), { force: true });
  }
  return busy;
}

/** Writes an entry whole: a temp file renamed into place, so a reader never sees half of one. */
function writeEntry(registry: string, e: SlotEntry): string {
  const dir = join(registry, String(e.slot));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${e.id}.json`);
  const tmp = join(dir, `.${e.id}.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(e), { mode: 0o600 });
  renameSync(tmp, path);
  return path;
}

const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Claims a slot no live box anywhere on the host holds. Lock-free, so a crash can never leave a lock behind: each
 * claimer publishes its own entry, then looks again. If two claimers publish at once, at least the later one sees
 * the other's entry and steps back (both may; they then try other slots), so two claimers never both keep a slot.
 */
export function claimUidSlot(id: string, dir: string, owners: SlotOwner[], opts: RegistryOptions = {}): UidClaim {
  if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new Error(`bad sandbox id for the uid registry: ${id}`);
  const registry = opts.registry ?? UID_REGISTRY;
  const max = opts.maxSlots ?? MAX_SLOTS;
  mkdirSync(registry, { recursive: true, mode: 0o700 });
  const start = opts.start ?? Math.floor(Math.random() * max);
  for (let i = 0; i < max; i++) {
    const slot = (start + i) % max;
    if (slotBusy(registry, slot, null, opts)) continue;
    const entry = writeEntry(registry, { id, slot, dir, owners, createdAt: new Date().toISOString() });
    if (!slotBusy(registry, slot, id, opts)) return { slot, entry };
    rmSync(entry, { force: true });
    pause(Math.random() * 2); // break the lockstep of two claimers scanning the same slots
  }
  throw new Error(`no free uid range: all ${max} slots of ${registry} are held by live boxes`);
}

/** Records more owners (the namespaced parent, PID 1) before any process runs with the slot's uids. */
export function addUidSlotOwners(claim: UidClaim, owners: SlotOwner[]): void {
  const e = JSON.parse(readFileSync(claim.entry, 'utf8')) as SlotEntry;
  e.owners.push(...owners);
  writeEntry(join(claim.entry, '..', '..'), e);
}

/** Gives the slot back; only after every process of the box is gone and its mounts are undone. */
export function releaseUidSlot(claim: UidClaim): void {
  rmSync(claim.entry, { force: true });
}

/** Every entry file, live or not, as slot and sandbox id (tests and the load bench). */
export function uidSlotEntries(registry = UID_REGISTRY): { slot: number; id: string; path: string }[] {
  const out: { slot: number; id: string; path: string }[] = [];
  let slots: string[] = [];
  try {
    slots = readdirSync(registry);
  } catch {
    return out;
  }
  for (const s of slots) {
    if (!/^\d+$/.test(s)) continue;
    let names: string[] = [];
    try {
      names = readdirSync(join(registry, s));
    } catch {
      continue;
    }
    for (const n of names) if (n.endsWith('.json')) out.push({ slot: Number(s), id: n.slice(0, -5), path: join(registry, s, n) });
  }
  return out;
}

/** Entries whose slot is still held (a live owner, or mounts under the box's dir); stale files left for a prune are not. */
export function heldUidSlots(opts: RegistryOptions = {}): { slot: number; id: string; path: string }[] {
  return uidSlotEntries(opts.registry ?? UID_REGISTRY).filter((e) => entryLive(e.path, opts));
}

/** Removes every stale entry (and temp files a crash left); returns the ids removed. Run by the sweep. */
export function pruneUidSlots(opts: RegistryOptions = {}): string[] {
  const registry = opts.registry ?? UID_REGISTRY;
  const removed: string[] = [];
  for (const e of uidSlotEntries(registry)) {
    if (entryLive(e.path, opts)) continue;
    rmSync(e.path, { force: true });
    removed.push(e.id);
  }
  return removed;
}
