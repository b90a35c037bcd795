// The xterm.js terminal: fills its pane, follows resizes, WebGL with DOM fallback, links, search, copy/paste, context menu.
'use client';
import { memo, useCallback, useEffect, useRef, useState } from 'react';
import type { Terminal } from '@xterm/xterm';
import type { FitAddon } from '@xterm/addon-fit';
import type { SearchAddon } from '@xterm/addon-search';
import type { TerminalSink } from './client-types';
import { ContextMenu, type MenuItem } from './ContextMenu';
import { SearchBar } from './SearchBar';
import { copyText, readText } from './clipboard';
import { warmGlyphs } from './warm-glyphs';
import { DARK, LIGHT } from './xterm-theme';

export type Renderer = 'webgl' | 'dom';

export interface TermHandle {
  term: Terminal;
  sink: TerminalSink;
  renderer: Renderer;
}

interface Props {
  theme: 'dark' | 'light';
  large: boolean;
  /** Called once the terminal is open; returns the cleanup run before the terminal is disposed. */
  onReady(h: TermHandle): () => void;
  onData(data: string | Uint8Array): void;
  onResize(rows: number, cols: number): void;
  onNotice(text: string): void;
}

const FONT =
  'ui-monospace, "SFMono-Regular", "Cascadia Mono", "JetBrains Mono", Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace';
const fontSize = (large: boolean) => (large ? 19 : 14);

/**
 * Memoised: the page re-renders on every view change of its client (a Start brings several), and the terminal needs
 * none of them; with stable callbacks from the page it is skipped (its props only change with the theme or size).
 */
