// Every lesson in a real sandbox: each check fails before the step's action and after a wrong one, and passes after the solution.
// Bomb-type steps (OOM, cpu, fork bomb) run only after the box's own limit was read back. Run as root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createSandbox } from '../engine/index.ts';
import type { SandboxHandle } from '../engine/types.ts';
import { defaultImagePath, ensureImage } from '../rootfs/index.ts';
import { checkDef, type Memo } from './checks.ts';
import { loadLessons, type LoadedLesson } from './loader.ts';
import { RealProbe } from './probe.ts';
import { settingsFor, sizeBytes } from './settings.ts';

const DEFAULTS = { memory: '256M', cpuLimit: '0.5', pids: 128 };
const { lessons, errors } = loadLessons();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const timings: Record<string, number[]> = {};

test('every lesson file parses', () => {
  assert.deepEqual(errors, []);
  assert.ok(lessons.length >= 12, `${lessons.length} lessons`);
});

async function runCheck(probe: RealProbe, l: LoadedLesson, i: number, memo: Memo) {
  const spec = l.specs[i];
  const def = checkDef(spec.check.type)!;
  const t0 = performance.now();
  const r = await def.run(probe, spec.check.params, memo);
  (timings[spec.check.type] ??= []).push(performance.now() - t0);
  return r;
}

/** Types lines like a learner, one per prompt-ish pause. */
async function type(box: SandboxHandle, lines: string[]): Promise<void> {
  for (const line of lines) {
    box.write(`${line}\n`);
    await sleep(150);
  }
}

function cgroupDirs(pid: number): string[] {
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  const dirs: string[] = [];
  for (const line of fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n')) {
    const [, ctrls, p] = line.split(':');
    if (!p.includes('boxlab')) continue;
    const m = mounts.find((x) => (ctrls ? / - cgroup /.test(x) && x.split(' - ')[1].split(' ')[2].split(',').includes(ctrls.split(',')[0]) : / - cgroup2 /.test(x)));
    if (m) dirs.push(`${m.split(' ')[4]}${p.slice(m.split(' ')[3] === '/' ? 0 : m.split(' ')[3].length)}`);
  }
  return dirs;
}

// BOXLAB_LESSONS=slug,slug runs only those (a helper checking its own lessons on a shared machine).
const only = process.env.BOXLAB_LESSONS?.split(',').filter(Boolean);
for (const l of lessons.filter((x) => !only || only.includes(x.lesson.slug))) {
  test(`lesson ${l.lesson.slug}: wrong or missing actions fail, solutions pass`, { timeout: 180_000 }, async (t) => {
    const img = defaultImagePath();
    await ensureImage(img, () => {});
    const want = settingsFor(l.lesson.sandbox, DEFAULTS);
    const box = await createSandbox({
      baseDir: img, stdio: 'pty', shell: '/bin/sh', args: ['-l'], rows: 40, cols: 160, hostname: 'boxlab',
      memory: want.memory ?? DEFAULTS.memory, cpuLimit: want.cpuLimit ?? DEFAULTS.cpuLimit, pids: want.pids ?? DEFAULTS.pids, lab: want.lab,
    } as Parameters<typeof createSandbox>[0]);
    let out = '';
    box.on('data', (b: Buffer) => (out = (out + b.toString('utf8')).slice(-6000)));
    const dirs = cgroupDirs(box.pids.init);
    const id = box.id;
    t.after(async () => {
      await box.destroy();
      assert.ok(!fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(id), 'no mount of the box left');
      for (const d of dirs) assert.ok(!fs.existsSync(d), `cgroup ${d} removed`);
    });
    const probe = new RealProbe(box);
    await sleep(300);
    for (let i = 0; i < l.specs.length; i++) {
      const spec = l.specs[i];
      const def = checkDef(spec.check.type)!;
      const where = `${l.lesson.slug} step ${i + 1} (${spec.check.type})`;
      const memo: Memo = def.init ? await def.init(probe, spec.check.params) : {};
      const before = await runCheck(probe, l, i, memo);
      assert.equal(before.ok, false, `${where}: passes before the learner did anything: ${before.message}`);
      if (spec.wrong.length) {
        await type(box, spec.wrong);
        // A wrong action must not pass now, nor a little later when its commands have finished.
        for (const wait of [800, 1500]) {
          await sleep(wait);
          const r = await runCheck(probe, l, i, memo);
          assert.equal(r.ok, false, `${where}: the wrong action "${spec.wrong.join('; ')}" passed: ${r.message}\n${out.slice(-800)}`);
        }
      }
      if (def.limit) {
        // Bombs only in a box whose limit was read back from its own cgroup.
        const s = await box.stats();
        if (def.limit === 'memory') assert.equal(s.memory.limit, sizeBytes(want.memory ?? DEFAULTS.memory), 'memory limit set');
        if (def.limit === 'pids') assert.equal(s.pids.max, want.pids ?? DEFAULTS.pids, 'pids limit set');
        if (def.limit === 'cpu') assert.equal(s.cpu.quotaFraction, Number(want.cpuLimit ?? DEFAULTS.cpuLimit), 'cpu quota set');
      }
      await type(box, spec.solution);
      const t0 = Date.now();
      let last = before;
      while (Date.now() - t0 < 25_000) {
        last = await runCheck(probe, l, i, memo);
        if (last.ok) break;
        await sleep(200);
      }
      assert.equal(last.ok, true, `${where}: the solution did not pass: ${last.message}\n--- screen ---\n${out.slice(-1500)}`);
      t.diagnostic(`${where}: passed ${Date.now() - t0} ms after the solution was typed: ${last.message}`);
      await type(box, spec.cleanup);
    }
  });
}

test('check cost per type (ms, measured above)', () => {
  const rows = Object.entries(timings).map(([k, v]) => {
    const s = [...v].sort((a, b) => a - b);
    return `${k}: n=${s.length} mean=${(s.reduce((a, b) => a + b, 0) / s.length).toFixed(2)} p95=${s[Math.floor(s.length * 0.95)].toFixed(2)}`;
  });
  console.log(`# check cost: ${rows.join(' | ')}`);
  assert.ok(rows.length > 0);
});
