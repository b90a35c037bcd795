// systemd-serve-probe.ts: in the systemd guest, prints the unit's delegate xattr, asks a running `boxlab serve` for
// /api/health, opens one session over its WebSocket and prints the cgroup its box got (bx-* under `unitDir`).
// Usage: node --import tsx scripts/v2-guest/systemd-serve-probe.ts http://127.0.0.1:PORT /sys/fs/cgroup/<unit dir>
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { readXattr } from '../../native-bindings/index.ts';
import { clientProtocols } from '../../server/protocol/messages.ts';

const [url, unitDir] = process.argv.slice(2);
if (!url || !unitDir) throw new Error('usage: systemd-serve-probe.ts <server url> <unit cgroup dir>');
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
let found: string[] = [];
for (let i = 0; i < 240 && !found.length; i++) {
  found = boxes(unitDir);
  if (!found.length) await sleep(250);
}
console.log(`box cgroups under ${unitDir}: ${found.join(' ') || 'none within 60 s'}`);
ws.close();
process.exit(found.length === 1 ? 0 : 1);
