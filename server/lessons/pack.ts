// A lesson pack: a folder (or a Git checkout) of <slug>.md lessons, optional images, and an optional pack.yaml manifest
// (title, order, image, sandbox limits). The built-in course is the pack "boxlab" in lessons/.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { PackInfo } from '../protocol/lessons.ts';
import { BUILTIN_PACK, DEFAULT_LESSONS_DIR, parseLesson, sandboxSchema, type LoadedLesson } from './loader.ts';
import { FormatError, parseYaml, zodError } from './yaml.ts';

export const MANIFEST = 'pack.yaml';
const manifestSchema = z.strictObject({
  title: z.string().trim().min(1).max(80).optional(),
  order: z.number().default(100),
  /** A server image (a directory name under the images dir, e.g. debian from `boxlab rootfs --debian`). */
  image: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'is not an image name')
    .optional(),
  /** Default sandbox limits of the pack's lessons (each capped by the server's own). */
  sandbox: sandboxSchema.default({}),
});
export type Manifest = z.infer<typeof manifestSchema>;

export interface LoadedPack {
  info: PackInfo;
  dir: string;
  manifest: Manifest;
  lessons: LoadedLesson[];
  /** "file:line: message" for each file that did not parse (those lessons are left out). */
  errors: string[];
}

/** Pack id: the folder's name made a slug ("My Pack" → my-pack). */
export const packId = (dir: string): string =>
  path
    .basename(path.resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48) || 'pack';

export function readManifest(dir: string): Manifest {
  const file = path.join(dir, MANIFEST);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return manifestSchema.parse({});
  }
  const y = parseYaml(text, file, 1);
  const r = manifestSchema.safeParse(y.value ?? {});
  if (!r.success) throw zodError(y, file, 'pack.yaml', r.error.issues[0]);
  return r.data;
}

/** Parsed lessons by file identity and options: an unchanged file is not parsed again (servers in tests, reloads). */
const cache = new Map<string, LoadedLesson>();

function parseCached(file: string, st: fs.Stats, slug: string, opts: Parameters<typeof parseLesson>[3]): LoadedLesson {
  const key = JSON.stringify([file, st.ino, st.size, st.mtimeMs, st.ctimeMs, opts]);
  const hit = cache.get(key);
  if (hit) return hit;
  const l = parseLesson(fs.readFileSync(file, 'utf8'), file, slug, opts);
  if (cache.size > 512) cache.clear();
  cache.set(key, l);
  return l;
}

export function loadPack(dir: string, builtin = false): LoadedPack {
  const errors: string[] = [];
  let manifest: Manifest = manifestSchema.parse({});
  try {
    manifest = readManifest(dir);
  } catch (err) {
    errors.push((err as Error).message);
  }
  const info: PackInfo = builtin
    ? BUILTIN_PACK
    : { id: packId(dir), title: manifest.title ?? packId(dir), order: manifest.order, builtin: false };
  const lessons: LoadedLesson[] = [];
  let names: string[] = [];
  try {
    names = fs
      .readdirSync(dir)
      .filter((n) => n.endsWith('.md') && n !== 'README.md')
      .sort();
  } catch (err) {
    errors.push(`${dir}: ${(err as Error).message}`);
  }
  for (const name of names) {
    const file = path.join(dir, name);
    try {
      const st = fs.lstatSync(file);
      if (!st.isFile()) throw new FormatError(file, 1, 'not a regular file (links are not followed)');
      if (st.size > 256 * 1024) throw new FormatError(file, 1, 'larger than 256 KiB');
      const sandbox = { ...manifest.sandbox, ...(manifest.image ? { image: manifest.image } : {}) };
      lessons.push(parseCached(file, st, name.slice(0, -3), { pack: info, dir, sandbox }));
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  return { info, dir, manifest, lessons, errors };
}

/**
 * Every pack's lessons in one list: the built-in course first, then packs by order. A slug taken by an earlier pack
 * and a prerequisite that names no lesson are errors (the later lesson is left out, the prerequisite reported).
 */
export function mergePacks(packs: LoadedPack[]): { lessons: LoadedLesson[]; errors: string[] } {
  const bySlug = new Map<string, LoadedLesson>();
  const errors = packs.flatMap((p) => p.errors);
  const sorted = [...packs].sort(
    (a, b) => Number(b.info.builtin) - Number(a.info.builtin) || a.info.order - b.info.order || a.info.id.localeCompare(b.info.id),
  );
  for (const p of sorted) {
    for (const l of p.lessons) {
      const other = bySlug.get(l.lesson.slug);
      if (other) errors.push(`${l.file}:1: slug "${l.lesson.slug}" is already the lesson ${other.file}`);
      else bySlug.set(l.lesson.slug, l);
    }
  }
  for (const l of bySlug.values()) {
    for (const pre of l.lesson.prerequisites) if (!bySlug.has(pre)) errors.push(`${l.file}:1: prerequisite "${pre}" is not a lesson`);
    for (const k of l.links) if (!bySlug.has(k.slug)) errors.push(`${l.file}:${k.line}: link to "lesson:${k.slug}": no such lesson`);
  }
  const rank = new Map(sorted.map((p, i) => [p.info.id + p.dir, i]));
  const lessons = [...bySlug.values()].sort(
    (a, b) =>
      rank.get(a.lesson.pack.id + dirOf(a, packs))! - rank.get(b.lesson.pack.id + dirOf(b, packs))! ||
      a.lesson.order - b.lesson.order ||
      a.lesson.slug.localeCompare(b.lesson.slug),
  );
  return { lessons, errors };
}
const dirOf = (l: LoadedLesson, packs: LoadedPack[]) => packs.find((p) => p.lessons.includes(l))?.dir ?? '';

/** The lessons of one folder (the built-in course by default), sorted by order; files that fail are reported, not fatal. */
export function loadLessons(dir = DEFAULT_LESSONS_DIR): { lessons: LoadedLesson[]; errors: string[] } {
  return mergePacks([loadPack(dir, path.resolve(dir) === path.resolve(DEFAULT_LESSONS_DIR))]);
}
