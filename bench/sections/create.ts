// create.ts (section): the create-to-exec latency table of bench/create.ts inside `npm run bench`.
import { runCreateBench } from '../create.ts';
import type { Section } from './types.ts';

export const createSection: Section = {
  name: 'create',
  title: 'Create latency: boxlab vs bwrap vs runc run',
  async run({ quick, log }) {
    const r = await runCreateBench({ n: quick ? 30 : 200, gapMs: 50, warmup: 3, log });
    const { markdown, ...json } = r;
    return { markdown, json };
  },
};
