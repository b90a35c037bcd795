// guest.test.ts: the v2 guest's host-side pieces that need no qemu: module dependency order and the static-ELF check.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { moduleLoadOrder } from './kernel.js';
import { hasInterpreter } from './initramfs.js';

/** A fake lib/modules/<release>: modules.order plus .ko files whose only content is a .modinfo depends= string. */
function fakeModDir(mods: Record<string, string[]>): string {
  const dir = mkdtempSync(join(tmpdir(), 'boxlab-v2-mods-'));
  const order: string[] = [];
  for (const [name, deps] of Object.entries(mods)) {
    const rel = `kernel/x/${name.replace(/_/g, '-')}.ko`;
    mkdirSync(join(dir, 'kernel/x'), { recursive: true });
    writeFileSync(join(dir, rel), Buffer.from(`\x7fELF junk\0license=GPL\0depends=${deps.join(',')}\0vermagic=6.1\0`, 'latin1'));
    order.push(rel);
  }
  writeFileSync(join(dir, 'modules.order'), order.join('\n') + '\n');
  return dir;
}

test('moduleLoadOrder: dependencies first, each module once, "-" and "_" are one name', () => {
  const dir = fakeModDir({
    virtio: [],
    virtio_ring: [],
    virtio_pci: ['virtio_ring', 'virtio'],
    '9pnet': [],
    '9p': ['9pnet', 'netfs'],
    netfs: [],
    overlay: [],
  });
  try {
    const names = moduleLoadOrder(dir, ['virtio_pci', '9p', 'overlay', 'virtio']).map((m) => m.name);
    assert.deepEqual(names, ['virtio_ring', 'virtio', 'virtio_pci', '9pnet', 'netfs', '9p', 'overlay']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('moduleLoadOrder: a dependency missing from modules.order is an error naming it', () => {
  const dir = fakeModDir({ ext4: ['jbd2'] });
  try {
    assert.throws(() => moduleLoadOrder(dir, ['ext4']), /module jbd2 is not in/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A minimal ELF64 header with program headers of the given p_type values. */
function elf(types: number[]): Buffer {
  const b = Buffer.alloc(64 + types.length * 56);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2;
  b.writeBigUInt64LE(64n, 0x20);
  b.writeUInt16LE(56, 0x36);
  b.writeUInt16LE(types.length, 0x38);
  types.forEach((t, i) => b.writeUInt32LE(t, 64 + i * 56));
  return b;
}

test('hasInterpreter: PT_INTERP (3) means dynamic; a static binary has none; non-ELF is refused', () => {
  assert.equal(hasInterpreter(elf([6, 3, 1])), true);
  assert.equal(hasInterpreter(elf([1, 1, 4])), false);
  assert.throws(() => hasInterpreter(Buffer.from('#!/bin/sh\necho hi\n'.padEnd(80))), /not a 64-bit ELF/);
});
