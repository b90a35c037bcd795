// Every lesson of the built-in course and of examples/lesson-pack proved in a real box through the same prover as
// `boxlab lesson check`: each check fails before the step's action and after a wrong one, and passes after the solution;
// no mount or cgroup of a box is left. Bomb steps run only after the box's own limit was read back. Run as root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { defaultImagePath, ensureImage } from '../rootfs/index.ts';
import { DEFAULT_LESSONS_DIR } from './loader.ts';
import { loadPack, mergePacks } from './pack.ts';
import { proveLesson, proofTable, stepProved, type LessonProof } from './prove.ts';

const EXAMPLE = fileURLToPath(new URL('../../examples/lesson-pack', import.meta.url));
const builtin = loadPack(DEFAULT_LESSONS_DIR, true);
const example = loadPack(EXAMPLE);
const { lessons, errors } = mergePacks([builtin, example]);
const timings: Record<string, number[]> = {};
const proofs: LessonProof[] = [];

test('every lesson file parses (built-in course and the example pack)', () => {
  assert.deepEqual(errors, []);
  assert.ok(builtin.lessons.length >= 14, `${builtin.lessons.length} built-in lessons`);
  assert.equal(example.lessons.length, 2);
});

// BOXLAB_LESSON_SLUGS=slug,slug runs only those (a helper checking its own lessons on a shared machine; not
// BOXLAB_LESSONS, which is the server's list of lesson pack folders).
const only = process.env.BOXLAB_LESSON_SLUGS?.split(',').filter(Boolean);
for (const l of lessons.filter((x) => !only || only.includes(x.lesson.slug))) {
  test(`lesson ${l.lesson.slug}: wrong or missing actions fail, solutions pass`, { timeout: 180_000 }, async (t) => {
    const img = defaultImagePath();
    await ensureImage(img, () => {});
    const proof = await proveLesson(l, { baseDir: img, timings, log: (line) => t.diagnostic(line) });
    proofs.push(proof);
    assert.deepEqual(proof.leftovers, [], 'no mount and no cgroup directory of the box is left');
    // A lesson the host cannot offer (front matter `needs`): recorded, and proved on a host that has it (the v2 guest).
    if (proof.skipped) return t.skip(proof.skipped);
    assert.equal(proof.error, undefined, proof.error);
    assert.deepEqual(proof.leftovers, [], 'no mount and no cgroup directory of the box is left');
    assert.equal(proof.steps.length, l.specs.length);
    for (const s of proof.steps) {
      assert.ok(stepProved(s), `${l.lesson.slug} step ${s.step} (${s.check}): ${s.message}`);
      assert.equal(s.redAfterWrong, l.specs[s.step - 1]!.wrong.length ? true : null);
    }
  });
}

test('summary table and check cost per type (ms, measured above)', () => {
  console.log(proofTable(proofs));
  const rows = Object.entries(timings).map(([k, v]) => {
    const s = [...v].sort((a, b) => a - b);
    return `${k}: n=${s.length} mean=${(s.reduce((a, b) => a + b, 0) / s.length).toFixed(2)} p95=${s[Math.floor(s.length * 0.95)]!.toFixed(2)}`;
  });
  console.log(`# check cost: ${rows.join(' | ')}`);
  assert.ok(rows.length > 0);
});
