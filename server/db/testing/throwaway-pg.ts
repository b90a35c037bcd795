// A throwaway PostgreSQL cluster for tests and the cluster harness: initdb + pg_ctl under /tmp/boxlab-pg-*, stopped and removed after.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface ThrowawayPg {
  dir: string;
  port: number;
  /** Where it listens for TCP (127.0.0.1 unless asked otherwise). */
  host: string;
  user: string;
  password: string;
  /** postgres://user:password@host:port/db (TCP, scram-sha-256). */
  url(db?: string): string;
  /** A fresh database (one per test keeps tests apart); returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server as a crash would (immediate: no checkpoint), keeping its directory: an outage. */
  pause(): void;
  /** Starts it again on the same port and data (crash recovery first), after pause(). */
  resume(): void;
  /** Stops the server (immediate) and removes the directory; idempotent. */
  stop(): void;
}

/** Why no cluster can be made here, or null: the binaries exist and this user can run them (root runs them as postgres). */
export function pgUnavailable(): string | null {
  if (!binDir()) return 'no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)';
  if (process.getuid?.() === 0 && !account('postgres') && !account('nobody')) return 'root, and no postgres or nobody account to run it as';
  return null;
}

function binDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return null;
  const versions = fs.readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (fs.existsSync(path.join(root, v, 'bin', 'pg_ctl'))) return path.join(root, v, 'bin');
  return null;
}

function account(name: string): { uid: number; gid: number } | null {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  const f = line?.split(':');
  return f ? { uid: Number(f[2]), gid: Number(f[3]) } : null;
}

/**
 * Makes and starts a cluster. `port`: default a free one in 45000-45999 (the store tests' range); `host`: the TCP
 * listen address (a cluster harness gives the host side of its veth so nodes in their namespaces reach it).
 * Throws if one cannot be made (call pgUnavailable() first to skip with the reason).
 */
export async function startThrowawayPg(
  opts: { port?: number; host?: string; ports?: [number, number]; password?: string } = {},
): Promise<ThrowawayPg> {
  const bin = binDir();
  if (!bin) throw new Error(pgUnavailable() ?? 'no PostgreSQL');
  const asRoot = process.getuid?.() === 0;
  const who = asRoot ? (account('postgres') ?? account('nobody')) : null;
  const dir = fs.mkdtempSync('/tmp/boxlab-pg-');
  const halt = () => {
    if (fs.existsSync(path.join(dir, 'data', 'postmaster.pid')))
      spawnSync(path.join(bin, 'pg_ctl'), ['-D', path.join(dir, 'data'), '-m', 'immediate', '-w', 'stop'], { ...ids, stdio: 'ignore' });
  };
  const stop = () => {
    halt();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  /** pg_ctl start with the options the cluster was made with; its status and log tail. */
  const start = (o: string) =>
    spawnSync(path.join(bin, 'pg_ctl'), ['-D', path.join(dir, 'data'), '-o', o, '-l', path.join(dir, 'log'), '-w', '-t', '60', 'start'], {
      ...ids,
      cwd: dir,
      stdio: 'pipe',
    });
  const ids = who ? { uid: who.uid, gid: who.gid } : {};
  const user = 'boxlab';
  const password = opts.password ?? randomBytes(12).toString('hex');
  const host = opts.host ?? '127.0.0.1';
  try {
    if (who) fs.chownSync(dir, who.uid, who.gid);
    fs.writeFileSync(path.join(dir, 'pw'), password, { mode: 0o600 });
    if (who) fs.chownSync(path.join(dir, 'pw'), who.uid, who.gid);
    const run = (cmd: string, args: string[]) =>
      execFileSync(path.join(bin, cmd), args, { ...ids, cwd: dir, stdio: 'pipe', timeout: 60_000 });
    run('initdb', [
      '-D',
      path.join(dir, 'data'),
      '-U',
      user,
      `--pwfile=${path.join(dir, 'pw')}`,
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '-E',
      'UTF8',
      '--no-sync',
    ]);
    // Clients from any address (the harness's nodes live in their own network namespaces), always with the password.
    fs.appendFileSync(path.join(dir, 'data', 'pg_hba.conf'), 'host all all 0.0.0.0/0 scram-sha-256\n');
    const [lo, hi] = opts.ports ?? [45000, 45999];
    for (let attempt = 0; ; attempt++) {
      const port = opts.port ?? lo + Math.floor(Math.random() * (hi - lo + 1));
      const o = `-k ${dir} -p ${port} -c listen_addresses=${host} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
      const r = start(o);
      if (r.status === 0) return made(port, o);
      const log = fs.existsSync(path.join(dir, 'log')) ? fs.readFileSync(path.join(dir, 'log'), 'utf8') : '';
      if (opts.port !== undefined || attempt >= 5 || !/Address already in use/.test(log))
        throw new Error(`pg_ctl start failed: ${r.stderr.toString().trim()} ${log.slice(-500)}`);
    }
  } catch (err) {
    stop();
    throw err;
  }

  function made(port: number, o: string): ThrowawayPg {
    const url = (db = 'postgres') => `postgres://${user}:${password}@${host.includes(':') ? `[${host}]` : host}:${port}/${db}`;
    return {
      dir,
      port,
      host,
      user,
      password,
      url,
      async createDatabase(name: string) {
        if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`bad database name ${name}`);
        const { default: pg } = await import('pg');
        const c = new pg.Client({ connectionString: url() });
        await c.connect();
        try {
          await c.query(`CREATE DATABASE ${name}`);
        } finally {
          await c.end();
        }
        return url(name);
      },
      pause: halt,
      resume() {
        const r = start(o);
        if (r.status !== 0) throw new Error(`pg_ctl start (resume) failed: ${r.stderr.toString().trim()}`);
      },
      stop,
    };
  }
}
