// Theme (dark/light) and size (normal/large) preferences: stored in localStorage, applied as attributes on <html>.
'use client';
import { useSyncExternalStore } from 'react';

export type Theme = 'dark' | 'light';
export type Size = 'normal' | 'large';

function subscribe(fn: () => void): () => void {
  // The attributes are the single source of truth (the pre-paint script in layout.tsx sets them first).
  const mo = new MutationObserver(fn);
  mo.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme', 'data-size'] });
  return () => mo.disconnect();
}

function setPref(attr: string, key: string, value: string): void {
  document.documentElement.setAttribute(attr, value);
  try {
    localStorage.setItem(key, value);
  } catch {
    /* storage disabled: the choice lasts until reload */
  }
}

export function useTheme(): [Theme, (t: Theme) => void] {
  const theme = useSyncExternalStore(
    subscribe,
    () => (document.documentElement.getAttribute('data-theme') === 'light' ? 'light' : 'dark'),
    () => 'dark' as const,
  );
  return [theme, (t) => setPref('data-theme', 'boxlab.theme', t)];
}

export function useSize(): [Size, (s: Size) => void] {
  const size = useSyncExternalStore(
    subscribe,
    () => (document.documentElement.getAttribute('data-size') === 'large' ? 'large' : 'normal'),
    () => 'normal' as const,
  );
  return [size, (s) => setPref('data-size', 'boxlab.size', s)];
}
