// docs/authoring.md documents every word of the check vocabulary: a row in its table and a YAML example that compiles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CHECKS } from './checks.ts';
import { compileCheck } from './compose.ts';
import { parseYaml } from './yaml.ts';

const DOC = fs.readFileSync(fileURLToPath(new URL('../../docs/authoring.md', import.meta.url)), 'utf8');

test('every check word has a table row and a compiling example in docs/authoring.md', () => {
  const examples = [...DOC.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const shown = new Set<string>();
  for (const text of examples) {
    const y = parseYaml(text, 'authoring.md', 1);
    if (typeof y.value !== 'object' || y.value === null || 'title' in (y.value as object)) continue;
    compileCheck(y.value, y, 'authoring.md');
    for (const k of Object.keys(y.value as object)) shown.add(k);
  }
  for (const word of Object.keys(CHECKS)) {
    assert.match(DOC, new RegExp(`^\\| \`${word}:`, 'm'), `${word}: no row in the vocabulary table`);
    assert.ok(shown.has(word), `${word}: no example`);
  }
});
