// What checks cost the server: run time per check type over the last runs (mean and p95), for the dashboard and the report.

export class CostMeter {
  private readonly samples = new Map<string, number[]>();
  private readonly runs = new Map<string, number>();

  constructor(private readonly keep = 500) {}

  add(type: string, ms: number): void {
    const list = this.samples.get(type) ?? [];
    list.push(ms);
    if (list.length > this.keep) list.shift();
    this.samples.set(type, list);
    this.runs.set(type, (this.runs.get(type) ?? 0) + 1);
  }

  /** Mean of the last 20 runs of a type (0 before any). */
  recentMean(type: string): number {
    const list = this.samples.get(type)?.slice(-20) ?? [];
    return list.length ? list.reduce((a, b) => a + b, 0) / list.length : 0;
  }

  summary(): Record<string, { runs: number; meanMs: number; p95Ms: number }> {
    const out: Record<string, { runs: number; meanMs: number; p95Ms: number }> = {};
    for (const [type, list] of this.samples) {
      const sorted = [...list].sort((a, b) => a - b);
      const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
      const p95 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))];
      out[type] = { runs: this.runs.get(type) ?? 0, meanMs: round(mean), p95Ms: round(p95 ?? 0) };
    }
    return out;
  }
}

const round = (n: number) => Math.round(n * 100) / 100;
