// Small formatters for the session bar and stats line (bytes, seconds, cpu share).
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n >= 100 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

export function formatDuration(sec: number): string {
  if (sec < 60) return `${Math.round(sec)} s`;
  if (sec < 3600) return `${Math.round(sec / 60)} min`;
  return `${(sec / 3600).toFixed(sec % 3600 ? 1 : 0)} h`;
}

/** "100M" → "100 MB" style for the limits chips; leaves unknown shapes as they are. */
export function formatLimit(s: string): string {
  const m = /^(\d+(?:\.\d+)?)([KMGT])?i?B?$/i.exec(s.trim());
  if (!m) return s;
  return m[2] ? `${m[1]} ${m[2].toUpperCase()}iB` : `${m[1]} B`;
}

/** CPU use between two samples of cumulative usage, as a percentage of one core. */
export function cpuPercent(prev: { usec: number; at: number } | null, cur: { usec: number; at: number }): number | null {
  if (!prev || cur.at <= prev.at || cur.usec < prev.usec) return null;
  return ((cur.usec - prev.usec) / 1000 / (cur.at - prev.at)) * 100;
}
