// A tiny YAML-subset reader for lesson front matter and check blocks: scalars, [inline, lists], one level of nested maps.

export type Scalar = string | number | boolean | null;
export type Value = Scalar | Scalar[] | { [k: string]: Scalar | Scalar[] };

export class FormatError extends Error {
  constructor(readonly file: string, readonly line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = 'FormatError';
  }
}

/** "42" → 42, "true" → true, quoted strings unquoted; everything else stays a string (YAML 1.2 core schema, minus floats in exponent form). */
export function parseScalar(raw: string): Scalar {
  const s = raw.trim();
  if (s === '' || s === '~' || s === 'null') return null;
  if (s === 'true') return true;
  if (s === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  if ((s.startsWith('"') && s.endsWith('"') && s.length >= 2) || (s.startsWith("'") && s.endsWith("'") && s.length >= 2)) {
    const inner = s.slice(1, -1);
    return s[0] === '"' ? inner.replace(/\\(["\\])/g, '$1') : inner.replace(/''/g, "'");
  }
  return s;
}

function parseValue(raw: string): Scalar | Scalar[] {
  const s = raw.trim();
  if (s.startsWith('[') && s.endsWith(']')) {
    const inner = s.slice(1, -1).trim();
    return inner ? inner.split(',').map(parseScalar) : [];
  }
  return parseScalar(s);
}

/** Parses `key: value` lines; a key with no value opens a nested map of the indented lines below it. `#` starts a comment line. */
export function parseKeyValues(text: string, file = '<text>', firstLine = 1): Record<string, Value> {
  const out: Record<string, Value> = {};
  let nested: { [k: string]: Scalar | Scalar[] } | null = null;
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const n = firstLine + i;
    if (!line.trim() || line.trim().startsWith('#')) return;
    const indented = /^\s+/.test(line);
    const m = /^\s*([A-Za-z][\w-]*)\s*:(.*)$/.exec(line);
    if (!m) throw new FormatError(file, n, `expected "key: value", got ${JSON.stringify(line.trim())}`);
    const [, key, rest] = m;
    if (indented) {
      if (!nested) throw new FormatError(file, n, `indented "${key}" has no parent key`);
      if (key in nested) throw new FormatError(file, n, `duplicate key "${key}"`);
      nested[key] = parseValue(rest);
      return;
    }
    if (key in out) throw new FormatError(file, n, `duplicate key "${key}"`);
    if (rest.trim() === '') {
      nested = {};
      out[key] = nested;
    } else {
      nested = null;
      out[key] = parseValue(rest);
    }
  });
  return out;
}

/** Splits "---\n<front matter>\n---\n<body>"; returns the body's first line number for error messages. */
export function splitFrontMatter(text: string, file: string): { meta: Record<string, Value>; body: string; bodyLine: number } {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  if (lines[0] !== '---') throw new FormatError(file, 1, 'a lesson starts with a "---" front matter block');
  const end = lines.indexOf('---', 1);
  if (end < 0) throw new FormatError(file, 1, 'front matter is not closed with "---"');
  return {
    meta: parseKeyValues(lines.slice(1, end).join('\n'), file, 2),
    body: lines.slice(end + 1).join('\n'),
    bodyLine: end + 2,
  };
}
