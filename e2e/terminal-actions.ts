// e2e actions on the live terminal: run a command and read its output; flood with `yes`, measure Ctrl-C and responsiveness.
import type { Page } from 'playwright-core';
import { screenText } from './browser.ts';

/** Types `cmd` + Enter like a user and returns its output once the next prompt shows (lines joined by \n). */
export async function runCommand(page: Page, cmd: string, timeoutMs = 10_000): Promise<string> {
  const before = await screenText(page);
  await page.keyboard.type(cmd);
  await page.keyboard.press('Enter');
  const end = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < end) {
    text = await screenText(page);
    const i = text.lastIndexOf(cmd);
    if (text !== before && i >= 0) {
      // After the echoed command: "\n<output lines>\n<prompt>" with trailing spaces trimmed.
      const lines = text.slice(i + cmd.length).split('\n');
      if (lines.length >= 2 && /[#$]$/.test(lines.at(-1)!)) return lines.slice(1, -1).join('\n').trimEnd();
    }
    await page.waitForTimeout(30);
  }
  throw new Error(`no prompt after ${JSON.stringify(cmd)}; screen ends:\n${text.split('\n').slice(-8).join('\n')}`);
}

export interface FloodResult {
  floodMs: number;
  bytesDuringFlood: number;
  /** Bytes parsed by the page per second while `yes` ran (flow control bounds it to what xterm keeps up with). */
  mbPerSec: number;
  /** Worst round trip of page.evaluate() (asked every 100 ms) during the flood. */
  maxEvaluateMs: number;
  evaluateSamples: number;
  /** From Ctrl-C (typed into xterm) until no byte arrived for 500 ms, measured in the page. */
  ctrlCToQuietMs: number;
  bytesAfterCtrlC: number;
  acks: number;
}

export async function measureFlood(page: Page, floodMs: number): Promise<FloodResult> {
  const b0 = await page.evaluate(() => window.__boxlab!.client.metrics.bytesIn);
  const acks0 = await page.evaluate(() => window.__boxlab!.client.metrics.acks);
  await page.keyboard.type('yes');
  await page.keyboard.press('Enter');
  const start = Date.now();
  let maxEvaluateMs = 0;
  let samples = 0;
  while (Date.now() - start < floodMs) {
    const t = Date.now();
    await page.evaluate(() => 1);
    maxEvaluateMs = Math.max(maxEvaluateMs, Date.now() - t);
    samples++;
    await new Promise((r) => setTimeout(r, 100));
  }
  const elapsed = Date.now() - start;
  const b1 = await page.evaluate(() => window.__boxlab!.client.metrics.bytesIn);
  const stop = await page.evaluate(async () => {
    const { client, term } = window.__boxlab!;
    const t0 = performance.now();
    const from = client.metrics.bytesIn;
    let last = from;
    let lastChange = t0;
    term.input('\x03', true); // as typed: through xterm's onData to the socket
    while (performance.now() - lastChange < 500) {
      await new Promise((r) => setTimeout(r, 5));
      const b = client.metrics.bytesIn;
      if (b !== last) {
        last = b;
        lastChange = performance.now();
      }
    }
    return { ctrlCToQuietMs: Math.round(lastChange - t0), bytesAfterCtrlC: last - from, acks: client.metrics.acks };
  });
  const bytesDuringFlood = b1 - b0;
  return {
    floodMs: elapsed,
    bytesDuringFlood,
    mbPerSec: Math.round((bytesDuringFlood / 1e6 / (elapsed / 1000)) * 10) / 10,
    maxEvaluateMs,
    evaluateSamples: samples,
    ctrlCToQuietMs: stop.ctrlCToQuietMs,
    bytesAfterCtrlC: stop.bytesAfterCtrlC,
    acks: stop.acks - acks0,
  };
}
