// Lesson format: YAML front matter, CommonMark/GFM to typed blocks, links and images, step parts, and every file in lessons/ loading.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseLesson } from './loader.ts';
import { loadLessons } from './pack.ts';

const FIXTURE = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlab-pack-'));
fs.mkdirSync(path.join(FIXTURE, 'img'));
fs.writeFileSync(path.join(FIXTURE, 'img/cat.png'), 'png');
fs.symlinkSync('/etc/passwd', path.join(FIXTURE, 'img/link.png'));
process.on('exit', () => fs.rmSync(FIXTURE, { recursive: true, force: true }));

const REQUIRED_SLUGS = [
  'xray-tour',
  'pid-namespace',
  'uts-namespace',
  'mount-namespace',
  'overlayfs',
  'chroot-vs-pivot-root',
  'user-namespace',
  'network-namespace',
  'ipc-namespace',
  'cgroup-memory',
  'cgroup-cpu',
  'cgroup-pids',
  'capabilities-seccomp',
  'double-fork',
];

const lesson = (body: string, front = 'title: T\nsummary: S\norder: 1') =>
  `---\n${front}\n---\n${body}\n\n## Step: S\n\n\`\`\`check\nfile: /root/x\n\`\`\`\n\n\`\`\`solution\ntouch /root/x\n\`\`\`\n`;
const intro = (body: string) => parseLesson(lesson(body), 'f.md', 'f', { dir: FIXTURE }).lesson.intro;

test('front matter is YAML: errors name the line; a value with ": " needs quotes, and the error says so', () => {
  const ok = parseLesson(
    lesson('', 'title: "Hello: world"\nsummary: S\norder: 3\nprerequisites: [a-b]\nsandbox:\n  memory: 64M\n  pids: 32'),
    'f.md',
    'f',
  );
  assert.equal(ok.lesson.title, 'Hello: world');
  assert.deepEqual(ok.lesson.sandbox, { memory: '64M', pids: 32 });
  assert.throws(
    () => parseLesson(lesson('', 'title: Hello: world\nsummary: S\norder: 1'), 'f.md', 'f'),
    /f\.md:2: YAML: .*quote a value that contains ": "/,
  );
  assert.throws(() => parseLesson(lesson('', 'title: T\nsummary: S\norder: 1\norder: 2'), 'f.md', 'f'), /f\.md:5: YAML/);
  assert.throws(() => parseLesson(lesson('', 'title: T\nsummary: S\norder: one'), 'f.md', 'f'), /f\.md:4: front matter: order/);
  assert.throws(
    () => parseLesson(lesson('', 'title: T\nsummary: S\norder: 1\nsandbox:\n  memory: lots'), 'f.md', 'f'),
    /f\.md:6: front matter: sandbox\.memory/,
  );
  assert.throws(() => parseLesson('# no front matter', 'f.md', 'f'), /f\.md:1: a lesson starts with a "---"/);
});

test('CommonMark + GFM to typed blocks: lists of blocks, quotes, tables, headings with levels, code with its language', () => {
  const b = intro(
    'Para one\ncontinues.\n\n- a *b*\n- **c**\n\n> quote\n\n| x | y |\n|---|--:|\n| 1 | `2` |\n\n### Sub\n\n```sh\nls\n```\n\n---',
  );
  assert.deepEqual(
    b.map((x) => x.t),
    ['p', 'ul', 'quote', 'table', 'h', 'code', 'hr'],
  );
  assert.deepEqual(b[1], {
    t: 'ul',
    items: [
      [
        {
          t: 'p',
          c: [
            { t: 'text', v: 'a ' },
            { t: 'em', c: [{ t: 'text', v: 'b' }] },
          ],
        },
      ],
      [{ t: 'p', c: [{ t: 'strong', c: [{ t: 'text', v: 'c' }] }] }],
    ],
  });
  assert.deepEqual(b[3], {
    t: 'table',
    align: [null, 'right'],
    head: [[{ t: 'text', v: 'x' }], [{ t: 'text', v: 'y' }]],
    rows: [[[{ t: 'text', v: '1' }], [{ t: 'code', v: '2' }]]],
  });
  assert.deepEqual(b[4], { t: 'h', level: 3, c: [{ t: 'text', v: 'Sub' }] });
  assert.deepEqual(b[5], { t: 'code', v: 'ls', lang: 'sh' });
});

