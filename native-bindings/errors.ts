// errors.ts: the syscall-level error {syscall, errno, code, path}, as crun's errors carry; the engine's SandboxError wraps it as its cause.
import koffi from 'koffi';

// Aliases share a number (EWOULDBLOCK = EAGAIN, EDEADLOCK = EDEADLK, ENOTSUP = EOPNOTSUPP): the first name errno(3) lists wins.
const CANONICAL: Record<number, string> = { 11: 'EAGAIN', 35: 'EDEADLK', 95: 'EOPNOTSUPP' };
const NAMES: Record<number, string> = {
  ...Object.fromEntries(Object.entries(koffi.os.errno as Record<string, number>).map(([name, n]) => [n, name])),
  ...CANONICAL,
};
const NUMBERS = koffi.os.errno as Record<string, number>;

export function errnoName(errno: number): string {
  return NAMES[errno] ?? `E${errno}`;
}

/** Fields of a failed call; either errno or code may be left out and is then derived from the other. */
export interface SyscallFailure {
  syscall: string;
  errno?: number;
  code?: string;
  path?: string;
  /** Replaces the default one-liner "<syscall> <path>: <code>". */
  message?: string;
  /** What the failure was found as (e.g. the Node fs error it was made from). */
  cause?: unknown;
}

export class SyscallError extends Error {
  readonly syscall: string;
  /** Positive errno (0 when the failure has none, e.g. a protocol error on the status pipe). */
  readonly errno: number;
  readonly code: string;
  readonly path?: string;
  constructor(
    syscall: string,
    errno: number,
    path?: string,
    hint?: string,
    opts: { code?: string; message?: string; cause?: unknown } = {},
  ) {
    const code = opts.code ?? errnoName(errno);
    super(
      opts.message ?? `${syscall}${path ? ` ${path}` : ''}: ${code}${hint ? ` (${hint})` : ''}`,
      'cause' in opts ? { cause: opts.cause } : undefined,
    );
    this.name = 'SyscallError';
    this.syscall = syscall;
    this.errno = errno;
    this.code = code;
    this.path = path;
  }

  /** A SyscallError from explicit fields: a fake kernel's failure, a Node fs error, a pseudo call like 'config'. */
  static of(f: SyscallFailure): SyscallError {
    const errno = Math.abs(f.errno ?? (f.code ? (NUMBERS[f.code] ?? 0) : 0));
    return new SyscallError(f.syscall, errno, f.path, undefined, {
      code: f.code,
      message: f.message,
      ...(f.cause !== undefined ? { cause: f.cause } : {}),
    });
  }
}

/** Calls fn; a negative result throws a SyscallError with the errno koffi saved right after the call. */
export function check<T extends number | bigint>(syscall: string, result: T, path?: string): T {
  if (Number(result) < 0) throw new SyscallError(syscall, koffi.errno(), path);
  return result;
}
