// Parses one lesson file (YAML front matter + Markdown steps with ```cmd, ```check, :::hint, ```solution, ```wrong and
// ```cleanup parts) into the lesson sent to browsers and the specs only the server and the provers see.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RootContent } from 'mdast';
import { z } from 'zod';
import { SLUG_RE, type Block, type Lesson, type LessonStep, type PackInfo } from '../protocol/lessons.ts';
import { LIMIT_RANGES, LIMIT_SETTINGS, type BoxSettings } from '../protocol/settings.ts';
import { LimitError } from '../protocol/size.ts';
import { lstatBeneath } from '../boxfs/index.ts';
import { compileCheck, type Check } from './compose.ts';
import { definitions, lineOf, parseDoc, plainText, toBlocks, type Ctx } from './markdown.ts';
import { boxSettingsText } from './settings.ts';
import { FormatError, parseYaml, zodError } from './yaml.ts';

export interface StepSpec {
  check: Check;
  solution: string[];
  /** A plausible mistake: the provers type it and expect the check to keep failing. Never sent to the browser. */
  wrong: string[];
  /** What the learner is told to do after the step (e.g. leave a chroot); the provers type it before the next step. */
  cleanup: string[];
  /** Line of the step's heading, for the prover's table. */
  line: number;
}

export interface LoadedLesson {
  lesson: Lesson;
  /** The box settings it asks for (its pack's, then its own), typed; lesson.sandbox is their display text. */
  settings: BoxSettings;
  specs: StepSpec[];
  file: string;
  /** `lesson:<slug>` links, checked against every served lesson when packs are merged. */
  links: { slug: string; line: number }[];
}

export const DEFAULT_LESSONS_DIR = fileURLToPath(new URL('../../lessons', import.meta.url));
export const BUILTIN_PACK: PackInfo = { id: 'boxlab', title: 'Boxlab course', order: 0, builtin: true };
const IMAGE_RE = /^[A-Za-z0-9_][A-Za-z0-9._/-]*\.(png|jpe?g|gif|webp|svg)$/i;

/** A limit in the front matter: the grammar and range of its setting (the same as BOXLAB_MEMORY or --memory), so a
 * bad one is a format error naming the key and the accepted form, never a NaN found when a box is made. */
function limit<K extends keyof typeof LIMIT_SETTINGS>(key: K) {
  return z.union([z.string(), z.number()]).transform((v, ctx): number => {
    try {
      return LIMIT_SETTINGS[key].parse!(String(v), {});
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof LimitError ? `${JSON.stringify(String(v))} ${err.message}` : String(err) });
      return z.NEVER;
    }
  });
}

export const sandboxSchema = z
  .strictObject({
    memory: limit('memoryBytes').optional(),
    cpuLimit: limit('cpuFraction').optional(),
    pids: z.number().int().min(LIMIT_RANGES.pids.min).max(LIMIT_RANGES.pids.max).optional(),
    /** Lab mode (docs/lab-mode.md): the box lets the learner make namespaces, mount and pivot_root. */
    lab: z.boolean().optional(),
  })
  .transform(
    ({ memory, cpuLimit, pids, lab }): BoxSettings => ({
      ...(memory !== undefined && { memoryBytes: memory }),
      ...(cpuLimit !== undefined && { cpuFraction: cpuLimit }),
      ...(pids !== undefined && { pids }),
      ...(lab !== undefined && { lab }),
    }),
  );
const frontSchema = z.strictObject({
  title: z.string().trim().min(1),
  summary: z.string().trim().min(1),
  order: z.number(),
  prerequisites: z.array(z.string().regex(SLUG_RE, 'is not a lesson slug')).default([]),
  sandbox: sandboxSchema.default({}),
  /** What the host must offer: cgroup-v2 for a lesson on child cgroups of the learner's own (lab-cgroup.md). */
  needs: z.array(z.enum(['cgroup-v2'])).default([]),
});

export interface ParseOptions {
  pack?: PackInfo;
  /** The pack folder: images are files beneath it (checked without following links). */
  dir?: string;
  /** The pack's default limits; the lesson's own sandbox settings win. */
  sandbox?: BoxSettings;
}

const lines = (v: string) => v.split('\n').filter((l) => l.trim());
const STEP_PARTS = ['check', 'solution', 'wrong', 'cleanup'];

