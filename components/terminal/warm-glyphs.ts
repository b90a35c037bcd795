// Fills xterm.js's DOM-renderer glyph width cache at page load, so the first output after Start does not measure.
import type { Terminal } from '@xterm/xterm';

/** Printable ASCII, regular and bold: what a shell's banner, prompt and `ls --color` use. */
const ASCII = Array.from({ length: 0x7f - 0x21 }, (_, i) => String.fromCharCode(0x21 + i)).join('');
// SGR 8 (conceal): the cells are laid out and measured like any other but draw nothing; the Start cover is not opaque.
const WARM = `\x1b[8m${ASCII}\x1b[1m${ASCII}\x1b[0m`;

/**
 * The DOM renderer measures each glyph the first time a row shows it (WidthCache: an offsetWidth read, a forced style
 * and layout each, because the row's DOM changed in between). The first output of a box, the banner and the prompt,
 * holds ~50 distinct glyphs: a Chromium trace of Start showed ~50 forced layouts inside the frame of the prompt
 * (docs/performance.md, click to prompt). Writing them once, concealed, at page load pays that before the click.
 *
 * Returns `clear`, which wipes them (a full reset, RIS): run at the first render, and by the caller before anything else
 * reaches the terminal (call it first in the sink), so the warm-up text can never mix with a session's bytes.
 */
export function warmGlyphs(t: Terminal, timeoutMs = 250): () => void {
  let cleared = false;
  let sub: { dispose(): void } | undefined;
  const clear = () => {
    if (cleared) return;
    cleared = true;
    sub?.dispose();
    clearTimeout(timer);
    t.write('\x1bc');
  };
  // The first render after the text is parsed drew (and measured) it; a hidden pane never renders, hence the timer.
  const timer = setTimeout(clear, timeoutMs);
  t.write(WARM, () => {
    if (!cleared) sub = t.onRender(() => clear());
  });
  return clear;
}
