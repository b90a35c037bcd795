// index.ts: the registry of benchmark sections, in the order `npm run bench` runs them. Add new sections here.
import { cgroupsSection } from './cgroups.ts';
import { cliSection } from './cli.ts';
import { clone3Section } from './clone3.ts';
import { createSection } from './create.ts';
import { forkSection } from './fork.ts';
import { attackSection } from './fault-attack.ts';
import { crashSection } from './fault-crash.ts';
import { hostileSection } from './fault-hostile.ts';
import { pasteSection } from './fault-paste.ts';
import { fairnessSection } from './hostile-fairness.ts';
import { burstSection } from './load-burst.ts';
import { churnSection } from './load-churn.ts';
import { densitySection } from './load-density.ts';
import { startMemorySection } from './start-memory.ts';
import type { Section } from './types.ts';
import { webSections } from './web-all.ts';

export type { Section, SectionContext, SectionResult } from './types.ts';

export const sections: Section[] = [
  createSection,
  cliSection,
  forkSection,
  cgroupsSection,
  clone3Section,
  densitySection,
  burstSection,
  churnSection,
  crashSection,
  attackSection,
  hostileSection,
  pasteSection,
  fairnessSection,
  ...webSections,
  startMemorySection,
];