/** Parses one lesson file's text. Throws FormatError with file:line on any mistake. */
export function parseLesson(text: string, file: string, slug: string, opts: ParseOptions = {}): LoadedLesson {
  if (!SLUG_RE.test(slug)) throw new FormatError(file, 1, `"${slug}" is not a valid slug (lowercase letters, digits and dashes)`);
  const src = text.replace(/\r\n/g, '\n');
  const dir = opts.dir ?? path.dirname(file);
  const links: LoadedLesson['links'] = [];
  const ctx: Ctx = {
    file,
    src,
    lessonLink: (s, line) => links.push({ slug: s, line }),
    image(rel, line) {
      if (!IMAGE_RE.test(rel) || rel.split('/').some((p) => p === '..' || p === '.' || p === '')) {
        throw new FormatError(file, line, `image "${rel}": a .png/.jpg/.gif/.webp/.svg path inside the pack, without ".."`);
      }
      const st = lstatBeneath(dir, `/${rel}`);
      if (!st?.isFile()) throw new FormatError(file, line, `image "${rel}" is not a file of the pack (links are not followed)`);
      return `/api/lessons/${slug}/files/${rel}`;
    },
  };
  const root = parseDoc(src, file);
  ctx.defs = definitions(root);
  const [head, ...nodes] = root.children;
  if (head?.type !== 'yaml') throw new FormatError(file, 1, 'a lesson starts with a "---" front matter block');
  const y = parseYaml(head.value, file, lineOf(head) + 1);
  const fm = frontSchema.safeParse(y.value ?? {});
  if (!fm.success) throw zodError(y, file, 'front matter', fm.error.issues[0]);
  const meta = fm.data;
  const intro: RootContent[] = [];
  const outro: RootContent[] = [];
  const raw: { title: string; line: number; nodes: RootContent[] }[] = [];
  for (const n of nodes) {
    const h2 = n.type === 'heading' && n.depth === 2 ? plainText(n.children, ctx) : null;
    if (h2 !== null && /^Step:\s*/.test(h2)) raw.push({ title: h2.replace(/^Step:\s*/, '').trim(), line: lineOf(n), nodes: [] });
    else if (h2 !== null && raw.length) outro.push(n);
    else if (outro.length) outro.push(n);
    else if (raw.length) raw[raw.length - 1]!.nodes.push(n);
    else intro.push(n);
  }
  if (!raw.length) throw new FormatError(file, lineOf(head) + 1, 'a lesson needs at least one "## Step: <title>"');
  const steps: LessonStep[] = [];
  const specs: StepSpec[] = [];
  raw.forEach((s, index) => {
    const body: RootContent[] = [];
    const hints: Block[][] = [];
    let check: Check | null = null;
    const part: Record<'solution' | 'wrong' | 'cleanup', string[]> = { solution: [], wrong: [], cleanup: [] };
    for (const n of s.nodes) {
      if (n.type === 'code' && n.lang && STEP_PARTS.includes(n.lang)) {
        if (n.lang !== 'check') part[n.lang as keyof typeof part] = lines(n.value);
        else if (check) throw new FormatError(file, lineOf(n), 'a step has exactly one ```check');
        else {
          const cy = parseYaml(n.value, file, lineOf(n) + 1);
          check = compileCheck(cy.value, cy, file);
        }
      } else if (n.type === 'containerDirective' && n.name === 'hint') hints.push(toBlocks(n.children, ctx));
      else body.push(n);
    }
    if (!check) throw new FormatError(file, s.line, `step "${s.title}" has no \`\`\`check`);
    if (!part.solution.length) throw new FormatError(file, s.line, `step "${s.title}" has no \`\`\`solution`);
    const c: Check = check;
    steps.push({
      index,
      title: s.title,
      body: toBlocks(body, ctx),
      hints,
      solution: part.solution,
      check: { type: c.type, summary: c.summary },
    });
    specs.push({ check: c, solution: part.solution, wrong: part.wrong, cleanup: part.cleanup, line: s.line });
  });
  const settings: BoxSettings = { ...opts.sandbox, ...meta.sandbox };
  const lesson: Lesson = {
    slug,
    pack: opts.pack ?? BUILTIN_PACK,
    title: meta.title,
    summary: meta.summary,
    order: meta.order,
    prerequisites: meta.prerequisites,
    ...(meta.needs.length ? { needs: meta.needs } : {}),
    sandbox: boxSettingsText(settings),
    stepTitles: steps.map((s) => s.title),
    intro: toBlocks(intro, ctx),
    steps,
    outro: toBlocks(outro, ctx),
  };
  return { lesson, settings, specs, file, links };
}
