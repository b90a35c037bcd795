// Test fixture of the boxfs tests: a temporary directory that stands for a box's layer, removed after the test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlab-boxfs-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
