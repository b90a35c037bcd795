// Root layout: html shell, global CSS, and the pre-paint script that applies the saved theme and size (no flash).
import type { Metadata, Viewport } from 'next';
import '@xterm/xterm/css/xterm.css';
import './globals.css';

export const metadata: Metadata = {
  title: 'Boxlab: a real Linux sandbox in your browser',
  description: 'Each session gets a real Linux sandbox built from namespaces, cgroups and overlayfs, with an x-ray of every step.',
};

export const viewport: Viewport = {
  themeColor: [
    { media: '(prefers-color-scheme: dark)', color: '#07090d' },
    { media: '(prefers-color-scheme: light)', color: '#eef0f4' },
  ],
};

// Runs while the HTML is parsed, before first paint: saved choice, else the OS preference.
const PREFS_SCRIPT = `(function(){try{var d=document.documentElement;var t=localStorage.getItem('boxlab.theme');if(t!=='light'&&t!=='dark'){t=matchMedia('(prefers-color-scheme: light)').matches?'light':'dark'}d.setAttribute('data-theme',t);var s=localStorage.getItem('boxlab.size');d.setAttribute('data-size',s==='large'?'large':'normal')}catch(e){}})()`;

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en" data-theme="dark" data-size="normal" suppressHydrationWarning>
      <head>
        {/* biome-ignore lint/security/noDangerouslySetInnerHtml: a constant script of ours that sets theme and size before first paint */}
        <script dangerouslySetInnerHTML={{ __html: PREFS_SCRIPT }} />
      </head>
      <body>{children}</body>
    </html>
  );
}
