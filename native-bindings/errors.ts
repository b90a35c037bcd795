// errors.ts: turns a failed libc call into an error carrying {syscall, errno, code, path}, as crun's errors do.
import koffi from 'koffi';

const NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(koffi.os.errno as Record<string, number>).map(([name, n]) => [n, name]),
);

export function errnoName(errno: number): string {
  return NAMES[errno] ?? `E${errno}`;
}

export class SyscallError extends Error {
  readonly syscall: string;
  readonly errno: number;
  readonly code: string;
  readonly path?: string;
  constructor(syscall: string, errno: number, path?: string, hint?: string) {
    const code = errnoName(errno);
    super(`${syscall}${path ? ` ${path}` : ''}: ${code}${hint ? ` (${hint})` : ''}`);
    this.name = 'SyscallError';
    this.syscall = syscall;
    this.errno = errno;
    this.code = code;
    this.path = path;
  }
}

/** Calls fn; a negative result throws a SyscallError with the errno koffi saved right after the call. */
export function check<T extends number | bigint>(syscall: string, result: T, path?: string): T {
  if (Number(result) < 0) throw new SyscallError(syscall, koffi.errno(), path);
  return result;
}
