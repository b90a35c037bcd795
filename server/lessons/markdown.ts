// Lesson Markdown (CommonMark + GFM tables + :::directives + YAML front matter) parsed by unified/remark into mdast,
// then turned into the typed tree sent to browsers (protocol Block/Inline): plain data, never HTML.
import type { Nodes, PhrasingContent, Root, RootContent } from 'mdast';
import remarkDirective from 'remark-directive';
import remarkFrontmatter from 'remark-frontmatter';
import remarkGfm from 'remark-gfm';
import remarkParse from 'remark-parse';
import { unified } from 'unified';
import { SLUG_RE, type Block, type Inline } from '../protocol/lessons.ts';
import { FormatError } from './yaml.ts';

const processor = unified().use(remarkParse).use(remarkGfm).use(remarkFrontmatter, ['yaml']).use(remarkDirective);

/** Where a node comes from and how its images and links resolve. */
export interface Ctx {
  file: string;
  src: string;
  /** Image path (relative to the pack) → the URL browsers fetch it from; throws FormatError when the file is not allowed. */
  image(rel: string, line: number): string;
  /** Called for each `lesson:<slug>` link (the pack loader verifies the slug names a lesson). */
  lessonLink?(slug: string, line: number): void;
  /** Link reference definitions ([id]: url) of the file, for [text][id] links and images. */
  defs?: Map<string, string>;
}

/** `[id]: url` definitions anywhere in the file (identifiers are already normalised by mdast). */
export function definitions(root: Root): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (nodes: RootContent[]): void => {
    for (const n of nodes) {
      if (n.type === 'definition') out.set(n.identifier, n.url);
      else if ('children' in n && Array.isArray(n.children)) walk(n.children as RootContent[]);
    }
  };
  walk(root.children);
  return out;
}

export const lineOf = (n: { position?: { start: { line: number } } }): number => n.position?.start.line ?? 1;
export const rawOf = (n: Nodes, src: string): string => src.slice(n.position?.start.offset ?? 0, n.position?.end.offset ?? 0);

/** The top-level mdast nodes of a lesson, with unclosed fences and containers refused (CommonMark would run them to the end). */
export function parseDoc(src: string, file: string): Root {
  const root = processor.parse(src) as Root;
  const walk = (nodes: RootContent[]): void => {
    for (const n of nodes) {
      if (n.type === 'code' && /^(```|~~~)/.test(rawOf(n, src)) && !/(```|~~~)\s*$/.test(rawOf(n, src).slice(3))) {
        throw new FormatError(file, lineOf(n), 'code fence is not closed');
      }
      if (n.type === 'containerDirective') {
        const raw = rawOf(n, src).trimEnd();
        if (!/\n\s*:::+$/.test(raw)) throw new FormatError(file, lineOf(n), `":::${n.name}" container is not closed`);
        walk(n.children);
      }
    }
  };
  walk(root.children);
  return root;
}

