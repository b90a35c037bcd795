// Test/bench scenario (root): a real server process, a big paste into a box that does not read (`sleep 600`) and
// one that counts (`wc -c`), /api/health polled from another process throughout, then SIGTERM and a leftover check.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readRecords, type SandboxRecord } from '../../engine/state.ts';
import { alive, mountsUnder } from '../../engine/sweep.ts';
import { TestClient, newSession } from './test-client.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const PROMPT = /# (\x1b\[6n)?$/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LOOP_PROBE = fileURLToPath(new URL('../../web/testing/loop-probe.ts', import.meta.url));

export interface PasteParams {
  /** Bytes pasted into each box. */
  bytes: number;
  /** Keystroke frame size the client sends (the browser splits a paste at 16 KiB; the report saw 4 KiB). */
  frame: number;
  /** --input-queue of the server, or its default. */
  inputQueue?: string;
  /** Gap between health requests (ms). */
  healthGapMs: number;
  /** Echo on in the counting box (what a learner's terminal does); off measures the input path alone. */
  echo: boolean;
  /** Health polled this long before the pastes (default 3000 ms). */
  baselineMs?: number;
  /** The counting command (default `wc -c`); it must print the byte count alone on a line. */
  readCmd?: string;
  /** How long to wait for wc's count (default 300 s). */
  readTimeoutMs?: number;
  /** Extra node flags for the server process (e.g. --cpu-prof). */
  serverNodeArgs?: string[];
}

/** Health latencies (ms), when each was sent (ms from the probe's start), the probe's own timer lateness (ms). */
export interface Probe {
  samples: number[];
  at: number[];
  late: number[];
  errors: number;
}

export interface LoopFigures {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** Asks the server's loop probe for its window (SIGUSR1) and reads what it wrote. */
async function readLoop(child: ChildProcessWithoutNullStreams, file: string): Promise<LoopFigures | null> {
  rmSync(file, { force: true });
  child.kill('SIGUSR1');
  for (let i = 0; i < 100; i++) {
    await sleep(20);
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as LoopFigures;
    } catch {
      // not written yet
    }
  }
  return null;
}

export interface PasteResult {
  params: PasteParams;
  /** Health latencies (ms) during the pastes, from a separate process. */
  health: Probe;
  /** The same, for baselineMs before the pastes, boxes idle: the machine's own noise. */
  baseline: Probe;
  /** Server CPU (utime+stime, ms) used during the pastes. */
  serverCpuMs: number;
  /** The server's own event-loop lateness during the pastes (ms; server/web/testing/loop-probe.ts), null if unread. */
  serverLoop: LoopFigures | null;
  /** The same during the baseline (boxes idle). */
  baselineLoop: LoopFigures | null;
  read: { sent: number; counted: number | null; ms: number; refusals: number };
  stuck: { sent: number; refusedNotice: boolean; noticeInTerminal: boolean; resumedNotice: boolean };
  sigterm: { ms: number; code: number | null; signal: string | null; closeCodes: number[] };
  leftovers: string[];
  serverLog: string;
}

/** 64-byte lines of letters ending in a newline: the count `wc -c` prints is the only run of digits in the output. */
export function pasteBytes(n: number): Buffer {
  const line = Buffer.from('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijk\n');
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i += line.length) line.copy(b, i, 0, Math.min(line.length, n - i));
  if (n > 0) b[n - 1] = 0x0a;
  return b;
}

/** utime+stime of a process in ms (proc(5): fields 14 and 15, in clock ticks of 100 Hz). */
function cpuMs(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** What is left of these sandboxes: state dir, mounts under it, cgroups, processes (empty when all is gone). */
export function leftoversOf(records: SandboxRecord[]): string[] {
  const out: string[] = [];
  for (const r of records) {
    if (existsSync(r.dir)) out.push(`dir ${r.dir}`);
    for (const m of mountsUnder(r.dir)) out.push(`mount ${m}`);
    for (const p of Object.values(r.cgroups ?? {})) if (existsSync(p)) out.push(`cgroup ${p}`);
    for (const p of [r.init?.pid, r.namespacedParent?.pid]) if (p && alive(p)) out.push(`pid ${p}`);
  }
  return out;
}

async function startServer(
  args: string[],
  nodeArgs: string[] = [],
  env: Record<string, string> = {},
): Promise<{ child: ChildProcessWithoutNullStreams; url: string; log: () => string }> {
  const entry = fileURLToPath(new URL('../compose.ts', import.meta.url));
  const child = spawn(
    process.execPath,
    [...nodeArgs, '--import', 'tsx', '--import', LOOP_PROBE, entry, '--port', '0', '--static-dir', '/nonexistent/out', ...args],
    {
      cwd: ROOT,
      env: { ...process.env, ...env },
    },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 30_000);
    const check = (): void => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout.off('data', check);
        resolve(m[1]!);
      }
    };
    child.stdout.on('data', check);
    child.once('exit', () => reject(new Error(`server exited: ${out}`)));
  });
  return { child, url, log: () => out };
}

async function healthProbe(url: string, gapMs: number): Promise<() => Promise<Probe>> {
  const entry = fileURLToPath(new URL('../../web/testing/health-probe.ts', import.meta.url));
  const p = spawn(process.execPath, ['--import', 'tsx', entry, url, String(gapMs)], { cwd: ROOT });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('health probe did not start')), 20_000);
    p.stdout.on('data', () => out.includes('ready\n') && (clearTimeout(t), resolve()));
  });
  return async () => {
    const done = new Promise<void>((r) => p.once('exit', () => r()));
    p.stdin.end();
    await done;
    return JSON.parse(
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .at(-1) ?? '{"samples":[],"at":[],"late":[],"errors":-1}',
    );
  };
}

