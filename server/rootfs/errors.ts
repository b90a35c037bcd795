// Error type of the rootfs module: a clear one-line message plus the errno-style fields the CLI and web server show.

export interface ImageErrorFields {
  code: string;
  path?: string;
  syscall?: string;
  errno?: number;
}

export class ImageError extends Error {
  readonly code: string;
  readonly path?: string;
  readonly syscall?: string;
  readonly errno?: number;
  constructor(message: string, fields: ImageErrorFields) {
    super(message);
    this.name = 'ImageError';
    this.code = fields.code;
    this.path = fields.path;
    this.syscall = fields.syscall;
    this.errno = fields.errno;
  }
}

/** Node fs errors carry code/syscall/path/errno; copy them so callers see one shape. */
export function fromNodeError(err: unknown, message: string): ImageError {
  const e = err as NodeJS.ErrnoException;
  return new ImageError(`${message}: ${e?.code ?? e?.message ?? String(err)}`, {
    code: e?.code ?? 'EIO',
    path: e?.path,
    syscall: e?.syscall,
    errno: typeof e?.errno === 'number' ? Math.abs(e.errno) : undefined,
  });
}
