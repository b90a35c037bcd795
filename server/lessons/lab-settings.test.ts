// Lab mode as a lesson setting: asked for in front matter, dropped by the operator's switch, part of "same box?".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MiB } from '../protocol/size.ts';
import { loadConfig } from '../web/config.ts';
import { parseLesson } from './loader.ts';
import { settingsFor, settingsMatch } from './settings.ts';

const limits = { memoryBytes: 256 * MiB, cpuFraction: 0.5, pids: 128 };
const LESSON = `---\ntitle: T\nsummary: S\norder: 1\nsandbox:\n  lab: true\n---\n\n## Step: s\n\n\`\`\`check\ntype: file\npath: /tmp/x\n\`\`\`\n\n\`\`\`solution\ntouch /tmp/x\n\`\`\`\n`;

test('front matter sandbox.lab is parsed; a non-boolean is a format error', () => {
  assert.equal(parseLesson(LESSON, 'x.md', 'x').lesson.sandbox.lab, true);
  assert.throws(() => parseLesson(LESSON.replace('lab: true', 'lab: yes'), 'x.md', 'x'), /sandbox.lab/);
});

test('settingsFor keeps lab unless the operator turned it off; settingsMatch wants a lab box only for a lab lesson', () => {
  assert.deepEqual(settingsFor({ lab: true }, limits), { lab: true });
  assert.deepEqual(settingsFor({ lab: true }, { ...limits, lab: false }), {});
  const plain = { memoryBytes: 256 * MiB, cpuFraction: 0.5, pids: 128 };
  assert.equal(settingsMatch(plain, { lab: true }, limits), false);
  assert.equal(settingsMatch({ ...plain, lab: true }, { lab: true }, limits), true);
  assert.equal(
    settingsMatch({ ...plain, lab: true }, {}, limits),
    true,
    'a lab box serves a plain lesson (no rebuild loop for the instructor)',
  );
});

test('BOXLAB_LAB / --lab: on by default, off turns it off, anything else is an error', () => {
  assert.equal(loadConfig({}, []).lab, true);
  assert.equal(loadConfig({ BOXLAB_LAB: 'off' }, []).lab, false);
  assert.equal(loadConfig({}, ['--lab', 'off']).lab, false);
  assert.throws(() => loadConfig({ BOXLAB_LAB: 'maybe' }, []), /on or off/);
});