export const TerminalView = memo(function TerminalView(props: Props) {
  const host = useRef<HTMLDivElement>(null);
  const term = useRef<Terminal | null>(null);
  const fit = useRef<FitAddon | null>(null);
  const [search, setSearch] = useState<SearchAddon | null>(null);
  const [searchOpen, setSearchOpen] = useState(false);
  const [menu, setMenu] = useState<{ x: number; y: number } | null>(null);
  // Latest props for the long-lived xterm callbacks, without re-creating the terminal.
  const latest = useRef(props);
  latest.current = props;

  const copySelection = useCallback(async () => {
    const t = term.current;
    if (!t?.hasSelection()) return;
    if (await copyText(t.getSelection())) latest.current.onNotice('Copied to the clipboard');
  }, []);

  useEffect(() => {
    let disposed = false;
    let cleanup: (() => void) | undefined;
    let ro: ResizeObserver | undefined;
    let raf = 0;
    let t: Terminal | undefined;
    void (async () => {
      const [{ Terminal }, { FitAddon }, { WebLinksAddon }, { SearchAddon }, { Unicode11Addon }] = await Promise.all([
        import('@xterm/xterm'),
        import('@xterm/addon-fit'),
        import('@xterm/addon-web-links'),
        import('@xterm/addon-search'),
        import('@xterm/addon-unicode11'),
      ]);
      if (disposed || !host.current) return;
      const p = latest.current;
      t = new Terminal({
        fontFamily: FONT,
        fontSize: fontSize(p.large),
        lineHeight: 1.15,
        // No blink: xterm's DOM renderer blinks with an infinite CSS animation of the cursor's colours, which Chromium
        // cannot run on the compositor, so an idle terminal drew ~60 main-thread frames a second and every key
        // restarted the animation (27.6 frames and 8 style recalcs per key against 5.4 and 2 without; ttyd's default
        // is off too). Measured in bench/trace-terminal.ts, docs/performance.md (Terminal against ttyd).
        cursorBlink: false,
        scrollback: 5000,
        // unicode11 and search decorations use proposed API.
        allowProposedApi: true,
        theme: p.theme === 'light' ? LIGHT : DARK,
        macOptionIsMeta: true,
      });
      const f = new FitAddon();
      const s = new SearchAddon({ highlightLimit: 1000 });
      t.loadAddon(f);
      t.loadAddon(s);
      t.loadAddon(new WebLinksAddon());
      t.loadAddon(new Unicode11Addon());
      t.unicode.activeVersion = '11';
      t.open(host.current);
      // ?renderer=dom|webgl forces one (comparing the two in the e2e and bench); otherwise WebGL only on a real GPU.
      const forced = new URLSearchParams(window.location.search).get('renderer');
      const renderer = forced === 'dom' || (forced !== 'webgl' && !hardwareWebgl()) ? 'dom' : await loadWebgl(t);
      if (disposed) return t.dispose();
      term.current = t;
      fit.current = f;
      setSearch(s);

      t.attachCustomKeyEventHandler((ev) => {
        if (!(ev.ctrlKey || ev.metaKey) || !ev.shiftKey || ev.altKey) return true;
        const key = ev.key.toLowerCase();
        if (key === 'v') return false; // the browser's own paste event reaches xterm's textarea
        if (key !== 'c' && key !== 'f') return true;
        ev.preventDefault();
        if (ev.type === 'keydown') {
          if (key === 'c') void copySelection();
          else setSearchOpen(true);
        }
        return false;
      });
      t.onData((d) => latest.current.onData(d));
      t.onBinary((d) => latest.current.onData(Uint8Array.from(d, (c) => c.charCodeAt(0) & 0xff)));
      t.onResize(({ rows, cols }) => latest.current.onResize(rows, cols));

      const refit = () => {
        cancelAnimationFrame(raf);
        raf = requestAnimationFrame(() => {
          // fit() throws while the pane is display:none (zero size); the next resize fixes it.
          try {
            f.fit();
          } catch {}
        });
      };
      ro = new ResizeObserver(refit);
      ro.observe(host.current);
      try {
        f.fit();
      } catch {}
      const ready = t;
      // The DOM renderer's glyph widths are measured now, behind the Start cover, not in the prompt's frame.
      const unwarm = renderer === 'dom' ? warmGlyphs(ready) : () => {};
      cleanup = latest.current.onReady({
        term: ready,
        renderer,
        // RIS goes through the write queue, so bytes of an old stream still queued cannot land after the clear.
        sink: {
          write: (d, cb) => (unwarm(), ready.write(d, cb)),
          reset: () => (unwarm(), ready.write('\x1bc')),
        },
      });
    })();
    return () => {
      disposed = true;
      cancelAnimationFrame(raf);
      ro?.disconnect();
      cleanup?.();
      term.current = null;
      t?.dispose();
    };
  }, [copySelection]);

  useEffect(() => {
    const t = term.current;
    if (!t) return;
    t.options.theme = props.theme === 'light' ? LIGHT : DARK;
  }, [props.theme, search]);

  useEffect(() => {
    const t = term.current;
    if (!t) return;
    t.options.fontSize = fontSize(props.large);
    try {
      fit.current?.fit();
    } catch {}
  }, [props.large, search]);

  const closeMenu = useCallback(() => setMenu(null), []);
  const items: MenuItem[] = [
    { label: 'Copy', shortcut: 'Ctrl+Shift+C', disabled: !term.current?.hasSelection(), action: () => void copySelection() },
    {
      label: 'Paste',
      shortcut: 'Ctrl+Shift+V',
      action: async () => {
        const text = await readText();
        if (text === null) latest.current.onNotice('Clipboard blocked by the browser: press Ctrl+Shift+V to paste');
        else term.current?.paste(text);
        term.current?.focus();
      },
    },
    { label: 'Select all', action: () => term.current?.selectAll() },
    { label: 'Find…', shortcut: 'Ctrl+Shift+F', action: () => setSearchOpen(true) },
    { label: 'Clear', action: () => (term.current?.clear(), term.current?.focus()) },
  ];

  return (
    <div
      className="relative h-full w-full bg-term"
      onContextMenu={(e) => {
        e.preventDefault();
        const r = e.currentTarget.getBoundingClientRect();
        setMenu({ x: Math.min(e.clientX - r.left, r.width - 220), y: Math.min(e.clientY - r.top, r.height - 200) });
      }}
    >
      <div ref={host} data-testid="terminal" className="absolute inset-0 py-2 pl-3 pr-1" />
      {searchOpen && search && (
        <SearchBar
          search={search}
          onClose={() => {
            setSearchOpen(false);
            term.current?.focus();
          }}
        />
      )}
      {menu && <ContextMenu x={Math.max(4, menu.x)} y={Math.max(4, menu.y)} items={items} onClose={closeMenu} />}
    </div>
  );
});

/**
 * Whether WebGL runs on a GPU. With software GL (SwiftShader, llvmpipe: no GPU, or --disable-gpu) the WebGL renderer
 * parses a flood at about 1 MB/s with main-thread tasks of up to 850 ms, the DOM renderer at 15-22 MB/s with none
 * (docs/performance.md, Terminal). failIfMajorPerformanceCaveat catches some software GL; Chromium's SwiftShader
 * fallback passes it, so the unmasked renderer name is checked too.
 */
function hardwareWebgl(): boolean {
  try {
    const gl = document.createElement('canvas').getContext('webgl2', { failIfMajorPerformanceCaveat: true });
    if (!gl) return false;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const name = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : '';
    gl.getExtension('WEBGL_lose_context')?.loseContext(); // contexts are capped per page: give this one back now
    return !SOFTWARE_GL.test(name);
  } catch {
    return false;
  }
}
const SOFTWARE_GL = /swiftshader|llvmpipe|softpipe|software|basic render driver/i;

async function loadWebgl(t: Terminal): Promise<Renderer> {
  try {
    const { WebglAddon } = await import('@xterm/addon-webgl');
    const gl = new WebglAddon();
    // A lost GPU context (driver reset, too many contexts) drops back to the DOM renderer.
    gl.onContextLoss(() => gl.dispose());
    t.loadAddon(gl);
    return 'webgl';
  } catch {
    return 'dom';
  }
}
