// Test/bench helper process: GET /api/health back to back from its own event loop (so the caller's load is not
// measured), until stdin ends; then prints {samples (ms), errors} as one JSON line. A request still unanswered at the
// end counts as a sample of its age, so a frozen server shows up as one huge latency rather than as nothing.
// `late`: how late this process's own gap timer fired each time: when it is high too, the machine stalled, not the server.
// Usage: node --import tsx server/web/testing/health-probe.ts <url> [gapMs]
import { request } from 'node:http';

const [url, gap = '10'] = process.argv.slice(2);
const gapMs = Number(gap);
const u = new URL('/api/health', url);
const samples: number[] = [];
/** ms since start at which each sample's request was sent. */
const at: number[] = [];
const late: number[] = [];
const start = performance.now();
let errors = 0;
let stopped = false;
let inflightSince: number | null = null;

function once(): Promise<void> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    inflightSince = t0;
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => {
        inflightSince = null;
        if (res.statusCode === 200) {
          samples.push(performance.now() - t0);
          at.push(t0 - start);
        } else errors++;
        resolve();
      });
    });
    req.on('error', () => {
      inflightSince = null;
      errors++;
      resolve();
    });
    req.end();
  });
}

process.stdin.on('end', () => {
  stopped = true;
  if (inflightSince !== null) {
    samples.push(performance.now() - inflightSince);
    at.push(inflightSince - start);
  }
  process.stdout.write(JSON.stringify({ samples, at, late, errors }) + '\n', () => process.exit(0));
});
process.stdin.resume();
process.stdout.write('ready\n');
for (;;) {
  if (stopped) break;
  await once();
  const t = performance.now();
  await new Promise((r) => setTimeout(r, gapMs));
  late.push(Math.max(0, performance.now() - t - gapMs));
}
