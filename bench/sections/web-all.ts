// web-all.ts: the terminal speed sections (issue 4), registered as one group in index.ts.
import { terminalPeersSection } from './terminal-peers.ts';
import type { Section } from './types.ts';
import { webEchoSection } from './web-echo.ts';
import { webFloodSection } from './web-flood.ts';
import { webMemorySection } from './web-memory.ts';
import { webStartSection } from './web-start.ts';

export const webSections: Section[] = [webStartSection, webEchoSection, webFloodSection, webMemorySection, terminalPeersSection];
