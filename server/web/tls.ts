// HTTPS material: a certificate and key from files (checked to match), or a self-signed one made with the openssl CLI
// for the names and addresses this host serves, kept in BOXLAB_HOME/tls, reused across restarts, remade when they change.
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { ConfigError, type ServerConfig } from './config.ts';
import { HostAllowlist } from './hosts.ts';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** Where they came from (for the start-up lines). */
  certPath: string;
  /** SHA-256 of the certificate (colon hex, as browsers show it). */
  fingerprint: string;
  /** base64 SHA-256 of the SubjectPublicKeyInfo: Chromium's --ignore-certificate-errors-spki-list, curl's --pinnedpubkey sha256//. */
  spki: string;
  /** DNS names and IP addresses the certificate is for (subjectAltName). */
  names: string[];
  /** 'reused', 'made' or 'renewed' for the self-signed one; 'files' for --tls-cert/--tls-key. */
  origin: 'reused' | 'made' | 'renewed' | 'files';
}

/** Renew a self-signed certificate that has less than this left (it is made for 397 days). */
const RENEW_BEFORE_MS = 30 * 86400_000;
const DAYS = 397;

function describe(cert: string, key: string, certPath: string, origin: TlsMaterial['origin']): TlsMaterial {
  const x = new X509Certificate(cert);
  const spkiDer = x.publicKey.export({ type: 'spki', format: 'der' });
  return {
    cert,
    key,
    certPath,
    origin,
    fingerprint: x.fingerprint256,
    spki: createHash('sha256').update(spkiDer).digest('base64'),
    names: sanNames(x),
  };
}

/** The subjectAltName entries as plain names and canonical addresses (Node prints `DNS:a, IP Address:1.2.3.4`). */
export function sanNames(x: X509Certificate): string[] {
  return (x.subjectAltName ?? '')
    .split(', ')
    .filter(Boolean)
    .map((e) => {
      const n = e.replace(/^(DNS|IP Address):/, '').toLowerCase();
      return sanEntry(n) ?? n;
    });
}

