// Prints build progress for the CLI: one updating line on a terminal, plain lines in logs and pipes.

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressPrinter {
  (msg: string, fraction?: number): void;
  /** Ends the updating line on a terminal so the next output starts on its own line. */
  done(): void;
}

export function formatProgress(prefix: string, msg: string, fraction?: number): string {
  const pct = fraction === undefined ? '' : `${String(Math.round(Math.min(Math.max(fraction, 0), 1) * 100)).padStart(3)}% `;
  return `[${prefix}] ${pct}${msg}`;
}

export function consoleProgress(prefix = 'rootfs', stream: ProgressStream = process.stderr): ProgressPrinter {
  let fraction: number | undefined;
  let open = false;
  const print = ((msg: string, f?: number) => {
    // Lines without a fraction (apt-get update's Get:/Hit:) keep the last one, so the percentage never jumps back.
    if (f !== undefined) fraction = f;
    const line = formatProgress(prefix, msg.replace(/[\r\n]+/g, ' '), fraction);
    if (stream.isTTY) {
      const width = Math.max((stream.columns ?? 80) - 1, 20);
      const shown = line.length > width ? `${line.slice(0, width - 1)}…` : line;
      // \r then EL (ECMA-48 "erase in line", CSI 2 K) rewrites the same line in place.
      stream.write(`\r\x1b[2K${shown}`);
      open = true;
    } else {
      stream.write(`${line}\n`);
    }
  }) as ProgressPrinter;
  print.done = () => {
    if (open) stream.write('\n');
    open = false;
  };
  return print;
}
