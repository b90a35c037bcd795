// The layer rules (.dependency-cruiser.cjs) see the code: .ts imports resolve, type-only and npm edges are in the
// graph, and the tree has no violation. A rule set that resolved nothing would pass everything (docs/architecture.md).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { cruise } from 'dependency-cruiser';

const require = createRequire(import.meta.url);
const ROOT = new URL('..', import.meta.url).pathname;

test('layer rules: the edges are seen (type-only and npm too) and none is forbidden', async () => {
  const config = require('../.dependency-cruiser.cjs');
  const cwd = process.cwd();
  process.chdir(ROOT);
  let out: Awaited<ReturnType<typeof cruise>>;
  try {
    out = await cruise(['server', 'native-bindings', 'components', 'app'], { ...config.options, ruleSet: config, validate: true });
  } finally {
    process.chdir(cwd);
  }
  const result = typeof out.output === 'string' ? JSON.parse(out.output) : out.output;
  const edge = (from: string, to: RegExp) =>
    result.modules.find((m: { source: string }) => m.source === from)?.dependencies.find((d: { resolved: string }) => to.test(d.resolved));
  assert.ok(result.summary.totalCruised > 250, `modules cruised: ${result.summary.totalCruised}`);
  // A type-only import across layers (course -> sessions), resolved through its .ts extension.
  const typeOnly = edge('server/classroom/course.ts', /^server\/sessions\/manager\.ts$/);
  assert.ok(typeOnly, 'course.ts -> sessions/manager.ts seen');
  assert.ok(typeOnly.dependencyTypes.includes('type-only'), typeOnly.dependencyTypes.join(','));
  assert.ok(edge('server/web/socket.ts', /node_modules\/ws\//), 'the ws package is a node of the graph (rules can name it)');
  assert.ok(edge('server/protocol/messages.ts', /^server\/protocol\/box\.ts$/), 'protocol -> protocol seen');
  assert.deepEqual(
    result.summary.violations.map((v: { rule: { name: string }; from: string; to: string }) => `${v.rule.name}: ${v.from} -> ${v.to}`),
    [],
  );
});
