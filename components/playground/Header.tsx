// The top bar: Boxlab wordmark, navigation, and the large-text and theme toggles.
'use client';
import { memo } from 'react';
import { useSize, useTheme } from './prefs';

export function Logo({ className = '' }: { className?: string }) {
  // An isometric box: the product in one glyph.
  return (
    <svg viewBox="0 0 32 32" aria-hidden="true" className={className}>
      <path d="M16 3 28 9.5v13L16 29 4 22.5v-13z" fill="none" stroke="currentColor" strokeWidth="2.2" strokeLinejoin="round" />
      <path d="M4 9.5 16 16l12-6.5M16 16v13" fill="none" stroke="currentColor" strokeWidth="2.2" strokeLinejoin="round" opacity=".55" />
      <path d="m10 12.8 4.5 2.4" stroke="currentColor" strokeWidth="2.2" strokeLinecap="round" />
    </svg>
  );
}

// Memoised: the playground re-renders on every view change of its client; the header depends on none of it.
export const Header = memo(function Header({ current = 'playground' }: { current?: 'playground' | 'lessons' }) {
  const [theme, setTheme] = useTheme();
  const [size, setSize] = useSize();
  const nav = (id: typeof current, href: string, label: string, extra?: React.ReactNode) => (
    <a
      href={href}
      aria-current={current === id ? 'page' : undefined}
      className="shrink-0 rounded-md px-2 py-1.5 text-sm text-muted sm:px-2.5 hover:text-fg aria-[current=page]:bg-raised aria-[current=page]:text-fg"
    >
      {label}
      {extra}
    </a>
  );
  return (
    // Fits a 360 px phone: tighter gaps below sm, the wordmark only from 380 px, every item keeps its size.
    <header className="flex h-14 shrink-0 items-center gap-2 border-b border-line bg-panel px-3 sm:gap-6 sm:px-4">
      <a href="/" className="flex shrink-0 items-center gap-2 rounded-md text-fg" aria-label="Boxlab home">
        <Logo className="size-7 text-accent" />
        <span className="hidden text-[1.1875rem] font-semibold tracking-tight min-[380px]:inline">
          box<span className="text-accent">lab</span>
        </span>
      </a>
      <nav aria-label="Main" className="flex min-w-0 items-center gap-0.5 sm:gap-1">
        {nav('playground', '/', 'Playground')}
        {nav('lessons', '/lessons', 'Lessons')}
      </nav>
      <div className="ml-auto flex shrink-0 items-center gap-1.5">
        <ToggleButton
          pressed={size === 'large'}
          onClick={() => setSize(size === 'large' ? 'normal' : 'large')}
          label="Large text (for projectors)"
        >
          <span className="font-semibold">
            A<span className="text-[0.7em]">A</span>
          </span>
          <span className="hidden sm:inline">Large</span>
        </ToggleButton>
        <ToggleButton
          onClick={() => setTheme(theme === 'light' ? 'dark' : 'light')}
          label={theme === 'light' ? 'Switch to dark theme' : 'Switch to light theme'}
        >
          {theme === 'light' ? <MoonIcon /> : <SunIcon />}
          <span className="hidden sm:inline">{theme === 'light' ? 'Dark' : 'Light'}</span>
        </ToggleButton>
      </div>
    </header>
  );
});

function ToggleButton(props: { pressed?: boolean; onClick: () => void; label: string; children: React.ReactNode }) {
  return (
    <button
      type="button"
      aria-pressed={props.pressed}
      title={props.label}
      aria-label={props.label}
      onClick={props.onClick}
      className="flex h-8 items-center gap-1.5 rounded-md border border-line px-2 text-sm sm:px-2.5 text-muted hover:bg-raised hover:text-fg aria-pressed:border-accent/50 aria-pressed:text-fg"
    >
      {props.children}
    </button>
  );
}

function SunIcon() {
  return (
    <svg
      viewBox="0 0 20 20"
      className="size-4"
      aria-hidden="true"
      fill="none"
      stroke="currentColor"
      strokeWidth="1.6"
      strokeLinecap="round"
    >
      <circle cx="10" cy="10" r="3.5" />
      <path d="M10 1.8v2M10 16.2v2M1.8 10h2M16.2 10h2M4.2 4.2l1.4 1.4M14.4 14.4l1.4 1.4M4.2 15.8l1.4-1.4M14.4 5.6l1.4-1.4" />
    </svg>
  );
}

function MoonIcon() {
  return (
    <svg
      viewBox="0 0 20 20"
      className="size-4"
      aria-hidden="true"
      fill="none"
      stroke="currentColor"
      strokeWidth="1.6"
      strokeLinejoin="round"
    >
      <path d="M16.5 12.3A7 7 0 0 1 7.7 3.5a7 7 0 1 0 8.8 8.8z" />
    </svg>
  );
}
