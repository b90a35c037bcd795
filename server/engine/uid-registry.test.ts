// uid-registry.test.ts: the machine-wide uid slot registry in a temp dir: claim, release, crash reclaim, racing processes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { addUidSlotOwners, claimUidSlot, ownerOf, pruneUidSlots, releaseUidSlot, uidSlotEntries, type SlotEntry } from './uid-registry.ts';

function tempRegistry(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'boxlab-uids-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'uids');
}
const me = () => [ownerOf(process.pid)];
const noMounts = { hasMounts: () => false };

test('claims are distinct, entries name the sandbox, release frees the slot', (t) => {
  const registry = tempRegistry(t);
  const a = claimUidSlot('bx-a', '/run/x/sandboxes/bx-a', me(), { registry, maxSlots: 2, start: 0, ...noMounts });
  const b = claimUidSlot('bx-b', '/run/y/sandboxes/bx-b', me(), { registry, maxSlots: 2, start: 0, ...noMounts });
  assert.deepEqual([a.slot, b.slot], [0, 1]);
  const e = JSON.parse(readFileSync(a.entry, 'utf8')) as SlotEntry;
  assert.deepEqual(
    { id: e.id, slot: e.slot, dir: e.dir, owners: e.owners },
    { id: 'bx-a', slot: 0, dir: '/run/x/sandboxes/bx-a', owners: me() },
  );
  assert.throws(() => claimUidSlot('bx-c', '', me(), { registry, maxSlots: 2, ...noMounts }), /no free uid range: all 2 slots/);
  releaseUidSlot(a);
  assert.equal(claimUidSlot('bx-c', '', me(), { registry, maxSlots: 2, start: 1, ...noMounts }).slot, 0);
  assert.deepEqual(
    uidSlotEntries(registry)
      .map((x) => `${x.slot}:${x.id}`)
      .sort(),
    ['0:bx-c', '1:bx-b'],
  );
  assert.throws(() => claimUidSlot('../evil', '', me(), { registry }), /bad sandbox id/);
});

test('crash: a slot stays held while any owner lives, and is reclaimed once all are dead', async (t) => {
  const registry = tempRegistry(t);
  // Stand-ins for a crashed server (already dead) and the box's PID 1 (still alive, then killed).
  const dead = spawn('true');
  await new Promise((r) => dead.on('exit', r));
  const box = spawn('sleep', ['60']);
  t.after(() => box.kill('SIGKILL'));
  await new Promise((r) => box.on('spawn', r));
  const server = { pid: dead.pid!, starttime: '1' }; // its pid may be reused: the start time says it is not the same
  const claim = claimUidSlot('bx-crashed', '', [server], { registry, maxSlots: 1, ...noMounts });
  addUidSlotOwners(claim, [ownerOf(box.pid!)]);
  assert.throws(
    () => claimUidSlot('bx-next', '', me(), { registry, maxSlots: 1, ...noMounts }),
    /no free uid range/,
    'held while PID 1 lives',
  );
  assert.deepEqual(pruneUidSlots({ registry, ...noMounts }), [], 'prune keeps it too');
  box.kill('SIGKILL');
  await new Promise((r) => box.on('exit', r));
  // The child is reaped by node: /proc/<pid> is gone now.
  const next = claimUidSlot('bx-next', '', me(), { registry, maxSlots: 1, ...noMounts });
  assert.equal(next.slot, 0);
  assert.deepEqual(
    uidSlotEntries(registry).map((x) => x.id),
    ['bx-next'],
    'the stale entry was removed',
  );
});

test('a dead box whose dir still has mounts keeps its slot (its files still carry the uids)', (t) => {
  const registry = tempRegistry(t);
  const gone = { pid: 1, starttime: 'not-init' };
  claimUidSlot('bx-mounted', '/run/a/sandboxes/bx-mounted', [gone], { registry, maxSlots: 1, ...noMounts });
  const mounted = (dir: string) => dir === '/run/a/sandboxes/bx-mounted';
  assert.throws(() => claimUidSlot('bx-2', '', me(), { registry, maxSlots: 1, hasMounts: mounted }), /no free uid range/);
  assert.equal(claimUidSlot('bx-2', '', me(), { registry, maxSlots: 1, hasMounts: () => false }).slot, 0, 'after the sweep unmounted');
});

test('an unreadable entry holds its slot for a grace period only; prune removes stale entries', (t) => {
  const registry = tempRegistry(t);
  mkdirSync(join(registry, '0'), { recursive: true });
  writeFileSync(join(registry, '0', 'bx-torn.json'), '{"id":');
  assert.throws(() => claimUidSlot('bx-1', '', me(), { registry, maxSlots: 1, ...noMounts }), /no free uid range/);
  claimUidSlot('bx-dead', '', [{ pid: 1, starttime: 'x' }], { registry, maxSlots: 2, start: 1, ...noMounts });
  assert.deepEqual(pruneUidSlots({ registry, ...noMounts }), ['bx-dead']);
  assert.deepEqual(
    uidSlotEntries(registry).map((x) => x.id),
    ['bx-torn'],
  );
});

test('processes claiming at the same instant never share a slot', { timeout: 60_000 }, async (t) => {
  const registry = tempRegistry(t);
  const mod = join(import.meta.dirname, 'uid-registry.ts');
  const at = Date.now() + 4000;
  // Each process is a server: it claims 16 slots from slot 0 (the worst case: all scan the same slots at once),
  // prints them, and keeps them (its entries stay live) until its stdin closes.
  const script = `const m = await import(${JSON.stringify(mod)});
    while (Date.now() < ${at}) {}
    const got = [];
    for (let i = 0; i < 16; i++) got.push(m.claimUidSlot('bx-' + process.pid + '-' + i, '', [m.ownerOf(process.pid)], { registry: ${JSON.stringify(registry)}, maxSlots: 128, start: 0, hasMounts: () => false }).slot);
    console.log(JSON.stringify(got));
    process.stdin.resume(); process.stdin.on('end', () => process.exit(0));`;
  const procs = Array.from({ length: 4 }, () =>
    spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  t.after(() => procs.forEach((p) => p.kill('SIGKILL')));
  const outs = await Promise.all(
    procs.map(
      (p) =>
        new Promise<number[]>((resolve, reject) => {
          let out = '';
          p.stdout!.on('data', (b) => {
            out += b;
            if (out.includes('\n')) resolve(JSON.parse(out));
          });
          p.on('exit', (code) => reject(new Error(`claimer exited ${code}: ${out}`)));
        }),
    ),
  );
  const all = outs.flat();
  assert.equal(all.length, 64);
  assert.equal(new Set(all).size, 64, `no slot twice: ${JSON.stringify(outs)}`);
  assert.equal(uidSlotEntries(registry).length, 64);
  for (const p of procs) p.stdin!.end();
  await Promise.all(procs.map((p) => new Promise((r) => p.on('exit', r))));
  assert.equal(pruneUidSlots({ registry, hasMounts: () => false }).length, 64, 'all reclaimable once the claimers exited');
  t.diagnostic(`4 processes x 16 claims from slot 0: max slot used ${Math.max(...all)}`);
});
