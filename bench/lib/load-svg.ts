// load-svg.ts: small dependency-free SVG charts (lines, dots, a dashed goal line) for the load docs' plots.

export interface Series {
  name: string;
  color: string;
  points: [number, number][];
  /** 'line' joins the points; 'dots' draws each (latency samples). */
  kind?: 'line' | 'dots';
}

export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Horizontal reference lines (a goal), in y units. */
  hLines?: { y: number; label: string; color: string }[];
  /** Shaded x ranges (phases). */
  bands?: { from: number; to: number; label: string }[];
  yMax?: number;
  yLog?: boolean;
  width?: number;
  height?: number;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** "Nice" tick step for a range (1, 2, 5 × 10^k). */
function step(range: number, n = 6): number {
  const raw = range / n;
  const p = 10 ** Math.floor(Math.log10(raw || 1));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? p * 10;
}

export function svgChart(c: Chart): string {
  const W = c.width ?? 760;
  const H = c.height ?? 360;
  const L = 64;
  const R = 16;
  const T = 36;
  const B = 64;
  const all = c.series.flatMap((s) => s.points);
  const xMin = Math.min(...all.map((p) => p[0]), ...(c.bands ?? []).map((b) => b.from));
  const xMax = Math.max(...all.map((p) => p[0]), ...(c.bands ?? []).map((b) => b.to));
  const yTop = c.yMax ?? Math.max(...all.map((p) => p[1]), ...(c.hLines ?? []).map((h) => h.y)) * 1.05;
  const yBottom = c.yLog ? Math.max(0.1, Math.min(...all.map((p) => p[1]).filter((y) => y > 0))) : 0;
  const fy = c.yLog ? (y: number) => Math.log10(Math.max(y, yBottom)) : (y: number) => y;
  // biome-ignore lint/correctness/noComponentHookFactories: X and Y are the chart's coordinate maps, not components
  const X = (x: number) => L + ((x - xMin) / (xMax - xMin || 1)) * (W - L - R);
  // biome-ignore lint/correctness/noComponentHookFactories: see X
  const Y = (y: number) => H - B - ((fy(Math.min(y, yTop)) - fy(yBottom)) / (fy(yTop) - fy(yBottom) || 1)) * (H - T - B);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="600">${esc(c.title)}</text>`,
  ];
  for (const [i, b] of (c.bands ?? []).entries()) {
    out.push(
      `<rect x="${X(b.from)}" y="${T}" width="${Math.max(0, X(b.to) - X(b.from))}" height="${H - T - B}" fill="${i % 2 ? '#f3f4f6' : '#e5e7eb'}"/>`,
    );
    out.push(`<text x="${(X(b.from) + X(b.to)) / 2}" y="${T + 14}" text-anchor="middle" fill="#374151">${esc(b.label)}</text>`);
  }
  const yTicks = c.yLog
    ? [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000].filter((v) => v >= yBottom && v <= yTop)
    : Array.from({ length: Math.floor(yTop / step(yTop)) + 1 }, (_, i) => i * step(yTop));
  for (const v of yTicks) {
    out.push(`<line x1="${L}" x2="${W - R}" y1="${Y(v)}" y2="${Y(v)}" stroke="#d1d5db" stroke-width="0.5"/>`);
    out.push(`<text x="${L - 6}" y="${Y(v) + 4}" text-anchor="end" fill="#374151">${v}</text>`);
  }
  const xs = step(xMax - xMin);
  for (let v = Math.ceil(xMin / xs) * xs; v <= xMax; v += xs) {
    out.push(`<text x="${X(v)}" y="${H - B + 16}" text-anchor="middle" fill="#374151">${Number(v.toPrecision(6))}</text>`);
  }
  out.push(
    `<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#111827"/>`,
    `<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#111827"/>`,
  );
  out.push(`<text x="${(L + W - R) / 2}" y="${H - B + 34}" text-anchor="middle">${esc(c.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(c.yLabel)}</text>`);
  for (const h of c.hLines ?? []) {
    out.push(`<line x1="${L}" x2="${W - R}" y1="${Y(h.y)}" y2="${Y(h.y)}" stroke="${h.color}" stroke-dasharray="6 4" stroke-width="1.5"/>`);
    out.push(`<text x="${W - R - 4}" y="${Y(h.y) - 4}" text-anchor="end" fill="${h.color}">${esc(h.label)}</text>`);
  }
  for (const s of c.series) {
    if (s.kind === 'dots') {
      out.push(`<g fill="${s.color}" fill-opacity="0.6">`);
      for (const [x, y] of s.points) out.push(`<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="1.6"/>`);
      out.push('</g>');
    } else {
      out.push(
        `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${s.points.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ')}"/>`,
      );
    }
  }
  c.series.forEach((s, i) => {
    const x = L + 10 + i * 190;
    out.push(
      `<rect x="${x}" y="${H - 18}" width="12" height="12" fill="${s.color}"/>`,
      `<text x="${x + 18}" y="${H - 8}">${esc(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n');
}
