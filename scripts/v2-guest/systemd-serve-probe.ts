// systemd-serve-probe.ts: in the systemd guest, prints the unit's delegate xattr, asks a running `boxlab serve` for
// /api/health, opens one session over its WebSocket, waits for its shell's first output and prints the box cgroups
// (bx-* under `unitDir`): the session's and the warm pool's refill, `pool` of them (the unit sets BOXLAB_WARM_POOL).
// Usage: node --import tsx scripts/v2-guest/systemd-serve-probe.ts http://127.0.0.1:PORT /sys/fs/cgroup/<unit dir> POOL
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { readXattr } from '../../native-bindings/index.ts';
import { clientProtocols } from '../../server/protocol/messages.ts';

const [url, unitDir, poolArg] = process.argv.slice(2);
const pool = Number(poolArg);
if (!url || !unitDir || !Number.isInteger(pool)) throw new Error('usage: systemd-serve-probe.ts <url> <unit cgroup dir> <pool>');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function boxes(dir: string, depth = 0): string[] {
  if (depth > 4) return [];
  let out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const p = join(dir, e.name);
    out = e.name.startsWith('bx-') ? [...out, p] : [...out, ...boxes(p, depth + 1)];
  }
  return out;
}
let health: Response | null = null;
for (let i = 0; i < 120 && !health; i++) {
  health = await fetch(`${url}/api/health`).catch(() => null);
  if (!health) await sleep(500);
}
if (!health) throw new Error(`${url}/api/health did not answer in 60 s`);
// systemd >= 251 marks a Delegate=yes unit's cgroup so (what the engine reads to use the unit as it is).
console.log(`${unitDir}: trusted.delegate=${readXattr(unitDir, 'trusted.delegate')}`);
console.log(`health: ${health.status} ${await health.text()}`);
const res = await fetch(`${url}/api/session`, { method: 'POST' });
const s = (await res.json()) as { token: string; sessionId: string };
console.log(`session: ${res.status} ${s.sessionId}`);
const ws = new WebSocket(url.replace(/^http/, 'ws') + '/ws', clientProtocols(s.token), { origin: url });
ws.on('error', (e) => console.log(`ws error: ${e.message}`));
// The shell's first bytes arrive as a binary frame: the session's box is running then.
const shell = await Promise.race([
  new Promise<boolean>((r) => ws.on('message', (_d, binary) => binary && r(true))),
  sleep(60_000).then(() => false),
]);
console.log(`shell output: ${shell ? 'yes' : 'none within 60 s'}`);
// Expected: the session's box plus the pool's `pool` boxes (the one handed over is replaced), all under the unit.
const want = 1 + pool;
let found: string[] = [];
for (let i = 0; i < 240 && found.length !== want; i++) {
  found = boxes(unitDir);
  if (found.length !== want) await sleep(250);
}
console.log(`box cgroups under ${unitDir} (want ${want}): ${found.join(' ') || 'none within 60 s'}`);
ws.close();
process.exit(shell && found.length === want ? 0 : 1);
