// Host allowlist against DNS rebinding: the server answers only the names it serves; any other Host gets 421.
// A page on a foreign name that resolves to this machine sends its own name as Host (and as Origin), so the Origin
// == Host check alone let it in; the name, not the address, is what a rebinding page cannot fake.
import { hostname as osHostname, networkInterfaces } from 'node:os';

export interface ParsedHost {
  /** Canonical host as the WHATWG URL parser gives it: lower case, IPv4 dotted, IPv6 compressed in brackets. */
  host: string;
  port: number | null;
}

/** A Host header value (RFC 9110 7.2: uri-host [":" port]); null when malformed (userinfo, paths, spaces, empty port). */
export function parseHost(value: string | undefined): ParsedHost | null {
  if (!value) return null;
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(value);
  if (!m) return null;
  const port = m[2] === undefined ? null : Number(m[2]);
  if (port !== null && port > 65535) return null;
  try {
    return { host: new URL(`http://${m[1]}`).hostname, port };
  } catch {
    return null;
  }
}

/** A literal address or name as a Host would carry it (IPv6 in brackets), canonical; null if it cannot be one. */
export function canonicalHost(name: string): string | null {
  const n = name.includes(':') && !name.startsWith('[') ? `[${name}]` : name;
  return parseHost(n)?.host ?? null;
}

export interface HostAllowlistOptions {
  /** The address or name the server listens on (0.0.0.0 or :: : every address of every interface, the hostname and hostname.local). */
  bound: string;
  /** The port it serves. */
  port: number;
  /** BOXLAB_ALLOWED_HOSTS: `name` (any port: a proxy in front names its own) or `name:port` (that port only). */
  extra?: readonly string[];
  /** For tests: the machine's interfaces and hostname. */
  interfaces?: () => string[];
  hostname?: () => string;
  now?: () => number;
}

const WILDCARD = new Set(['', '0.0.0.0', '::', '[::]', '::0']);
const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];

function interfaceAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.push(a.address);
  return out;
}

export class HostAllowlist {
  /** Names served on the server's own port only. */
  private own = new Set<string>();
  /** Names from BOXLAB_ALLOWED_HOSTS: name → allowed ports (null: any). */
  private readonly extra = new Map<string, Set<number> | null>();
  private refreshedAt = -Infinity;
  private readonly now: () => number;

  constructor(private readonly opts: HostAllowlistOptions) {
    this.now = opts.now ?? (() => performance.now());
    for (const e of opts.extra ?? []) {
      const p = parseHost(e.trim());
      if (!p) throw new Error(`allowed host "${e}" is not a host name, address, or name:port`);
      if (p.port === null) this.extra.set(p.host, null);
      else if (this.extra.get(p.host) !== null) this.extra.set(p.host, new Set([...(this.extra.get(p.host) ?? []), p.port]));
    }
    this.refresh();
  }

  /** Every name answered on the served port (for the log and the docs). */
  names(): string[] {
    return [...this.own, ...[...this.extra].map(([h, ports]) => (ports ? [...ports].map((p) => `${h}:${p}`).join(' ') : `${h}:*`))];
  }

  /** The names and addresses served on the port (loopback, the bound address or every interface and the hostname):
   * what a self-signed certificate is made for. */
  served(): string[] {
    return [...this.own];
  }

  /** Whether a request with this Host header is ours. No Host (HTTP/1.0) is not: every browser sends one. */
  allows(header: string | undefined): boolean {
    const p = parseHost(header);
    if (!p) return false;
    if (this.extraAllows(p)) return true;
    const portOk = p.port === this.opts.port || (p.port === null && this.opts.port === 80);
    if (!portOk) return false;
    if (this.own.has(p.host)) return true;
    // Interfaces come and go (DHCP, a VPN): a miss re-reads them, at most every 5 s.
    if (WILDCARD.has(this.opts.bound) && this.now() - this.refreshedAt > 5000) {
      this.refresh();
      return this.own.has(p.host);
    }
    return false;
  }

  private extraAllows(p: ParsedHost): boolean {
    if (!this.extra.has(p.host)) return false;
    const ports = this.extra.get(p.host);
    return ports === null || ports === undefined || (p.port !== null && ports.has(p.port)) || (p.port === null && ports.has(80));
  }

  private refresh(): void {
    this.refreshedAt = this.now();
    const own = new Set<string>(LOOPBACK);
    const add = (n: string): void => {
      if (n.includes('%')) return; // a link-local scope id never appears in a Host header
      const c = canonicalHost(n);
      if (c) own.add(c);
    };
    if (WILDCARD.has(this.opts.bound)) {
      for (const a of (this.opts.interfaces ?? interfaceAddresses)()) add(a);
      const name = (this.opts.hostname ?? osHostname)().toLowerCase();
      add(name);
      if (!name.includes('.')) add(`${name}.local`); // what mDNS (Avahi, Bonjour) answers for it on the LAN
    } else add(this.opts.bound);
    this.own = own;
  }
}

/** The whole answer to a Host we do not serve (RFC 9110 15.5.20), for HTTP and upgrade requests alike. */
export const MISDIRECTED_BODY = 'this server does not serve that host name (set BOXLAB_ALLOWED_HOSTS)\n';
export const MISDIRECTED =
  'HTTP/1.1 421 Misdirected Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n' +
  `Content-Length: ${Buffer.byteLength(MISDIRECTED_BODY)}\r\n\r\n${MISDIRECTED_BODY}`;
