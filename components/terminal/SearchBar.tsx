// Find-in-terminal bar (Ctrl+Shift+F): Enter for next, Shift+Enter for previous, Escape to close.
'use client';
import { useEffect, useRef, useState } from 'react';
import type { SearchAddon } from '@xterm/addon-search';

const DECORATIONS = {
  matchBackground: '#3b82f655',
  matchOverviewRuler: '#3b82f6',
  activeMatchBackground: '#f59e0b99',
  activeMatchColorOverviewRuler: '#f59e0b',
};

export function SearchBar(props: { search: SearchAddon; onClose: () => void }) {
  const [query, setQuery] = useState('');
  const [result, setResult] = useState<{ index: number; count: number } | null>(null);
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    input.current?.focus();
    input.current?.select();
    const sub = props.search.onDidChangeResults((r) => setResult({ index: r.resultIndex, count: r.resultCount }));
    return () => {
      sub.dispose();
      props.search.clearDecorations();
    };
  }, [props.search]);

  const find = (q: string, back = false, incremental = false) => {
    if (!q) {
      props.search.clearDecorations();
      setResult(null);
      return;
    }
    const opts = { decorations: DECORATIONS, incremental };
    if (back) props.search.findPrevious(q, opts);
    else props.search.findNext(q, opts);
  };

  return (
    <div
      role="search"
      className="absolute right-3 top-3 z-20 flex items-center gap-1 rounded-lg border border-line bg-panel/95 p-1 text-sm shadow-lg shadow-black/20 backdrop-blur"
    >
      <input
        ref={input}
        value={query}
        aria-label="Find in terminal"
        placeholder="Find"
        onChange={(e) => {
          setQuery(e.target.value);
          find(e.target.value, false, true);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter') find(query, e.shiftKey);
          else if (e.key === 'Escape') props.onClose();
          else return;
          e.preventDefault();
        }}
        className="w-44 rounded-md bg-raised px-2 py-1 font-mono text-fg placeholder:text-faint focus:outline-none focus-visible:ring-2 focus-visible:ring-accent"
      />
      <span className="w-14 text-center font-mono text-xs tabular-nums text-muted" aria-live="polite">
        {result ? (result.count ? `${result.index + 1}/${result.count}` : '0/0') : ''}
      </span>
      <IconButton label="Previous match" onClick={() => find(query, true)}>
        ↑
      </IconButton>
      <IconButton label="Next match" onClick={() => find(query)}>
        ↓
      </IconButton>
      <IconButton label="Close search" onClick={props.onClose}>
        ✕
      </IconButton>
    </div>
  );
}

function IconButton(props: { label: string; onClick: () => void; children: React.ReactNode }) {
  return (
    <button
      type="button"
      aria-label={props.label}
      title={props.label}
      onClick={props.onClick}
      className="grid size-7 place-items-center rounded-md text-muted hover:bg-raised hover:text-fg"
    >
      {props.children}
    </button>
  );
}
