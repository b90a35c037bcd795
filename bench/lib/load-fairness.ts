// load-fairness.ts: a bench actor (own process, see runActor) that plays one greedy client after another: a 10 MB
// paste, 10,000 messages a second, 1000 connects, 500 silent sockets; each case's outcome as the client saw it.
import { connect, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { clientProtocols } from '../../server/protocol/messages.ts';
import { loopbackAddress, LoadClient } from './load-client.ts';
import { hostileFlood, type FloodResult } from './load-flood.ts';
import { procSample } from './load-server.ts';
import { sleep } from './load-typist.ts';
import { summarize, type Summary } from './stats.ts';

export interface FairnessArgs {
  url: string;
  serverPid: number;
  pasteBytes: number;
  /** Messages per second of the flooding client, and for how long (ms) at most. */
  rate: number;
  floodMs: number;
  connects: number;
  silent: number;
  /** How long the silent sockets are watched (the server's header timeout must fall inside). */
  silentWatchMs: number;
  /** Quiet time between cases, so each phase's echo belongs to its case. */
  gapMs: number;
}

export interface CaseRow {
  case: string;
  sent: string;
  outcome: string;
  ms: number;
}

export interface SilentResult {
  opened: number;
  refused429: number;
  closedByServer: number;
  closeAfterMs: Summary;
  serverFds: { before: number; max: number; after: number };
}

export interface FairnessActorResult {
  rows: CaseRow[];
  flood: FloodResult;
  silent: SilentResult;
}

const emit = (ev: object) => process.stdout.write(`${JSON.stringify(ev)}\n`);
const ended = (c: LoadClient) => (c.closed ? `closed ${c.closed.code} "${c.closed.reason}"` : 'still open');

/** A paste as a terminal sends it: lines of 64 bytes (shell comments, so nothing runs), in 16 KiB frames. */
async function paste(a: FairnessArgs): Promise<CaseRow> {
  const c = (await LoadClient.open(a.url, { localAddress: loopbackAddress(50_001) })) as LoadClient;
  await c.ready();
  c.keepTail = false;
  emit({ ev: 'phase', name: 'paste' });
  const line = Buffer.from(`# ${'p'.repeat(61)}\r`);
  const frame = Buffer.concat(Array.from({ length: 256 }, () => line)); // 16 KiB
  const frames = Math.ceil(a.pasteBytes / frame.length);
  const t0 = performance.now();
  for (let i = 0; i < frames; i++) c.write(frame);
  const total = frames * frame.length;
  // Done when the client is closed, or its queue is empty and the shell's echo has not grown for a second.
  const limit = t0 + a.floodMs * 3;
  let last = -1;
  let still = 0;
  while (!c.closed && performance.now() < limit) {
    await sleep(100);
    still = c.ws.bufferedAmount === 0 && c.received === last ? still + 100 : 0;
    last = c.received;
    if (still >= 1000) break;
  }
  const ms = performance.now() - t0 - still;
  const left = total - c.ws.bufferedAmount;
  const row = {
    case: `${(total / 1e6).toFixed(1)} MB paste`,
    sent: `${frames} frames of 16 KiB at once`,
    outcome: `${ended(c)} after ${(ms / 1000).toFixed(1)} s; ${(left / 1e6).toFixed(2)} MB left the client, ${(c.received / 1e6).toFixed(2)} MB echoed back by the shell`,
    ms,
  };
  await c.close().catch(() => {});
  return row;
}

/**
 * Half pings, half one-byte keystrokes (x, then backspace, so the line stays short), `rate` a second, for floodMs:
 * when the server closes the socket, the client reconnects with the same token at once and floods again.
 */
async function messages(a: FairnessArgs): Promise<CaseRow> {
  const c = (await LoadClient.open(a.url, { localAddress: loopbackAddress(50_002) })) as LoadClient;
  await c.ready();
  await c.close();
  const closes: string[] = [];
  let pongs = 0;
  let refused = 0;
  let ws: WebSocket | null = null;
  const open = (): void => {
    const w = new WebSocket(a.url.replace(/^http/, 'ws') + '/ws', clientProtocols(c.token), {
      origin: a.url,
      perMessageDeflate: false,
      localAddress: loopbackAddress(50_002),
    });
    w.on('message', (d: Buffer, bin: boolean) => void (!bin && d.toString().includes('"pong"') && pongs++));
    w.on('unexpected-response', (req) => {
      refused++;
      req.destroy();
      if (w === ws) ws = null;
    });
    w.on('error', () => {});
    w.on('close', (code) => {
      if (code !== 1006 || w === ws) closes.push(String(code));
      if (w === ws) ws = null;
    });
    ws = w;
  };
  emit({ ev: 'phase', name: 'messages' });
  const t0 = performance.now();
  let sent = 0;
  let due = 0;
  while (performance.now() - t0 < a.floodMs) {
    if (!ws) open();
    const w = ws!;
    due = Math.floor(((performance.now() - t0) / 1000) * a.rate);
    if (w.readyState === WebSocket.OPEN) {
      for (; sent < due && w.readyState === WebSocket.OPEN; sent++) {
        if (sent % 2) w.send(JSON.stringify({ type: 'ping', t: sent }));
        else w.send(Buffer.from(sent % 4 ? '\x7f' : 'x'), { binary: true });
      }
    } else sent = Math.max(sent, due - a.rate / 100); // what it could not send while reconnecting is not owed
    await sleep(10);
  }
  const ms = performance.now() - t0;
  const tally = Object.entries(closes.reduce<Record<string, number>>((m, k) => ((m[k] = (m[k] ?? 0) + 1), m), {}))
    .map(([k, n]) => `${n} × ${k}`)
    .join(', ');
  const last = ws as WebSocket | null;
  last?.terminate();
  return {
    case: `${a.rate.toLocaleString('en-US')} messages/s`,
    sent: `${sent.toLocaleString('en-US')} messages (pings and 1-byte keys) in ${(ms / 1000).toFixed(1)} s, reconnecting at once after each close`,
    outcome: `closes: ${tally || 'none'}; upgrades refused: ${refused}; ${pongs.toLocaleString('en-US')} pongs`,
    ms,
  };
}

async function silentSockets(a: FairnessArgs): Promise<SilentResult> {
  const u = new URL(a.url);
  const fdsNow = () => procSample(a.serverPid).fds;
  const before = fdsNow();
  let max = before;
  const watch = setInterval(() => (max = Math.max(max, fdsNow())), 100);
  emit({ ev: 'phase', name: 'silent' });
  const socks: { s: Socket; t0: number; closedAt: number | null; refused: boolean }[] = [];
  for (let i = 0; i < a.silent; i++) {
    const rec = { s: null as unknown as Socket, t0: performance.now(), closedAt: null as number | null, refused: false };
    rec.s = connect({ host: u.hostname, port: Number(u.port), localAddress: loopbackAddress(50_003) });
    rec.s.on('data', (d) => void (String(d).startsWith('HTTP/1.1 429') && (rec.refused = true)));
    rec.s.on('error', () => {});
    rec.s.on('close', () => (rec.closedAt ??= performance.now() - rec.t0));
    socks.push(rec);
  }
  await sleep(a.silentWatchMs);
  clearInterval(watch);
  const closed = socks.filter((x) => x.closedAt !== null);
  const result: SilentResult = {
    opened: socks.length,
    refused429: socks.filter((x) => x.refused).length,
    closedByServer: closed.length,
    closeAfterMs: summarize(closed.filter((x) => !x.refused).map((x) => x.closedAt!)),
    serverFds: { before, max, after: 0 },
  };
  for (const x of socks) x.s.destroy();
  await sleep(500);
  result.serverFds.after = fdsNow();
  return result;
}

async function main(a: FairnessArgs): Promise<void> {
  // The paste goes last: without a non-blocking pty input path, a paste can wedge the whole server (docs/reliability.md).
  const rows: CaseRow[] = [];
  rows.push(await messages(a));
  emit({ ev: 'phase', name: 'gap1' });
  await sleep(a.gapMs);
  emit({ ev: 'phase', name: 'connects' });
  const flood = await hostileFlood(a.url, a.connects, a.serverPid, a.silentWatchMs);
  emit({ ev: 'phase', name: 'gap2' });
  await sleep(a.gapMs);
  const silent = await silentSockets(a);
  emit({ ev: 'phase', name: 'gap3' });
  await sleep(a.gapMs);
  if (a.pasteBytes > 0) rows.push(await paste(a));
  emit({ ev: 'result', value: { rows, flood, silent } satisfies FairnessActorResult });
  process.exit(0);
}

if (process.argv[1]?.endsWith('load-fairness.ts')) {
  main(JSON.parse(process.argv[2] ?? '') as FairnessArgs).catch((err: Error) => {
    process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  });
}
