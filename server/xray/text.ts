// Untrusted bytes from the box (file names, command lines, mount fields) made printable and bounded before they leave the server.

// C0/C1 controls (a name may carry "\n" or an ESC sequence) and the invisible or reordering code points that
// make one name look like another: zero-width, bidi overrides and isolates (CVE-2021-42574 "Trojan Source").
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;

const escapeChar = (c: string): string => {
  const n = c.charCodeAt(0);
  return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`;
};

/** Printable text of at most `max` UTF-16 units (+ "…" when cut); invalid UTF-8 becomes U+FFFD. */
export function clean(input: string | Buffer, max: number): string {
  let s = typeof input === 'string' ? input : input.toString('utf8');
  // Never decode more than needed: a 2 MB command line must not cost a 2 MB string walk.
  if (s.length > max * 4) s = s.slice(0, max * 4);
  s = s.replace(UNSAFE, escapeChar);
  if (s.length <= max) return s;
  let cut = max;
  const code = s.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut--; // do not split a surrogate pair
  return `${s.slice(0, cut)}…`;
}

/** A command line from /proc/<pid>/cmdline: NUL-separated arguments joined by spaces. */
export function cleanCmdline(raw: Buffer, max: number): string {
  let end = raw.length;
  while (end > 0 && raw[end - 1] === 0) end--;
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i <= end; i++) {
    if (i === end || raw[i] === 0) {
      parts.push(raw.subarray(start, i).toString('utf8'));
      start = i + 1;
    }
  }
  return clean(parts.join(' '), max);
}

/** mountinfo escapes space, tab, newline and backslash as \040 \011 \012 \134 (proc(5)). */
export function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
