// load-rawws.ts: a WebSocket client at the byte level (RFC 6455) for hostile-client tests: any frame, truncated or
// lying about its length, and a plain parse of whatever the server answers (frames, close code, FIN or reset).
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export const OP = { cont: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

export interface Frame {
  opcode: number;
  payload: Buffer;
}

export interface Ending {
  /** Close code of the server's close frame, if it sent one. */
  code: number | null;
  reason: string;
  /** 'close-frame', 'fin' (TCP end without a close frame), 'reset', or 'timeout' (still open). */
  how: 'close-frame' | 'fin' | 'reset' | 'timeout';
  ms: number;
}

/** One frame's bytes; `declared` overrides the length field (a lie), masked as a client must. */
export function frame(opcode: number, payload: Buffer, opts: { fin?: boolean; declared?: number } = {}): Buffer {
  const len = opts.declared ?? payload.length;
  const head: number[] = [(opts.fin === false ? 0 : 0x80) | opcode];
  if (len < 126) head.push(0x80 | len);
  else if (len < 65536) head.push(0x80 | 126, len >> 8, len & 255);
  else {
    head.push(0x80 | 127);
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(len));
    head.push(...b);
  }
  const mask = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] = body.readUInt8(i) ^ mask.readUInt8(i & 3);
  return Buffer.concat([Buffer.from(head), mask, body]);
}

export class RawWs {
  readonly frames: Frame[] = [];
  status = 0;
  ending: Ending | null = null;
  private buf = Buffer.alloc(0);
  private upgraded = false;
  private readonly t0 = performance.now();
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (e: NodeJS.ErrnoException) => this.end(e.code === 'ECONNRESET' ? 'reset' : 'fin'));
    socket.on('close', () => this.end('fin'));
  }

  /** Raw TCP to the server (nothing sent yet). */
  static tcp(url: string, localAddress?: string): Promise<RawWs> {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      const s = connect({ host: u.hostname, port: Number(u.port), localAddress }, () => resolve(new RawWs(s)));
      s.once('error', reject);
    });
  }

  /** Upgrade to /ws with this token (null: no token offered); resolves once the status line is in. */
  static async open(url: string, token: string | null, opts: { localAddress?: string; origin?: string | null } = {}): Promise<RawWs> {
    const w = await RawWs.tcp(url, opts.localAddress);
    const u = new URL(url);
    const protos = ['boxlab.v1', ...(token ? [`boxlab.token.${token}`] : [])].join(', ');
    const origin = opts.origin === undefined ? `Origin: ${u.origin}\r\n` : opts.origin === null ? '' : `Origin: ${opts.origin}\r\n`;
    w.socket.write(
      `GET /ws HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${origin}` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${protos}\r\n\r\n`,
    );
    await w.until(() => w.status !== 0 || w.ending !== null, 10_000);
    return w;
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    if (!this.upgraded) {
      const i = this.buf.indexOf('\r\n\r\n');
      if (i < 0) return this.wake();
      this.status = Number(/^HTTP\/1\.1 (\d+)/.exec(this.buf.subarray(0, i).toString('latin1'))?.[1] ?? -1);
      this.buf = this.buf.subarray(i + 4);
      this.upgraded = this.status === 101;
      if (!this.upgraded) return this.wake();
    }
    for (;;) {
      if (this.buf.length < 2) break;
      let len = this.buf.readUInt8(1) & 127;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) break;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) break;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (this.buf.length < off + len) break;
      const f = { opcode: this.buf.readUInt8(0) & 15, payload: this.buf.subarray(off, off + len) };
      this.buf = this.buf.subarray(off + len);
      this.frames.push(f);
      if (f.opcode === OP.close && !this.ending) {
        this.ending = {
          code: f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null,
          reason: f.payload.subarray(2).toString('utf8'),
          how: 'close-frame',
          ms: this.since(),
        };
      }
    }
    this.wake();
  }

  private end(how: Ending['how']): void {
    this.ending ??= { code: null, reason: '', how, ms: this.since() };
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  since(): number {
    return performance.now() - this.t0;
  }

  /** Resolves when test() holds or after ms (never rejects: the caller reads the state). */
  until(test: () => boolean, ms: number): Promise<void> {
    const deadline = performance.now() + ms;
    return new Promise((resolve) => {
      const check = (): void => {
        if (test() || performance.now() >= deadline) return resolve();
        this.waiters.push(check);
        setTimeout(() => this.wake(), Math.min(50, Math.max(1, deadline - performance.now())));
      };
      check();
    });
  }

  /** Text frames the server sent, parsed as JSON. */
  messages(): { type: string; code?: string; message?: string }[] {
    return this.frames.filter((f) => f.opcode === OP.text).map((f) => JSON.parse(f.payload.toString('utf8')));
  }

  send(b: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(b);
  }

  async waitEnd(ms: number): Promise<Ending> {
    await this.until(() => this.ending !== null, ms);
    return this.ending ?? { code: null, reason: '', how: 'timeout', ms: this.since() };
  }

  destroy(): void {
    this.socket.destroy();
  }
}
