// sweep-needed.test.ts: `boxlab run` sweeps only when a dead run's record is there (sweepNeeded), not on every start.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sweepNeeded } from './sweep.ts';

function runDir(): string {
  return mkdtempSync(join(tmpdir(), 'boxlab-sweep-needed-'));
}

function record(dir: string, id: string, serverPid: number | null): string {
  const d = join(dir, 'sandboxes', id);
  mkdirSync(d, { recursive: true });
  if (serverPid !== null) writeFileSync(join(d, 'state.json'), JSON.stringify({ id, slot: 1, createdAt: '', serverPid, dir: d }));
  return d;
}

/** A pid that existed and is gone: a child that has exited and been reaped. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

test('no run dir, or an empty sandboxes dir: nothing to sweep', () => {
  const dir = runDir();
  assert.equal(sweepNeeded(join(dir, 'absent')), false);
  mkdirSync(join(dir, 'sandboxes'));
  assert.equal(sweepNeeded(dir), false);
  rmSync(dir, { recursive: true });
});

test('a record whose owner is alive is left alone; one whose owner is dead needs the sweep', () => {
  const dir = runDir();
  record(dir, 'live', process.pid);
  assert.equal(sweepNeeded(dir), false);
  record(dir, 'dead', deadPid());
  assert.equal(sweepNeeded(dir), true);
  rmSync(dir, { recursive: true });
});

test('a dir without state.json is a creation under way for 30 s, then a leftover', () => {
  const dir = runDir();
  const d = record(dir, 'young', null);
  assert.equal(sweepNeeded(dir), false);
  const old = new Date(Date.now() - 60_000);
  utimesSync(d, old, old);
  assert.equal(sweepNeeded(dir), true);
  rmSync(dir, { recursive: true });
});
