// spawn.ts: starts the double fork through the C helper (bx_spawn starts boxlab-nsexec) and wraps its pipes as event streams.
import koffi from 'koffi';
import { existsSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BoxProcess, ChildEvent, SpawnRequest } from '../server/engine/syscalls.ts';
import { SyscallError } from './errors.ts';
import * as libc from './libc.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const LIB_PATH = join(here, 'build', 'libboxlab.so');

let lib: ReturnType<typeof load> | null = null;
function load() {
  let handle: ReturnType<typeof koffi.load>;
  try {
    handle = koffi.load(LIB_PATH);
  } catch (err) {
    throw new Error(`sandbox helper not built (${LIB_PATH}): run \`npm install\` (needs a C compiler): ${(err as Error).message}`);
  }
  const params = koffi.struct('bx_params', {
    root: 'const char *',
    hostname: 'const char *',
    workdir: 'const char *',
    argv: 'const char *',
    envp: 'const char *',
    argc: 'int32_t',
    envc: 'int32_t',
    use_pty: 'int32_t',
    stdio_fds: koffi.array('int32_t', 3),
    status_fd: 'int32_t',
    control_fd: 'int32_t',
    exec_fd: 'int32_t',
    ns_flags: 'uint32_t',
    cap_keep: 'uint64_t',
    disable: 'uint32_t',
    fail_at: 'int32_t',
    rlim_nofile: 'int64_t',
    rlim_fsize: 'int64_t',
    dev_opts: 'const char *',
    shm_opts: 'const char *',
    rows: 'int32_t',
    cols: 'int32_t',
  });
  return {
    spawn: handle.func('int bx_spawn(const bx_params *p, const uint8_t *filter, int32_t len)'),
    spawnCg: handle.func(
      'int bx_spawn_cg(const bx_params *p, const uint8_t *filter, int32_t len, const char *cgroup_dir, _Out_ int32_t *placed)',
    ),
    abi: handle.func('int bx_abi_version(void)'),
    eventSize: handle.func('int bx_event_size(void)'),
    stageName: handle.func('const char *bx_stage_name(int stage)'),
    params,
  };
}
export function helper() {
  lib ??= load();
  return lib;
}

export const EVENT_SIZE = 40 + 24 + 96;

export function parseEvent(b: Buffer): ChildEvent {
  const cstr = (off: number, len: number) => {
    const s = b.subarray(off, off + len);
    const nul = s.indexOf(0);
    return s.subarray(0, nul < 0 ? len : nul).toString('utf8');
  };
  return {
    stage: b.readInt32LE(0),
    role: b.readInt32LE(4) === 2 ? 'inner_child' : 'namespaced_parent',
    ok: b.readInt32LE(8) === 1,
    errno: b.readInt32LE(12),
    pid: b.readInt32LE(16),
    value: b.readInt32LE(20),
    tStart: b.readBigInt64LE(24),
    tEnd: b.readBigInt64LE(32),
    syscall: cstr(40, 24),
    detail: cstr(64, 96),
  };
}

function pipe(cloexec: boolean): [number, number] {
  const fds: [number, number] = [0, 0];
  if (libc.pipe2(fds, cloexec ? libc.O.CLOEXEC : 0) < 0) throw new SyscallError('pipe2', koffi.errno());
  return [fds[0], fds[1]];
}

function readSocket(fd: number): Socket {
  return new Socket({ fd, readable: true, writable: false });
}

