// Class results as CSV (RFC 4180), one row per learner and step, safe to open in a spreadsheet.

/**
 * One field: a cell that a spreadsheet would read as a formula (= + - @, tab, carriage return first) gets a leading
 * apostrophe (OWASP "CSV Injection"); a field with a comma, quote or line break is quoted, quotes doubled (RFC 4180 §2).
 */
export function csvField(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  let s = String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Rows joined with CRLF (RFC 4180), ending with one. */
export function toCsv(rows: readonly (readonly (string | number | null | undefined)[])[]): string {
  return rows.map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

export const CSV_HEADER = [
  'class',
  'class_code',
  'learner',
  'joined_at',
  'lesson',
  'lesson_title',
  'step',
  'step_title',
  'status',
  'opened_at',
  'passed_at',
  'seconds',
] as const;

export interface CsvInput {
  cls: { name: string; code: string; lessons: string[] };
  members: { name: string; joinedAt: number; times: Map<string, { openedAt: number | null; passedAt: number | null }> }[];
  /** Title and step titles of a lesson id (undefined: the lesson is no longer loaded; its recorded steps still export). */
  lesson: (slug: string) => { title: string; steps: string[] } | undefined;
}

const iso = (t: number | null): string => (t === null ? '' : new Date(t).toISOString());

/** Every step of the class's lessons for every member (status: passed, opened or not started). */
export function classCsv({ cls, members, lesson }: CsvInput): string {
  const rows: (string | number | null)[][] = [[...CSV_HEADER]];
  for (const m of members) {
    for (const slug of cls.lessons) {
      const l = lesson(slug);
      const recorded = [...m.times.keys()].filter((k) => k.startsWith(`${slug}#`)).map((k) => Number(k.slice(slug.length + 1)));
      const n = Math.max(l?.steps.length ?? 0, ...recorded.map((s) => s + 1));
      for (let step = 0; step < n; step++) {
        const t = m.times.get(`${slug}#${step}`) ?? { openedAt: null, passedAt: null };
        const status = t.passedAt !== null ? 'passed' : t.openedAt !== null ? 'opened' : 'not started';
        const secs = t.passedAt !== null && t.openedAt !== null ? Math.max(0, Math.round((t.passedAt - t.openedAt) / 1000)) : null;
        rows.push([
          cls.name,
          cls.code,
          m.name,
          iso(m.joinedAt),
          slug,
          l?.title ?? '',
          step + 1,
          l?.steps[step] ?? '',
          status,
          iso(t.openedAt),
          iso(t.passedAt),
          secs,
        ]);
      }
    }
  }
  return toCsv(rows);
}