test('inline marks; net_cls/net_prio and host:port stay text; links: http(s), /path, #anchor, lesson:slug; others are errors', () => {
  const [p] = intro('a `b` [e](/f) net_cls/net_prio host:port [n](lesson:pid-namespace) <b>raw</b>');
  assert.deepEqual(p, {
    t: 'p',
    c: [
      { t: 'text', v: 'a ' },
      { t: 'code', v: 'b' },
      { t: 'text', v: ' ' },
      { t: 'link', href: '/f', c: [{ t: 'text', v: 'e' }] },
      { t: 'text', v: ' net_cls/net_prio host:port ' },
      { t: 'lesson', slug: 'pid-namespace', c: [{ t: 'text', v: 'n' }] },
      { t: 'text', v: ' <b>raw</b>' },
    ],
  });
  assert.deepEqual(intro('[ref][Docs] and [next][n]\n\n[docs]: https://example.org\n[n]: lesson:pid-namespace')[0], {
    t: 'p',
    c: [
      { t: 'link', href: 'https://example.org', c: [{ t: 'text', v: 'ref' }] },
      { t: 'text', v: ' and ' },
      { t: 'lesson', slug: 'pid-namespace', c: [{ t: 'text', v: 'next' }] },
    ],
  });
  assert.throws(() => intro('[x][bad]\n\n[bad]: javascript:alert(1)'), /link "javascript:alert\(1\)"/);
  assert.throws(() => intro('[x](javascript:alert(1))'), /f\.md:6: link "javascript:alert\(1\)"/);
  assert.throws(() => intro('[x](lesson:Bad_Slug)'), /does not name a lesson slug/);
});

test('images: files of the pack only, no "..", no links followed; served under /api/lessons/<slug>/files/', () => {
  assert.deepEqual(intro('![a cat](img/cat.png)')[0], { t: 'p', c: [{ t: 'img', src: '/api/lessons/f/files/img/cat.png', alt: 'a cat' }] });
  assert.throws(() => intro('![x](../secret.png)'), /f\.md:6: image "\.\.\/secret\.png"/);
  assert.throws(() => intro('![x](img/missing.png)'), /is not a file of the pack/);
  assert.throws(() => intro('![x](img/link.png)'), /is not a file of the pack \(links are not followed\)/);
  assert.throws(() => intro('![x](https://example.org/x.png)'), /image "https/);
  assert.throws(() => intro('![x](img/cat.exe)'), /image/);
});

test('unclosed fences and containers are errors with the line they open on', () => {
  // A fence runs to the next bare ``` (CommonMark), so only one at the end of the file can be left open.
  assert.throws(() => parseLesson(`${lesson('')}\n\`\`\`cmd\nopen`, 'f.md', 'f'), /f\.md:18: code fence is not closed/);
  assert.throws(() => parseLesson(lesson(':::hint\ntext'), 'f.md', 'f'), /f\.md:6: ":::hint" container is not closed/);
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
  assert.equal(lesson.steps[0]?.hints.length, 2);
  assert.deepEqual(lesson.steps[0]?.solution, ['touch /root/x']);
  assert.equal(lesson.steps[0]?.check.type, 'file');
  assert.match(lesson.steps[0]?.check.summary ?? '', /\/root\/x/);
  assert.deepEqual(specs[0]?.wrong, ['touch /root/y']);
  assert.ok(!JSON.stringify(lesson).includes('/root/y'), 'wrong commands are not in the lesson sent to browsers');
  assert.deepEqual(lesson.sandbox, { memory: '64M' });
  assert.equal(lesson.outro[0]?.t, 'h');
});

test('lesson errors name the file and line', () => {
  assert.throws(() => parseLesson(GOOD.replace('type: file', 'type: nope'), 'x.md', 'x'), /x\.md:\d+: unknown check type "nope"/);
  assert.throws(
    () => parseLesson(GOOD.replace('path: /root/x', 'path: relative'), 'x.md', 'x'),
    /x\.md:19: check file: file must be an absolute path/,
  );
  assert.throws(() => parseLesson(GOOD.replace(/```solution[\s\S]*?```/, ''), 'x.md', 'x'), /has no ```solution/);
  assert.throws(() => parseLesson(GOOD.replace('memory: 64M', 'memory: lots'), 'x.md', 'x'), /x\.md:6: front matter: sandbox\.memory/);
  assert.throws(() => parseLesson(GOOD, 'x.md', 'Bad Slug'), /not a valid slug/);
});

test('every lesson in lessons/ loads: the 14 required slugs, ordered, each step with a check, a solution and a wrong action', () => {
  const { lessons, errors } = loadLessons();
  assert.deepEqual(errors, []);
  const slugs = lessons.map((l) => l.lesson.slug);
  for (const s of REQUIRED_SLUGS) assert.ok(slugs.includes(s), `lesson ${s}`);
  assert.deepEqual(
    lessons.map((l) => l.lesson.order),
    [...lessons.map((l) => l.lesson.order)].sort((a, b) => a - b),
  );
  for (const l of lessons) {
    const text = JSON.stringify(l.lesson);
    assert.ok(text.includes('"cgroup":1') && text.includes('"cgroup":2'), `${l.lesson.slug} says which cgroup version the host runs`);
    for (const [i, s] of l.specs.entries()) {
      assert.ok(s.solution.length, `${l.lesson.slug} step ${i}: solution`);
      assert.ok(s.wrong.length, `${l.lesson.slug} step ${i}: a wrong action for the tests`);
      assert.ok(l.lesson.steps[i]?.hints.length, `${l.lesson.slug} step ${i}: a hint`);
    }
  }
});
