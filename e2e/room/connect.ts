// Protocol clients "inside" a learner's namespace without a process per client: a short-lived node started with
// `ip netns exec` connects TCP sockets there and hands them to this process over the IPC channel (child_process
// send() of a net.Socket, i.e. SCM_RIGHTS); a socket keeps the namespace it was made in, so HTTPS and wss run here.
import { spawn } from 'node:child_process';
import { createHash, type X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

const AGENT = `
const net = require('node:net');
const [host, port, count] = process.argv.slice(-3);
let left = Number(count);
for (let i = 0; i < Number(count); i++) {
  const s = net.connect(Number(port), host, () => {
    process.send({ ok: true }, s, () => { if (--left === 0) process.disconnect(); });
  });
  s.on('error', (e) => { process.send({ ok: false, error: e.message }); process.exitCode = 1; process.disconnect(); });
}`;

/** `count` TCP connections to host:port made inside network namespace `ns`, owned by this process. */
export function connectFrom(ns: string, host: string, port: number, count = 1, timeoutMs = 30_000): Promise<Socket[]> {
  return new Promise((resolve, reject) => {
    // ip netns exec keeps the inherited fds and environment, so the IPC channel (NODE_CHANNEL_FD) survives it.
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', AGENT, host, String(port), String(count)], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    const got: Socket[] = [];
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stderr?.on('data', (c) => (err += c));
    child.on('message', (msg: { ok: boolean; error?: string }, handle?: Socket) => {
      if (msg.ok && handle) got.push(handle);
      else err += `${msg.error ?? 'no socket'}\n`;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (got.length === count) resolve(got);
      else {
        for (const s of got) s.destroy();
        reject(new Error(`[${ns}] connect ${host}:${port}: ${got.length}/${count} sockets (exit ${code}): ${err.trim()}`));
      }
    });
  });
}

const STANDING_AGENT = `
const net = require('node:net');
process.on('message', (m) => {
  if (m.type === 'exit') return process.disconnect();
  // send() of a socket hands it over and closes this process's copy (keepOpen false).
  for (let i = 0; i < m.count; i++) {
    const s = net.connect(m.port, m.host, () => process.send({ id: m.id, ok: true }, s));
    s.on('error', (e) => process.send({ id: m.id, ok: false, error: e.message }));
  }
});
process.send({ ready: true });`;

/** A helper process standing in namespace `ns`: connect() makes sockets there at once (no process start on the way). */
export interface Connector {
  connect(host: string, port: number, count: number, timeoutMs?: number): Promise<Socket[]>;
  close(): void;
}

/**
 * Starts a standing helper in `ns` (resolves once it listens): what a bench measures from then on is the network and
 * the server, not a node start per client (27 of them at once take seconds of a loaded machine's CPU).
 */
export function connectorIn(ns: string): Promise<Connector> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', STANDING_AGENT], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let err = '';
  let next = 0;
  const pending = new Map<number, { got: Socket[]; count: number; fail: (e: Error) => void; done: (s: Socket[]) => void }>();
  child.stderr?.on('data', (c) => (err += c));
  child.on('message', (m: { ready?: boolean; id?: number; ok?: boolean; error?: string }, handle?: Socket) => {
    const p = m.id === undefined ? undefined : pending.get(m.id);
    if (!p) return;
    if (m.ok && handle) p.got.push(handle);
    else return p.fail(new Error(`[${ns}] connect: ${m.error ?? 'no socket'}`));
    if (p.got.length === p.count) p.done(p.got);
  });
  const close = (): void => {
    if (child.connected) child.send({ type: 'exit' });
    setTimeout(() => child.kill('SIGKILL'), 2000).unref();
  };
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      for (const p of pending.values()) p.fail(new Error(`[${ns}] helper exited (${code}): ${err.trim()}`));
      reject(new Error(`[${ns}] helper exited (${code}): ${err.trim()}`));
    });
    child.once('message', () =>
      resolve({
        close,
        connect: (host, port, count, timeoutMs = 30_000) =>
          new Promise<Socket[]>((done, fail) => {
            const id = next++;
            const timer = setTimeout(() => p.fail(new Error(`[${ns}] connect ${host}:${port}: timed out`)), timeoutMs);
            const end = (): void => (clearTimeout(timer), void pending.delete(id));
            const p = {
              got: [] as Socket[],
              count,
              done: (s: Socket[]) => (end(), done(s)),
              fail: (e: Error) => {
                end();
                for (const s of p.got) s.destroy();
                fail(e);
              },
            };
            pending.set(id, p);
            child.send({ id, host, port, count });
          }),
      }),
    );
  });
}

/** base64 SHA-256 of a certificate's SubjectPublicKeyInfo (what Chromium's --ignore-certificate-errors-spki-list takes). */
export function spkiPin(cert: X509Certificate): string {
  return createHash('sha256')
    .update(cert.publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64');
}

/**
 * TLS over a socket from connectFrom(), trusting exactly the key pinned (a self-signed certificate is otherwise
 * unknown to everyone): the chain is not checked, the key is; a different key fails the handshake.
 */
export function pinnedTls(socket: Socket, pin: string, servername?: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const t = tlsConnect({ socket, servername, rejectUnauthorized: false });
    t.once('secureConnect', () => {
      const cert = t.getPeerX509Certificate();
      if (cert && spkiPin(cert) === pin) return resolve(t);
      t.destroy();
      reject(new Error(`TLS: the server's key is not the pinned one (${cert ? spkiPin(cert) : 'no certificate'} != ${pin})`));
    });
    t.once('error', reject);
  });
}
