// YAML of lesson front matter, check blocks and pack manifests, read with the `yaml` library; every error names file:line.
import { LineCounter, isNode, parseDocument, type Document } from 'yaml';

export class FormatError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
  ) {
    super(`${file}:${line}: ${message}`);
    this.name = 'FormatError';
  }
}

export interface ParsedYaml {
  value: unknown;
  /** The file line of a key path (e.g. ['sandbox', 'memory']), or of the block's first line when unknown. */
  lineOf(path: (string | number)[]): number;
}

/** Parses `text`, whose first line is line `firstLine` of `file` (YAML 1.2 core schema: `yes` stays a string). */
export function parseYaml(text: string, file: string, firstLine: number): ParsedYaml {
  const lc = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, strict: true });
  const err = doc.errors[0];
  if (err) {
    const line = err.linePos?.[0]?.line ?? lc.linePos(err.pos[0]).line;
    const hint = /compact mappings|Implicit map keys/.test(err.message) ? ' (quote a value that contains ": ", e.g. title: "a: b")' : '';
    throw new FormatError(file, firstLine + line - 1, `YAML: ${err.message.split('\n')[0]}${hint}`);
  }
  return {
    value: doc.toJS({ maxAliasCount: 0 }),
    lineOf(path) {
      for (let n = path.length; n > 0; n--) {
        const node = doc.getIn(path.slice(0, n), true);
        if (isNode(node) && node.range) return firstLine + lc.linePos(node.range[0]).line - 1;
      }
      return firstLine;
    },
  };
}

/** The first zod issue as "file:line: what: message", located through its path in the YAML. */
export function zodError(
  y: ParsedYaml,
  file: string,
  what: string,
  issue: { path: PropertyKey[]; message: string } | undefined,
): FormatError {
  const path = (issue?.path ?? []).filter((p): p is string | number => typeof p !== 'symbol');
  return new FormatError(
    file,
    y.lineOf(path),
    `${what}: ${path.join('.') || '(top)'} ${issue?.message ?? 'is invalid'}`.replace(': (top) ', ': '),
  );
}
