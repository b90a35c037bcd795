// A classroom on one machine for tests: N learner network namespaces on a LAN bridge behind one "room" namespace that
// masquerades (nftables) towards an uplink veth to the host, plus an instructor namespace outside the NAT. All of it
// named with a unique prefix, removed by destroy() (also after a failed test) and by sweepRooms() after a killed run.
import { execFile, spawn, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface RoomOptions {
  /** How many learner namespaces sit behind the NAT. */
  learners: number;
  /** Names start with this (namespaces, host links, the nft table); at most 10 characters: prefix + 4 hex + 'u' is a host link, 15 at most. */
  prefix: string;
}

export interface Netns {
  /** `ip netns` name. */
  name: string;
  /** Its address (on eth0). */
  address: string;
}

export interface Room {
  /** prefix + a random run id: everything of this room starts with it. */
  id: string;
  /** The host's end of the uplink: a server listening here (or on 0.0.0.0) is reachable from the room and the instructor. */
  serverAddress: string;
  /** The one address every learner's traffic leaves the room with (the room's end of the uplink). */
  natAddress: string;
  room: string;
  instructor: Netns;
  learners: Netns[];
  /** nft table doing the masquerade (in the room namespace). */
  nftTable: string;
  /** argv that runs a command inside a namespace (`ip netns exec NS ...`). */
  execArgs(ns: string, argv: string[]): string[];
  /** Runs a command inside a namespace and collects its output (rejects on a non-zero exit). */
  exec(ns: string, argv: string[], opts?: { timeoutMs?: number; input?: string }): Promise<{ stdout: string; stderr: string }>;
  /** Starts a long-running command inside a namespace. */
  spawn(ns: string, argv: string[], opts?: SpawnOptions): ReturnType<typeof spawn>;
  /** Removes every namespace, link and table of the room; safe to call twice. */
  destroy(): Promise<void>;
}

const LINK_MAX = 15;

/** `ip ARGS...` with its stderr in the error (also the cluster harness's). */
export async function ip(...args: string[]): Promise<string> {
  try {
    return (await run('ip', args, { timeout: 20_000 })).stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`ip ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

function execIn(
  ns: string,
  argv: string[],
  opts: { timeoutMs?: number; input?: string } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'ip',
      ['netns', 'exec', ns, ...argv],
      { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err)
          reject(
            Object.assign(new Error(`[${ns}] ${argv.join(' ')}: ${stderr.trim() || err.message}`), { stdout, stderr, code: err.code }),
          );
        else resolve({ stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Namespaces whose name starts with the prefix (`ip netns list` prints "name" or "name (id: N)"). */
export async function roomNamespaces(prefix: string): Promise<string[]> {
  return (await ip('netns', 'list'))
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n): n is string => !!n?.startsWith(prefix));
}

/** Host links whose name starts with the prefix (`ip -o link` prints "N: name@peer: ..."). */
export async function roomLinks(prefix: string): Promise<string[]> {
  return (await ip('-o', 'link', 'show'))
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => !!n?.startsWith(prefix));
}

/** Host nft tables whose name starts with the prefix (none should ever exist: the room's table lives in its namespace). */
export async function roomTables(prefix: string): Promise<string[]> {
  const out = (await run('nft', ['list', 'tables'])).stdout;
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[2])
    .filter((n): n is string => !!n?.startsWith(prefix));
}

/** Removes every namespace and host link starting with the prefix (what a killed run left). Returns what it removed. */
export async function sweepRooms(prefix: string): Promise<{ namespaces: string[]; links: string[] }> {
  // A room's id (prefix + 4 hex) is a prefix too: up to 14 characters.
  if (!/^[a-z][a-z0-9]{1,13}$/.test(prefix)) throw new Error(`sweepRooms: refusing the prefix "${prefix}"`);
  const namespaces = await roomNamespaces(prefix);
  // Deleting a namespace deletes its veth ends, and with them their peers on the host.
  for (const ns of namespaces) await ip('netns', 'del', ns).catch(() => {});
  const links = await roomLinks(prefix);
  for (const l of links) await ip('link', 'del', l).catch(() => {});
  for (const t of await roomTables(prefix).catch(() => [])) await run('nft', ['delete', 'table', 'ip', t]).catch(() => {});
  return { namespaces, links };
}

/** A /24 (LAN) and a /29 (uplink + instructor) no interface of this host uses yet. */
async function freeSubnets(): Promise<{ lan: string; link: string }> {
  const used = await ip('-o', 'addr', 'show');
  for (let tries = 0; tries < 200; tries++) {
    const k = 1 + Math.floor(Math.random() * 250);
    const lan = `10.231.${k}`;
    const link = `100.79.${k}`;
    if (!used.includes(` ${lan}.`) && !used.includes(` ${link}.`)) return { lan, link };
  }
  throw new Error('no free test subnet in 10.231.0.0/16 and 100.79.0.0/16');
}

export async function createRoom(opts: RoomOptions): Promise<Room> {
  if (!/^[a-z][a-z0-9]{1,9}$/.test(opts.prefix)) throw new Error(`createRoom: prefix "${opts.prefix}" must be 2-10 of a-z0-9`);
  if (!(opts.learners >= 1 && opts.learners <= 240)) throw new Error('createRoom: 1..240 learners');
  const id = `${opts.prefix}${randomBytes(2).toString('hex')}`;
  const uplinkHost = `${id}u`;
  const insHost = `${id}i`;
  if (uplinkHost.length > LINK_MAX) throw new Error(`link name ${uplinkHost} is too long`);
  const { lan, link } = await freeSubnets();
  const room = `${id}-room`;
  const instructor: Netns = { name: `${id}-ins`, address: `${link}.6` };
  const learners: Netns[] = Array.from({ length: opts.learners }, (_, i) => ({ name: `${id}-l${i + 1}`, address: `${lan}.${10 + i}` }));
  const nftTable = `${id}nat`;
  let destroyed = false;
  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    await sweepRooms(id);
  };
  const r: Room = {
    id,
    room,
    instructor,
    learners,
    nftTable,
    serverAddress: `${link}.1`,
    natAddress: `${link}.2`,
    execArgs: (ns, argv) => ['ip', 'netns', 'exec', ns, ...argv],
    exec: execIn,
    spawn: (ns, argv, o = {}) => spawn('ip', ['netns', 'exec', ns, ...argv], o),
    destroy,
  };
  try {
    for (const ns of [room, instructor.name, ...learners.map((l) => l.name)]) {
      await ip('netns', 'add', ns);
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    // Uplink: host <-> room, a /30; the room's default route points at the host.
    await ip('link', 'add', uplinkHost, 'type', 'veth', 'peer', 'name', 'up0', 'netns', room);
    await ip('addr', 'add', `${link}.1/30`, 'dev', uplinkHost);
    await ip('link', 'set', uplinkHost, 'up');
    await ip('-n', room, 'addr', 'add', `${link}.2/30`, 'dev', 'up0');
    await ip('-n', room, 'link', 'set', 'up0', 'up');
    await ip('-n', room, 'route', 'add', 'default', 'via', `${link}.1`);
    // The room's LAN: a bridge with the learners' veths in it.
    await ip('-n', room, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', room, 'addr', 'add', `${lan}.1/24`, 'dev', 'br0');
    await ip('-n', room, 'link', 'set', 'br0', 'up');
    for (const [i, l] of learners.entries()) {
      const side = `l${i + 1}`;
      await ip('-n', room, 'link', 'add', side, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', l.name);
      await ip('-n', room, 'link', 'set', side, 'master', 'br0', 'up');
      await ip('-n', l.name, 'addr', 'add', `${l.address}/24`, 'dev', 'eth0');
      await ip('-n', l.name, 'link', 'set', 'eth0', 'up');
      await ip('-n', l.name, 'route', 'add', 'default', 'via', `${lan}.1`);
    }
    // Forwarding is per namespace (net.ipv4.ip_forward); the masquerade rewrites every learner to the uplink address.
    await execIn(room, ['sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']);
    await execIn(room, ['nft', '-f', '-'], {
      input:
        `table ip ${nftTable} {\n  chain post {\n    type nat hook postrouting priority srcnat; policy accept;\n` +
        `    oifname "up0" ip saddr ${lan}.0/24 masquerade\n  }\n}\n`,
    });
    // The instructor: its own /30 to the host, no NAT (the projector laptop on another network, or the server itself).
    await ip('link', 'add', insHost, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', instructor.name);
    await ip('addr', 'add', `${link}.5/30`, 'dev', insHost);
    await ip('link', 'set', insHost, 'up');
    await ip('-n', instructor.name, 'addr', 'add', `${link}.6/30`, 'dev', 'eth0');
    await ip('-n', instructor.name, 'link', 'set', 'eth0', 'up');
    await ip('-n', instructor.name, 'route', 'add', 'default', 'via', `${link}.5`);
  } catch (err) {
    await destroy().catch(() => {});
    throw err;
  }
  return r;
}
