// load-hostile.ts: a bench actor (own process, see runActor) playing hostile clients against the server: garbage
// bytes, bad frames and messages, out-of-range resizes, clients that never read or never ack, a connection flood.
// Each case records the server's exact answer (HTTP status, error message, close code) and how long it took.
import { randomBytes } from 'node:crypto';
import { procSample } from './load-server.ts';
import { httpRequest, loopbackAddress, LoadClient } from './load-client.ts';
import { frame, OP, RawWs } from './load-rawws.ts';
import { hostileFlood, type FloodResult } from './load-flood.ts';
import { sleep } from './load-typist.ts';

export interface HostileArgs {
  url: string;
  serverPid: number;
  /** The server's heartbeat (a peer that answers no ping is dropped after two). */
  heartbeatMs: number;
  /** How long the slow cases (stalled frame, never read, never ack) are watched. */
  holdMs: number;
  floodAttempts: number;
  slow: boolean;
}

export interface Row {
  case: string;
  sent: string;
  answer: string;
  /** Close code, HTTP status, or how the TCP connection ended. */
  code: string;
  ms: number;
  /** After the case, the same session still echoes keystrokes (null: not applicable). */
  usable: boolean | null;
  /** What the protocol (docs/protocol.md) promises, matched against "answer code"; ok when it matched. */
  expect: string;
  ok: boolean;
}

export interface SlowRow extends Omit<Row, 'expect' | 'ok'> {
  serverRssDeltaKiB: number;
  bytes?: number;
}

let addr = 6000;
const nextAddr = () => loopbackAddress(addr++);

async function token(url: string, localAddress: string): Promise<string> {
  const r = await httpRequest(url, 'POST', '/api/session', '', 10_000, localAddress);
  if (r.status !== 201) throw new Error(`POST /api/session → ${r.status} ${r.body}`);
  return (JSON.parse(r.body) as { token: string }).token;
}

/** An attached raw socket whose shell has printed its prompt. */
async function attached(url: string): Promise<RawWs> {
  const a = nextAddr();
  const w = await RawWs.open(url, await token(url, a), { localAddress: a });
  await w.until(() => w.frames.some((f) => f.opcode === OP.binary && f.payload.includes('# ')) || w.ending !== null, 20_000);
  return w;
}

/** Types into the raw socket and waits for the echo: the session survived what was sent before. */
async function echoes(w: RawWs): Promise<boolean> {
  const n = w.frames.length;
  w.send(frame(OP.binary, Buffer.from('echo al${x}ive\r')));
  await w.until(() => w.frames.slice(n).some((f) => f.opcode === OP.binary && f.payload.includes('alive')) || w.ending !== null, 5000);
  return w.frames.slice(n).some((f) => f.opcode === OP.binary && f.payload.includes('alive'));
}

const errorsOf = (w: RawWs, from = 0) =>
  w
    .messages()
    .slice(from)
    .filter((m) => m.type === 'error');
const describeEnd = (w: RawWs, e: { code: number | null; how: string; reason: string }) =>
  e.how === 'close-frame'
    ? `close ${e.code}${e.reason ? ` "${e.reason}"` : ''}`
    : e.how === 'timeout'
      ? 'still open'
      : `TCP ${e.how}${w.status && w.status !== 101 ? ` after HTTP ${w.status}` : ''}`;

async function rawCase(name: string, sent: string, expect: string, url: string, bytes: Buffer): Promise<Row> {
  const w = await RawWs.tcp(url, nextAddr());
  const t0 = performance.now();
  w.send(bytes);
  const e = await w.waitEnd(2000);
  w.destroy();
  return judge(
    {
      case: name,
      sent,
      answer: w.status ? `HTTP ${w.status}` : 'no HTTP answer',
      code: describeEnd(w, e),
      ms: performance.now() - t0,
      usable: null,
    },
    expect,
  );
}

function judge(r: Omit<Row, 'expect' | 'ok'>, expect: string, usable?: boolean): Row {
  const ok = `${r.answer} ${r.code}`.includes(expect) && (usable === undefined || r.usable === usable);
  return { ...r, expect: usable === undefined ? expect : `${expect}${usable ? ', usable' : ''}`, ok };
}

async function upgradeCase(
  name: string,
  sent: string,
  expect: string,
  url: string,
  tok: string | null,
  origin?: string | null,
): Promise<Row> {
  const t0 = performance.now();
  const w = await RawWs.open(url, tok, { localAddress: nextAddr(), origin });
  const e = await w.waitEnd(3000);
  w.destroy();
  return judge({ case: name, sent, answer: `HTTP ${w.status}`, code: describeEnd(w, e), ms: performance.now() - t0, usable: null }, expect);
}

