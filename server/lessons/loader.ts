// Loads lessons/<slug>.md: front matter + Markdown steps with ```cmd, ```check, :::hint, ```solution and ```wrong (tests only) parts.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SLUG_RE, type Block, type Lesson, type LessonStep, type SandboxSettings } from '../protocol/lessons.ts';
import { checkDef } from './checks.ts';
import { FormatError, parseKeyValues, splitFrontMatter, type Value } from './frontmatter.ts';
import { parseInline, parseMarkdown, type RawNode } from './markdown.ts';

export interface StepSpec {
  check: { type: string; params: unknown };
  solution: string[];
  /** A plausible mistake: the tests type it and expect the check to keep failing. Never sent to the browser. */
  wrong: string[];
  /** What the learner is told to do after the step (e.g. leave a chroot); the tests type it before the next step. */
  cleanup: string[];
}

export interface LoadedLesson {
  lesson: Lesson;
  specs: StepSpec[];
  file: string;
}

export const DEFAULT_LESSONS_DIR = fileURLToPath(new URL('../../lessons', import.meta.url));

function toBlocks(nodes: RawNode[], file: string): Block[] {
  const out: Block[] = [];
  for (const n of nodes) {
    if (n.k === 'para') out.push({ t: 'p', c: parseInline(n.text) });
    else if (n.k === 'heading') out.push({ t: 'h', c: parseInline(n.text) });
    else if (n.k === 'list') out.push({ t: n.ordered ? 'ol' : 'ul', items: n.items.map(parseInline) });
    else if (n.k === 'quote') out.push({ t: 'quote', c: parseInline(n.text) });
    else if (n.k === 'fence') {
      if (n.lang === 'cmd') out.push({ t: 'cmd', v: n.text.split('\n').filter((l) => l.trim()) });
      else if (['check', 'solution', 'wrong', 'cleanup'].includes(n.lang)) throw new FormatError(file, n.line, `\`\`\`${n.lang} belongs directly in a step`);
      else out.push({ t: 'code', v: n.text });
    } else if (n.name === 'v1' || n.name === 'v2') out.push({ t: 'only', cgroup: n.name === 'v1' ? 1 : 2, blocks: toBlocks(n.children, file) });
    else throw new FormatError(file, n.line, `:::${n.name} is not allowed here (only :::v1, :::v2, and :::hint in a step)`);
  }
  return out;
}

function str(meta: Record<string, Value>, key: string, file: string): string {
  const v = meta[key];
  if (typeof v !== 'string' || !v.trim()) throw new FormatError(file, 1, `front matter needs "${key}" (text)`);
  return v;
}

function sandboxSettings(v: Value | undefined, file: string): SandboxSettings {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new FormatError(file, 1, '"sandbox" must be a map (memory, cpuLimit, pids, lab)');
  const out: SandboxSettings = {};
  for (const [k, raw] of Object.entries(v)) {
    const s = String(raw);
    if (k === 'memory' && /^\d+[KMG]$/.test(s)) out.memory = s;
    else if (k === 'cpuLimit' && /^\d+(\.\d+)?$/.test(s) && Number(s) > 0) out.cpuLimit = s;
    else if (k === 'pids' && /^\d+$/.test(s) && Number(s) >= 8) out.pids = Number(s);
    else if (k === 'lab' && (raw === true || raw === false)) out.lab = raw;
    else throw new FormatError(file, 1, `sandbox.${k}: "${s}" is not a valid setting`);
  }
  return out;
}

