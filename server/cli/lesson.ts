// `boxlab lesson check DIR`: lints a lesson pack (every schema error with file:line), then proves each lesson in a real
// box (solutions turn checks green, wrong actions keep them red) and prints a summary table. Exit 0 only if all holds.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_LESSONS_DIR } from '../lessons/loader.ts';
import { loadPack, mergePacks } from '../lessons/pack.ts';
import { CliError, requireOverlay, requireRoot } from './preflight.ts';
import { LESSON_USAGE } from './usage.ts';

export async function lessonCommand(argv: string[], out = (s: string) => process.stdout.write(s + '\n')): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { 'lint-only': { type: 'boolean' }, lesson: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return (out(LESSON_USAGE), 0);
  const [sub, given, ...more] = positionals;
  if (sub !== 'check' || !given || more.length) throw new CliError(LESSON_USAGE, 2);
  // Absolute, so every error of this pack (file:line) is recognised whatever form of the path was typed.
  const dir = path.resolve(given);
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new CliError(`${dir} is not a folder`, 2);
  const builtin = path.resolve(dir) === path.resolve(DEFAULT_LESSONS_DIR);
  const pack = loadPack(dir, builtin);
  // Prerequisites may name lessons of the built-in course; slugs must not collide with them.
  const merged = builtin ? mergePacks([pack]) : mergePacks([loadPack(DEFAULT_LESSONS_DIR, true), pack]);
  const errors = merged.errors.filter((e) => e.startsWith(dir + path.sep));
  const lessons = merged.lessons.filter((l) => pack.lessons.includes(l) && (!values.lesson || values.lesson.includes(l.lesson.slug)));
  out(
    `pack "${pack.info.title}" (${given}): ${pack.lessons.length} lesson(s), ${pack.lessons.reduce((n, l) => n + l.specs.length, 0)} step(s)`,
  );
  if (!pack.lessons.length && !errors.length) errors.push(`${dir}: no lesson (<slug>.md) in this folder`);
  for (const e of errors) out(`error: ${e}`);
  if (values.lesson)
    for (const s of values.lesson) if (!lessons.some((l) => l.lesson.slug === s)) out(`error: no lesson "${s}" in ${dir}`), errors.push(s);
  for (const l of lessons) {
    for (const [i, s] of l.specs.entries())
      if (!s.wrong.length) out(`warning: ${l.file}:${s.line}: step ${i + 1} has no \`\`\`wrong: only half of it can be proved`);
  }
  if (errors.length) return (out(`lint: ${errors.length} error(s)`), 1);
  out('lint: ok');
  if (values['lint-only']) return 0;
  requireRoot();
  requireOverlay();
  const { consoleProgress, defaultImagePath, ensureImage, DEFAULT_IMAGES_DIR } = await import('../rootfs/index.ts');
  let baseDir = process.env.BOXLAB_IMAGE ?? defaultImagePath();
  if (pack.manifest.image) {
    const want = path.join(DEFAULT_IMAGES_DIR, pack.manifest.image);
    if (fs.existsSync(path.join(want, 'bin'))) baseDir = want;
    else out(`warning: image "${pack.manifest.image}" is not built here (${want}); proving in the default image`);
  }
  if (baseDir === defaultImagePath()) {
    const progress = consoleProgress('rootfs');
    await ensureImage(baseDir, progress);
    progress.done();
  }
  const { proveLesson, proofTable, lessonProved } = await import('../lessons/prove.ts');
  const proofs = [];
  for (const l of lessons) proofs.push(await proveLesson(l, { baseDir, log: (line) => out(`  ${line}`) }));
  out('');
  out(proofTable(proofs));
  const failed = proofs.filter((p) => !lessonProved(p));
  out(`\n${proofs.length - failed.length} passed, ${failed.length} failed`);
  for (const p of failed)
    for (const s of p.steps.filter((x) => !(x.redBefore && x.redAfterWrong !== false && x.green)))
      out(`FAILED ${p.file}:${s.line}: step ${s.step}: ${s.message}`);
  return failed.length ? 1 : 0;
}