const SAFE_HREF = /^(https?:\/\/|\/|#)/;

export function toInlines(nodes: PhrasingContent[], ctx: Ctx): Inline[] {
  const out: Inline[] = [];
  const text = (v: string) => {
    const last = out[out.length - 1];
    if (last?.t === 'text') last.v += v;
    else out.push({ t: 'text', v });
  };
  for (const n of nodes) {
    switch (n.type) {
      case 'text':
        text(n.value);
        break;
      case 'inlineCode':
        out.push({ t: 'code', v: n.value });
        break;
      case 'strong':
        out.push({ t: 'strong', c: toInlines(n.children, ctx) });
        break;
      case 'emphasis':
        out.push({ t: 'em', c: toInlines(n.children, ctx) });
        break;
      case 'delete':
        out.push({ t: 'del', c: toInlines(n.children, ctx) });
        break;
      case 'break':
        out.push({ t: 'br' });
        break;
      case 'linkReference':
      case 'link': {
        const c = toInlines(n.children, ctx);
        const url = n.type === 'link' ? n.url : ctx.defs?.get(n.identifier);
        if (url === undefined) {
          text(rawOf(n, ctx.src));
          break;
        }
        const slug = /^lesson:(.*)$/.exec(url)?.[1];
        if (slug !== undefined) {
          if (!SLUG_RE.test(slug)) throw new FormatError(ctx.file, lineOf(n), `"lesson:${slug}" does not name a lesson slug`);
          ctx.lessonLink?.(slug, lineOf(n));
          out.push({ t: 'lesson', slug, c });
        } else if (SAFE_HREF.test(url)) out.push({ t: 'link', href: url, c });
        // No javascript:, data: or relative URLs can come out of a lesson file.
        else throw new FormatError(ctx.file, lineOf(n), `link "${url}": use http(s)://, /path, #anchor or lesson:<slug>`);
        break;
      }
      case 'image':
        out.push({ t: 'img', src: ctx.image(n.url, lineOf(n)), alt: n.alt ?? '' });
        break;
      case 'imageReference': {
        const url = ctx.defs?.get(n.identifier);
        if (url === undefined) text(rawOf(n, ctx.src));
        else out.push({ t: 'img', src: ctx.image(url, lineOf(n)), alt: n.alt ?? '' });
        break;
      }
      case 'html':
        // Raw HTML is shown as the text it is, never interpreted.
        text(n.value);
        break;
      default:
        // `:name` in prose (e.g. host:port) parses as a text directive: keep the author's characters.
        text(rawOf(n as Nodes, ctx.src));
    }
  }
  return out;
}

/** Block content; `fences` decides what a ```lang fence becomes (cmd buttons, or an error for step-only parts). */
export function toBlocks(nodes: RootContent[], ctx: Ctx): Block[] {
  const out: Block[] = [];
  for (const n of nodes) {
    switch (n.type) {
      case 'paragraph':
        out.push({ t: 'p', c: toInlines(n.children, ctx) });
        break;
      case 'heading':
        out.push({ t: 'h', level: Math.min(Math.max(n.depth, 2), 4) as 2 | 3 | 4, c: toInlines(n.children, ctx) });
        break;
      case 'list':
        out.push({
          t: n.ordered ? 'ol' : 'ul',
          ...(n.ordered && n.start && n.start !== 1 ? { start: n.start } : {}),
          items: n.children.map((li) => toBlocks(li.children, ctx)),
        });
        break;
      case 'blockquote':
        out.push({ t: 'quote', blocks: toBlocks(n.children, ctx) });
        break;
      case 'thematicBreak':
        out.push({ t: 'hr' });
        break;
      case 'table': {
        const [head, ...rows] = n.children.map((r) => r.children.map((cell) => toInlines(cell.children, ctx)));
        out.push({ t: 'table', align: (n.align ?? []).map((a) => a ?? null), head: head ?? [], rows });
        break;
      }
      case 'code':
        if (n.lang === 'cmd') out.push({ t: 'cmd', v: n.value.split('\n').filter((l) => l.trim()) });
        else if (['check', 'solution', 'wrong', 'cleanup'].includes(n.lang ?? ''))
          throw new FormatError(ctx.file, lineOf(n), `\`\`\`${n.lang} belongs directly in a step`);
        else out.push({ t: 'code', v: n.value, ...(n.lang ? { lang: n.lang } : {}) });
        break;
      case 'containerDirective':
        if (n.name === 'v1' || n.name === 'v2') out.push({ t: 'only', cgroup: n.name === 'v1' ? 1 : 2, blocks: toBlocks(n.children, ctx) });
        else throw new FormatError(ctx.file, lineOf(n), `:::${n.name} is not allowed here (only :::v1, :::v2, and :::hint in a step)`);
        break;
      case 'html':
        out.push({ t: 'p', c: [{ t: 'text', v: n.value }] });
        break;
      case 'leafDirective':
        out.push({ t: 'p', c: [{ t: 'text', v: rawOf(n, ctx.src) }] });
        break;
      case 'definition':
      case 'footnoteDefinition':
      case 'yaml':
        break;
      default:
        throw new FormatError(ctx.file, lineOf(n), `${n.type} is not supported in a lesson`);
    }
  }
  return out;
}

/** Plain text of phrasing content (step titles). */
export function plainText(nodes: PhrasingContent[], ctx: Ctx): string {
  return toInlines(nodes, ctx)
    .map(function s(i: Inline): string {
      return 'v' in i ? i.v : 'c' in i ? i.c.map(s).join('') : i.t === 'img' ? i.alt : ' ';
    })
    .join('');
}
