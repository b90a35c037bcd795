// Playwright's Chromium inside a learner's network namespace: the executable it launches is a wrapper that runs the
// system Chromium under `ip netns exec` (the DevTools pipe, fds 3 and 4, is inherited through it), told to trust one
// key (--ignore-certificate-errors-spki-list: that SPKI only, every other certificate error still stops the page).
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

const CHROMIUM = process.env.BOXLAB_CHROMIUM ?? '/usr/bin/chromium';

export interface NetnsBrowser {
  browser: Browser;
  /** Closes the browser and removes its wrapper. */
  close(): Promise<void>;
}

export async function launchInNetns(ns: string, spki: string | null): Promise<NetnsBrowser> {
  if (!/^[A-Za-z0-9_.-]+$/.test(ns)) throw new Error(`bad namespace name ${ns}`);
  const dir = mkdtempSync(join(tmpdir(), 'boxlab-netns-chromium-'));
  const wrapper = join(dir, 'chromium');
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} ${CHROMIUM} "$@"\n`);
  chmodSync(wrapper, 0o755);
  const args = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
  if (spki) args.push(`--ignore-certificate-errors-spki-list=${spki}`);
  try {
    const browser = await chromium.launch({ executablePath: wrapper, args });
    return {
      browser,
      close: async () => {
        await browser.close().catch(() => {});
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
