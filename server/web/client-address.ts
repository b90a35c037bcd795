// The client's address behind a trusted proxy (BOXLAB_TRUSTED_PROXIES, docs/cluster.md): when the connection comes
// from one, the client is the right-most untrusted address of X-Forwarded-For; from anyone else the header is ignored.
import { BlockList, isIP } from 'node:net';

/** X-Forwarded-For elements examined from the right: a chain of proxies is short; a long header is someone's garbage. */
export const MAX_FORWARDED_HOPS = 16;
/** Longer than any address with a port ("[ffff:...:ffff]:65535" is 47 characters). */
const MAX_ELEMENT = 64;

/** IPv4 as is (also when mapped into IPv6, as a dual-stack socket reports it), IPv6 in lower case. */
function plain(addr: string): string {
  const a = addr.toLowerCase();
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

/**
 * One X-Forwarded-For element to an address, or null: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]`,
 * `[2001:db8::1]:443`. No zone ids, names, `unknown` or obfuscated identifiers (RFC 7239 section 6): not an address.
 */
export function parseForwardedAddress(element: string): string | null {
  const s = element.trim();
  if (!s || s.length > MAX_ELEMENT) return null;
  let a = s;
  const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::\d{1,5})?$/.exec(s);
  if (bracketed) a = bracketed[1]!;
  else if (/^[0-9.]+:\d{1,5}$/.test(s)) a = s.slice(0, s.lastIndexOf(':'));
  else if (!/^[0-9A-Fa-f:.]+$/.test(s)) return null;
  const v = isIP(a);
  if (!v || (bracketed && v !== 6)) return null;
  return plain(a);
}

/** `10.0.0.5`, `10.0.0.0/8`, `fd00::/8`, `::1`: an address or a CIDR, parsed into the list; throws on anything else. */
function addEntry(list: BlockList, entry: string): void {
  const m = /^([0-9A-Fa-f:.]+)(?:\/(\d{1,3}))?$/.exec(entry.trim());
  const addr = m ? plain(m[1]!) : '';
  const v = isIP(addr);
  const prefix = m?.[2] === undefined ? undefined : Number(m[2]);
  if (!v || (prefix !== undefined && prefix > (v === 4 ? 32 : 128)))
    throw new Error(`"${entry}" is not an address or a CIDR like 10.0.0.0/8 or fd00::/8`);
  const type = v === 4 ? 'ipv4' : 'ipv6';
  if (prefix === undefined) list.addAddress(addr, type);
  else list.addSubnet(addr, prefix, type);
}

export class ProxyTrust {
  private readonly list = new BlockList();
  /** False: no proxy is trusted (the default), every request's client is its connection's peer. */
  readonly enabled: boolean;

  /** Throws on an entry that is not an address or a CIDR (config.ts turns it into a ConfigError). */
  constructor(entries: readonly string[]) {
    for (const e of entries) addEntry(this.list, e);
    this.enabled = entries.length > 0;
  }

  trusts(addr: string | undefined): boolean {
    if (!this.enabled || !addr) return false;
    const a = plain(addr);
    const v = isIP(a);
    return v !== 0 && this.list.check(a, v === 4 ? 'ipv4' : 'ipv6');
  }

  /**
   * Who sent the request. A peer that is not trusted is the client, whatever it sends. From a trusted peer, walk
   * X-Forwarded-For from the right (each proxy appends the address it saw, so only the right end is vouched for):
   * the first address that is not a trusted proxy is the client. A garbage element, or more than MAX_FORWARDED_HOPS
   * of trusted ones, stops the walk at the last trusted hop: the client is unknown, so it is counted as that proxy.
   * Node joins repeated X-Forwarded-For headers with ", " in their order, which keeps this right.
   */
  clientOf(peer: string | undefined, forwardedFor: string | string[] | undefined): string | undefined {
    if (!peer || !this.trusts(peer)) return peer;
    const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor;
    let client = plain(peer);
    if (!header) return client;
    let end = header.length;
    for (let hops = 0; end >= 0 && hops < MAX_FORWARDED_HOPS; hops++) {
      const start = header.lastIndexOf(',', end - 1);
      const addr = parseForwardedAddress(header.slice(start + 1, end));
      if (!addr) return client;
      client = addr;
      if (!this.trusts(addr)) return addr;
      end = start;
    }
    return client;
  }
}