async function shell(url: string): Promise<TestClient> {
  const c = new TestClient(url, (await newSession(url)).token);
  c.autoAck = 32 * 1024;
  await c.opened();
  await c.waitMessage('state', (m) => m.state === 'running', 20_000);
  await c.waitText(PROMPT, 10_000);
  return c;
}

function send(c: TestClient, data: Buffer, frame: number): void {
  for (let i = 0; i < data.length; i += frame) c.ws.send(data.subarray(i, i + frame), { binary: true });
}

export async function runPaste(p: PasteParams, log: (l: string) => void = () => {}): Promise<PasteResult> {
  const loopFile = join(tmpdir(), `boxlab-loop-${process.pid}-${Date.now()}.json`);
  const srv = await startServer(p.inputQueue ? ['--input-queue', p.inputQueue] : [], p.serverNodeArgs, { BOXLAB_LOOP_PROBE: loopFile });
  const clients: TestClient[] = [];
  let stopProbe: (() => Promise<Probe>) | null = null;
  try {
    const stuck = await shell(srv.url);
    const reader = await shell(srv.url);
    clients.push(stuck, reader);
    stuck.type('sleep 600\r');
    const cmd = p.readCmd ?? 'wc -c';
    reader.type(p.echo ? `${cmd}\r` : `stty -echo; ${cmd}\r`);
    await sleep(500);
    const records = readRecords().filter((r) => r.serverPid === srv.child.pid);
    stopProbe = await healthProbe(srv.url, p.healthGapMs);
    srv.child.kill('SIGWINCH');
    await sleep(p.baselineMs ?? 3000);
    const baseline = await stopProbe();
    const baselineLoop = await readLoop(srv.child, loopFile);
    stopProbe = await healthProbe(srv.url, p.healthGapMs);
    await sleep(300);
    const cpu0 = cpuMs(srv.child.pid!);
    srv.child.kill('SIGWINCH');
    const data = pasteBytes(p.bytes);
    log(`paste: ${p.bytes} bytes in ${p.frame}-byte frames into sleep 600 and wc -c`);
    const t0 = performance.now();
    send(stuck, data, p.frame);
    send(reader, data, p.frame);
    reader.type('\x04'); // EOF at the start of a line: wc prints its count
    // The paste holds no digit and the prompt's hostname digits are followed by ':', so the first run of digits
    // ending a line is wc's count. With echo on it can land amid the echo (n_tty commits echoes lazily), so the
    // frames are scanned as they come, each once (a 10 MB string checked on every frame would be O(n²)).
    let counted: number | null = null;
    let seen = reader.binary.length;
    let carry = '';
    try {
      await reader.until(
        () => {
          for (; seen < reader.binary.length && counted === null; seen++) {
            const text = carry + reader.binary[seen]!.toString('latin1');
            const m = /(\d+)\r\n/.exec(text);
            if (m) counted = Number(m[1]);
            carry = text.slice(-24);
          }
          return counted !== null;
        },
        p.readTimeoutMs ?? 300_000,
        'wc -c to print its count',
      );
    } catch (err) {
      log(`paste: ${(err as Error).message.slice(0, 300)}`);
    }
    const readMs = performance.now() - t0;
    log(`paste: wc -c counted ${counted} in ${readMs.toFixed(0)} ms`);
    await stuck.waitMessage('error', (m) => m.code === 'input_refused', Math.min(30_000, p.readTimeoutMs ?? 30_000)).catch(() => undefined);
    await sleep(500);
    const serverCpuMs = cpuMs(srv.child.pid!) - cpu0;
    const serverLoop = await readLoop(srv.child, loopFile);

    const health = await stopProbe();
    stopProbe = null;
    const refused = stuck.of('error').some((m) => m.code === 'input_refused');
    const stuckResult = {
      sent: p.bytes,
      refusedNotice: refused,
      noticeInTerminal: /\[boxlab\] input refused/.test(stuck.text()),
      resumedNotice: stuck.of('error').some((m) => m.code === 'input_resumed'),
    };
    // SIGTERM with the stuck box still holding a full queue.
    const exited = new Promise<{ code: number | null; signal: string | null }>((r) =>
      srv.child.once('exit', (code, signal) => r({ code, signal })),
    );
    const ts = performance.now();
    srv.child.kill('SIGTERM');
    const timeout = sleep(10_000).then(() => null);
    const ex = await Promise.race([exited, timeout]);
    const sigMs = performance.now() - ts;
    if (!ex) srv.child.kill('SIGKILL');
    const closeCodes = await Promise.all(
      clients.map((c) =>
        c.waitClose(3000).then(
          (x) => x.code,
          () => -1,
        ),
      ),
    );
    return {
      params: p,
      health,
      baseline,
      serverCpuMs,
      serverLoop,
      baselineLoop,
      read: { sent: p.bytes, counted, ms: readMs, refusals: reader.of('error').filter((m) => m.code === 'input_refused').length },
      stuck: stuckResult,
      sigterm: { ms: sigMs, code: ex?.code ?? null, signal: ex ? ex.signal : 'timeout', closeCodes },
      leftovers: leftoversOf(records),
      serverLog: srv.log(),
    };
  } finally {
    rmSync(loopFile, { force: true });
    if (stopProbe) await stopProbe().catch(() => undefined);
    for (const c of clients) if (!c.closed) c.ws.terminate();
    if (srv.child.exitCode === null && srv.child.signalCode === null) srv.child.kill('SIGKILL');
  }
}
