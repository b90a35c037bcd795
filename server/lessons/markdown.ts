// The Markdown subset lessons use, parsed to plain data (never HTML): headings, paragraphs, lists, quotes, fences, :::containers, inline marks.
import type { Inline } from '../protocol/lessons.ts';
import { FormatError } from './frontmatter.ts';

export type RawNode =
  | { k: 'heading'; level: number; text: string; line: number }
  | { k: 'fence'; lang: string; text: string; line: number }
  | { k: 'container'; name: string; children: RawNode[]; line: number }
  | { k: 'para'; text: string; line: number }
  | { k: 'list'; ordered: boolean; items: string[]; line: number }
  | { k: 'quote'; text: string; line: number };

const FENCE = /^```\s*([\w-]*)\s*$/;
const CONTAINER = /^:::\s*([\w-]+)\s*$/;
const LIST_ITEM = /^(\s*)([-*]|\d+\.)\s+(.*)$/;

/** Block structure of `text` (its first line is line `first` of `file`, for errors). */
export function parseMarkdown(text: string, file: string, first = 1): RawNode[] {
  const lines = text.split('\n');
  let i = 0;
  function blocks(endOnContainerClose: boolean): RawNode[] {
    const out: RawNode[] = [];
    while (i < lines.length) {
      const line = lines[i];
      const n = first + i;
      if (line.trim() === ':::') {
        if (!endOnContainerClose) throw new FormatError(file, n, '":::" closes no container');
        i++;
        return out;
      }
      if (!line.trim()) {
        i++;
        continue;
      }
      const fence = FENCE.exec(line);
      if (fence) {
        const body: string[] = [];
        i++;
        while (i < lines.length && !/^```\s*$/.test(lines[i])) body.push(lines[i++]);
        if (i >= lines.length) throw new FormatError(file, n, 'code fence is not closed');
        i++;
        out.push({ k: 'fence', lang: fence[1], text: body.join('\n'), line: n });
        continue;
      }
      const cont = CONTAINER.exec(line);
      if (cont) {
        i++;
        out.push({ k: 'container', name: cont[1], children: blocks(true), line: n });
        continue;
      }
      const h = /^(#{1,4})\s+(.*)$/.exec(line);
      if (h) {
        out.push({ k: 'heading', level: h[1].length, text: h[2].trim(), line: n });
        i++;
        continue;
      }
      if (LIST_ITEM.test(line)) {
        const ordered = /^\s*\d+\./.test(line);
        const items: string[] = [];
        while (i < lines.length && lines[i].trim() && lines[i].trim() !== ':::' && !FENCE.test(lines[i]) && !CONTAINER.test(lines[i])) {
          const m = LIST_ITEM.exec(lines[i]);
          if (m) items.push(m[3]);
          else if (items.length) items[items.length - 1] += ' ' + lines[i].trim();
          i++;
        }
        out.push({ k: 'list', ordered, items, line: n });
        continue;
      }
      if (line.startsWith('>')) {
        const q: string[] = [];
        while (i < lines.length && lines[i].startsWith('>')) q.push(lines[i++].replace(/^>\s?/, ''));
        out.push({ k: 'quote', text: q.join(' '), line: n });
        continue;
      }
      const para: string[] = [];
      while (i < lines.length && lines[i].trim() && !FENCE.test(lines[i]) && !CONTAINER.test(lines[i]) && lines[i].trim() !== ':::' &&
        !/^#{1,4}\s/.test(lines[i]) && !LIST_ITEM.test(lines[i]) && !lines[i].startsWith('>')) {
        para.push(lines[i++].trim());
      }
      out.push({ k: 'para', text: para.join(' '), line: n });
    }
    if (endOnContainerClose) throw new FormatError(file, first + lines.length - 1, 'a ":::" container is not closed');
    return out;
  }
  return blocks(false);
}

// Emphasis marks must stand at word edges, so net_cls/net_prio or a*b stay plain text.
const INLINE = /`([^`]+)`|\*\*([^*]+)\*\*|(?<!\w)\*([^*\s][^*]*?)\*(?!\w)|(?<!\w)_([^_\s][^_]*?)_(?!\w)|\[([^\]]+)\]\(([^)\s]+)\)/g;

/** Inline marks: `code`, **strong**, *em* or _em_, [text](href). Links are limited to relative paths and http(s). */
export function parseInline(text: string): Inline[] {
  const out: Inline[] = [];
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index! > last) out.push({ t: 'text', v: text.slice(last, m.index) });
    if (m[1] !== undefined) out.push({ t: 'code', v: m[1] });
    else if (m[2] !== undefined) out.push({ t: 'strong', v: m[2] });
    else if (m[3] !== undefined || m[4] !== undefined) out.push({ t: 'em', v: (m[3] ?? m[4])! });
    else {
      const href = m[6];
      // No javascript: or data: URLs can come out of a lesson file.
      if (/^(https?:\/\/|\/|#)/.test(href)) out.push({ t: 'link', v: m[5], href });
      else out.push({ t: 'text', v: m[5] });
    }
    last = m.index! + m[0].length;
  }
  if (last < text.length) out.push({ t: 'text', v: text.slice(last) });
  return out;
}