/** Frames sent on an attached socket; the answer is the server's error messages and/or its close. */
async function frameCase(name: string, sent: string, expect: string, url: string, frames: Buffer[], waitMs = 1500): Promise<Row> {
  const w = await attached(url);
  const before = w.messages().length;
  const t0 = performance.now();
  for (const f of frames) w.send(f);
  await w.until(() => w.ending !== null || errorsOf(w, before).length >= frames.length, waitMs);
  const ms = performance.now() - t0;
  const errs = errorsOf(w, before);
  const usable = w.ending ? false : await echoes(w);
  const e = w.ending ?? { code: null, how: 'timeout', reason: '' };
  const first = errs[0];
  const answer = first ? `${errs.length} × error ${first.code}: ${first.message}` : 'no message';
  w.destroy();
  return judge({ case: name, sent, answer, code: describeEnd(w, e as never), ms, usable }, expect, !expect.startsWith('close'));
}

const text = (o: unknown) => frame(OP.text, Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)));

async function fastCases(a: HostileArgs): Promise<Row[]> {
  const u = a.url;
  const host = new URL(u).host; // a Host the server serves (any other is answered 421 before anything else)
  const rows: Row[] = [];
  rows.push(await rawCase('random bytes (no HTTP)', '4 KiB of random bytes on a fresh TCP connection', 'HTTP 400', u, randomBytes(4096)));
  rows.push(
    await rawCase(
      'oversized HTTP header',
      'GET / with a 100 KiB header',
      'HTTP 431',
      u,
      Buffer.from(`GET / HTTP/1.1\r\nHost: ${host}\r\nX-A: ${'a'.repeat(100_000)}\r\n\r\n`),
    ),
  );
  rows.push(
    await rawCase(
      'oversized POST body',
      'POST /api/session with a 1 MiB body',
      'HTTP 413',
      u,
      Buffer.from(`POST /api/session HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 1048576\r\n\r\n${'a'.repeat(1 << 20)}`),
    ),
  );
  rows.push(await upgradeCase('upgrade, unknown token', 'a well-formed but unknown token', 'HTTP 401', u, 'A'.repeat(43)));
  rows.push(await upgradeCase('upgrade, no token', 'only boxlab.v1 offered', 'HTTP 401', u, null));
  rows.push(await upgradeCase('upgrade, no Origin', 'valid token, no Origin header', 'HTTP 403', u, await token(u, nextAddr()), null));
  rows.push(
    await upgradeCase(
      'upgrade, foreign Origin',
      'valid token, Origin http://evil.example',
      'HTTP 403',
      u,
      await token(u, nextAddr()),
      'http://evil.example',
    ),
  );
  rows.push(await frameCase('random bytes on the socket', '1 KiB of random bytes after the upgrade', 'close 1002', u, [randomBytes(1024)]));
  rows.push(
    await frameCase('unmasked frame', 'a client frame without a mask', 'close 1002', u, [Buffer.from([0x82, 0x03, 0x61, 0x62, 0x63])]),
  );
  rows.push(await frameCase('reserved opcode', 'opcode 0x3', 'close 1002', u, [frame(3, Buffer.from('x'))]));
  rows.push(
    await frameCase('frame over maxPayload', 'binary frame of 70,000 bytes', 'close 1009', u, [frame(OP.binary, Buffer.alloc(70_000, 97))]),
  );
  rows.push(
    await frameCase('length field 2^53', 'frame header declaring 2^53 bytes, no body', 'close 1009', u, [
      frame(OP.binary, Buffer.alloc(0), { declared: 2 ** 53 }).subarray(0, 14),
    ]),
  );
  rows.push(
    await frameCase('keystroke frame over 16 KiB', 'binary frame of 17 KiB', '1 × error bad_message', u, [
      frame(OP.binary, Buffer.alloc(17 * 1024, 32)),
    ]),
  );
  rows.push(await frameCase('invalid JSON', '"{not json"', '1 × error bad_message', u, [text('{not json')]));
  rows.push(
    await frameCase('invalid UTF-8 text', 'text frame 0xff 0xfe', '1 × error bad_message', u, [frame(OP.text, Buffer.from([0xff, 0xfe]))]),
  );
  rows.push(
    await frameCase(
      'wrong types',
      '8 messages: rows "24", type 42, [1], null, "s", ack -5, ping t "x", extra key',
      '8 × error bad_message',
      u,
      [
        { type: 'resize', rows: '24', cols: 80 },
        { type: 42 },
        [1],
        'null',
        '"s"',
        { type: 'ack', bytes: -5 },
        { type: 'ping', t: 'x' },
        { type: 'resize', rows: 24, cols: 80, x: 1 },
      ].map(text),
    ),
  );
  rows.push(
    await frameCase('resize 0x0', '{type:"resize", rows:0, cols:0}', '1 × error bad_message', u, [
      text({ type: 'resize', rows: 0, cols: 0 }),
    ]),
  );
  rows.push(
    await frameCase('resize 65535x65535', '{type:"resize", rows:65535, cols:65535}', '1 × error bad_message', u, [
      text({ type: 'resize', rows: 65535, cols: 65535 }),
    ]),
  );
  rows.push(
    await frameCase(
      '10 bad messages',
      '10 × "{not json"',
      'close 4400',
      u,
      Array.from({ length: 10 }, () => text('{not json')),
      3000,
    ),
  );
  rows.push(
    await frameCase('unfinished fragment, then keys', 'text frame with FIN=0, 1.5 s of nothing, then a keystroke frame', 'close 1002', u, [
      frame(OP.text, Buffer.from('{"ty'), { fin: false }),
    ]),
  );
  return rows;
}

