// types.ts: the shape of a benchmark section; bench/sections/index.ts lists them and bench/run.ts runs them.

export interface SectionContext {
  /** `--quick`: everything in under 2 minutes, fewer samples. */
  quick: boolean;
  /** Progress lines (stderr), not part of the report. */
  log: (line: string) => void;
}

export interface SectionResult {
  /** Markdown for the report (tables, with a heading per table). */
  markdown: string;
  /** Everything measured, written to bench/results/<name>-<date>.json. */
  json: object;
}

export interface Section {
  /** Short id: `--only=<name>` and the results file name. */
  name: string;
  title: string;
  run(ctx: SectionContext): Promise<SectionResult>;
}
