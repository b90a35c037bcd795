// stall-diag.ts: `node --import tsx bench/stall-diag.ts [--learners=10] [--sec=40] [--flags="--max-semi-space-size=1"] [--dir=DIR]`:
// ten learners type into the real server while it runs with --cpu-prof and the stall-watch preload; prints each loop
// stall over 30 ms with the GC pauses and the profile's hottest frames inside it, and the slow echoes near it.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { report } from './lib/stall-report.ts';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LoadClient, loopbackAddress } from './lib/load-client.ts';
import { LoadServer } from './lib/load-server.ts';
import { EchoLog, sleep, typist } from './lib/load-typist.ts';
import { fmtMs, summarize } from './lib/stats.ts';

const arg = (k: string, d: string) => process.argv.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3) ?? d;
const learners = Number(arg('learners', '10'));
const sec = Number(arg('sec', '40'));
const flags = arg('flags', '').split(' ').filter(Boolean);
const dir = arg('dir', `/tmp/stall-diag-${Date.now()}`);
const noProf = process.argv.includes('--no-prof');
mkdirSync(dir, { recursive: true });
const here = dirname(fileURLToPath(import.meta.url));
process.env.BOXLAB_STALL_LOG = join(dir, 'stalls.jsonl');
const monoUs = () => Number(process.hrtime.bigint() / 1000n);

const nodeArgs = [...flags, '--import', 'tsx', '--import', join(here, 'lib', 'stall-watch.ts')];
if (!noProf) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=250');
const server = await LoadServer.start({ config: { maxSessions: 60, graceSec: 5 }, nodeArgs });
const echo = new EchoLog();
const echoBase = monoUs(); // EchoLog's t: ms since it was made
const clients: LoadClient[] = [];
const typing: Promise<void>[] = [];
let stop = false;
for (let i = 0; i < learners; i++) {
  const c = (await LoadClient.open(server.url, { localAddress: loopbackAddress(i) })) as LoadClient;
  await c.ready();
  clients.push(c);
  typing.push(typist(c, echo, () => stop, 7000 + i));
}
await server.loopDelay();
const startUs = monoUs();
await sleep(sec * 1000);
const loop = await server.loopDelay();
stop = true;
await Promise.all(typing);
await Promise.all(clients.map((c) => c.close().catch(() => {})));
await server.stop();
// --trace-gc and other non-JSON lines the server printed.
writeFileSync(join(dir, 'server.log'), server.logs.join('\n'));

const e = summarize(echo.samples.map((s) => s.ms));
console.log(
  `echo n=${e.n} p50 ${fmtMs(e.p50)} p99 ${fmtMs(e.p99)} max ${fmtMs(e.max)}; loop p99 ${fmtMs(loop.p99)} max ${fmtMs(loop.max)} (10 ms res.)`,
);

report(dir, startUs, (s) =>
  echo.samples
    .filter((x) => x.ms > 30 && x.t * 1000 + echoBase > s.fromUs && x.t * 1000 + echoBase - x.ms * 1000 < s.toUs)
    .map((x) => fmtMs(x.ms)),
);
// How many slow echoes overlap a server loop stall (the server's share of the tail) and how many do not.
const stallsAll = readFileSync(process.env.BOXLAB_STALL_LOG!, 'utf8')
  .trim()
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l))
  .filter((x) => x.ev === 'stall' && x.toUs > startUs) as { fromUs: number; toUs: number }[];
for (const lim of [30, 50]) {
  const slow = echo.samples.filter((x) => x.ms > lim);
  const over = slow.filter((x) =>
    stallsAll.some((st) => x.t * 1000 + echoBase > st.fromUs && x.t * 1000 + echoBase - x.ms * 1000 < st.toUs),
  );
  console.log(`echoes over ${lim} ms: ${slow.length} of ${echo.samples.length}; overlapping a server loop stall > 30 ms: ${over.length}`);
}
console.log(`\nfiles in ${dir}`);
process.exit(0);
