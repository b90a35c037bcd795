// xterm colour themes matching the page's dark and light themes (ANSI palette tuned for contrast on each background).
import type { ITheme } from '@xterm/xterm';

export const DARK: ITheme = {
  background: '#0a0d12',
  foreground: '#d9dee8',
  cursor: '#2dd4bf',
  cursorAccent: '#0a0d12',
  selectionBackground: 'rgba(45, 212, 191, 0.28)',
  black: '#1b1f29', red: '#f7768e', green: '#7ee0a1', yellow: '#e8c56a',
  blue: '#7aa2f7', magenta: '#c49cf7', cyan: '#5ad4e6', white: '#c8cedb',
  brightBlack: '#5c6478', brightRed: '#ff9aab', brightGreen: '#a4f0bf', brightYellow: '#f5d88f',
  brightBlue: '#a3bffa', brightMagenta: '#dcbdfb', brightCyan: '#8ee6f2', brightWhite: '#f2f4f8',
};

export const LIGHT: ITheme = {
  background: '#fbfbfc',
  foreground: '#1e2430',
  cursor: '#0d9488',
  cursorAccent: '#fbfbfc',
  selectionBackground: 'rgba(13, 148, 136, 0.22)',
  black: '#1e2430', red: '#c8283c', green: '#1d7f3e', yellow: '#946200',
  blue: '#2456c7', magenta: '#8a34c2', cyan: '#0b7a8c', white: '#6b7385',
  brightBlack: '#576073', brightRed: '#e0445a', brightGreen: '#2a9b52', brightYellow: '#b27a00',
  brightBlue: '#3a6ee8', brightMagenta: '#a34fd9', brightCyan: '#118fa3', brightWhite: '#9aa1b0',
};
