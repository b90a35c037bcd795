// Pack folders: manifest (errors with a line, defaults), lesson files (symlinks and README refused/skipped), slug
// collisions with the built-in course, order of packs, lesson links and prerequisites across packs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_LESSONS_DIR } from './loader.ts';
import { loadPack, mergePacks, packId } from './pack.ts';

const LESSON = (order: number, extra = '') =>
  `---\ntitle: T${order}\nsummary: S\norder: ${order}\n${extra}---\n\n## Step: One\n\n\`\`\`check\nfile: /root/x\n\`\`\`\n\n\`\`\`solution\ntouch /root/x\n\`\`\`\n`;

function pack(t: { after(f: () => void): void }, name: string, files: Record<string, string>): string {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'boxlab-packtest-')), name);
  fs.mkdirSync(dir);
  t.after(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
  return dir;
}

test('manifest: defaults from the folder name; errors name pack.yaml and the line', (t) => {
  const plain = loadPack(pack(t, 'My Pack', { 'a.md': LESSON(1) }));
  assert.deepEqual(plain.info, { id: 'my-pack', title: 'my-pack', order: 100, builtin: false });
  assert.equal(packId('/x/Docker 101!'), 'docker-101');
  const bad = loadPack(pack(t, 'p', { 'pack.yaml': 'title: ok\norder: 1\nsandbox:\n  pids: 2\n', 'a.md': LESSON(1) }));
  assert.match(bad.errors[0] ?? '', /pack\.yaml:4: pack\.yaml: sandbox\.pids/);
  const unknown = loadPack(pack(t, 'p', { 'pack.yaml': 'title: ok\ncolour: red\n' }));
  assert.match(unknown.errors[0] ?? '', /pack\.yaml:1: pack\.yaml: .*colour/);
  const limits = loadPack(
    pack(t, 'p', {
      'pack.yaml': 'sandbox:\n  memory: 64M\nimage: debian\n',
      'a.md': LESSON(1),
      'b.md': LESSON(2, 'sandbox:\n  memory: 32M\n'),
    }),
  );
  assert.deepEqual(
    limits.lessons.map((l) => l.lesson.sandbox),
    [
      { memory: '64M', image: 'debian' },
      { memory: '32M', image: 'debian' },
    ],
  );
});

test('files: README.md is not a lesson, a symlinked lesson is refused, a bad slug is an error', (t) => {
  const dir = pack(t, 'p', { 'README.md': '# not a lesson', 'a.md': LESSON(1), 'Bad_Name.md': LESSON(2) });
  fs.symlinkSync(path.join(dir, 'a.md'), path.join(dir, 'linked.md'));
  const p = loadPack(dir);
  assert.deepEqual(
    p.lessons.map((l) => l.lesson.slug),
    ['a'],
  );
  assert.ok(
    p.errors.some((e) => /linked\.md:1: not a regular file/.test(e)),
    p.errors.join('\n'),
  );
  assert.ok(
    p.errors.some((e) => /Bad_Name\.md:1: "Bad_Name" is not a valid slug/.test(e)),
    p.errors.join('\n'),
  );
});

test('merging: the built-in course first, packs by order; a taken slug and unknown links are errors', (t) => {
  const builtin = loadPack(DEFAULT_LESSONS_DIR, true);
  const late = loadPack(pack(t, 'late', { 'pack.yaml': 'order: 20\n', 'z.md': LESSON(1) }));
  const early = loadPack(
    pack(t, 'early', {
      'pack.yaml': 'order: 5\n',
      'xray-tour.md': LESSON(1),
      'b.md': LESSON(2, 'prerequisites: [xray-tour, z]\n') + '\nSee [the tour](lesson:xray-tour) and [nothing](lesson:nowhere).\n',
    }),
  );
  const { lessons, errors } = mergePacks([late, builtin, early]);
  const slugs = lessons.map((l) => l.lesson.slug);
  assert.equal(slugs[0], 'xray-tour');
  assert.equal(lessons[0]?.lesson.pack.builtin, true, 'the built-in lesson keeps its slug');
  assert.deepEqual(slugs.slice(-2), ['b', 'z'], 'early (order 5) before late (order 20)');
  assert.ok(
    errors.some((e) => /early\/xray-tour\.md:1: slug "xray-tour" is already the lesson/.test(e)),
    errors.join('\n'),
  );
  assert.ok(
    errors.some((e) => /b\.md:\d+: link to "lesson:nowhere": no such lesson/.test(e)),
    errors.join('\n'),
  );
  assert.ok(!errors.some((e) => /prerequisite/.test(e)), 'prerequisites may name lessons of other packs');
});
