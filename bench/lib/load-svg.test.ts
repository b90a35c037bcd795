// Unit tests of the SVG chart helper: well-formed output, points inside the plot, log scale and goal lines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { svgChart } from './load-svg.ts';

test('a line chart has its title, legend, polyline and goal line, all within the canvas', () => {
  const svg = svgChart({
    title: 'RSS & <heap>',
    xLabel: 'cycles',
    yLabel: 'MiB',
    series: [
      {
        name: 'rss',
        color: '#00f',
        points: [
          [0, 100],
          [1000, 120],
          [2000, 110],
        ],
      },
    ],
    hLines: [{ y: 150, label: 'goal', color: '#f00' }],
  });
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /RSS &amp; &lt;heap&gt;/);
  assert.match(svg, /stroke-dasharray/);
  const pts = (/points="([^"]+)"/.exec(svg)?.[1] ?? '').split(' ').map((p) => p.split(',').map(Number));
  assert.equal(pts.length, 3);
  for (const [x = NaN, y = NaN] of pts) assert.ok(x >= 0 && x <= 760 && y >= 0 && y <= 360, `${x},${y}`);
  const y = (i: number) => pts[i]?.[1] ?? NaN;
  assert.ok(y(1) < y(0), 'a higher value is drawn higher');
});

test('dots on a log scale: 1 ms and 100 ms are two decades apart', () => {
  const svg = svgChart({
    title: 't',
    xLabel: 'x',
    yLabel: 'y',
    yLog: true,
    series: [
      {
        name: 'echo',
        color: '#0a0',
        kind: 'dots',
        points: [
          [0, 1],
          [1, 10],
          [2, 100],
        ],
      },
    ],
  });
  const ys = [...svg.matchAll(/<circle cx="[\d.]+" cy="([\d.]+)"/g)].map((m) => Number(m[1]));
  assert.equal(ys.length, 3);
  const [y0 = NaN, y1 = NaN, y2 = NaN] = ys;
  assert.ok(Math.abs(y0 - y1 - (y1 - y2)) < 1, ys.join(' '));
});