/** Forks the namespaced parent; its channels: status (events), control (go bytes), exec (CLOEXEC, EOF on exec). */
export function spawnBox(req: SpawnRequest): BoxProcess {
  const h = helper();
  if (h.eventSize() !== EVENT_SIZE) throw new Error(`libboxlab event size ${h.eventSize()} != ${EVENT_SIZE}: rebuild with npm install`);
  const opened: number[] = [];
  const mk = (cloexec: boolean) => {
    const p = pipe(cloexec);
    opened.push(...p);
    return p;
  };
  try {
    // The child ends of status/control stay open across fork but are marked close-on-exec by the child itself
    // (close_range) so the shell never holds them; the exec pipe is CLOEXEC from the start.
    const [statusR, statusW] = mk(true);
    const [controlR, controlW] = mk(false);
    const [execR, execW] = mk(true);
    let stdioFds = [-1, -1, -1];
    let outer: [number, number, number] | [] = [];
    if (req.stdio === 'pipe') {
      const [inR, inW] = mk(false);
      const [outR, outW] = mk(false);
      const [errR, errW] = mk(false);
      stdioFds = [inR, outW, errW];
      outer = [inW, outR, errR];
    }
    const argv = Buffer.from(req.argv.map((a) => a + '\0').join(''));
    const envp = Buffer.from(req.env.map((a) => a + '\0').join(''));
    const filter = req.seccompFilter;
    const placed = [0];
    const pid = h.spawnCg(
      {
        root: req.root,
        hostname: req.hostname,
        workdir: req.workdir,
        argv: argv.toString('latin1'),
        envp: envp.toString('latin1'),
        argc: req.argv.length,
        envc: req.env.length,
        use_pty: req.stdio === 'pty' ? 1 : 0,
        stdio_fds: stdioFds,
        status_fd: statusW,
        control_fd: controlR,
        exec_fd: execW,
        ns_flags: req.nsFlags,
        cap_keep: req.capKeep,
        disable: req.disable,
        fail_at: req.failAt,
        rlim_nofile: req.rlimitNofile,
        rlim_fsize: req.rlimitFsize,
        dev_opts: req.devOpts,
        shm_opts: req.shmOpts,
        rows: req.rows,
        cols: req.cols,
      },
      filter,
      filter ? filter.length / 8 : 0,
      req.cgroupDir ?? null,
      placed,
    ) as number;
    // ENOENT is also "helper missing": the cgroup directory's absence tells them apart.
    if (pid < 0 && req.cgroupDir && (-pid !== 2 || !existsSync(req.cgroupDir)))
      throw new SyscallError('clone3', -pid, req.cgroupDir, 'CLONE_INTO_CGROUP into the box cgroup');
    if (pid < 0)
      throw new SyscallError(
        'posix_spawn',
        -pid,
        'native-bindings/build/boxlab-nsexec',
        -pid === 2 ? 'helper program missing: run npm install' : undefined,
      );
    // The children hold their ends now; ours are closed so EOF tells us when they are gone.
    for (const fd of [statusW, controlR, execW, ...stdioFds]) if (fd >= 0) libc.close(fd);
    const proc = wrap(pid, statusR, controlW, execR, outer);
    proc.cgroupPlaced = placed[0] === 1;
    return proc;
  } catch (err) {
    for (const fd of opened) libc.close(fd);
    throw err;
  }
}

function wrap(pid: number, statusR: number, controlW: number, execR: number, outer: [number, number, number] | []): BoxProcess {
  const status = readSocket(statusR);
  const listeners: ((e: ChildEvent) => void)[] = [];
  const ends: (() => void)[] = [];
  let buf: Buffer = Buffer.alloc(0);
  status.on('data', (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= EVENT_SIZE) {
      const e = parseEvent(buf.subarray(0, EVENT_SIZE));
      buf = buf.subarray(EVENT_SIZE);
      for (const fn of listeners) fn(e);
    }
  });
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    for (const fn of ends) fn();
  };
  status.on('end', end);
  status.on('close', end);
  status.on('error', end);
  const exec = readSocket(execR);
  const execResult = new Promise<{ ok: true } | { ok: false; errno: number }>((resolve) => {
    let got: Buffer = Buffer.alloc(0);
    exec.on('data', (c: Buffer) => (got = Buffer.concat([got, c])));
    const done = () => resolve(got.length >= 4 ? { ok: false, errno: got.readInt32LE(0) } : { ok: true });
    exec.on('end', done);
    exec.on('error', done);
  });
  let controlOpen = true;
  const proc: BoxProcess = {
    pid,
    onEvent: (fn) => void listeners.push(fn),
    onEnd: (fn) => (ended ? fn() : void ends.push(fn)),
    execResult,
    control(byte) {
      if (!controlOpen) return;
      try {
        writeSync(controlW, byte);
      } catch {
        // The children are gone (EPIPE); their exit is reported through the status pipe.
      }
    },
    close() {
      if (controlOpen) {
        controlOpen = false;
        libc.close(controlW);
      }
      status.destroy();
      exec.destroy();
    },
  };
  if (outer.length) {
    proc.stdio = {
      stdin: new Socket({ fd: outer[0], readable: false, writable: true }),
      stdout: readSocket(outer[1]),
      stderr: readSocket(outer[2]),
    };
  }
  return proc;
}