/** Parses one lesson file's text. Throws FormatError with file:line on any mistake. */
export function parseLesson(text: string, file: string, slug: string): LoadedLesson {
  if (!SLUG_RE.test(slug)) throw new FormatError(file, 1, `"${slug}" is not a valid slug`);
  const { meta, body, bodyLine } = splitFrontMatter(text, file);
  const prereq = meta.prerequisites ?? [];
  if (!Array.isArray(prereq) || prereq.some((p) => typeof p !== 'string')) throw new FormatError(file, 1, '"prerequisites" must be a [list] of slugs');
  if (typeof meta.order !== 'number') throw new FormatError(file, 1, 'front matter needs "order" (a number)');
  const nodes = parseMarkdown(body, file, bodyLine);
  const intro: RawNode[] = [];
  const outro: RawNode[] = [];
  const raw: { title: string; line: number; nodes: RawNode[] }[] = [];
  for (const n of nodes) {
    const stepHead = n.k === 'heading' && n.level === 2 && /^Step:\s*/.test(n.text);
    if (stepHead) raw.push({ title: n.text.replace(/^Step:\s*/, ''), line: n.line, nodes: [] });
    else if (n.k === 'heading' && n.level === 2 && raw.length) outro.push(n);
    else if (outro.length) outro.push(n);
    else if (raw.length) raw[raw.length - 1].nodes.push(n);
    else intro.push(n);
  }
  if (!raw.length) throw new FormatError(file, bodyLine, 'a lesson needs at least one "## Step: <title>"');
  const steps: LessonStep[] = [];
  const specs: StepSpec[] = [];
  raw.forEach((s, index) => {
    const bodyNodes: RawNode[] = [];
    const hints: Block[][] = [];
    let check: StepSpec['check'] | null = null;
    let solution: string[] = [];
    let wrong: string[] = [];
    let cleanup: string[] = [];
    let summary = '';
    for (const n of s.nodes) {
      if (n.k === 'fence' && n.lang === 'check') {
        if (check) throw new FormatError(file, n.line, 'a step has exactly one ```check');
        const kv = parseKeyValues(n.text, file, n.line + 1);
        const { type, ...params } = kv;
        const def = typeof type === 'string' ? checkDef(type) : undefined;
        if (!def) throw new FormatError(file, n.line, `unknown check type ${JSON.stringify(type)}`);
        const r = def.params.safeParse(params);
        if (!r.success) throw new FormatError(file, n.line, `check ${type}: ${r.error.issues[0]?.path.join('.')} ${r.error.issues[0]?.message}`);
        check = { type: type as string, params: r.data };
        summary = def.summary(r.data);
      } else if (n.k === 'fence' && n.lang === 'solution') solution = n.text.split('\n').filter((l) => l.trim());
      else if (n.k === 'fence' && n.lang === 'wrong') wrong = n.text.split('\n').filter((l) => l.trim());
      else if (n.k === 'fence' && n.lang === 'cleanup') cleanup = n.text.split('\n').filter((l) => l.trim());
      else if (n.k === 'container' && n.name === 'hint') hints.push(toBlocks(n.children, file));
      else bodyNodes.push(n);
    }
    if (!check) throw new FormatError(file, s.line, `step "${s.title}" has no \`\`\`check`);
    if (!solution.length) throw new FormatError(file, s.line, `step "${s.title}" has no \`\`\`solution`);
    steps.push({ index, title: s.title, body: toBlocks(bodyNodes, file), hints, solution, check: { type: check.type, summary } });
    specs.push({ check, solution, wrong, cleanup });
  });
  const lesson: Lesson = {
    slug,
    title: str(meta, 'title', file),
    summary: str(meta, 'summary', file),
    order: meta.order,
    prerequisites: prereq as string[],
    sandbox: sandboxSettings(meta.sandbox, file),
    stepTitles: steps.map((s) => s.title),
    intro: toBlocks(intro, file),
    steps,
    outro: toBlocks(outro, file),
  };
  return { lesson, specs, file };
}

/** Every lessons/<slug>.md, sorted by order; files that fail to parse are reported, not fatal. */
export function loadLessons(dir = DEFAULT_LESSONS_DIR): { lessons: LoadedLesson[]; errors: string[] } {
  const lessons: LoadedLesson[] = [];
  const errors: string[] = [];
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith('.md') && n !== 'README.md');
  } catch (err) {
    return { lessons, errors: [`${dir}: ${(err as Error).message}`] };
  }
  for (const name of names) {
    const file = path.join(dir, name);
    try {
      lessons.push(parseLesson(fs.readFileSync(file, 'utf8'), file, name.slice(0, -3)));
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  const slugs = new Set(lessons.map((l) => l.lesson.slug));
  for (const l of lessons) {
    for (const p of l.lesson.prerequisites) if (!slugs.has(p)) errors.push(`${l.file}: prerequisite "${p}" is not a lesson`);
  }
  lessons.sort((a, b) => a.lesson.order - b.lesson.order || a.lesson.slug.localeCompare(b.lesson.slug));
  return { lessons, errors };
}
