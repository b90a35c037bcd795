// load-flood.ts: N connection attempts within one second from one hostile address: session POSTs past the per-client
// cap, upgrades with forged tokens, health probes and silent TCP connections; every answer counted and timed.
import { connect } from 'node:net';
import { httpRequest, loopbackAddress } from './load-client.ts';
import { RawWs } from './load-rawws.ts';
import { procSample } from './load-server.ts';
import { sleep } from './load-typist.ts';
import { summarize, type Summary } from './stats.ts';

export type FloodKind = 'POST /api/session' | 'upgrade, forged token' | 'GET /api/health' | 'TCP connect, silent';
const KINDS: FloodKind[] = ['POST /api/session', 'upgrade, forged token', 'GET /api/health', 'TCP connect, silent'];

export interface FloodResult {
  attempts: number;
  spreadMs: number;
  /** kind → answer ("201", "503 client_full", "401", "ECONNRESET", "open after N s"…) → count. */
  answers: Record<string, Record<string, number>>;
  latency: Record<string, Summary>;
  serverRssBeforeKiB: number;
  serverRssMaxKiB: number;
  serverFdsMax: number;
  /** Silent connections the server had closed by the end of the watch, and when (ms after connecting). */
  silentClosed: number;
  silentWatchMs: number;
}

export async function hostileFlood(url: string, attempts: number, serverPid: number, silentWatchMs = 3000): Promise<FloodResult> {
  const u = new URL(url);
  // One hostile address for everything: this is what the per-client cap is for.
  const from = loopbackAddress(60_000);
  const answers: FloodResult['answers'] = {};
  const times: Record<string, number[]> = {};
  const note = (k: FloodKind, a: string, ms?: number) => {
    (answers[k] ??= {})[a] = (answers[k][a] ?? 0) + 1;
    if (ms !== undefined) (times[k] ??= []).push(ms);
  };
  const before = procSample(serverPid);
  let rssMax = before.rssKiB;
  let fdsMax = before.fds;
  const watch = setInterval(() => {
    try {
      const s = procSample(serverPid);
      rssMax = Math.max(rssMax, s.rssKiB);
      fdsMax = Math.max(fdsMax, s.fds);
    } catch {
      // Server gone: the caller notices.
    }
  }, 100);
  const silent: { closedAt: number | null; t0: number; destroy(): void }[] = [];
  const t0 = performance.now();
  const jobs: Promise<void>[] = [];
  // Launched in 100 ticks of 10 ms (a timer per attempt cannot keep 1 ms spacing).
  for (let i = 0; i < attempts; i++) {
    if (i % Math.ceil(attempts / 100) === 0) await sleep(Math.max(0, t0 + (i * 1000) / attempts - performance.now()));
    const kind = KINDS[i % KINDS.length]!;
    const ts = performance.now();
    jobs.push(
      (async () => {
        try {
          if (kind === 'POST /api/session' || kind === 'GET /api/health') {
            const r = await httpRequest(url, kind.startsWith('POST') ? 'POST' : 'GET', kind.split(' ')[1]!, '', 10_000, from);
            const reason = r.status === 503 ? ` ${(JSON.parse(r.body) as { error: string }).error}` : '';
            note(kind, `${r.status}${reason}`, r.ms);
          } else if (kind === 'upgrade, forged token') {
            const w = await RawWs.open(url, randomToken(i), { localAddress: from });
            note(kind, w.status ? String(w.status) : 'no answer', performance.now() - ts);
            w.destroy();
          } else {
            await new Promise<void>((resolve) => {
              const s = connect({ host: u.hostname, port: Number(u.port), localAddress: from }, () => {
                note(kind, 'connected', performance.now() - ts);
                resolve();
              });
              const rec = { closedAt: null as number | null, t0: ts, destroy: () => s.destroy() };
              silent.push(rec);
              s.on('close', () => (rec.closedAt ??= performance.now() - ts));
              s.resume(); // read whatever the server answers (a 408 or 429), so its FIN (and 'close') is seen
              s.on('error', (e: NodeJS.ErrnoException) => {
                note(kind, e.code ?? 'error');
                resolve();
              });
            });
          }
        } catch (err) {
          note(kind, (err as NodeJS.ErrnoException).code ?? (err as Error).message.slice(0, 60));
        }
      })(),
    );
  }
  const spreadMs = performance.now() - t0;
  await Promise.all(jobs);
  await sleep(silentWatchMs);
  clearInterval(watch);
  const closed = silent.filter((s) => s.closedAt !== null).length;
  for (const s of silent) s.destroy();
  const latency: Record<string, Summary> = {};
  for (const [k, v] of Object.entries(times)) latency[k] = summarize(v);
  return {
    attempts,
    spreadMs,
    answers,
    latency,
    serverRssBeforeKiB: before.rssKiB,
    serverRssMaxKiB: rssMax,
    serverFdsMax: fdsMax,
    silentClosed: closed,
    silentWatchMs,
  };
}

/** A syntactically valid token (43 base64url characters) that no session has. */
function randomToken(i: number): string {
  return `forged${String(i).padStart(6, '0')}`.padEnd(43, 'x');
}
