// timer-probe.ts: an idle process that only runs setTimeout(…, 10) in a loop and records how late each fires: the
// machine's own scheduling delay, read next to a server's numbers to tell a slow server from a stalled machine.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const PROBE = `
const late = [];
let due = performance.now() + 10;
const tick = () => {
  const t = performance.now();
  late.push(t - due);
  due = t + 10;
  setTimeout(tick, 10);
};
setTimeout(tick, 10);
process.stdin.setEncoding('utf8').on('data', () => {
  const s = late.splice(0).sort((a, b) => a - b);
  const at = (p) => (s.length ? s[Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length))) - 1] : NaN);
  process.stdout.write(JSON.stringify({ n: s.length, p50: at(50), p99: at(99), max: s.length ? s[s.length - 1] : NaN }) + '\\n');
}).on('end', () => process.exit(0));
`;

export interface Lateness {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

/** Starts the probe process; read() returns the lateness (ms) of its timers since the previous read. */
export function timerProbe(): { read(): Promise<Lateness>; stop(): void } {
  const child = spawn(process.execPath, ['-e', PROBE], { stdio: ['pipe', 'pipe', 'ignore'] });
  const waiting: ((l: Lateness) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => waiting.shift()?.(JSON.parse(line) as Lateness));
  return {
    read: () =>
      new Promise<Lateness>((resolve) => {
        const w = (l: Lateness) => (clearTimeout(timer), resolve(l));
        const timer = setTimeout(() => (waiting.splice(waiting.indexOf(w), 1), resolve({ n: 0, p50: NaN, p99: NaN, max: NaN })), 5000);
        waiting.push(w);
        child.stdin!.write('r\n');
      }),
    stop: () => void child.stdin!.end(),
  };
}
