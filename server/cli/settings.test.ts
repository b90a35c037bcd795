// One schema, one grammar: env, `boxlab run` flags and lesson front matter accept and refuse the same limits; the
// README's table is the schema's; every BOXLAB_* variable the code reads is declared in server/protocol/settings.ts.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { SETTINGS, type Setting } from '../protocol/settings.ts';
import { GiB, MiB, TiB } from '../protocol/size.ts';
import { parseLesson } from '../lessons/loader.ts';
import { defaultConfig, loadConfig } from '../web/config.ts';
import { parseRunArgs } from './args.ts';
import { BEGIN, END, README, withTable } from '../../scripts/settings-doc.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const LESSON = (memory: string) =>
  `---\ntitle: T\nsummary: S\norder: 1\nsandbox:\n  memory: ${memory}\n---\n\n## Step: s\n\n\`\`\`check\nfile: /root/x\n\`\`\`\n\n\`\`\`solution\ntouch /root/x\n\`\`\`\n`;

/** The memory limit as each edge reads it: a number, or the error line it refuses it with. */
function viaEdges(text: string): { env: number | string; flag: number | string; lesson: number | string } {
  const attempt = (fn: () => number | undefined) => {
    try {
      return fn() as number;
    } catch (err) {
      return (err as Error).message;
    }
  };
  return {
    env: attempt(() => loadConfig({ BOXLAB_MEMORY: text }, []).memoryBytes),
    flag: attempt(() => parseRunArgs([`--memory=${text}`]).memoryBytes),
    lesson: attempt(() => parseLesson(LESSON(text), 'x.md', 'x').settings.memoryBytes),
  };
}

test('env, run flag and lesson front matter take the same sizes to the same bytes', () => {
  for (const [text, bytes] of [
    ['64MiB', 64 * MiB],
    ['64M', 64 * MiB],
    ['1T', TiB],
    ['1.5g', 1.5 * GiB],
    ['65536k', 64 * MiB],
    ['268435456', 256 * MiB],
  ] as const) {
    assert.deepEqual(viaEdges(text), { env: bytes, flag: bytes, lesson: bytes }, text);
  }
});

test('and refuse the same ones, each with one line naming the setting and the accepted form', () => {
  for (const text of ['banana', '2T', '12X', '0', '512k', '-5M']) {
    const r = viaEdges(text);
    assert.match(String(r.env), new RegExp(`^BOXLAB_MEMORY: "${text}" (is|must)`), `env ${text}`);
    assert.match(String(r.flag), new RegExp(`^--memory: "${text}" (is|must)`), `flag ${text}`);
    assert.match(String(r.lesson), new RegExp(`x\\.md:6: front matter: sandbox\\.memory.*"${text}" (is|must)`), `lesson ${text}`);
    // The problem itself is the same words everywhere.
    const problem = String(r.env).split(`"${text}" `)[1] ?? '(no problem text)';
    assert.ok(String(r.flag).endsWith(problem) && String(r.lesson).includes(problem), `${text}: ${JSON.stringify(r)}`);
  }
  assert.match(String(viaEdges('banana').env), /a size like 100M, 1G, 64MiB/);
});

test('every setting is whole: a doc line, a scope, a parser for what it reads; flags unique per command', () => {
  for (const [key, s] of Object.entries(SETTINGS) as [string, Setting][]) {
    assert.ok(s.doc && !s.doc.includes('\n'), `${key}: one-line doc`);
    assert.ok(s.env || s.flags, `${key}: read from somewhere`);
    assert.ok(!s.arg || s.parse, `${key}: a flag with a value has a grammar`);
    if (s.default !== undefined && s.parse && s.shown && typeof s.default === 'number') {
      assert.equal(s.parse(s.shown, {}), s.default, `${key}: the default shown (${s.shown}) is the default used`);
    }
  }
  // defaultConfig() is made from the schema: every ServerConfig field (all but fairness) has its setting's default.
  const cfg = defaultConfig() as unknown as Record<string, unknown>;
  for (const key of [
    'port',
    'memoryBytes',
    'cpuFraction',
    'pids',
    'diskBytes',
    'shmBytes',
    'lab',
    'inputQueueBytes',
    'shellArgs',
  ] as const) {
    assert.deepEqual(cfg[key], SETTINGS[key].default, key);
  }
  assert.equal(cfg.imagePath, undefined);
  assert.match(String(cfg.staticDir), /\/out$/);
  for (const scope of ['serve', 'run'] as const) {
    const flags = (Object.values(SETTINGS) as Setting[]).filter((s) => s.scope.includes(scope)).flatMap((s) => s.flags ?? []);
    assert.deepEqual(
      flags.filter((f, i) => flags.indexOf(f) !== i),
      [],
      `${scope}: a flag names one setting`,
    );
  }
});

test("the README's settings table is the one the schema makes (scripts/settings-doc.ts --write)", () => {
  const readme = readFileSync(README, 'utf8');
  assert.ok(readme.includes(BEGIN) && readme.includes(END), 'README.md has the settings table markers');
  assert.equal(
    readme,
    withTable(readme),
    'README.md settings table is out of date: run `node --import tsx scripts/settings-doc.ts --write`',
  );
  for (const s of Object.values(SETTINGS) as Setting[]) if (s.env) assert.ok(readme.includes(`\`${s.env}\``), `${s.env} in README.md`);
});

/** Source files of the product and its tests: server/ and bin/. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return n === 'node_modules' || n === 'fixtures' ? [] : sources(p);
    return /\.(ts|js)$/.test(n) ? [p] : [];
  });
}

test('every BOXLAB_* (and PORT, HOST) variable read in server/ and bin/ is declared in the schema', () => {
  const declared = new Set((Object.values(SETTINGS) as Setting[]).map((s) => s.env).filter(Boolean));
  const read = new Map<string, string>();
  for (const f of [...sources(join(ROOT, 'server')), ...sources(join(ROOT, 'bin'))]) {
    const src = readFileSync(f, 'utf8');
    // process.env.X, process.env['X'], env.X / env['X'] of an env record passed in (progress.ts defaultDbPath(env)).
    for (const m of src.matchAll(/\benv(?:\.|\[['"`])((?:BOXLAB_)[A-Z0-9_]+|PORT|HOST)\b/g)) read.set(m[1]!, relative(ROOT, f));
  }
  assert.ok(read.has('BOXLAB_TIMING') && read.has('BOXLAB_INSTRUCTOR_TOKEN'), 'the scan finds the reads it must');
  const missing = [...read].filter(([v]) => !declared.has(v)).map(([v, f]) => `${v} (${f})`);
  assert.deepEqual(missing, [], 'read by the code, not declared in server/protocol/settings.ts');
});
