#!/usr/bin/env node
// suites.js: `npm run test:v2`: the privileged engine, cgroup, limits and security suites inside the cgroup v2 guest,
// with one closing line for CI. Usage: node scripts/v2-guest/suites.js [--budget SEC] [--checkout DIR] [filters...]
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

/**
 * What runs by default: every privileged test that creates cgroups or boxes through the engine (engine tests incl.
 * limits, the cgroup layer, the security probes) and the native layer's root tests (seccomp; clone3 into a cgroup
 * where present). Other root suites (web, cli, lessons, xray, bench) reach the same engine through more layers and
 * cost far more start-up time under emulation; they stay on the host's `npm test`.
 */
export const V2_SUITES = ['server/engine/', 'server/security-tests/', 'native-bindings/'];

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    budget: { type: 'string', default: process.env.BOXLAB_V2_BUDGET ?? '2400' },
    checkout: { type: 'string' },
    smp: { type: 'string' },
    mem: { type: 'string' },
  },
});
const filters = positionals.length ? positionals : V2_SUITES;
const run = join(import.meta.dirname, 'run.js');
const args = [run, '--timeout', opt.budget];
for (const k of ['checkout', 'smp', 'mem']) if (opt[k]) args.push(`--${k}`, opt[k]);
// One scripts/test.js per filter (it takes one path filter), all in one boot; any failure fails the whole.
const sq = (x) => `'${x.replace(/'/g, `'\\''`)}'`;
const stamp = (what) => `echo "[v2-suites $(cut -d' ' -f1 /proc/uptime)s] ${what}"`;
const script = ['rc=0', ...filters.flatMap((f) => [stamp(`start ${f}`), `node scripts/test.js --phases=root ${sq(f)} || rc=1`]),
  stamp('end'), 'exit $rc'].join('; ');
args.push('--', 'sh', '-c', script);

const t0 = Date.now();
const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
// Kept as they stream: each test.js closing line, and the harness's own lines (boot time).
const closing = [];
let boot = '?';
let partial = '';
child.stdout.setEncoding('utf8');
child.stdout.on('data', (b) => {
  process.stdout.write(b);
  const lines = (partial + b).split('\n');
  partial = lines.pop();
  for (const l of lines) {
    // test.js closes with "N passed, N failed, N skipped" (its phase lines start with ===): one per filter.
    const m = /^(\d+) passed, (\d+) failed, (\d+) skipped$/.exec(l);
    if (m) closing.push(m);
    boot = /^\[v2-guest .*\bboot ([\d.?]+)s/.exec(l)?.[1] ?? boot;
  }
});
child.on('close', (code) => {
  const mins = ((Date.now() - t0) / 60000).toFixed(1);
  let pass = 0;
  let fail = 0;
  let skip = 0;
  let why = '';
  for (const m of closing) {
    pass += Number(m[1]);
    fail += Number(m[2]);
    skip += Number(m[3]);
  }
  const complete = closing.length === filters.length;
  if (code === 124) why = ` (time budget of ${opt.budget}s ran out)`;
  else if (!complete) why = ` (${closing.length} of ${filters.length} test summaries from the guest, exit ${code})`;
  // A guest that died or timed out without every summary must not read as green.
  if ((code !== 0 && fail === 0) || !complete) fail += 1;
  console.log(`\n=== cgroup v2 guest [${filters.join(' ')}]: ${pass} passed, ${fail} failed, ${skip} skipped${why}; boot ${boot}s, ${mins} min ===`);
  process.exitCode = code === 0 && complete ? 0 : code || 1;
});
