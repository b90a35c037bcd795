// The terminal's right-click menu (Copy / Paste / Select all / Clear), keyboard-navigable, closed by Escape or outside click.
'use client';
import { useEffect, useRef } from 'react';

export interface MenuItem {
  label: string;
  shortcut?: string;
  disabled?: boolean;
  action: () => void;
}

export function ContextMenu(props: { x: number; y: number; items: MenuItem[]; onClose: () => void }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.querySelector<HTMLButtonElement>('button:not(:disabled)')?.focus();
    const outside = (e: PointerEvent) => {
      if (!ref.current?.contains(e.target as Node)) props.onClose();
    };
    window.addEventListener('pointerdown', outside, true);
    window.addEventListener('blur', props.onClose);
    return () => {
      window.removeEventListener('pointerdown', outside, true);
      window.removeEventListener('blur', props.onClose);
    };
  }, [props.onClose]);

  const onKeyDown = (e: React.KeyboardEvent) => {
    const buttons = [...(ref.current?.querySelectorAll<HTMLButtonElement>('button:not(:disabled)') ?? [])];
    const i = buttons.indexOf(document.activeElement as HTMLButtonElement);
    if (e.key === 'Escape') props.onClose();
    else if (e.key === 'ArrowDown') buttons[(i + 1) % buttons.length]?.focus();
    else if (e.key === 'ArrowUp') buttons[(i - 1 + buttons.length) % buttons.length]?.focus();
    else return;
    e.preventDefault();
  };

  return (
    <div
      ref={ref}
      role="menu"
      aria-label="Terminal"
      onKeyDown={onKeyDown}
      className="absolute z-30 min-w-52 rounded-lg border border-line bg-panel p-1 text-sm shadow-xl shadow-black/20"
      style={{ left: props.x, top: props.y }}
    >
      {props.items.map((it) => (
        <button
          key={it.label}
          role="menuitem"
          type="button"
          disabled={it.disabled}
          onClick={() => {
            props.onClose();
            it.action();
          }}
          className="flex w-full items-center justify-between gap-6 rounded-md px-3 py-1.5 text-left text-fg hover:bg-raised focus:bg-raised focus:outline-none disabled:text-faint disabled:hover:bg-transparent"
        >
          <span>{it.label}</span>
          {it.shortcut && <kbd className="font-mono text-xs text-faint">{it.shortcut}</kbd>}
        </button>
      ))}
    </div>
  );
}
