// Connection admission per remote address: open connections capped, attempts paced by a token bucket (slowed first:
// handed to the HTTP parser late; then refused with 429), and a deadline for upgrade handshakes.
import type { Server, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { addressKey, BudgetBook, TokenBucket, type Rate } from '../sessions/budget.ts';

export interface ConnectionLimits {
  /** New TCP connections per address (rate and burst). */
  attempts: Rate;
  /** An attempt over budget is held (not read) for up to this long; beyond it, refused. */
  maxDelayMs: number;
  /** Open TCP connections per address (WebSockets included). */
  maxOpenPerAddress: number;
}

class AttemptBudget {
  readonly bucket: TokenBucket;
  constructor(rate: Rate) {
    this.bucket = new TokenBucket(rate);
  }
  get recovered(): boolean {
    return this.bucket.level >= this.bucket.rate.burst / 2;
  }
}

const TOO_MANY = 'HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n';

/** Ends a socket with a last answer and cuts it if the peer does not close its side within graceMs (no FIN-less peer holds an fd). */
export function endWith(socket: Duplex, text: string, graceMs = 1000): void {
  socket.on('error', () => {});
  if (socket.destroyed) return;
  socket.end(text);
  const t = setTimeout(() => socket.destroy(), graceMs);
  t.unref();
  socket.once('close', () => clearTimeout(t));
}

export class ConnectionGate {
  private readonly book: BudgetBook<AttemptBudget>;
  private readonly held = new Set<Socket>();
  readonly stats = { admitted: 0, delayed: 0, refusedOpen: 0, refusedRate: 0 };
  constructor(
    private readonly limits: ConnectionLimits,
    private readonly log?: (line: string) => void,
    /** Peers admitted without per-address counting (trusted balancers: one address for all their visitors). */
    private readonly exempt: (addr: string | undefined) => boolean = () => false,
  ) {
    this.book = new BudgetBook(() => new AttemptBudget(limits.attempts));
  }

  /** Puts the gate in front of the server's own 'connection' listener(s) (the documented way to inject connections). */
  install(server: Server): void {
    const own = server.listeners('connection') as ((s: Socket) => void)[];
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) =>
      this.admit(socket, () => {
        for (const l of own) l.call(server, socket);
      }),
    );
  }

  admit(socket: Socket, pass: () => void): void {
    if (this.exempt(socket.remoteAddress)) {
      this.stats.admitted++;
      return pass();
    }
    const key = addressKey(socket.remoteAddress);
    const entry = this.book.peek(key);
    if (entry.users >= this.limits.maxOpenPerAddress) {
      this.stats.refusedOpen++;
      return this.refuse(socket, key, `more than ${this.limits.maxOpenPerAddress} open connections from this address`);
    }
    const wait = entry.budget.bucket.waitFor(1);
    if (wait > this.limits.maxDelayMs) {
      this.stats.refusedRate++;
      return this.refuse(socket, key, 'too many connection attempts from this address');
    }
    entry.budget.bucket.take(1);
    this.book.acquire(key);
    socket.once('close', () => this.book.release(key));
    this.stats.admitted++;
    if (wait === 0) return pass();
    // Slowed: the kernel keeps what it sends; the HTTP parser (and its header timeout) starts when the debt is paid.
    this.stats.delayed++;
    this.held.add(socket);
    const timer = setTimeout(() => {
      this.held.delete(socket);
      if (!socket.destroyed) pass();
    }, Math.ceil(wait));
    socket.once('close', () => {
      clearTimeout(timer);
      this.held.delete(socket);
    });
  }

  /** Addresses with a budget or an open connection. */
  get addresses(): number {
    return this.book.size;
  }

  /** Sockets held back right now. */
  get holding(): number {
    return this.held.size;
  }

  /** Shutdown: sockets still held were never handed to the HTTP server, so it cannot close them. */
  close(): void {
    for (const s of this.held) s.destroy();
    this.held.clear();
  }

  private lastLog = 0;
  private refuse(socket: Socket, key: string, why: string): void {
    const body = `${why}\n`;
    endWith(socket, `${TOO_MANY}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    const t = performance.now();
    if (t - this.lastLog > 5000) {
      this.lastLog = t;
      this.log?.(`refusing connections from ${key}: ${why} (${this.stats.refusedOpen + this.stats.refusedRate} refused so far)`);
    }
  }
}
