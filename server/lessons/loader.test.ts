// Lesson format: front matter, Markdown blocks and inline marks, step parts, and every file in lessons/ loading cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseKeyValues, parseScalar, splitFrontMatter } from './frontmatter.ts';
import { parseInline, parseMarkdown } from './markdown.ts';
import { loadLessons, parseLesson } from './loader.ts';

const REQUIRED_SLUGS = ['xray-tour', 'pid-namespace', 'uts-namespace', 'mount-namespace', 'overlayfs', 'chroot-vs-pivot-root',
  'user-namespace', 'network-namespace', 'ipc-namespace', 'cgroup-memory', 'cgroup-cpu', 'cgroup-pids', 'capabilities-seccomp', 'double-fork'];

test('front matter scalars, lists and one nested map', () => {
  assert.equal(parseScalar('42'), 42);
  assert.equal(parseScalar('"a: b"'), 'a: b');
  assert.equal(parseScalar('true'), true);
  assert.equal(parseScalar('0.2'), 0.2);
  const kv = parseKeyValues('title: Hello: world\nlist: [a, b]\nsandbox:\n  memory: 64M\n  pids: 32\norder: 3');
  assert.deepEqual(kv, { title: 'Hello: world', list: ['a', 'b'], sandbox: { memory: '64M', pids: 32 }, order: 3 });
  assert.throws(() => parseKeyValues('a: 1\na: 2', 'f.md'), /f\.md:2: duplicate key "a"/);
  assert.throws(() => parseKeyValues('  x: 1', 'f.md'), /no parent key/);
  assert.throws(() => splitFrontMatter('title: x', 'f.md'), /starts with a "---"/);
});

test('markdown blocks: fences, containers, lists, quotes, headings; unclosed parts are errors with a line', () => {
  const nodes = parseMarkdown('Para one\ncontinues.\n\n```cmd\nls\n```\n\n:::v1\n- a\n- b\n:::\n\n> quote\n### Sub', 'f.md');
  assert.deepEqual(nodes.map((n) => n.k), ['para', 'fence', 'container', 'quote', 'heading']);
  assert.equal((nodes[0] as { text: string }).text, 'Para one continues.');
  assert.throws(() => parseMarkdown('```\nopen', 'f.md', 10), /f\.md:10: code fence is not closed/);
  assert.throws(() => parseMarkdown(':::hint\ntext', 'f.md'), /container is not closed/);
});

test('inline marks; emphasis only at word edges; unsafe link schemes become text', () => {
  assert.deepEqual(parseInline('a `b` **c** *d* [e](/f) net_cls/net_prio'), [
    { t: 'text', v: 'a ' }, { t: 'code', v: 'b' }, { t: 'text', v: ' ' }, { t: 'strong', v: 'c' }, { t: 'text', v: ' ' },
    { t: 'em', v: 'd' }, { t: 'text', v: ' ' }, { t: 'link', v: 'e', href: '/f' }, { t: 'text', v: ' net_cls/net_prio' },
  ]);
  assert.deepEqual(parseInline('[x](javascript:alert(1))'), [{ t: 'text', v: 'x' }, { t: 'text', v: ')' }]);
});

const GOOD = `---
title: T
summary: S
order: 1
sandbox:
  memory: 64M
---
Intro

## Step: One

Do it:

\`\`\`cmd
touch /root/x
\`\`\`

\`\`\`check
type: file
path: /root/x
\`\`\`

:::hint
first
:::

:::hint
second
:::

\`\`\`solution
touch /root/x
\`\`\`

\`\`\`wrong
touch /root/y
\`\`\`

## Recap

Done.
`;

test('a lesson: steps with check, hints, solution; wrong commands stay server-side; outro after the steps', () => {
  const { lesson, specs } = parseLesson(GOOD, 'good.md', 'good');
  assert.equal(lesson.steps.length, 1);
  assert.equal(lesson.steps[0].hints.length, 2);
  assert.deepEqual(lesson.steps[0].solution, ['touch /root/x']);
  assert.equal(lesson.steps[0].check.type, 'file');
  assert.match(lesson.steps[0].check.summary, /\/root\/x/);
  assert.deepEqual(specs[0].wrong, ['touch /root/y']);
  assert.ok(!JSON.stringify(lesson).includes('/root/y'), 'wrong commands are not in the lesson sent to browsers');
  assert.deepEqual(lesson.sandbox, { memory: '64M' });
  assert.equal(lesson.outro[0].t, 'h');
});

test('lesson errors name the file and line', () => {
  assert.throws(() => parseLesson(GOOD.replace('type: file', 'type: nope'), 'x.md', 'x'), /x\.md:\d+: unknown check type "nope"/);
  assert.throws(() => parseLesson(GOOD.replace('path: /root/x', 'path: relative'), 'x.md', 'x'), /check file: path/);
  assert.throws(() => parseLesson(GOOD.replace(/```solution[\s\S]*?```/, ''), 'x.md', 'x'), /has no ```solution/);
  assert.throws(() => parseLesson(GOOD.replace('memory: 64M', 'memory: lots'), 'x.md', 'x'), /sandbox\.memory/);
  assert.throws(() => parseLesson(GOOD, 'x.md', 'Bad Slug'), /not a valid slug/);
});

test('every lesson in lessons/ loads: the 14 required slugs, ordered, each step with a check, a solution and a wrong action', () => {
  const { lessons, errors } = loadLessons();
  assert.deepEqual(errors, []);
  const slugs = lessons.map((l) => l.lesson.slug);
  for (const s of REQUIRED_SLUGS) assert.ok(slugs.includes(s), `lesson ${s}`);
  assert.deepEqual(lessons.map((l) => l.lesson.order), [...lessons.map((l) => l.lesson.order)].sort((a, b) => a - b));
  for (const l of lessons) {
    const text = JSON.stringify(l.lesson);
    assert.ok(text.includes('"cgroup":1') && text.includes('"cgroup":2'), `${l.lesson.slug} says which cgroup version the host runs`);
    for (const [i, s] of l.specs.entries()) {
      assert.ok(s.solution.length, `${l.lesson.slug} step ${i}: solution`);
      assert.ok(s.wrong.length, `${l.lesson.slug} step ${i}: a wrong action for the tests`);
      assert.ok(l.lesson.steps[i].hints.length, `${l.lesson.slug} step ${i}: a hint`);
    }
  }
});
