// Test support: a BoxProbe over a (fake) sandbox whose upper layer holds one file once the learner "wrote" it.
import type fs from 'node:fs';
import type { SandboxHandle } from '../../engine/types.ts';
import type { BoxProbe } from '../probe.ts';

/** What the learner typed into a FakeSandbox so far (its recorded input). */
export const typedInto = (sb: SandboxHandle): string => Buffer.concat((sb as unknown as { input: Buffer[] }).input).toString();

/**
 * A probe whose upper layer has `file` with `content` while `present()` holds; `ctimeMs()` (default: unset) is its
 * ctime, for the checks that ignore files older than their step. Everything else reads as an empty, idle box.
 */
export function fileProbe(
  sb: SandboxHandle,
  file: string,
  content: string,
  present: () => boolean,
  ctimeMs: () => number | null = () => null,
): BoxProbe {
  const st = () => {
    const c = ctimeMs();
    return {
      isFile: () => true,
      isCharacterDevice: () => false,
      size: content.length,
      mode: 0o644,
      uid: 0,
      ...(c === null ? {} : { ctimeMs: c }),
    } as unknown as fs.Stats;
  };
  return {
    id: sb.id,
    initPid: sb.pids.init,
    events: [],
    processes: () => [],
    upperStat: (rel) => (rel === file && present() ? st() : null),
    lowerStat: () => null,
    readUpper: (rel) => (rel === file && present() ? { data: Buffer.from(content), stat: st() } : null),
    procText: () => '',
    hostText: () => '',
    stats: () => sb.stats(),
    cgroupSubtree: () => sb.cgroupSubtree(),
    inNamespace: async () => '',
    nsInode: () => 0,
    boxDirId: () => null,
    rootIdOf: () => null,
    cwdOutside: () => null,
  };
}
