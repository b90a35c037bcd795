// Compiles a ```check block (YAML) into one runnable check: a vocabulary word with its parameters, all/any/not of
// checks, or a legacy `type:` check mapped onto the vocabulary (legacy.ts). Errors name the file and line.
import { CHECKS, type CheckResult, type Memo, type StepContext } from './checks.ts';
import { fromLegacy } from './legacy.ts';
import type { BoxProbe } from './probe.ts';
import { FormatError, zodError, type ParsedYaml } from './yaml.ts';

export type BoxState = 'running' | 'exited';

export interface Check {
  /** For cost metering and the dashboard: the legacy type, the word, or all(a+b). */
  type: string;
  summary: string;
  /** The cgroup limit a bomb step leans on: provers read it back from the box before running the bomb. */
  limit?: 'memory' | 'cpu' | 'pids';
  states: readonly BoxState[];
  init(probe: BoxProbe): Promise<Memo>;
  /** ctx.openedAt: when the learner opened the step (file checks ignore what was written before it). */
  run(probe: BoxProbe, memo: Memo, ctx?: StepContext): Promise<CheckResult>;
}

const COMBINATORS = ['all', 'any', 'not'] as const;
const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `value` is the parsed YAML at `path` inside `y` (for line numbers). */
export function compileCheck(value: unknown, y: ParsedYaml, file: string, path: (string | number)[] = []): Check {
  const line = y.lineOf(path);
  if (!isMap(value)) throw new FormatError(file, line, 'a check is a map: one vocabulary word (file, process, cgroup, ...) or all/any/not');
  if ('type' in value) {
    const mapped = fromLegacy(value, file, line);
    const c = compileCheck(mapped, { value: mapped, lineOf: () => line }, file);
    return { ...c, type: String(value.type) };
  }
  const keys = Object.keys(value);
  const [k] = COMBINATORS.filter((c) => c in value);
  if (k) {
    if (keys.length !== 1) throw new FormatError(file, line, `"${k}" stands alone in its map (found ${keys.join(', ')})`);
    const v = value[k];
    if (k === 'not') return negate(compileCheck(v, y, file, [...path, k]));
    if (!Array.isArray(v) || !v.length) throw new FormatError(file, y.lineOf([...path, k]), `"${k}" takes a list of checks`);
    return combine(
      k,
      v.map((x, i) => compileCheck(x, y, file, [...path, k, i])),
    );
  }
  const words = keys.filter((k) => Object.hasOwn(CHECKS, k));
  if (words.length !== 1) {
    throw new FormatError(
      file,
      line,
      words.length
        ? `one vocabulary word per map, found ${words.join(' and ')} (use all: [...])`
        : `no vocabulary word in ${JSON.stringify(keys)}; known: ${Object.keys(CHECKS).join(', ')}, all, any, not (or a legacy type:)`,
    );
  }
  const word = words[0]!;
  const def = CHECKS[word]!;
  const r = def.params.safeParse(value);
  if (!r.success)
    throw zodError(y, file, `check ${word}`, { path: [...path, ...r.error.issues[0]!.path], message: r.error.issues[0]!.message });
  const p = r.data;
  return {
    type: word,
    summary: def.summary(p),
    limit: def.limit?.(p),
    states: def.states ?? ['running'],
    init: async (probe) => (def.init ? await def.init(probe, p) : {}),
    run: async (probe, memo, ctx) => def.run(probe, p, memo, ctx),
  };
}

function combine(k: 'all' | 'any', parts: Check[]): Check {
  const [first] = parts;
  if (!first) throw new Error(`${k}: needs at least one check`);
  const join = (s: string[]) => s.join(k === 'all' ? '; ' : ' or ');
  return {
    type: `${k}(${parts.map((c) => c.type).join('+')})`,
    summary: join(parts.map((c) => c.summary)),
    limit: parts.find((c) => c.limit)?.limit,
    // A box state in which every part can run.
    states: first.states.filter((s) => parts.every((c) => c.states.includes(s))),
    init: async (probe) => Object.fromEntries(await Promise.all(parts.map(async (c, i) => [i, await c.init(probe)]))),
    async run(probe, memo, ctx) {
      // Every part runs each time, so counters and "seen" memos stay current whichever part decides.
      const rs: CheckResult[] = [];
      for (const [i, c] of parts.entries()) rs.push(await c.run(probe, memo[i] as Memo, ctx));
      const ok = k === 'all' ? rs.every((r) => r.ok) : rs.some((r) => r.ok);
      const shown = k === 'all' ? (ok ? rs : rs.filter((r) => !r.ok).slice(0, 1)) : ok ? rs.filter((r) => r.ok).slice(0, 1) : rs;
      return { ok, message: join(shown.map((r) => r.message)) };
    },
  };
}

function negate(c: Check): Check {
  return {
    ...c,
    type: `not(${c.type})`,
    summary: `not: ${c.summary}`,
    limit: undefined,
    // Without the step's opening time: "X must not be there" is about the box as it is, leftovers included.
    run: async (probe, memo) => {
      const r = await c.run(probe, memo);
      return { ok: !r.ok, message: r.ok ? `not yet: ${r.message}` : r.message };
    },
  };
}