/** Slow cases watched together for holdMs: a stalled frame, a client that never reads, one that never acks. */
async function slowCases(a: HostileArgs): Promise<SlowRow[]> {
  const rss = () => procSample(a.serverPid).rssKiB;
  const flood = async (c: LoadClient) => {
    c.keepTail = false;
    c.write('yes\r');
    await sleep(300);
  };
  const stalled = async (): Promise<SlowRow> => {
    const w = await attached(a.url);
    const r0 = rss();
    w.send(frame(OP.binary, Buffer.alloc(1000, 97)).subarray(0, 110));
    const e = await w.waitEnd(a.holdMs);
    w.destroy();
    return {
      case: 'stalled frame',
      sent: 'header of a 1000-byte frame + 100 bytes, then silence (pings unanswered)',
      answer: e.how === 'timeout' ? 'none' : 'dropped',
      code: describeEnd(w, e),
      ms: e.ms,
      usable: null,
      serverRssDeltaKiB: rss() - r0,
    };
  };
  const neverRead = async (pongs: boolean): Promise<SlowRow> => {
    const c = (await LoadClient.open(a.url, { localAddress: nextAddr() })) as LoadClient;
    await c.ready();
    const r0 = rss();
    await flood(c);
    const sock = (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    sock.pause();
    const t0 = performance.now();
    const pong = pongs ? setInterval(() => c.ws.readyState === 1 && c.ws.pong(), 1000) : null;
    const got0 = c.received;
    await sleep(a.holdMs);
    const dRss = rss() - r0;
    if (pong) clearInterval(pong);
    sock.resume();
    // What the server and the kernel had queued for it comes out now.
    await sleep(2000);
    const closed = c.closed;
    const row: SlowRow = {
      case: pongs ? 'never reads, sends pongs' : 'never reads',
      sent: `\`yes\` in its box, then the socket is not read${pongs ? '; an unsolicited pong every second' : ''}`,
      answer: closed ? 'dropped' : 'kept',
      code: closed ? `close ${closed.code}` : 'still open',
      ms: performance.now() - t0,
      usable: null,
      serverRssDeltaKiB: dRss,
      bytes: c.received - got0,
    };
    await c.close();
    return row;
  };
  const neverAck = async (): Promise<SlowRow> => {
    const c = (await LoadClient.open(a.url, { localAddress: nextAddr() })) as LoadClient;
    await c.ready();
    const r0 = rss();
    c.ack = false;
    await flood(c);
    const got0 = c.received;
    const t0 = performance.now();
    await sleep(a.holdMs);
    const row: SlowRow = {
      case: 'never acks',
      sent: '`yes` in its box; reads everything, never sends an ack',
      answer: c.closed ? 'dropped' : 'kept, held at the watermarks',
      code: c.closed ? `close ${c.closed.code}` : 'still open',
      ms: performance.now() - t0,
      usable: null,
      serverRssDeltaKiB: rss() - r0,
      bytes: c.received - got0,
    };
    await c.close();
    return row;
  };
  return Promise.all([stalled(), neverRead(false), neverRead(true), neverAck()]);
}

async function main(a: HostileArgs): Promise<void> {
  const emit = (ev: object) => process.stdout.write(`${JSON.stringify(ev)}\n`);
  const rss0 = procSample(a.serverPid).rssKiB;
  const rows = await fastCases(a);
  if (a.slow) emit({ ev: 'phase', name: 'slow' });
  const slow = a.slow ? await slowCases(a) : [];
  emit({ ev: 'phase', name: 'flood' });
  const flood: FloodResult = await hostileFlood(a.url, a.floodAttempts, a.serverPid, a.slow ? 5000 : 1000);
  emit({ ev: 'result', value: { rows, slow, flood, serverRssStartKiB: rss0, serverRssEndKiB: procSample(a.serverPid).rssKiB } });
  process.exit(0);
}

if (process.argv[1]?.endsWith('load-hostile.ts')) {
  main(JSON.parse(process.argv[2] ?? '') as HostileArgs).catch((err: Error) => {
    process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  });
}