/** Reads --tls-cert/--tls-key; unreadable or mismatched files are one-line ConfigErrors. */
export function loadTlsFiles(certPath: string, keyPath: string): TlsMaterial {
  const read = (p: string, flag: string): string => {
    try {
      return readFileSync(p, 'utf8');
    } catch (err) {
      throw new ConfigError(`${flag} ${p}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  };
  const cert = read(certPath, '--tls-cert');
  const key = read(keyPath, '--tls-key');
  let x: X509Certificate;
  try {
    x = new X509Certificate(cert);
  } catch {
    throw new ConfigError(`--tls-cert ${certPath}: not a PEM certificate`);
  }
  let k: ReturnType<typeof createPrivateKey>;
  try {
    k = createPrivateKey(key);
  } catch {
    throw new ConfigError(`--tls-key ${keyPath}: not a PEM private key (or it is encrypted)`);
  }
  if (!x.checkPrivateKey(k)) throw new ConfigError(`--tls-key ${keyPath} is not the key of --tls-cert ${certPath}`);
  if (Date.parse(x.validTo) < Date.now()) throw new ConfigError(`--tls-cert ${certPath}: expired on ${x.validTo}`);
  return describe(cert, key, certPath, 'files');
}

/** Canonical SAN entry for a served name: addresses without brackets or zone, names lower case; null if unusable. */
export function sanEntry(name: string): string | null {
  const n = name.replace(/^\[|\]$/g, '').toLowerCase();
  if (n.includes('%')) return null;
  if (isIP(n) === 4) return n;
  if (isIP(n) === 6) return new URL(`http://[${n}]`).hostname.slice(1, -1);
  return /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(n) ? n : null;
}

/** Every wanted name is in the certificate. A name it has beyond those (an interface gone: a VPN, a container bridge)
 * is harmless, and keeping the certificate keeps the fingerprint learners already accepted. */
function covers(have: string[], want: string[]): boolean {
  const h = new Set(have);
  return want.every((n) => h.has(n));
}

export interface SelfSignedOptions {
  /** BOXLAB_HOME: the certificate goes to <home>/tls/self-signed.{crt,key}. */
  home: string;
  /** Names and addresses served (HostAllowlist.served()), any form; the certificate is for exactly these. */
  names: string[];
  now?: () => number;
  /** The openssl binary (tests: a missing one). */
  openssl?: string;
}

/** The self-signed certificate for these names: the kept one if it covers them and has 30 days left, else a new one
 * (openssl req -x509) for exactly these names. */
export function ensureSelfSigned(opts: SelfSignedOptions): TlsMaterial {
  const dir = join(opts.home, 'tls');
  const certPath = join(dir, 'self-signed.crt');
  const keyPath = join(dir, 'self-signed.key');
  const names = [...new Set(opts.names.map(sanEntry).filter((n): n is string => !!n))].sort();
  if (!names.length) throw new ConfigError('--tls self-signed: no host name or address to make a certificate for');
  const now = (opts.now ?? Date.now)();
  let origin: TlsMaterial['origin'] = 'made';
  if (existsSync(certPath) && existsSync(keyPath)) {
    try {
      const cert = readFileSync(certPath, 'utf8');
      const key = readFileSync(keyPath, 'utf8');
      const x = new X509Certificate(cert);
      const fits = x.checkPrivateKey(createPrivateKey(key)) && covers(sanNames(x), names) && Date.parse(x.validTo) - now > RENEW_BEFORE_MS;
      if (fits) {
        chmodSync(keyPath, 0o600);
        return describe(cert, key, certPath, 'reused');
      }
    } catch {
      // unreadable or damaged: made again below
    }
    origin = 'renewed';
  }
  let tmp: string;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    // Made in a private temp dir beside the final files, then renamed: a crash never leaves a half-written pair.
    tmp = mkdtempSync(join(dir, '.new-'));
  } catch (err) {
    throw new ConfigError(
      `--tls self-signed: cannot keep the certificate in ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); set BOXLAB_HOME`,
    );
  }
  try {
    const cn = names.find((n) => !isIP(n) && n !== 'localhost') ?? names[0];
    const san = names.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
    // A config of our own, not the system openssl.cnf (whose v3_ca section would make this a CA certificate).
    const cnf = [
      '[req]',
      'distinguished_name = dn',
      'x509_extensions = ext',
      'prompt = no',
      '[dn]',
      `CN = ${cn}`,
      'O = Boxlab self-signed',
      '[ext]',
      `subjectAltName = ${san}`,
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = critical,digitalSignature',
      'extendedKeyUsage = serverAuth',
      'subjectKeyIdentifier = hash',
    ].join('\n');
    writeFileSync(join(tmp, 'req.cnf'), cnf + '\n');
    try {
      execFileSync(
        opts.openssl ?? 'openssl',
        [
          'req',
          '-x509',
          '-config',
          join(tmp, 'req.cnf'),
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          String(DAYS),
          '-keyout',
          join(tmp, 'key.pem'),
          '-out',
          join(tmp, 'cert.pem'),
        ],
        { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 },
      );
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
      const why =
        e.code === 'ENOENT'
          ? 'the openssl command is not installed (apt-get install openssl)'
          : (e.stderr?.toString().trim().split('\n')[0] ?? e.message);
      throw new ConfigError(`--tls self-signed: openssl failed: ${why}`);
    }
    chmodSync(join(tmp, 'key.pem'), 0o600);
    renameSync(join(tmp, 'key.pem'), keyPath);
    renameSync(join(tmp, 'cert.pem'), certPath);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return describe(readFileSync(certPath, 'utf8'), readFileSync(keyPath, 'utf8'), certPath, origin);
}

/** The certificate the config asks for (null: plain HTTP). Self-signed: for every name and address served on cfg.host. */
export function tlsMaterial(cfg: Pick<ServerConfig, 'tls' | 'tlsCert' | 'tlsKey' | 'host' | 'port'>, home: string): TlsMaterial | null {
  if (cfg.tls === 'files' || (cfg.tlsCert && cfg.tlsKey)) return loadTlsFiles(cfg.tlsCert ?? '', cfg.tlsKey ?? '');
  if (cfg.tls !== 'self-signed') return null;
  return ensureSelfSigned({ home, names: new HostAllowlist({ bound: cfg.host, port: cfg.port }).served() });
}

/** A certificate from files also names the hosts it is for: served without BOXLAB_ALLOWED_HOSTS (`name:port`). */
export function certHosts(tls: TlsMaterial | null, port: number): string[] {
  if (tls?.origin !== 'files') return [];
  return tls.names.filter((n) => !n.startsWith('*')).map((n) => `${n.includes(':') ? `[${n}]` : n}:${port}`);
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);
export const isLoopback = (host: string): boolean => LOOPBACK_NAMES.has(host) || /^127\./.test(host);

/** What the start-up prints about HTTPS and about reaching the server from other machines. */
export function startupLines(o: { bound: string; port: number; tls: TlsMaterial | null; served: string[] }): string[] {
  const out: string[] = [];
  const scheme = o.tls ? 'https' : 'http';
  if (o.tls) {
    const what = o.tls.origin === 'files' ? 'certificate' : `self-signed certificate (${o.tls.origin})`;
    out.push(`https: ${what} ${o.tls.certPath} for ${o.tls.names.join(' ')}; plain http on the same port redirects`);
    out.push(`https: certificate SHA-256 fingerprint ${o.tls.fingerprint}`);
    out.push(`https: public key pin (base64 SHA-256 of the SPKI) ${o.tls.spki}`);
  }
  if (isLoopback(o.bound)) return out;
  // Link-local IPv6 needs a zone in the URL, which browsers do not take: not worth printing.
  const remote = o.served.filter((n) => !isLoopback(n) && !/^\[fe[89ab]/i.test(n));
  out.push(`learners open: ${remote.map((n) => `${scheme}://${n}:${o.port}/`).join('  ')}`);
  out.push("anyone who can reach these addresses gets a root shell in a box: open the port to the room's network only");
  if (!o.tls) {
    out.push(
      `WARNING: plain http on ${o.bound}: the instructor token and every keystroke cross the network in clear text; ` +
        'serve with --tls self-signed (or --tls-cert FILE --tls-key FILE)',
    );
  }
  return out;
}
